"""Faults: each one a named error, the documented exit code, nothing left behind.

Every fault runs on the real engine where it can: only "no docker binary" and
"daemon not running" cannot, by their nature. Each test checks, besides the
exit code and the error line, that no container of the run is left (by the
run's own marker, image or mounted folder), that no image or temp file of the
tool stays, and where the tool removes things, that the user's own image,
container and file survive.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pytest

import build_docker
from tests.conftest import BASE_IMAGE, PROJECT_DIR
from tests.fakes import FINDINGS_REPORT, install_fake_trivy, plumbum_env, trivy_env
from tests.integration.conftest import TEST_IMAGE, containers_mounting, docker
from tests.integration.test_run_engine import (
    numbering_lock,
    run_args,
    started,
    wait_until_running,
)
from tests.reliability.conftest import (
    TOOL_LABEL,
    Project,
    UserThings,
    bin_dir_with,
    child_env,
    containers_labelled,
    containers_of,
    dead_docker_host,
    exists,
    image_args,
    images_labelled,
    leftovers,
    mounted_tmpfs,
    needs_root,
    processes_with_env,
    real_docker,
    run_py,
    single_error,
    token,
)

BUILD = PROJECT_DIR / "build_docker.py"
RUN = PROJECT_DIR / "run_docker.py"
CONTAINER_UID = 1000 if os.getuid() == 0 else os.getuid()


@pytest.fixture
def fake_trivy_bin(tmp_path: Path) -> Path:
    """A PATH folder with the fake trivy (and the python3 it runs on) and docker."""
    bin_dir = bin_dir_with(
        tmp_path / "fake-bin", docker=real_docker(), python3=sys.executable
    )
    install_fake_trivy(bin_dir)
    return bin_dir


@pytest.fixture
def unique_ref() -> Iterator[str]:
    """A reference for an image a test builds; untagged afterwards."""
    reference = f"{TEST_IMAGE}:fault-{token()}"
    yield reference
    docker("image", "rm", "--force", reference, check=False)


def gone_within(check: Callable[[], bool], seconds: float = 15) -> bool:
    """Poll until check() is true: the daemon removes containers asynchronously."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


# --- the engine is not there ---------------------------------------------------


@pytest.mark.parametrize(
    ("script", "args"),
    [
        pytest.param(BUILD, ["--no-lint"], id="build_docker.py"),
        pytest.param(RUN, ["--topic", "x"], id="run_docker.py"),
    ],
)
def test_no_docker_binary_is_a_preflight_error(
    script: Path, args: list[str], tmp_path: Path, child_tmp: Path
) -> None:
    out_dir, reports = tmp_path / "out", tmp_path / "reports"
    where = ["--report-dir", str(reports)] if script == BUILD else []
    where += ["--output-dir", str(out_dir)] if script == RUN else []
    env = child_env(
        PATH=str(bin_dir_with(tmp_path / "no-docker")), TMPDIR=str(child_tmp)
    )

    result = run_py(script, *where, *args, env=env)

    assert result.returncode == 3, result.stderr
    assert single_error(result.stderr).endswith("docker not found on PATH")
    assert "hint: install Docker Engine" in result.stderr
    assert not out_dir.exists() and not reports.exists()
    assert leftovers(child_tmp) == []


@pytest.mark.parametrize(
    ("script", "args"),
    [
        pytest.param(BUILD, ["--no-lint"], id="build_docker.py"),
        pytest.param(RUN, ["--topic", "x"], id="run_docker.py"),
    ],
)
def test_daemon_not_running_is_a_preflight_error(
    script: Path, args: list[str], tmp_path: Path, child_tmp: Path
) -> None:
    """DOCKER_HOST at a socket nobody listens on; the real daemon is untouched."""
    out_dir, reports = tmp_path / "out", tmp_path / "reports"
    where = ["--report-dir", str(reports)] if script == BUILD else []
    where += ["--output-dir", str(out_dir)] if script == RUN else []
    host = dead_docker_host(tmp_path)
    env = child_env(DOCKER_HOST=host, TMPDIR=str(child_tmp))

    result = run_py(script, *where, *args, env=env, timeout=60)

    assert result.returncode == 3, result.stderr
    line = single_error(result.stderr)
    assert "the Docker daemon is not reachable (" in line
    assert f"Cannot connect to the Docker daemon at {host}" in result.stderr
    assert "hint: start it" in result.stderr
    assert not out_dir.exists() and not reports.exists()
    assert leftovers(child_tmp) == []


