"""The Makefile's targets, run for real with recording stand-ins for the tools.

Each recipe runs in a real make; the programs it calls (the venv's python,
ruff, docker-compose, docker, ...) are stubs that record their argv, so these
tests see exactly what each target would run, without a venv or an engine.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PROJECT_DIR

MAKEFILE = PROJECT_DIR / "Makefile"
# The targets issue 5 asks for.
REQUIRED_TARGETS = {
    "help",
    "install",
    "base-image",
    "build",
    "scan",
    "run",
    "test",
    "test-unit",
    "lint",
    "compose-up",
    "compose-dev",
    "clean",
}
STUBS = (
    "python",
    "ruff",
    "mypy",
    "hadolint",
    "actionlint",
    "shellcheck",
    "docker-compose",
    "docker",
)
# Variables the stubs report from their environment.
REPORTED_ENV = (
    "IMAGE",
    "TAG",
    "TOPIC",
    "WORKSHOPS_DIR",
    "WORKSHOP_ENV_FILE",
    "WORKSHOP_UID",
    "WORKSHOP_GID",
    "WORKSHOP_TEST_BASE_IMAGE",
)
# An outer make (make test) passes these down; they would change our runs.
INHERITED = (
    "MAKEFLAGS",
    "MAKELEVEL",
    "MFLAGS",
    "MAKEOVERRIDES",
    "VENV",
    "BIN",
    "PYTHON",
    "COMPOSE",
    "DOCKER",
    "PYTEST_ARGS",
    "BASE_IMAGE",
    "REPORT_DIR",
    *REPORTED_ENV,
)
EVIL_TOPIC = "Docker; $(rm -rf /) `id` 'single' \"double\" $$HOME | & > <"

STUB_SOURCE = """#!{python}
import json, os, sys
record = {{
    "argv": [os.path.basename(sys.argv[0]), *sys.argv[1:]],
    "env": {{key: os.environ.get(key) for key in {reported!r}}},
}}
with open(os.environ["STUB_RECORD"], "a", encoding="utf-8") as out:
    out.write(json.dumps(record) + "\\n")
if sys.argv[1:3] == ["image", "ls"]:
    print("sha256:feedbeef")
if os.environ.get("STUB_FAIL_ON") in sys.argv[1:]:
    sys.exit(3)
