"""The vertical slice on a real Docker engine: build, smoke-test, run, inspect."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_DIR
from tests.integration.conftest import (
    TEST_IMAGE,
    containers_mounting,
    docker,
    inspect,
    script,
    wait_for_container,
    writable_dir_for_container,
)

pytestmark = pytest.mark.engine


def run_args(reference: str, out_dir: Path, *app_args: str) -> list[str]:
    name, tag = reference.split(":")
    return ["--image", name, "--tag", tag, "--output-dir", str(out_dir), *app_args]


def test_build_labels_user_and_healthcheck(built_image: str) -> None:
    info = inspect("image", built_image)
    config = info["Config"]
    labels = config["Labels"]

    assert config["User"] == "1000:1000"
    assert labels["org.workshop-builder.built-by"] == "build_docker.py"
    assert labels["org.opencontainers.image.version"] == "1.0.0"
    assert labels["org.opencontainers.image.created"].endswith("Z")
    assert labels["org.opencontainers.image.revision"] != ""
    assert config["Healthcheck"]["Test"] == [
        "CMD",
        "python3",
        "-m",
        "workshop_builder.health",
    ]
    assert config["Entrypoint"] == ["python3", "-m", "workshop_builder"]


def test_image_holds_no_env_file_tests_or_git(built_image: str) -> None:
    listing = docker(
        "run",
        "--rm",
        "--entrypoint",
        "python3",
        built_image,
        "-c",
        "import os; print('\\n'.join(os.listdir('/app')))",
    ).stdout

    assert listing.split() == ["workshop_builder"]


def test_run_writes_a_workshop_on_the_host(built_image: str, tmp_path: Path) -> None:
    out_dir = tmp_path / "out dir with spaces"

    result = script(
        "run_docker.py", *run_args(built_image, out_dir, "--topic", "Intro to Docker")
    )

    assert result.returncode == 0, result.stderr
    folder = out_dir / "workshop-1-intro-to-docker"
    names = sorted(p.name for p in folder.iterdir())
    assert names == [
        "01-introduction.md",
        "02-concepts.md",
        "03-hands-on-lab.md",
        "04-review.md",
        "README.md",
        "manifest.json",
    ]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["topic"] == "Intro to Docker"
    assert manifest["number"] == 1
    expected_owner = 1000 if os.getuid() == 0 else os.getuid()
    assert folder.stat().st_uid == expected_owner
    assert (folder / "README.md").stat().st_uid == expected_owner
    assert containers_mounting(out_dir) == []  # the tool removed it


def test_topic_with_metacharacters_arrives_byte_for_byte(
    built_image: str, tmp_path: Path
) -> None:
    topic = "Docker; $(rm -rf /) `id` 'single' \"double\" | & > < * ? Ünïcödé 🐳"
    out_dir = tmp_path / "out"

    result = script("run_docker.py", *run_args(built_image, out_dir, "--topic", topic))

    assert result.returncode == 0, result.stderr
    [folder] = list(out_dir.glob("workshop-*"))
    assert folder.name == "workshop-1-docker-rm-rf-id-single-double-unicode"
    assert json.loads((folder / "manifest.json").read_text())["topic"] == topic


def test_second_run_takes_the_next_number(built_image: str, tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    for topic in ("First", "Second"):
        result = script(
            "run_docker.py", *run_args(built_image, out_dir, "--topic", topic)
        )
        assert result.returncode == 0, result.stderr

    assert sorted(p.name for p in out_dir.glob("workshop-*")) == [
        "workshop-1-first",
        "workshop-2-second",
    ]


def test_app_failure_exit_code_comes_back(built_image: str, tmp_path: Path) -> None:
    result = script(
        "run_docker.py", *run_args(built_image, tmp_path / "o", "--topic", " ")
    )

    assert result.returncode == 2
    assert "the app exited with code 2" in result.stderr


def test_the_running_container_is_hardened(built_image: str, tmp_path: Path) -> None:
    """Hold the app's numbering lock so the container waits while we inspect it."""
    out_dir = writable_dir_for_container(tmp_path / "held")
    lock_path = out_dir / ".workshop-builder.lock"
    lock_path.touch(mode=0o666)
    with lock_path.open("rb") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        child = subprocess.Popen(
            [
                sys.executable,
                str(PROJECT_DIR / "run_docker.py"),
                *run_args(built_image, out_dir, "--topic", "Held"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            info = inspect("container", wait_for_container(out_dir))
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
        _out, err = child.communicate(timeout=120)

    assert child.returncode == 0, err
    host = info["HostConfig"]
    assert info["Config"]["User"] not in ("", "0", "root")
    assert not info["Config"]["User"].startswith("0:")
    assert host["CapDrop"] == ["ALL"]
    assert not host["CapAdd"]
    assert host["ReadonlyRootfs"] is True
    assert "no-new-privileges:true" in host["SecurityOpt"]
    assert host["Memory"] == 2 * 1024**3
    assert host["NanoCpus"] == 1_000_000_000
    assert host["PidsLimit"] == 100
    assert host["Tmpfs"] == {"/tmp": "rw,noexec,nosuid,size=100m"}
    assert host["Privileged"] is False
    assert host["NetworkMode"] == "none"
    assert host["AutoRemove"] is False  # the tool removes it after reading its state
    assert [
        (m["Type"], m["Source"], m["Destination"], m["RW"]) for m in info["Mounts"]
    ] == [
        ("bind", str(out_dir), "/workshops", True),
    ]
    assert info["Config"]["Labels"]["org.workshop-builder.built-by"] == "run_docker.py"
    assert (out_dir / "workshop-1-held").is_dir()


def test_missing_image_is_a_preflight_error(engine: None, tmp_path: Path) -> None:
    result = script(
        "run_docker.py",
        "--image",
        TEST_IMAGE,
        "--tag",
        "never-built",
        "--output-dir",
        str(tmp_path / "o"),
        "--topic",
        "x",
    )

    assert result.returncode == 3
    assert f"image {TEST_IMAGE}:never-built not found" in result.stderr
    assert "./build_docker.py" in result.stderr