# --- images --------------------------------------------------------------------


@pytest.mark.engine
def test_run_of_a_missing_image_says_how_to_build_it(
    engine: None, user_things: UserThings, tmp_path: Path, child_tmp: Path
) -> None:
    reference = f"{TEST_IMAGE}:never-built-{token()}"
    out_dir = tmp_path / "out"

    result = run_py(
        RUN, *run_args(reference, out_dir, "--topic", "x"),
        env=child_env(TMPDIR=str(child_tmp)),
    )  # fmt: skip

    assert result.returncode == 3, result.stderr
    assert single_error(result.stderr).endswith(f"image {reference} not found")
    assert "hint: build it first: ./build_docker.py" in result.stderr
    assert not out_dir.exists()
    assert user_things.intact()
    assert leftovers(child_tmp) == []


@pytest.mark.engine
def test_scan_only_of_a_missing_image_says_how_to_build_it(
    engine: None, fake_trivy_bin: Path, tmp_path: Path, child_tmp: Path
) -> None:
    reference = f"{TEST_IMAGE}:never-built-{token()}"
    reports = tmp_path / "reports"
    env = child_env(PATH=str(fake_trivy_bin), TMPDIR=str(child_tmp))

    result = run_py(
        BUILD, *image_args(reference), "--scan-only", "--report-dir", str(reports),
        env=env,
    )  # fmt: skip

    assert result.returncode == 3, result.stderr
    line = single_error(result.stderr)
    assert line.endswith(f"image {reference} not found in the local engine")
    name, tag = reference.split(":")
    assert f"hint: build it first: ./build_docker.py --image {name} --tag {tag}" in (
        result.stderr
    )
    assert not reports.exists()  # a failed preflight creates no report folder
    assert leftovers(child_tmp) == []


# --- the build -----------------------------------------------------------------


@pytest.mark.engine
def test_build_failing_mid_way_is_exit_5_and_leaves_no_container(
    engine: None,
    project: Project,
    unique_ref: str,
    user_things: UserThings,
    tmp_path: Path,
    child_tmp: Path,
) -> None:
    project.dockerfile(
        "RUN echo 'the first step passes' > /tmp/first",
        "RUN echo 'reliability: failing on purpose' >&2 && exit 3",
    )
    reports = tmp_path / "reports"

    result = run_py(
        project.script, *image_args(unique_ref), "--base-image", BASE_IMAGE,
        "--no-lint", "--no-scan", "--report-dir", str(reports),
        env=child_env(TMPDIR=str(child_tmp)),
    )  # fmt: skip

    assert result.returncode == 5, result.stderr[-3000:]
    line = single_error(result.stderr)
    assert "command failed (exited with code 3): docker build --file " in line
    assert "returned a non-zero code: 3" in result.stderr
    assert "reliability: failing on purpose" in result.stderr
    assert not exists("image", unique_ref)
    # --force-rm: no intermediate container stays after the failed step.
    assert containers_labelled(project.marker_label) == set()
    # The layers of the steps that passed stay as the legacy builder's cache
    # (no tool label); nothing labelled by this tool was made.
    ours = {*images_labelled(project.marker_label)} & {
        *images_labelled(f"{TOOL_LABEL}=build_docker.py")
    }
    assert ours == set()
    assert list(reports.iterdir()) == []
    assert user_things.intact()
    assert leftovers(child_tmp) == []


