"""The Makefile's run and compose targets, for real, on the real engine.

`install` and `base-image` are marked done (-o) and BIN points at this
Python's bin, so the recipes run the tools of the venv running the tests;
`make install`, `make base-image` and `make test` themselves run in .ci/run.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from lib.scan import JSON_REPORT
from tests.conftest import BASE_IMAGE, PROJECT_DIR, required_tool
from tests.fakes import FAKES_DIR, path_with
from tests.integration.conftest import TEST_IMAGE, docker

pytestmark = pytest.mark.engine

# An outer make (make test) passes these down; they would change our runs.
INHERITED = {
    "MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES", "VENV", "BIN", "PYTHON",
    "COMPOSE", "DOCKER", "PYTEST_ARGS", "IMAGE", "TAG", "BASE_IMAGE", "TOPIC",
    "WORKSHOPS_DIR", "WORKSHOP_ENV_FILE", "WORKSHOP_UID", "WORKSHOP_GID",
    "COMPOSE_PROJECT_NAME", "COMPOSE_PROFILES", "COMPOSE_FILE", "LOG_LEVEL",
    "REPORT_DIR",
}  # fmt: skip


def make(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean_env = {k: v for k, v in os.environ.items() if k not in INHERITED}
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=PROJECT_DIR,
        env={**clean_env, **env},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def project_containers(project: str) -> list[str]:
    label = f"label=com.docker.compose.project={project}"
    return docker(
        "container", "ls", "--all", "--quiet", "--filter", label
    ).stdout.split()


def test_make_run_builds_and_generates_a_workshop(engine: None, tmp_path: Path) -> None:
    tag = f"mk{secrets.token_hex(4)}"
    out_dir = tmp_path / "new" / "workshops"
    try:
        result = make(
            "-o", "install", "-o", "base-image", "run",
            f"BIN={Path(sys.executable).parent}",
            f"IMAGE={TEST_IMAGE}", f"TAG={tag}", f"BASE_IMAGE={BASE_IMAGE}",
            f"WORKSHOPS_DIR={out_dir}", "TOPIC=Intro to Docker",
        )  # fmt: skip

        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        folder = out_dir / "workshop-1-intro-to-docker"
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["topic"] == "Intro to Docker"
        labels = docker(
            "image",
            "inspect",
            "--format",
            "{{json .Config.Labels}}",
            f"{TEST_IMAGE}:{tag}",
        ).stdout
        assert json.loads(labels)["org.workshop-builder.built-by"] == "build_docker.py"
    finally:
        docker("image", "rm", "--force", f"{TEST_IMAGE}:{tag}", check=False)


@pytest.mark.parametrize(
    ("target", "marker"),
    [
        pytest.param("compose-up", "[INFO] Wrote 4 modules", id="compose-up"),
        pytest.param("compose-dev", "[DEBUG] Locked /workshops/", id="compose-dev"),
    ],
)
def test_make_compose_targets_generate_and_leave_no_container(
    built_image: str, tmp_path: Path, target: str, marker: str
) -> None:
    name, tag = built_image.split(":")
    env_file = tmp_path / "app.env"
    env_file.write_text("WORKSHOP_GENERATOR=offline\n", encoding="utf-8")
    out_dir = tmp_path / "new" / "workshops"
    project = f"wbmake-{secrets.token_hex(4)}"

    result = make(
        "-o", "build", target, f"COMPOSE={required_tool('docker-compose')}",
        f"IMAGE={name}", f"TAG={tag}", f"WORKSHOPS_DIR={out_dir}",
        f"WORKSHOP_ENV_FILE={env_file}", "TOPIC=Make and Compose",
        COMPOSE_PROJECT_NAME=project,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert marker in result.stdout + result.stderr
    assert [p.name for p in out_dir.iterdir() if p.is_dir()] == [
        "workshop-1-make-and-compose"
    ]
    assert project_containers(project) == []


def test_make_scan_scans_the_built_image(built_image: str, tmp_path: Path) -> None:
    """trivy cannot be installed here: the fake one stands in for it."""
    name, tag = built_image.split(":")
    report_dir = tmp_path / "reports"

    result = make(
        "-o", "install", "scan", f"BIN={Path(sys.executable).parent}",
        f"IMAGE={name}", f"TAG={tag}", f"REPORT_DIR={report_dir}",
        PATH=path_with(FAKES_DIR),
    )  # fmt: skip

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((report_dir / JSON_REPORT).read_text(encoding="utf-8"))
    assert report["ArtifactName"] == built_image
