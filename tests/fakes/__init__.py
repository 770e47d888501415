"""Fake programs for the tests, and helpers to put them on PATH.

`trivy` here is an executable stand-in for trivy (see its docstring); the
reports/ folder holds trivy JSON reports for it to serve.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

FAKES_DIR = Path(__file__).resolve().parent
FAKE_TRIVY = FAKES_DIR / "trivy"
REPORTS = FAKES_DIR / "reports"
FINDINGS_REPORT = REPORTS / "findings.json"
BARE_LIST_REPORT = REPORTS / "old-bare-list.json"


def install_fake_trivy(bin_dir: Path) -> Path:
    """Put the fake trivy into bin_dir (replacing a stub of that name)."""
    target = bin_dir / "trivy"
    target.unlink(missing_ok=True)
    target.symlink_to(FAKE_TRIVY)
    return target


def trivy_env(
    *,
    log: Path | None = None,
    mode: str | None = None,
    findings: Path | None = None,
) -> dict[str, str]:
    """The FAKE_TRIVY_* variables that steer the fake."""
    env = {}
    if log is not None:
        env["FAKE_TRIVY_LOG"] = str(log)
    if mode is not None:
        env["FAKE_TRIVY_MODE"] = mode
    if findings is not None:
        env["FAKE_TRIVY_FINDINGS"] = str(findings)
    return env


@contextmanager
def plumbum_env(env: dict[str, str]) -> Iterator[None]:
    """Variables for programs run in-process through lib.runner (plumbum)."""
    from plumbum import local

    with local.env(**env):
        yield


def trivy_calls(log: Path) -> list[list[str]]:
    """argv (without the program) of every call the fake logged."""
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line]


def path_with(bin_dir: Path) -> str:
    """A PATH for child processes with bin_dir first."""
    return f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