@pytest.mark.engine
def test_failing_smoke_test_is_exit_6_and_removes_its_container(
    built_image: str,
    project: Project,
    unique_ref: str,
    user_things: UserThings,
    tmp_path: Path,
    child_tmp: Path,
) -> None:
    """The app works (--help), its health check does not."""
    project.dockerfile(
        "HEALTHCHECK --interval=5s --timeout=5s --retries=1 CMD "
        '["python3", "-c", "raise SystemExit(\'reliability: unhealthy on purpose\')"]'
    )

    result = run_py(
        project.script, *image_args(unique_ref), "--base-image", built_image,
        "--no-lint", "--no-scan", "--report-dir", str(tmp_path / "reports"),
        env=child_env(TMPDIR=str(child_tmp)),
    )  # fmt: skip

    assert result.returncode == 6, result.stderr[-3000:]
    line = single_error(result.stderr)
    assert "command failed (exited with code 1): docker run --rm --name " in line
    assert f"--entrypoint python3 {unique_ref} -c " in line
    assert "reliability: unhealthy on purpose" in result.stderr
    assert "--help exits 0" in result.stderr  # the first smoke run passed
    assert containers_of(unique_ref) == set()
    assert user_things.intact()
    assert leftovers(child_tmp) == []


# --- trivy ----------------------------------------------------------------------


@pytest.mark.engine
def test_scan_only_without_trivy_is_a_scanner_error(
    built_image: str, tmp_path: Path, child_tmp: Path
) -> None:
    no_trivy = bin_dir_with(tmp_path / "bin", docker=real_docker())
    reports = tmp_path / "reports"

    result = run_py(
        BUILD, *image_args(built_image), "--scan-only", "--report-dir", str(reports),
        env=child_env(PATH=str(no_trivy), TMPDIR=str(child_tmp)),
    )  # fmt: skip

    assert result.returncode == 8, result.stderr
    assert single_error(result.stderr).endswith("trivy not found on PATH")
    assert "hint: install trivy (https://trivy.dev) or pass --no-scan" in result.stderr
    assert not reports.exists()  # a failed preflight creates no report folder
    assert leftovers(child_tmp) == []


@pytest.mark.engine
@pytest.mark.parametrize(
    ("mode", "trivy_code", "said"),
    [
        pytest.param("crash", 2, "panic: runtime error", id="trivy-crashes"),
        pytest.param(
            "db-fail", 1, "failed to download vulnerability DB", id="trivy-db-download"
        ),
        pytest.param("timeout", 1, "context deadline exceeded", id="trivy-own-timeout"),
    ],
)
def test_failing_trivy_is_a_scanner_error_never_findings(
    mode: str,
    trivy_code: int,
    said: str,
    built_image: str,
    fake_trivy_bin: Path,
    tmp_path: Path,
    child_tmp: Path,
) -> None:
    reports = tmp_path / "reports"
    env = child_env(
        PATH=str(fake_trivy_bin), TMPDIR=str(child_tmp), **trivy_env(mode=mode)
    )

    result = run_py(
        BUILD, *image_args(built_image), "--scan-only", "--report-dir", str(reports),
        env=env,
    )  # fmt: skip

    assert result.returncode == 8, result.stderr
    line = single_error(result.stderr)
    assert (
        f"command failed (trivy failed with exit code {trivy_code}, not findings): "
        "trivy image --format json"
    ) in line
    assert said in result.stderr
    assert list(reports.iterdir()) == []  # no report that could pass for a scan
    assert leftovers(child_tmp) == []


