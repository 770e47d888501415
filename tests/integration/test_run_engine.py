"""run_docker.py on a real engine: signals, OOM, verification, audit, secrets.

The app is kept busy deterministically by holding its numbering lock
(<output-dir>/.workshop-builder.lock): it blocks there until we let go.
Every test ends with no container of run_docker.py left mounting its folder.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import pytest

import run_docker
from tests.conftest import PROJECT_DIR
from tests.integration.conftest import (
    containers_mounting,
    inspect,
    script,
    wait_for_container,
    writable_dir_for_container,
)

pytestmark = pytest.mark.engine


def run_args(reference: str, out_dir: Path, *args: str) -> list[str]:
    name, tag = reference.split(":")
    return ["--image", name, "--tag", tag, "--output-dir", str(out_dir), *args]


@contextmanager
def numbering_lock(out_dir: Path) -> Iterator[IO[bytes]]:
    """Hold the app's lock: a container started now waits until we let go."""
    lock_path = out_dir / ".workshop-builder.lock"
    lock_path.touch(mode=0o666)
    with lock_path.open("rb") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield lock
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextmanager
def started(
    reference: str, out_dir: Path, *args: str, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[str]]:
    """run_docker.py in a child process; on a failed test, SIGTERM ends it cleanly."""
    child = subprocess.Popen(
        [sys.executable, str(PROJECT_DIR / "run_docker.py"), *run_args(
            reference, out_dir, *args
        )],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )  # fmt: skip
    try:
        yield child
    except BaseException:
        child.terminate()  # run_docker.py stops and removes its container
        child.communicate(timeout=60)
        raise


def wait_until_running(out_dir: Path, timeout: float = 60) -> dict[str, Any]:
    """The inspect data of our container once its app is running."""
    container_id = wait_for_container(out_dir, timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = inspect("container", container_id)
        if info["State"]["Running"]:
            return info
        time.sleep(0.1)
    raise AssertionError(f"{container_id} did not start within {timeout}s")


# --- signals -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("signum", "code"),
    [
        pytest.param(signal.SIGINT, 130, id="SIGINT"),
        pytest.param(signal.SIGTERM, 143, id="SIGTERM"),
    ],
)
def test_a_signal_mid_run_stops_and_removes_the_container(
    signum: int, code: int, built_image: str, tmp_path: Path
) -> None:
    out_dir = writable_dir_for_container(tmp_path / "held")
    with (
        numbering_lock(out_dir),
        started(built_image, out_dir, "--topic", "Interrupted") as child,
    ):
        info = wait_until_running(out_dir)
        child.send_signal(signum)
        _out, err = child.communicate(timeout=60)

    name = signal.Signals(signum).name
    assert child.returncode == code, err
    assert f"{name} received: stopping the container (grace 10s)" in err
    assert f"{name} received: container {info['Name'][1:]} stopped and removed" in err
    assert containers_mounting(out_dir) == []
    assert sorted(p.name for p in out_dir.iterdir()) == [".workshop-builder.lock"]


# --- OOM ---------------------------------------------------------------------


def test_an_oom_kill_is_detected_explained_and_the_advice_works(
    built_image: str, tmp_path: Path
) -> None:
    # Measured on this engine (cgroup v1): python and the app need about 13m,
    # so 8m-12m is an OOM kill within a second, every time; 6m can instead
    # thrash for many seconds before the kill.
    out_dir = tmp_path / "out"

    starved = script(
        "run_docker.py",
        *run_args(built_image, out_dir, "--memory", "10m", "--topic", "x"),
    )
    fed = script(
        "run_docker.py",
        *run_args(built_image, out_dir, "--memory", "20m", "--topic", "x"),
    )

    assert starved.returncode == 137, starved.stderr
    assert (
        "the container was killed for lack of memory (exit code 137): "
        "exceeded --memory 10m; try --memory 20m"
    ) in starved.stderr
    assert fed.returncode == 0, fed.stderr
    assert [p.name for p in out_dir.glob("workshop-*")] == ["workshop-1-x"]
    assert containers_mounting(out_dir) == []


# --- verification and the self-audit -----------------------------------------


