"""The reliability suite: shared fixtures and helpers, and the counts it prints.

Real-engine tests reuse the session image of tests/integration (built by
build_docker.py from the real Dockerfile); where a test needs another image it
is a small one FROM that image or the offline base, removed afterwards. Every
name and tag carries a random token, so the suite can run beside other tests
on the same engine and only ever looks at, and removes, what it created.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import BASE_IMAGE, ENGINE_REQUIRED, PROJECT_DIR
from tests.integration.conftest import built_image, docker

# The session image of tests/integration, re-exported for this folder. When
# both folders run, pytest keeps one cache per conftest, so the second "build"
# is a layer-cache hit of the same Dockerfile (a few seconds, no new layers).
__all__ = ["built_image"]

TOOL_LABEL = "org.workshop-builder.built-by"
# Files build_docker.py needs to build from a copy of the project.
BUILD_FILES = (
    "Dockerfile",
    "requirements.txt",
    ".dockerignore",
    ".env.example",
    "build_docker.py",
)
BUILD_DIRS = ("lib", "workshop_builder")

# --- counts: printed at the end of the run, and checked against README ---------

CATEGORIES = {
    "test_bad_input.py": "bad-input",
    "test_faults.py": "faults",
    "test_secrets.py": "secrets",
    "test_concurrency.py": "concurrency",
    "test_audit_real.py": "audit",
}
_ran: Counter[str] = Counter()
_not_passed: Counter[str] = Counter()


def category_of(nodeid: str) -> str | None:
    path = nodeid.split("::", 1)[0]
    if "tests/reliability/" not in f"/{path}":
        return None
    return CATEGORIES.get(Path(path).name)


def summary_line(counts: Counter[str]) -> str:
    parts = [f"{name} {counts[name]}" for name in CATEGORIES.values()]
    return "reliability: " + ", ".join(parts)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    category = category_of(report.nodeid)
    if category is None:
        return
    if report.when == "call":
        _ran[category] += 1
        if not report.passed:
            _not_passed[category] += 1
    elif report.when == "setup" and not report.passed:
        _not_passed[category] += 1  # skipped or errored before it could run


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _ran and not _not_passed:
        return  # the suite was not part of this run
    terminalreporter.write_sep("-", "reliability suite")
    terminalreporter.write_line(summary_line(_ran))
    if _not_passed:
        missed = ", ".join(f"{k} {n}" for k, n in sorted(_not_passed.items()))
        terminalreporter.write_line(f"reliability: not passed: {missed}")


# --- small helpers -------------------------------------------------------------


def token() -> str:
    return secrets.token_hex(4)


def single_error(err: str) -> str:
    """The one [ERROR] line of a failed run (its message is one line)."""
    errors = [line for line in err.splitlines() if line.startswith("[ERROR]")]
    assert len(errors) == 1, err
    assert "Traceback" not in err, err
    return errors[0]


def exists(kind: str, ref: str) -> bool:
    return docker(kind, "inspect", ref, check=False).returncode == 0


def ids(*args: str) -> set[str]:
    """Ids printed by a docker listing command (ls --quiet)."""
    return set(docker(*args).stdout.split())


def containers_labelled(label: str) -> set[str]:
    return ids("container", "ls", "--all", "--quiet", "--filter", f"label={label}")


def images_labelled(label: str) -> set[str]:
    """All images carrying the label, intermediate layers of builds included."""
    return ids("image", "ls", "--all", "--quiet", "--filter", f"label={label}")


def containers_of(reference: str) -> set[str]:
    return ids(
        "container", "ls", "--all", "--quiet", "--filter", f"ancestor={reference}"
    )


def remove_images(image_ids: set[str]) -> None:
    if image_ids:
        docker("image", "rm", "--force", *image_ids, check=False)


def leftovers(tmp_dir: Path) -> list[str]:
    """What a child process left in its own TMPDIR."""
    return sorted(str(p.relative_to(tmp_dir)) for p in tmp_dir.rglob("*"))


# --- fixtures ------------------------------------------------------------------


@dataclass
class Project:
    """A copy of the project that build_docker.py builds from (its own folder)."""

    root: Path
    marker: str  # LABEL reliability.marker=<marker> in its Dockerfile, if written

    @property
    def script(self) -> Path:
        return self.root / "build_docker.py"

    @property
    def marker_label(self) -> str:
        return f"reliability.marker={self.marker}"

    def dockerfile(self, *lines: str) -> None:
        """A production stage FROM --base-image, labelled with the marker.

        The label comes first, so every layer and intermediate container the
        legacy builder makes for it carries the marker and can be found.
        """
        text = "\n".join(
            [
                "ARG BASE_IMAGE=python:3.12-slim",
                "FROM ${BASE_IMAGE} AS production",
                f"LABEL reliability.marker={self.marker}",
                *lines,
            ]
        )
        (self.root / "Dockerfile").write_text(text + "\n")


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    """A project copy; images and containers of its marker removed afterwards."""
    root = tmp_path / "project"
    root.mkdir()
    for name in BUILD_FILES:
        shutil.copy2(PROJECT_DIR / name, root / name)
    for name in BUILD_DIRS:
        shutil.copytree(
            PROJECT_DIR / name,
            root / name,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
    made = Project(root, f"rel-{token()}")
    yield made
    for container in containers_labelled(made.marker_label):
        docker("container", "rm", "--force", container, check=False)
    remove_images(images_labelled(made.marker_label))


@pytest.fixture
def child_tmp(tmp_path: Path) -> Path:
    """A TMPDIR of its own for a child process, to see what it leaves there."""
    path = tmp_path / "child-tmp"
    path.mkdir()
    return path


@dataclass(frozen=True)
class UserThings:
    """Things of "the user" that no run of the tools may remove."""

    image: str
    container: str
    file: Path

    def intact(self) -> bool:
        return (
            exists("image", self.image)
            and exists("container", self.container)
            and self.file.read_text() == "the user's own file\n"
        )


@pytest.fixture
def user_things(engine: None, tmp_path: Path) -> Iterator[UserThings]:
    """A tag, a stopped container and a file that belong to the user.

    The container even looks like a run_docker.py leftover (its name prefix
    and label, as a kill -9 would leave it): the tools remove what they
    created by id, never by name or label, so it must survive.
    """
    mark = token()
    image = f"reliability-user-{mark}:keep"
    docker("image", "tag", BASE_IMAGE, image)
    container = f"workshop-builder-user-{mark}"
    docker(
        "container", "create", "--name", container,
        "--label", f"{TOOL_LABEL}=run_docker.py", BASE_IMAGE, "true",
    )  # fmt: skip
    note = tmp_path / "user-file.txt"
    note.write_text("the user's own file\n")
    yield UserThings(image, container, note)
    docker("container", "rm", "--force", container, check=False)
    docker("image", "rm", image, check=False)


def dead_docker_host(directory: Path) -> str:
    """A unix socket path that exists but where no daemon listens."""
    path = directory / "dead-docker.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(str(path))  # bound, never listening: connect() is refused
    return f"unix://{path}"


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a child run: ours, minus CI variables that steer it."""
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_STEP_SUMMARY"}
    return {**env, **extra}