"""


class Stubs:
    def __init__(self, root: Path) -> None:
        self.bin = root / "stub-bin"
        self.record = root / "record.jsonl"
        self.bin.mkdir()
        source = STUB_SOURCE.format(python=sys.executable, reported=REPORTED_ENV)
        for name in STUBS:
            path = self.bin / name
            path.write_text(source, encoding="utf-8")
            path.chmod(0o755)

    def calls(self) -> list[dict[str, Any]]:
        if not self.record.exists():
            return []
        lines = self.record.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines]

    def argvs(self) -> list[list[str]]:
        return [call["argv"] for call in self.calls()]


@pytest.fixture
def stubs(tmp_path: Path) -> Stubs:
    return Stubs(tmp_path)


def make(
    *args: str, cwd: Path = PROJECT_DIR, stubs: Stubs | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    clean_env = {k: v for k, v in os.environ.items() if k not in INHERITED}
    if stubs is not None:
        clean_env["STUB_RECORD"] = str(stubs.record)
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=cwd,
        env={**clean_env, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def container_user() -> tuple[str, str]:
    if os.getuid() == 0:
        return "1000", "1000"
    return str(os.getuid()), str(os.getgid())


# --- help ------------------------------------------------------------------------


def makefile_rules() -> set[str]:
    text = MAKEFILE.read_text(encoding="utf-8")
    return set(re.findall(r"^([a-z][a-z-]*):(?!=)", text, flags=re.MULTILINE))


def phony_targets() -> set[str]:
    text = MAKEFILE.read_text(encoding="utf-8")
    [line] = re.findall(r"^\.PHONY:(.*)$", text, flags=re.MULTILINE)
    return set(line.split())


def test_help_lists_every_target_and_is_the_default() -> None:
    result = make()
    listed = {line.split()[0] for line in result.stdout.splitlines()}

    assert result.returncode == 0, result.stderr
    assert listed == makefile_rules() == phony_targets()
    assert listed >= REQUIRED_TARGETS
    assert all(len(line.split()) > 1 for line in result.stdout.splitlines())


# --- recipes, run with stubs -----------------------------------------------------


def test_build_passes_image_tag_and_base(stubs: Stubs) -> None:
    result = make(
        "-o",
        "install",
        "-o",
        "base-image",
        "build",
        f"BIN={stubs.bin}",
        "IMAGE=my-image",
        "TAG=v9",
        "BASE_IMAGE=python:3.12-slim",
        stubs=stubs,
    )

    assert result.returncode == 0, result.stderr
    assert stubs.argvs() == [
        [
            "python",
            "build_docker.py",
            "--image",
            "my-image",
            "--tag",
            "v9",
            "--base-image",
            "python:3.12-slim",
        ]
    ]


def test_scan_scans_the_existing_image_into_the_report_dir(
    stubs: Stubs, tmp_path: Path
) -> None:
    result = make(
        "-o", "install", "scan", f"BIN={stubs.bin}", "IMAGE=my-image", "TAG=v9",
        f"REPORT_DIR={tmp_path / 'my reports'}", stubs=stubs,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert stubs.argvs() == [
        [
            "python",
            "build_docker.py",
            "--scan-only",
            "--image",
            "my-image",
            "--tag",
            "v9",
            "--report-dir",
            str(tmp_path / "my reports"),
        ]
    ]


def test_run_hands_the_topic_over_verbatim(stubs: Stubs, tmp_path: Path) -> None:
    out_dir = tmp_path / "out dir"

    result = make(
        "-o",
        "build",
        "run",
        f"BIN={stubs.bin}",
        "IMAGE=my-image",
        "TAG=v9",
        f"WORKSHOPS_DIR={out_dir}",
        f"TOPIC={EVIL_TOPIC}",
        stubs=stubs,
    )

    assert result.returncode == 0, result.stderr
    assert stubs.argvs() == [
        [
            "python",
            "run_docker.py",
            "--image",
            "my-image",
            "--tag",
            "v9",
            "--output-dir",
            str(out_dir),
            "--topic",
            EVIL_TOPIC,
        ]
    ]


def test_topic_from_the_environment_is_the_default(stubs: Stubs) -> None:
    result = make("-o", "build", "run", f"BIN={stubs.bin}", stubs=stubs)

    assert result.returncode == 0, result.stderr
    assert stubs.argvs()[0][-2:] == ["--topic", "Intro to Docker"]
    assert stubs.argvs()[0][2:6] == [
        "--image",
        "workshop-builder-app",
        "--tag",
        "latest",
    ]


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        pytest.param("test", [["python", "-m", "pytest", "-x"]], id="test"),
        pytest.param(
            "test-unit",
            [["python", "-m", "pytest", "tests/unit", "-x"]],
            id="test-unit",
        ),
    ],
)
def test_test_targets_run_pytest(
    stubs: Stubs, target: str, expected: list[list[str]]
) -> None:
    result = make(
        "-o",
        "install",
        "-o",
        "base-image",
        target,
        f"BIN={stubs.bin}",
        "BASE_IMAGE=base:7",
        "PYTEST_ARGS=-x",
        stubs=stubs,
    )

    assert result.returncode == 0, result.stderr
    assert stubs.argvs() == expected


def test_test_passes_the_base_image_to_the_engine_tests(stubs: Stubs) -> None:
    result = make(
        "-o", "install", "-o", "base-image", "test", f"BIN={stubs.bin}",
        "BASE_IMAGE=base:7", stubs=stubs,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert stubs.calls()[0]["env"]["WORKSHOP_TEST_BASE_IMAGE"] == "base:7"


def test_lint_runs_ruff_mypy_hadolint_and_actionlint(stubs: Stubs) -> None:
    result = make("-o", "install", "lint", f"BIN={stubs.bin}", stubs=stubs)

    assert result.returncode == 0, result.stderr
    assert stubs.argvs() == [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["mypy"],
        ["hadolint", "Dockerfile"],
        [
            "actionlint",
            "-shellcheck",
            f"{stubs.bin}/shellcheck",
            "-pyflakes",
            "",
            ".github/workflows/docker.yml",
        ],
    ]


def test_lint_stops_at_the_first_failure(stubs: Stubs) -> None:
    result = make(
        "-o", "install", "lint", f"BIN={stubs.bin}", stubs=stubs, STUB_FAIL_ON="check"
    )

    assert result.returncode != 0
    assert stubs.argvs() == [["ruff", "check", "."]]


@pytest.mark.parametrize(
    ("target", "options", "service"),
    [
        pytest.param("compose-up", [], "workshop-builder", id="compose-up"),
        pytest.param(
            "compose-dev",
            ["--profile", "dev"],
            "workshop-builder-dev",
            id="compose-dev",
        ),
    ],
)
def test_compose_targets_run_once_and_clean_up(
    stubs: Stubs, tmp_path: Path, target: str, options: list[str], service: str
) -> None:
    env_file = tmp_path / "app.env"
    env_file.write_text("WORKSHOP_GENERATOR=offline\n", encoding="utf-8")
    out_dir = tmp_path / "new" / "workshops"

    result = make(
        "-o",
        "build",
        target,
        f"COMPOSE={stubs.bin}/docker-compose",
        "IMAGE=my-image",
        "TAG=v9",
        f"WORKSHOPS_DIR={out_dir}",
        f"WORKSHOP_ENV_FILE={env_file}",
        f"TOPIC={EVIL_TOPIC}",
        stubs=stubs,
    )

    assert result.returncode == 0, result.stderr
    compose = "docker-compose"
    assert stubs.argvs() == [
        [compose, *options, "up", "--no-build", "--exit-code-from", service, service],
        [compose, *options, "down", "--remove-orphans"],
    ]
    uid, gid = container_user()
    assert stubs.calls()[0]["env"] == {
        "IMAGE": "my-image",
        "TAG": "v9",
        "TOPIC": EVIL_TOPIC,
        "WORKSHOPS_DIR": str(out_dir),
        "WORKSHOP_ENV_FILE": str(env_file),
        "WORKSHOP_UID": uid,
        "WORKSHOP_GID": gid,
        "WORKSHOP_TEST_BASE_IMAGE": None,
    }
    assert out_dir.is_dir()
    assert (out_dir.stat().st_uid, out_dir.stat().st_gid) == (int(uid), int(gid))


def test_compose_up_keeps_the_app_exit_code_and_still_cleans_up(
    stubs: Stubs, tmp_path: Path
) -> None:
    env_file = tmp_path / "app.env"
    env_file.touch()

    result = make(
        "-o", "build", "compose-up", f"COMPOSE={stubs.bin}/docker-compose",
        f"WORKSHOPS_DIR={tmp_path}", f"WORKSHOP_ENV_FILE={env_file}",
        stubs=stubs, STUB_FAIL_ON="up",
    )  # fmt: skip

    assert result.returncode != 0
    assert "Error 3" in result.stderr
    assert [argv[1] for argv in stubs.argvs()] == ["up", "down"]


def test_compose_up_without_env_file_says_how_to_make_one(
    stubs: Stubs, tmp_path: Path
) -> None:
    result = make(
        "-o", "build", "compose-up", f"COMPOSE={stubs.bin}/docker-compose",
        f"WORKSHOPS_DIR={tmp_path / 'never'}",
        f"WORKSHOP_ENV_FILE={tmp_path / 'missing.env'}", stubs=stubs,
    )  # fmt: skip

    assert result.returncode != 0
    assert (
        f"error: {tmp_path / 'missing.env'} not found; run: cp .env.example .env"
        in result.stderr
    )
    assert stubs.argvs() == []
    assert not (tmp_path / "never").exists()


# --- base-image and install: what make would do ----------------------------------


def test_base_image_builds_only_the_offline_base() -> None:
    offline = make("-n", "base-image")
    other = make("-n", "base-image", "BASE_IMAGE=python:3.12-slim")

    assert offline.stdout.splitlines() == [
        "scripts/make-base-image.sh workshop-builder-base:bookworm"
    ]
    assert "make-base-image" not in other.stdout


def test_install_is_skipped_when_done(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    venv.mkdir()
    stamp = venv / ".installed"
    stamp.touch()
    newer = (PROJECT_DIR / "pyproject.toml").stat().st_mtime + 60
    os.utime(stamp, (newer, newer))

    up_to_date = make("-q", "install", f"VENV={venv}")
    dry_run = make("-n", "install", f"VENV={venv}")

    assert up_to_date.returncode == 0
    assert dry_run.stdout.strip() == "make: Nothing to be done for 'install'."


def test_install_reruns_when_pyproject_changed(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    venv.mkdir()
    stamp = venv / ".installed"
    stamp.touch()
    os.utime(stamp, (0, 0))

    stale = make("-q", "install", f"VENV={venv}")
    dry_run = make("-n", "install", f"VENV={venv}")

    assert stale.returncode == 1
    assert dry_run.stdout.splitlines() == [
        f"python3 -m venv {venv}",
        f"{venv}/bin/pip install --quiet --editable '.[dev]'",
        f"{venv}/bin/python -m compileall -q lib workshop_builder",
        f"touch {stamp}",
    ]


# --- clean -----------------------------------------------------------------------


def test_clean_removes_only_what_the_project_created(
    stubs: Stubs, tmp_path: Path
) -> None:
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    shutil.copy(MAKEFILE, checkout / "Makefile")
    created = [
        ".venv/bin/python",
        ".pytest_cache/v/x",
        ".mypy_cache/3.11/x.json",
        ".ruff_cache/x",
        "thing.egg-info/PKG-INFO",
        "reports/trivy-report.sarif",
        "lib/__pycache__/x.pyc",
    ]
    kept = [
        ".env",
        "Dockerfile",
        "lib/runner.py",
        "workshops/workshop-1-intro/README.md",
        "notes/__init__.py",
    ]
    for name in created + kept:
        (checkout / name).parent.mkdir(parents=True, exist_ok=True)
        (checkout / name).write_text("x", encoding="utf-8")

    result = make(
        "clean",
        f"COMPOSE={stubs.bin}/docker-compose",
        f"DOCKER={stubs.bin}/docker",
        cwd=checkout,
        stubs=stubs,
    )

    assert result.returncode == 0, result.stderr
    assert [name for name in created if (checkout / name).exists()] == []
    assert [name for name in kept if not (checkout / name).exists()] == []
    for top in (".venv", ".pytest_cache", "reports", "lib/__pycache__"):
        assert not (checkout / top).exists()
    assert stubs.argvs() == [
        ["docker-compose", "--profile", "dev", "down", "--remove-orphans"],
        [
            "docker",
            "image",
            "ls",
            "--quiet",
            "--filter",
            "label=org.workshop-builder.built-by=build_docker.py",
            "--filter",
            "dangling=true",
        ],
        ["docker", "image", "rm", "sha256:feedbeef"],
    ]