def test_a_hardening_mismatch_is_caught_by_inspect_and_nothing_runs(
    built_image: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Simulate a wrapper that drops --read-only: docker inspect must tell."""
    from lib import docker_argv

    weaken = docker_argv.hardening_args

    def without_read_only(hardening: docker_argv.Hardening) -> list[str]:
        return [arg for arg in weaken(hardening) if arg != "--read-only"]

    monkeypatch.setattr(docker_argv, "hardening_args", without_read_only)
    monkeypatch.setattr("lib.run_flow.PROJECT_DIR", tmp_path)
    out_dir = tmp_path / "out"

    code = run_docker.main(run_args(built_image, out_dir, "--topic", "Never"))

    err = capsys.readouterr().err
    assert code == 3, err
    assert (
        "docker did not apply the hardening asked for, so the container was "
        "removed before it started:\n"
        "    HostConfig.ReadonlyRootfs is False, expected True\n"
    ) in err
    assert containers_mounting(out_dir) == []
    assert list(out_dir.iterdir()) == []


def test_self_audit_json_debug_table_and_monitoring_of_a_real_container(
    built_image: str, tmp_path: Path
) -> None:
    out_dir = writable_dir_for_container(tmp_path / "held")
    report = tmp_path / "audit.json"
    limits = ["--memory", "64m", "--cpu", "0.5", "--pids-limit", "50"]
    args = [
        *limits,
        "--tmpfs-size", "16m",
        "--debug",
        "--audit-json", str(report),
        "--topic", "Audited",
    ]  # fmt: skip
    with numbering_lock(out_dir) as lock, started(built_image, out_dir, *args) as child:
        info = wait_until_running(out_dir)
        time.sleep(3)  # a few docker stats samples while the app waits
        fcntl.flock(lock, fcntl.LOCK_UN)
        _out, err = child.communicate(timeout=60)

    assert child.returncode == 0, err
    host = info["HostConfig"]
    assert (host["Memory"], host["NanoCpus"], host["PidsLimit"]) == (
        64 * 1024**2,
        500_000_000,
        50,
    )
    assert host["Tmpfs"] == {"/tmp": "rw,noexec,nosuid,size=16m"}
    assert host["AutoRemove"] is False  # run_docker.py removes it, after reading it
    document = json.loads(report.read_text())
    evidence = {f["id"]: f["evidence"] for f in document["findings"]}
    assert document["passed"] is True
    assert document["container"] == info["Name"][1:]
    assert evidence["5.11"] == f"Memory={64 * 1024**2}"
    assert evidence["5.12"].startswith("NanoCpus=500000000 ")
    assert evidence["5.29"] == "PidsLimit=50"
    assert evidence["4.1"].startswith(f"Config.User='{info['Config']['User']}'")
    assert "CIS Docker Benchmark 1.6.0 self-audit:\n  4.1   PASS" in err
    assert "hardening verified by docker inspect" in err
    summary = next(line for line in err.splitlines() if "resource use of" in line)
    assert " of 64.0MiB, peak CPU " in summary
    assert "; health: starting" in summary
    assert containers_mounting(out_dir) == []
    assert (out_dir / "workshop-1-audited").is_dir()


# --- detach ------------------------------------------------------------------


def test_detach_reports_how_a_one_shot_app_ended_and_leaves_nothing(
    built_image: str, tmp_path: Path
) -> None:
    out_dir = tmp_path / "out"

    result = script(
        "run_docker.py", *run_args(built_image, out_dir, "--detach", "--topic", "Bg")
    )

    assert result.returncode == 0, result.stderr
    assert "finished (exit code 0) before it reported healthy" in result.stderr
    assert "resource use of workshop-builder-" in result.stderr
    assert (out_dir / "workshop-1-bg").is_dir()
    assert containers_mounting(out_dir) == []


# --- secrets -----------------------------------------------------------------


def test_no_secret_value_ever_reaches_the_output(
    built_image: str, tmp_path: Path
) -> None:
    token = secrets.token_hex(8)
    file_secrets = {
        "OPENAI_API_KEY": f"sk-proj-{token}openai",
        "GEMINI_API_KEY": f"AIza{token}gemini",
        "GITHUB_TOKEN": f"ghp_{token}github",
        "DB_PASSWORD": f"pw {token} with spaces",
        "PLAIN_SETTING": f"plain-{token}-value",  # any .env value counts
    }
    flag_secret = f"flag-{token}-token"
    caller_secret = f"caller-{token}-key"
    env_file = tmp_path / "app.env"
    env_file.write_text("".join(f'{k}="{v}"\n' for k, v in file_secrets.items()))
    env_file.chmod(0o600)
    out_dir = writable_dir_for_container(tmp_path / "out")
    common = [
        "--env-file", str(env_file),
        "--env", f"API_TOKEN={flag_secret}",
        "--env", "MY_SECRET_KEY",
    ]  # fmt: skip
    environ = {**os.environ, "MY_SECRET_KEY": caller_secret}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        argv = run_args(built_image, out_dir, *common, *args)
        return script("run_docker.py", *argv, env=environ)

    # The values must really reach the container, or the test proves nothing.
    debug = [*common, "--debug", "--topic", "Debug"]
    with (
        numbering_lock(out_dir) as lock,
        started(built_image, out_dir, *debug, env=environ) as child,
    ):
        container_env = wait_until_running(out_dir)["Config"]["Env"]
        fcntl.flock(lock, fcntl.LOCK_UN)
        debug_out, debug_err = child.communicate(timeout=60)
    results = {
        "normal": run("--topic", "Normal"),
        "dry-run": run("--dry-run", "--topic", "Dry"),
        "app-failure": run("--topic", " "),
        "docker-failure": run("--network", "no-such-net-42", "--topic", "x"),
    }

    assert child.returncode == 0, debug_err
    for key, value in file_secrets.items():
        assert f"{key}={value}" in container_env
    assert f"API_TOKEN={flag_secret}" in container_env
    assert f"MY_SECRET_KEY={caller_secret}" in container_env
    codes = {label: result.returncode for label, result in results.items()}
    assert codes == {"normal": 0, "dry-run": 0, "app-failure": 2, "docker-failure": 125}
    outputs = {label: r.stdout + r.stderr for label, r in results.items()}
    outputs["debug"] = debug_out + debug_err
    assert "--env OPENAI_API_KEY" in outputs["debug"]  # names are shown
    assert "docker container create" in outputs["dry-run"]
    for label, text in outputs.items():
        for value in [*file_secrets.values(), flag_secret, caller_secret]:
            assert value not in text, f"{label} output shows a secret"
        assert token not in text, f"{label} output shows part of a secret"
    assert containers_mounting(out_dir) == []