def docker_json(*args: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in docker(*args).stdout.splitlines() if line]


def run_py(
    path: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run a script of the project (or of a project copy) as a user would."""
    return subprocess.run(
        [sys.executable, str(path), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
        env=env,
    )


def image_args(reference: str) -> list[str]:
    name, tag = reference.rsplit(":", 1)
    return ["--image", name, "--tag", tag]


def bin_dir_with(directory: Path, **programs: str | Path) -> Path:
    """A PATH folder holding only the named programs (symlinks)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, target in programs.items():
        (directory / name).symlink_to(target)
    return directory


def real_docker() -> str:
    found = shutil.which("docker")
    assert found is not None, "the engine fixture guarantees a docker CLI"
    return found


@contextmanager
def mounted_tmpfs(path: Path, options: str) -> Iterator[Path]:
    """A tmpfs of its own at path (root only): a real read-only or full disk."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], check=True
    )
    try:
        yield path
    finally:
        subprocess.run(["umount", "--lazy", str(path)], check=False)


def needs_root(what: str) -> None:
    """Skip without root (mount needs it); CI runs as root, where it must run."""
    if os.geteuid() != 0:
        reason = f"{what} needs root (mount -t tmpfs)"
        if ENGINE_REQUIRED:
            pytest.fail(f"REQUIRE_ENGINE=1 but {reason}")
        pytest.skip(reason)


def processes_with_env(name: str, value: str) -> list[int]:
    """Live processes whose environment holds name=value (ours only, via /proc)."""
    wanted = f"{name}={value}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue  # gone meanwhile, or not ours to read
        if wanted in environ.split(b"\0"):
            found.append(int(entry.name))
    return found