@pytest.mark.engine
def test_trivy_hanging_past_its_timeout_is_killed(
    built_image: str,
    fake_trivy_bin: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """In-process, so the watchdog's grace can be shortened from 30 s to 1 s."""
    monkeypatch.setattr("lib.scan.GRACE_SECONDS", 1.0)
    calls = tmp_path / f"trivy-{token()}.jsonl"
    env_file = tmp_path / "empty.env"
    env_file.write_text("")
    reports = tmp_path / "reports"
    variables = {"PATH": str(fake_trivy_bin), **trivy_env(mode="hang", log=calls)}

    began = time.monotonic()
    with plumbum_env(variables):
        code = build_docker.main(
            [*image_args(built_image), "--scan-only", "--scan-timeout", "1",
             "--env-file", str(env_file), "--report-dir", str(reports)]
        )  # fmt: skip
    took = time.monotonic() - began

    err = capsys.readouterr().err
    assert code == 8, err
    assert "command failed (timed out after 2s): trivy image --format json" in (
        single_error(err)
    )
    assert took < 20
    assert calls.exists()  # the fake really ran
    assert processes_with_env("FAKE_TRIVY_LOG", str(calls)) == []
    assert list(reports.iterdir()) == []


# --- the run -----------------------------------------------------------------------


@pytest.mark.engine
def test_oom_kill_is_exit_137_explained_and_removed(
    built_image: str, user_things: UserThings, tmp_path: Path, child_tmp: Path
) -> None:
    out_dir = tmp_path / "out"

    result = run_py(
        RUN, *run_args(built_image, out_dir, "--memory", "10m", "--topic", "x"),
        env=child_env(TMPDIR=str(child_tmp)),
    )  # fmt: skip

    assert result.returncode == 137, result.stderr
    assert single_error(result.stderr).endswith(
        "the container was killed for lack of memory (exit code 137): "
        "exceeded --memory 10m; try --memory 20m"
    )
    assert containers_mounting(out_dir) == []
    assert user_things.intact()
    assert leftovers(child_tmp) == []


@pytest.fixture(scope="module")
def unhealthy_image(
    built_image: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The app image with a health check that fails within a second or two."""
    context = tmp_path_factory.mktemp("unhealthy")
    (context / "Dockerfile").write_text(
        f"FROM {built_image}\n"
        "HEALTHCHECK --interval=1s --timeout=3s --retries=1 CMD "
        '["python3", "-c", "raise SystemExit(\'reliability: unhealthy on purpose\')"]\n'
    )
    reference = f"{TEST_IMAGE}:unhealthy-{token()}"
    subprocess.run(
        ["docker", "build", "--quiet", "--tag", reference, str(context)],
        capture_output=True,
        check=True,
        env={**os.environ, "DOCKER_BUILDKIT": "0"},
    )
    yield reference
    docker("image", "rm", "--force", reference, check=False)


@pytest.mark.engine
def test_failing_health_check_of_a_detached_run_is_exit_1_and_removed(
    unhealthy_image: str, user_things: UserThings, tmp_path: Path, child_tmp: Path
) -> None:
    """The app is held at its lock, so only the health check can end the wait."""
    out_dir = tmp_path / "held"
    out_dir.mkdir()
    if os.getuid() == 0:
        os.chown(out_dir, 1000, 1000)

    with numbering_lock(out_dir):
        result = run_py(
            RUN, *run_args(unhealthy_image, out_dir, "--detach", "--topic", "x"),
            env=child_env(TMPDIR=str(child_tmp)), timeout=120,
        )  # fmt: skip

    assert result.returncode == 1, result.stderr
    line = single_error(result.stderr)
    assert "did not become healthy (unhealthy: reliability: unhealthy on purpose)" in (
        line
    )
    assert line.endswith("it was stopped and removed")
    assert gone_within(lambda: containers_mounting(out_dir) == [])
    assert user_things.intact()
    assert leftovers(child_tmp) == []


# --- signals -------------------------------------------------------------------


def _wait_for_line(stream: IO[str] | None, needle: str, seconds: float = 120) -> bool:
    assert stream is not None
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            return False
        if needle in line:
            return True
    return False


@pytest.mark.engine
@pytest.mark.parametrize(
    ("signum", "code"),
    [
        pytest.param(signal.SIGINT, 130, id="SIGINT"),
        pytest.param(signal.SIGTERM, 143, id="SIGTERM"),
    ],
)
def test_signal_during_the_build_stops_it_at_once(
    signum: int,
    code: int,
    engine: None,
    project: Project,
    unique_ref: str,
    user_things: UserThings,
    tmp_path: Path,
    child_tmp: Path,
) -> None:
    """The signal goes to build_docker.py alone, as `kill` or a CI runner sends it.

    The RUN step would sleep a minute: the build must end within seconds,
    cancelled, its image never tagged and its container gone.
    """
    project.dockerfile("RUN echo reliability-build-started && sleep 60")
    child = subprocess.Popen(
        [sys.executable, str(project.script), *image_args(unique_ref),
         "--base-image", BASE_IMAGE, "--no-lint", "--no-scan",
         "--report-dir", str(tmp_path / "reports")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(TMPDIR=str(child_tmp)),
    )  # fmt: skip
    try:
        assert _wait_for_line(child.stdout, "reliability-build-started")
        sent = time.monotonic()
        child.send_signal(signum)
        _out, err = child.communicate(timeout=90)
        took = time.monotonic() - sent
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()

    assert child.returncode == code, err[-3000:]
    assert single_error(err) == "[ERROR] interrupted"
    assert took < 20, f"the build ran on for {took:.0f}s after the signal"
    assert gone_within(lambda: containers_labelled(project.marker_label) == set())
    assert not exists("image", unique_ref)
    assert user_things.intact()
    assert leftovers(child_tmp) == []


@pytest.mark.engine
@pytest.mark.parametrize(
    ("signum", "code"),
    [
        pytest.param(signal.SIGINT, 130, id="SIGINT"),
        pytest.param(signal.SIGTERM, 143, id="SIGTERM"),
    ],
)
def test_signal_during_the_run_removes_only_its_own_container(
    signum: int,
    code: int,
    built_image: str,
    user_things: UserThings,
    tmp_path: Path,
) -> None:
    out_dir = tmp_path / "held"
    out_dir.mkdir()
    if os.getuid() == 0:
        os.chown(out_dir, 1000, 1000)
    (out_dir / "notes.txt").write_text("the user's notes\n")

    with (
        numbering_lock(out_dir),
        started(built_image, out_dir, "--topic", "Interrupted") as child,
    ):
        info = wait_until_running(out_dir)
        child.send_signal(signum)
        _out, err = child.communicate(timeout=60)

    assert child.returncode == code, err
    name = info["Name"][1:]
    assert single_error(err).endswith(
        f"{signal.Signals(signum).name} received: container {name} stopped and removed"
    )
    assert not exists("container", info["Id"])
    assert containers_mounting(out_dir) == []
    assert (out_dir / "notes.txt").read_text() == "the user's notes\n"
    assert user_things.intact()


# --- where the results go ------------------------------------------------------


@pytest.mark.engine
def test_output_dir_the_container_cannot_write_is_a_preflight_error(
    built_image: str, tmp_path: Path, child_tmp: Path
) -> None:
    out_dir = tmp_path / "not-writable"
    out_dir.mkdir()
    (out_dir / "notes.txt").write_text("the user's notes\n")
    if os.getuid() == 0:
        os.chown(out_dir, 0, 0)  # root's folder: workshop-user (1000) cannot write
        out_dir.chmod(0o755)
    else:
        out_dir.chmod(0o555)
    before = out_dir.stat()

    result = run_py(
        RUN, *run_args(built_image, out_dir, "--topic", "x"),
        env=child_env(TMPDIR=str(child_tmp)),
    )  # fmt: skip

    assert result.returncode == 3, result.stderr
    user = f"{CONTAINER_UID}:{1000 if os.getuid() == 0 else os.getgid()}"
    assert single_error(result.stderr).endswith(
        f"output directory {out_dir} is not writable by the container user {user}"
    )
    assert f"hint: chown {user} {out_dir}" in result.stderr
    after = out_dir.stat()
    assert (after.st_mode, after.st_uid, after.st_gid) == (
        before.st_mode,
        before.st_uid,
        before.st_gid,
    )
    assert sorted(p.name for p in out_dir.iterdir()) == ["notes.txt"]
    assert containers_mounting(out_dir) == []
    assert leftovers(child_tmp) == []


@pytest.mark.engine
def test_read_only_report_dir_is_a_preflight_error(
    built_image: str, fake_trivy_bin: Path, tmp_path: Path, child_tmp: Path
) -> None:
    needs_root("a read-only report directory")
    with mounted_tmpfs(tmp_path / "reports", "ro,size=64k") as reports:
        result = run_py(
            BUILD, *image_args(built_image), "--scan-only",
            "--report-dir", str(reports),
            env=child_env(PATH=str(fake_trivy_bin), TMPDIR=str(child_tmp)),
        )  # fmt: skip

    assert result.returncode == 3, result.stderr
    assert single_error(result.stderr).endswith(
        f"the report directory {reports} is not writable: Read-only file system"
    )
    assert "hint: pass --report-dir with a writable directory" in result.stderr
    assert leftovers(child_tmp) == []


def _fill(directory: Path) -> Path:
    """Fill a small file system to the last byte with a file of the user's."""
    filler = directory / "users-big-file.bin"
    with filler.open("wb", buffering=0) as out:
        try:
            while True:
                out.write(b"\0" * 1024)
        except OSError:
            pass  # ENOSPC: full
    return filler


@pytest.mark.engine
def test_full_report_disk_is_a_named_error_and_leaves_no_partial_report(
    engine: None, unique_ref: str, tmp_path: Path, child_tmp: Path
) -> None:
    """A build whose report disk is full: image-info.json cannot be written."""
    needs_root("a full report disk")
    with mounted_tmpfs(tmp_path / "reports", "size=64k") as reports:
        (reports / "notes.txt").write_text("the user's notes\n")
        filler = _fill(reports)
        size = filler.stat().st_size
        result = run_py(
            BUILD, *image_args(unique_ref), "--base-image", BASE_IMAGE,
            "--no-lint", "--no-test", "--no-scan", "--report-dir", str(reports),
            env=child_env(TMPDIR=str(child_tmp)),
        )  # fmt: skip
        left = sorted(p.name for p in reports.iterdir())
        kept = (reports / "notes.txt").read_text(), filler.stat().st_size

    assert result.returncode == 1, result.stderr[-3000:]
    assert single_error(result.stderr).endswith(
        f"cannot write {reports / 'image-info.json'}: No space left on device"
    )
    assert "unexpected error" not in result.stderr
    assert left == ["notes.txt", "users-big-file.bin"]  # no cut-off report
    assert kept == ("the user's notes\n", size)
    assert leftovers(child_tmp) == []


@pytest.mark.engine
def test_full_step_summary_disk_keeps_the_runs_own_exit_code(
    built_image: str, fake_trivy_bin: Path, tmp_path: Path, child_tmp: Path
) -> None:
    """--ci-mode with findings is exit 7, also when the summary cannot be written."""
    env = child_env(
        PATH=str(fake_trivy_bin),
        TMPDIR=str(child_tmp),
        GITHUB_STEP_SUMMARY="/dev/full",
        **trivy_env(findings=FINDINGS_REPORT),
    )

    result = run_py(
        BUILD, *image_args(built_image), "--scan-only", "--ci-mode",
        "--report-dir", str(tmp_path / "reports"), env=env,
    )  # fmt: skip

    assert result.returncode == 7, result.stderr[-3000:]
    assert (
        "[WARNING] cannot write the step summary to /dev/full: No space left on device"
    ) in result.stderr
    assert single_error(result.stderr).startswith("[ERROR] trivy: 5 finding(s)")
    assert "unexpected error" not in result.stderr
    assert leftovers(child_tmp) == []


@pytest.mark.engine
def test_full_disk_for_the_audit_report_removes_the_container_before_it_ran(
    built_image: str, tmp_path: Path, child_tmp: Path
) -> None:
    out_dir = tmp_path / "out"

    result = run_py(
        RUN, *run_args(built_image, out_dir, "--audit-json", "/dev/full",
                       "--topic", "Never written"),
        env=child_env(TMPDIR=str(child_tmp)),
    )  # fmt: skip

    assert result.returncode == 1, result.stderr
    assert single_error(result.stderr).endswith(
        "cannot write --audit-json /dev/full: No space left on device"
    )
    assert containers_mounting(out_dir) == []
    assert list(out_dir.iterdir()) == []  # the app never ran
    assert leftovers(child_tmp) == []
