"""Shared fixtures: fake programs on PATH, and the real-engine gate."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import plumbum  # noqa: F401 - its import runs `uname -p`; do it before fakes exist
import pytest

from lib import masking

PROJECT_DIR = Path(__file__).resolve().parent.parent
# CI sets this: a real-engine test that cannot run is then a failure, not a skip.
ENGINE_REQUIRED = os.environ.get("REQUIRE_ENGINE") == "1"
BASE_IMAGE = os.environ.get(
    "WORKSHOP_TEST_BASE_IMAGE", "workshop-builder-base:bookworm"
)


@pytest.fixture(autouse=True)
def _forget_secrets() -> Iterator[None]:
    yield
    masking.forget_all()


@pytest.fixture
def stub_path(tmp_path: Path) -> Iterator[Path]:
    """A PATH holding stub docker/git/trivy/hadolint/syft executables.

    plumbum refuses programs that are not on PATH and keeps its own copy of
    the environment, so the stubs go on PATH through plumbum.local.env. The
    stubs are never executed: pytest-subprocess answers for them.
    """
    from plumbum import local

    bin_dir = tmp_path / "stub-bin"
    bin_dir.mkdir()
    for name in ("docker", "git", "trivy", "hadolint", "syft"):
        stub = bin_dir / name
        stub.write_text("#!/bin/sh\necho 'stub must not run' >&2\nexit 99\n")
        stub.chmod(0o755)
    with local.env(PATH=f"{bin_dir}{os.pathsep}/usr/bin:/bin"):
        yield bin_dir


def docker_info_json(*, buildx: bool = False) -> str:
    plugins = [{"Name": "buildx", "Version": "v0.17.1"}] if buildx else []
    return json.dumps({"ServerVersion": "20.10.24", "ClientInfo": {"Plugins": plugins}})


def image_json(
    *, user: str = "1000:1000", healthcheck: list[str] | None = None, **extra: Any
) -> str:
    test = healthcheck or ["CMD", "python3", "-m", "workshop_builder.health"]
    data = {
        "Id": "sha256:" + "ab" * 32,
        "Size": 130_000_000,
        "RootFS": {"Layers": ["sha256:1", "sha256:2", "sha256:3"]},
        "Config": {
            "User": user,
            "Healthcheck": {"Test": test},
            "Labels": {
                "org.opencontainers.image.created": "2026-12-01T10:00:00Z",
                "org.opencontainers.image.revision": "abc1234",
                "org.opencontainers.image.version": "1.0.0",
            },
        },
        **extra,
    }
    return json.dumps(data)


# --- the real engine -----------------------------------------------------------


def _engine_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        done = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            timeout=20,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0


def _image_exists(reference: str) -> bool:
    done = subprocess.run(
        ["docker", "image", "inspect", reference], capture_output=True, check=False
    )
    return done.returncode == 0


@pytest.fixture(scope="session")
def engine() -> None:
    """Skip without a Docker engine and base image; fail instead in CI."""
    problem = None
    if not _engine_answers():
        problem = "no Docker engine answers"
    elif not _image_exists(BASE_IMAGE):
        problem = f"base image {BASE_IMAGE} missing (make base-image)"
    if problem:
        if ENGINE_REQUIRED:
            pytest.fail(f"REQUIRE_ENGINE=1 but {problem}")
        pytest.skip(problem)


# --- dev tools shipped in the venv (docker-compose, actionlint) ------------------


def venv_tool(name: str) -> str | None:
    """A tool next to this Python (the venv's bin) or else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(name)


def required_tool(name: str) -> str:
    """The tool's path; skip without it, but fail in CI (REQUIRE_ENGINE=1)."""
    found = venv_tool(name)
    if found is None:
        problem = f"{name} not found (make install puts it in .venv/bin)"
        if ENGINE_REQUIRED:
            pytest.fail(f"REQUIRE_ENGINE=1 but {problem}")
        pytest.skip(problem)
    return found
