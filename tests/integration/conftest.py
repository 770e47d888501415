"""Real-engine fixtures: an image built by build_docker.py, and helpers."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BASE_IMAGE, PROJECT_DIR

TEST_IMAGE = "workshop-builder-itest"


def script(
    name: str, *args: str, timeout: float = 600, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """Run one of the entrypoints as a user would, in a child process."""
    return subprocess.run(
        [sys.executable, str(PROJECT_DIR / name), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
        **kwargs,
    )


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, check=check
    )


def inspect(kind: str, ref: str) -> dict[str, Any]:
    data = json.loads(docker(kind, "inspect", ref).stdout)
    assert isinstance(data, list) and len(data) == 1
    return dict(data[0])


def containers_mounting(path: Path) -> list[str]:
    """Ids of containers (any state) started by run_docker.py that mount path."""
    listed = docker(
        "container",
        "ls",
        "--all",
        "--quiet",
        "--filter",
        "label=org.workshop-builder.built-by=run_docker.py",
    ).stdout
    found = []
    for cid in listed.split():
        result = docker("container", "inspect", cid, check=False)
        if result.returncode != 0:
            continue  # removed meanwhile
        mounts = json.loads(result.stdout)[0].get("Mounts") or []
        if any(m.get("Source") == str(path) for m in mounts):
            found.append(cid)
    return found


def wait_for_container(path: Path, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ids = containers_mounting(path)
        if ids:
            return ids[0]
        time.sleep(0.2)
    raise AssertionError(f"no container mounting {path} appeared in {timeout}s")


def writable_dir_for_container(path: Path) -> Path:
    """A directory the container user can write, as run_docker.py expects."""
    path.mkdir(parents=True, exist_ok=True)
    if os.getuid() == 0:
        os.chown(path, 1000, 1000)
    return path


@pytest.fixture(scope="session")
def built_image(engine: None) -> Iterator[str]:
    """Build the real Dockerfile once with build_docker.py; removed afterwards."""
    tag = f"t{secrets.token_hex(4)}"
    result = script(
        "build_docker.py",
        "--image",
        TEST_IMAGE,
        "--tag",
        tag,
        "--base-image",
        BASE_IMAGE,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    reference = f"{TEST_IMAGE}:{tag}"
    yield reference
    docker("image", "rm", "--force", reference, check=False)
