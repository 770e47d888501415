"""``python -m workshop_builder`` as a real process: .env loading and output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# The repo first, then whatever path the test run itself relies on.
PYTHONPATH = os.pathsep.join(
    filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])
)


def run_module(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base_env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"WORKSHOPS_BASE_DIR", "LOG_LEVEL", "SOURCE_DATE_EPOCH"}
    }
    return subprocess.run(
        [sys.executable, "-m", "workshop_builder", *args],
        cwd=cwd,
        env={**base_env, "PYTHONPATH": PYTHONPATH, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_help_lists_the_contract_options(tmp_path: Path) -> None:
    result = run_module(tmp_path, "--help")

    assert result.returncode == 0
    for option in ("--topic", "--verbose", "--output-dir", "--generator", "--help"):
        assert option in result.stdout


def test_dotenv_in_cwd_is_loaded(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "WORKSHOPS_BASE_DIR=from-dotenv\nSOURCE_DATE_EPOCH=0\n"
    )

    result = run_module(tmp_path, "--topic", "Dotenv")

    folder = tmp_path / "from-dotenv" / "workshop-1-dotenv"
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"Workshop created: {folder}\n"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["created"] == "1970-01-01T00:00:00Z"


def test_real_environment_wins_over_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("WORKSHOPS_BASE_DIR=from-dotenv\n")

    result = run_module(tmp_path, "--topic", "Env", WORKSHOPS_BASE_DIR="from-env")

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "from-env" / "workshop-1-env").is_dir()
    assert not (tmp_path / "from-dotenv").exists()


def test_relative_base_dir_is_printed_absolute(tmp_path: Path) -> None:
    result = run_module(tmp_path, "--topic", "Abs", "--output-dir", "out/../ws")

    assert result.stdout == f"Workshop created: {tmp_path / 'ws' / 'workshop-1-abs'}\n"
