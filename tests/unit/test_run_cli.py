"""run_docker.py driven in-process, docker faked.

A run is: info, image inspect, create, container inspect (verification),
start --attach, container inspect (final state), rm. The fakes answer each
call in that order; the tests assert whole argv lists, exit codes and text.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from pytest_subprocess import FakeProcess

import run_docker
from lib.errors import ExitCode
from lib.monitor import Sample
from tests.conftest import docker_info_json, image_json

REF = "workshop-builder-app:latest"
NAME = "workshop-builder-feedbeef"
CID = "c0ffee" * 10 + "abcd"
SECRET = "sk-unit-test-secret-0123456789abcdef"
GIB = 1024**3
NEVER = "0001-01-01T00:00:00Z"
FIXED_ENV = [
    "PYTHONUNBUFFERED",
    "PYTHONDONTWRITEBYTECODE",
    "WORKSHOPS_BASE_DIR",
    "WORKSHOP_GENERATOR",
]


@pytest.fixture(autouse=True)
def fixed_names(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("lib.cleanup.random_hex", lambda: "feedbeef")
    # The default .env is looked up in the project dir: keep a developer's
    # own .env out of these tests.
    monkeypatch.setattr("lib.run_flow.PROJECT_DIR", tmp_path / "project")
    monkeypatch.setattr("lib.monitor.SAMPLE_INTERVAL_SECONDS", 0.0)


class QuietSampler:
    """Stands in for the background sampler (tested in test_run_monitor.py)."""

    def __init__(self, container: str) -> None:
        from lib.monitor import Usage

        self.container = container
        self.usage = Usage()

    def __enter__(self) -> QuietSampler:
        return self

    def __exit__(self, *_exc: object) -> None:
        return None


@pytest.fixture(autouse=True)
def quiet_sampler(monkeypatch: pytest.MonkeyPatch) -> None:
    # The real one samples from a thread, at times the fakes cannot predict.
    monkeypatch.setattr("lib.monitor.Sampler", QuietSampler)


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    return tmp_path / "my workshops"


def container_user() -> str:
    uid, gid = os.getuid(), os.getgid()
    return "1000:1000" if uid == 0 else f"{uid}:{gid}"


def docker(fp: FakeProcess, *args: str) -> list[object]:
    return [fp.program("docker"), *args]


def inspect_argv(fp: FakeProcess) -> list[object]:
    return docker(fp, "container", "inspect", "--format", "{{json .}}", CID)


def container_json(
    *,
    host: dict[str, Any] | None = None,
    state: dict[str, Any] | None = None,
    user: str | None = None,
) -> str:
    """docker container inspect of our container, hardened as asked."""
    host_config = {
        "CapDrop": ["ALL"],
        "CapAdd": None,
        "Privileged": False,
        "ReadonlyRootfs": True,
        "SecurityOpt": ["no-new-privileges:true"],
        "Memory": 2 * GIB,
        "MemorySwap": 2 * GIB,
        "NanoCpus": 1_000_000_000,
        "CpuShares": 0,
        "PidsLimit": 100,
        "Tmpfs": {"/tmp": "rw,noexec,nosuid,size=100m"},
        "AutoRemove": False,
        **(host or {}),
    }
    container_state = {
        "Status": "created",
        "Running": False,
        "OOMKilled": False,
        "ExitCode": 0,
        "Error": "",
        "StartedAt": NEVER,
        "FinishedAt": NEVER,
        **(state or {}),
    }
    return json.dumps(
        {
            "Id": CID,
            "Name": f"/{NAME}",
            "Created": "2026-12-03T10:00:00.123456789Z",
            "Config": {
                "User": user if user is not None else container_user(),
                "Healthcheck": {
                    "Test": ["CMD", "python3", "-m", "workshop_builder.health"],
                    "Interval": 30_000_000_000,
                    "Timeout": 10_000_000_000,
                    "StartPeriod": 5_000_000_000,
                    "Retries": 3,
                },
            },
            "HostConfig": host_config,
            "State": container_state,
        }
    )


def exited(code: int, **state: Any) -> dict[str, Any]:
    return {
        "Status": "exited",
        "ExitCode": code,
        "StartedAt": "2026-12-03T10:00:01Z",
        "FinishedAt": "2026-12-03T10:00:02Z",
        **state,
    }


def register_preflight(fp: FakeProcess) -> None:
    fp.register(docker(fp, "info", "--format", "{{json .}}"), stdout=docker_info_json())
    fp.register(
        docker(fp, "image", "inspect", "--format", "{{json .}}", REF),
        stdout=image_json(),
    )


def expected_create_argv(
    out_dir: Path,
    *app_args: str,
    env: list[str] | None = None,
    limits: bool = True,
    network: str | None = "none",
    name: str = NAME,
    remove: bool = False,
    interactive: bool = True,
) -> list[str]:
    limit_flags = [
        "--memory", "2g",
        "--memory-swap", "2g",
        "--cpus", "1.0",
        "--pids-limit", "100",
    ]  # fmt: skip
    names = env or FIXED_ENV
    return [
        "container",
        "create",
        *(["--rm"] if remove else []),
        *(["--interactive"] if interactive else []),
        "--init",
        "--name", name,
        "--label", "org.workshop-builder.built-by=run_docker.py",
        "--label", "org.workshop-builder.run-id=feedbeef",
        "--user", container_user(),
        "--cap-drop", "ALL",
        "--security-opt", "no-new-privileges:true",
        "--read-only",
        "--tmpfs", "/tmp:rw,noexec,nosuid,size=100m",
        *(limit_flags if limits else []),
        *(["--network", network] if network else []),
        "--mount", f"type=bind,source={out_dir},target=/workshops",
        *[part for name in names for part in ("--env", name)],
        REF,
        *app_args,
    ]  # fmt: skip


def register_run(
    fp: FakeProcess,
    create_argv: list[str],
    *,
    code: int = 0,
    created: str | None = None,
    final: str | None = None,
    **start: Any,
) -> Any:
    """create, verify, start --attach, final inspect, rm; returns the create fake."""
    create = fp.register(docker(fp, *create_argv), stdout=f"{CID}\n")
    fp.register(inspect_argv(fp), stdout=created or container_json())
    fp.register(
        docker(fp, "container", "start", "--attach", "--interactive", CID),
        returncode=code,
        **start,
    )
    fp.register(inspect_argv(fp), stdout=final or container_json(state=exited(code)))
    fp.register(docker(fp, "container", "rm", "--force", "--volumes", CID))
    return create


def docker_verbs(fp: FakeProcess) -> list[str]:
    """The docker subcommands run, in order ('container create', 'info', ...)."""
    verbs = []
    for call in fp.calls:
        args = [str(part) for part in call]
        if Path(args[0]).name == "docker":
            two = (
                args[1:3] if args[1] in ("container", "image", "system") else args[1:2]
            )
            verbs.append(" ".join(two))
    return verbs


RUN_VERBS = [
    "info",
    "image inspect",
    "container create",
    "container inspect",
    "container start",
    "container inspect",
    "container rm",
]


# --- the default run ---------------------------------------------------------


def test_default_run_is_created_hardened_verified_started_and_removed(
    fp: FakeProcess,
    stub_path: Path,
    out_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    register_preflight(fp)
    topic = "Intro to Docker; $(rm -rf /) 'quoted' \"double\""
    create = register_run(
        fp, expected_create_argv(out_dir, "--topic", topic, "--verbose")
    )

    code = run_docker.main(
        ["--output-dir", str(out_dir), "--topic", topic, "--verbose"]
    )

    err = capsys.readouterr().err
    assert code == 0, err
    assert docker_verbs(fp) == RUN_VERBS
    assert out_dir.is_dir()
    env = create.calls[0].kwargs["env"]
    assert env["WORKSHOPS_BASE_DIR"] == "/workshops"
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["WORKSHOP_GENERATOR"] == "offline"
    assert "hardening verified by docker inspect" in err
    assert "[feedbeef] " in err  # the run id in every log line
    assert f"done; workshops are in {out_dir}" in err


def test_env_file_values_travel_in_the_environment_never_in_argv_or_output(
    fp: FakeProcess,
    stub_path: Path,
    out_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        f'OPENAI_API_KEY="{SECRET}"\nGITHUB_TOKEN=your_github_token_here\n'
    )
    env_file.chmod(0o600)
    register_preflight(fp)
    names = [*FIXED_ENV, "OPENAI_API_KEY", "EXTRA", "LOG_LEVEL"]
    create = register_run(fp, expected_create_argv(out_dir, "--topic", "x", env=names))

    code = run_docker.main(
        [
            "--env-file", str(env_file),
            "--output-dir", str(out_dir),
            "--env", "EXTRA=visible-value",
            "--debug",
            "--topic", "x",
        ]
    )  # fmt: skip

    output = capsys.readouterr()
    assert code == 0, output.err
    env = create.calls[0].kwargs["env"]
    assert env["OPENAI_API_KEY"] == SECRET  # quotes removed by dotenv
    assert "GITHUB_TOKEN" not in env  # a placeholder is not passed on
    assert env["LOG_LEVEL"] == "DEBUG"
    for call in fp.calls:
        assert SECRET not in " ".join(str(a) for a in call)
    assert SECRET not in output.out + output.err
    assert "--env OPENAI_API_KEY --env EXTRA" in output.err  # the debug command


def test_env_key_alone_takes_the_callers_value(
    fp: FakeProcess,
    stub_path: Path,
    out_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MY_TOKEN", "from-the-caller-env")
    register_preflight(fp)
    names = [*FIXED_ENV, "MY_TOKEN"]
    create = register_run(fp, expected_create_argv(out_dir, "--topic", "x", env=names))

    code = run_docker.main(
        ["--env", "MY_TOKEN", "--output-dir", str(out_dir), "--topic", "x"]
    )

    assert code == 0
    assert create.calls[0].kwargs["env"]["MY_TOKEN"] == "from-the-caller-env"


def test_group_readable_env_file_is_a_warning(
    fp: FakeProcess,
    stub_path: Path,
    out_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env_file = tmp_path / "app.env"
    env_file.write_text("LOG_LEVEL=WARNING\n")
    env_file.chmod(0o640)
    register_preflight(fp)
    names = [*FIXED_ENV, "LOG_LEVEL"]
    register_run(fp, expected_create_argv(out_dir, "--topic", "x", env=names))

    code = run_docker.main(
        ["--env-file", str(env_file), "--output-dir", str(out_dir), "--topic", "x"]
    )

    assert code == 0
    assert (
        f"[WARNING] [feedbeef] {env_file} can be read by other users; make it "
        f"yours alone: chmod 600 {env_file}"
    ) in capsys.readouterr().err


def test_no_limits_drops_every_limit_flag_and_the_audit_says_so(
    fp: FakeProcess,
    stub_path: Path,
    out_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    register_preflight(fp)
    unlimited = {"Memory": 0, "MemorySwap": 0, "NanoCpus": 0, "PidsLimit": None}
    register_run(
        fp,
        expected_create_argv(out_dir, "--topic", "x", limits=False),
        created=container_json(host=unlimited),
        final=container_json(host=unlimited, state=exited(0)),
    )

    code = run_docker.main(
        ["--no-limits", "--output-dir", str(out_dir), "--topic", "x"]
    )

    err = capsys.readouterr().err
    assert code == 0, err
    assert "[WARNING] [feedbeef] --no-limits: no memory, CPU or pids limit" in err
    assert "CIS Docker Benchmark 1.6.0: not met: 5.11, 5.12, 5.29" in err


def test_custom_limits_reach_docker_and_are_verified(
    fp: FakeProcess, stub_path: Path, out_dir: Path
) -> None:
    register_preflight(fp)
    argv = expected_create_argv(out_dir, "--topic", "x")
    argv[argv.index("--memory") + 1] = "1.5g"
    argv[argv.index("--memory-swap") + 1] = "1.5g"
    argv[argv.index("--cpus") + 1] = "0.5"
    argv[argv.index("--pids-limit") + 1] = "50"
    argv[argv.index("--tmpfs") + 1] = "/tmp:rw,noexec,nosuid,size=64m"
    host = {
        "Memory": 1_610_612_736,
        "MemorySwap": 1_610_612_736,
        "NanoCpus": 500_000_000,
        "PidsLimit": 50,
        "Tmpfs": {"/tmp": "rw,noexec,nosuid,size=64m"},
    }
    register_run(
        fp,
        argv,
        created=container_json(host=host),
        final=container_json(host=host, state=exited(0)),
    )

    code = run_docker.main(
        [
            "--memory", "1.5G",
            "--cpu", "0.5",
            "--pids-limit", "50",
            "--tmpfs-size", "64m",
            "--output-dir", str(out_dir),
            "--topic", "x",
        ]
    )  # fmt: skip

    assert code == 0


def test_name_and_network_options_reach_docker(
    fp: FakeProcess, stub_path: Path, out_dir: Path
) -> None:
    register_preflight(fp)
    register_run(
        fp,
        expected_create_argv(
            out_dir, "--topic", "x", name="my-run.1", network="workshop_net"
        ),
    )

    code = run_docker.main(
        [
            "--name", "my-run.1",
            "--network", "workshop_net",
            "--output-dir", str(out_dir),
            "--topic", "x",
        ]
    )  # fmt: skip

    assert code == 0


# --- exit codes --------------------------------------------------------------


@pytest.mark.parametrize("app_code", [1, 2, 3, 42, 125])
def test_the_apps_exit_code_is_returned_unchanged(
    app_code: int,
    fp: FakeProcess,
    stub_path: Path,
    out_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    register_preflight(fp)
    register_run(fp, expected_create_argv(out_dir, "--topic", "x"), code=app_code)

    code = run_docker.main(["--output-dir", str(out_dir), "--topic", "x"])

    assert code == app_code
    err = capsys.readouterr().err
    assert f"[ERROR] [feedbeef] the app exited with code {app_code}\n" in err
    assert docker_verbs(fp)[-1] == "container rm"


@pytest.mark.parametrize(
    ("app_code", "meaning"),
    [
        pytest.param(126, "the container's command could not be invoked", id="126"),
        pytest.param(127, "the container's command was not found", id="127"),
        pytest.param(143, "the app was ended by SIGTERM", id="143"),
        pytest.param(
            137, "the app was killed (SIGKILL), not for lack of memory", id="137"
        ),
    ],
)
def test_exit_codes_with_a_docker_meaning_are_explained(
    app_code: int,
    meaning: str,
    fp: FakeProcess,
    stub_path: Path,
    out_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    register_preflight(fp)
    register_run(fp, expected_create_argv(out_dir, "--topic", "x"), code=app_code)

    code = run_docker.main(["--output-dir", str(out_dir), "--topic", "x"])

    assert code == app_code
    assert f"exit code {app_code}: {meaning}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("memory", "advice"),
    [
        pytest.param("2g", "exceeded --memory 2g; try --memory 4g", id="2g"),
        pytest.param("1.5g", "exceeded --memory 1.5g; try --memory 3g", id="1.5g"),
        pytest.param("6m", "exceeded --memory 6m; try --memory 12m", id="6m"),
        pytest.param("512M", "exceeded --memory 512m; try --memory 1g", id="512m"),
    ],
)
def test_an_oom_kill_is_detected_and_explained(
    memory: str,
    advice: str,
    fp: FakeProcess,
    stub_path: Path,
    out_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    register_preflight(fp)
    argv = expected_create_argv(out_dir, "--topic", "x")
    argv[argv.index("--memory") + 1] = memory.lower()
    argv[argv.index("--memory-swap") + 1] = memory.lower()
    size = {"2g": 2 * GIB, "1.5g": 1_610_612_736, "6m": 6 * 1024**2}.get(
        memory, 512 * 1024**2
    )
    host = {"Memory": size, "MemorySwap": size}
    register_run(
        fp,
        argv,
        code=137,
        created=container_json(host=host),
        final=container_json(host=host, state=exited(137, OOMKilled=True)),
    )

    code = run_docker.main(
        ["--memory", memory, "--output-dir", str(out_dir), "--topic", "x"]
    )

    assert code == 137
    assert (
        "[ERROR] [feedbeef] the container was killed for lack of memory "
        f"(exit code 137): {advice}\n"
    ) in capsys.readouterr().err


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        pytest.param(
            'exec: "python3": executable file not found in $PATH', 127, id="not-found"
        ),
        pytest.param(
            'exec: "/app": stat /app: no such file or directory', 127, id="no-such-file"
        ),
        pytest.param('exec: "/etc/hostname": permission denied', 126, id="denied"),
        pytest.param("network workshop_net not found", 125, id="other"),
    ],
)
def test_a_container_that_never_started_gets_dockers_exit_code(
    error: str,
    expected: int,
    fp: FakeProcess,
    stub_path: Path,
    out_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    register_preflight(fp)
    never_started = {"Status": "created", "ExitCode": 128, "Error": error}
    register_run(
        fp,
        expected_create_argv(out_dir, "--topic", "x"),
        code=1,  # what docker start --attach says when the start fails
        final=container_json(state=never_started),
    )

    code = run_docker.main(["--output-dir", str(out_dir), "--topic", "x"])

    assert code == expected
    assert (
        f"[ERROR] [feedbeef] docker could not start the container (exit code "
        f"{expected}): {error}\n"
    ) in capsys.readouterr().err
    assert docker_verbs(fp)[-1] == "container rm"


def test_create_failure_is_125_and_removes_nothing_it_did_not_create(
    fp: FakeProcess,
    stub_path: Path,
    out_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    register_preflight(fp)
    conflict = (
        'Error response from daemon: Conflict. The container name "/taken" is '
        'already in use by container "0123".\n'
    )
    fp.register(
        docker(fp, *expected_create_argv(out_dir, "--topic", "x", name="taken")),
        returncode=1,
        stderr=conflict,
    )
    fp.register(
        docker(
            fp, "container", "ls", "--all", "--quiet",
            "--filter", "label=org.workshop-builder.run-id=feedbeef",
        ),
        stdout="",
    )  # fmt: skip

    code = run_docker.main(
        ["--name", "taken", "--output-dir", str(out_dir), "--topic", "x"]
    )

    err = capsys.readouterr().err
    assert code == ExitCode.DOCKER_ERROR == 125
    assert "command failed (exited with code 1): docker container create" in err
    assert (
        '    Error response from daemon: Conflict. The container name "/taken"' in err
    )
    assert "container rm" not in docker_verbs(fp)


def test_hardening_mismatch_removes_the_container_before_it_starts(
    fp: FakeProcess,
    stub_path: Path,
    out_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    register_preflight(fp)
    fp.register(
        docker(fp, *expected_create_argv(out_dir, "--topic", "x")), stdout=f"{CID}\n"
    )
    weakened = {"ReadonlyRootfs": False, "CapAdd": ["NET_RAW"], "PidsLimit": None}
    fp.register(inspect_argv(fp), stdout=container_json(host=weakened))
    fp.register(docker(fp, "container", "rm", "--force", "--volumes", CID))

    code = run_docker.main(["--output-dir", str(out_dir), "--topic", "x"])

    err = capsys.readouterr().err
    assert code == ExitCode.PREFLIGHT
    assert (
        "docker did not apply the hardening asked for, so the container was "
        "removed before it started:\n"
        "    HostConfig.CapAdd is ['NET_RAW'], expected []\n"
        "    HostConfig.ReadonlyRootfs is False, expected True\n"
        "    HostConfig.PidsLimit is None, expected 100\n"
    ) in err
    assert docker_verbs(fp) == [
        "info",
        "image inspect",
        "container create",
        "container inspect",
        "container rm",
    ]


# --- signals -----------------------------------------------------------------


def send_to_self(signum: int) -> Any:
    def callback(_process: object) -> None:
        os.kill(os.getpid(), signum)
        time.sleep(0.2)  # let the main thread run the handler

    return callback


@pytest.mark.parametrize(
    ("signum", "expected"),
    [
        pytest.param(signal.SIGINT, 130, id="SIGINT"),
        pytest.param(signal.SIGTERM, 143, id="SIGTERM"),
        pytest.param(signal.SIGHUP, 129, id="SIGHUP"),
    ],
)
def test_a_signal_mid_run_stops_and_removes_the_container(
    signum: int,
    expected: int,
    fp: FakeProcess,
    stub_path: Path,
    out_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    register_preflight(fp)
    create = docker(fp, *expected_create_argv(out_dir, "--topic", "x"))
    fp.register(create, stdout=f"{CID}\n")
    fp.register(inspect_argv(fp), stdout=container_json())
    fp.register(
        docker(fp, "container", "start", "--attach", "--interactive", CID),
        callback=send_to_self(signum),
        returncode=expected,
    )
    stop = fp.register(docker(fp, "container", "stop", "--time", "10", CID))
    fp.register(docker(fp, "container", "rm", "--force", "--volumes", CID))
    before = signal.getsignal(signum)

    code = run_docker.main(["--output-dir", str(out_dir), "--topic", "x"])

    err = capsys.readouterr().err
    name = signal.Signals(signum).name
    assert code == expected
    assert len(stop.calls) == 1
    assert docker_verbs(fp)[-1] == "container rm"
    assert f"[WARNING] [feedbeef] {name} received: stopping the container" in err
    assert (
        f"[ERROR] [feedbeef] {name} received: container {NAME} stopped and removed\n"
    ) in err
    assert signal.getsignal(signum) is before  # handlers restored


def test_a_signal_during_create_removes_the_container_and_never_starts_it(
    fp: FakeProcess,
    stub_path: Path,
    out_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    register_preflight(fp)
    fp.register(
        docker(fp, *expected_create_argv(out_dir, "--topic", "x")),
        stdout=f"{CID}\n",
        callback=send_to_self(signal.SIGTERM),
    )
    fp.register(docker(fp, "container", "stop", "--time", "10", CID))
    fp.register(docker(fp, "container", "rm", "--force", "--volumes", CID))

    code = run_docker.main(["--output-dir", str(out_dir), "--topic", "x"])

    assert code == ExitCode.TERMINATED
    verbs = docker_verbs(fp)
    assert "container start" not in verbs
    assert verbs[-1] == "container rm"


# --- dry run, audit, debug ---------------------------------------------------


def test_dry_run_prints_the_commands_and_runs_nothing(
    fp: FakeProcess,
    stub_path: Path,
    out_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(f"OPENAI_API_KEY={SECRET}\n")
    env_file.chmod(0o600)
    monkeypatch.setenv("MY_TOKEN", "caller-token-value-42")

    code = run_docker.main(
        [
            "--dry-run",
            "--env-file", str(env_file),
            "--env", "MY_TOKEN",
            "--env", "DOCKER_API_TOKEN=client-read-token-77",
            "--output-dir", str(out_dir),
            "--topic", "Intro",
        ]
    )  # fmt: skip

    out, err = capsys.readouterr()
    assert code == 0, err
    assert len(fp.calls) == 0
    assert not out_dir.exists()
    names = [*FIXED_ENV, "OPENAI_API_KEY", "MY_TOKEN"]
    create = expected_create_argv(out_dir, "--topic", "Intro", env=names)
    # A variable the docker client reads itself travels as KEY=VALUE; the
    # value is masked when shown (its key looks secret).
    token = "DOCKER_API_TOKEN=client-read-token-77"
    create[create.index(REF) : create.index(REF)] = ["--env", token]
    shown_create = shlex.join(["docker", *create]).replace(
        token, "DOCKER_API_TOKEN=***"
    )
    assert out.splitlines() == [
        shown_create,
        f"docker container start --attach --interactive {NAME}",
    ]
    assert f"'type=bind,source={out_dir},target=/workshops'" in shown_create
    for secret in (SECRET, "caller-token-value-42", "client-read-token-77"):
        assert secret not in out + err
    assert f"dry run: {out_dir} would be created" in err


def test_dry_run_refuses_audit_json(
    fp: FakeProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_docker.main(
        ["--dry-run", "--audit-json", str(tmp_path / "a.json"), "--topic", "x"]
    )

    assert code == ExitCode.USAGE
    assert "--audit-json needs a container to inspect" in capsys.readouterr().err
    assert len(fp.calls) == 0


def test_audit_json_is_written_and_debug_prints_the_table(
    fp: FakeProcess,
    stub_path: Path,
    out_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sampled: list[str] = []

    class RecordingSampler(QuietSampler):
        def __init__(self, container: str) -> None:
            super().__init__(container)
            sampled.append(container)
            self.usage.samples.append(Sample(50 * 1024**2, 2 * GIB, 12.5, 3))
            self.usage.health = "starting"

    monkeypatch.setattr("lib.monitor.Sampler", RecordingSampler)
    report = tmp_path / "audit.json"
    register_preflight(fp)
    names = [*FIXED_ENV, "LOG_LEVEL"]
    register_run(fp, expected_create_argv(out_dir, "--topic", "x", env=names))

    code = run_docker.main(
        [
            "--debug",
            "--audit-json", str(report),
            "--output-dir", str(out_dir),
            "--topic", "x",
        ]
    )  # fmt: skip

    err = capsys.readouterr().err
    assert code == 0, err
    document = json.loads(report.read_text())
    assert document["benchmark"] == "CIS Docker Benchmark 1.6.0"
    assert document["container"] == NAME
    assert document["image"] == REF
    assert document["passed"] is True
    assert [f["id"] for f in document["findings"]] == [
        "4.1", "4.6", "5.4", "5.5", "5.11", "5.12", "5.13", "5.26", "5.27", "5.29",
    ]  # fmt: skip
    assert "CIS Docker Benchmark 1.6.0 self-audit:\n  4.1   PASS" in err
    assert "  5.29  PASS  the PIDs cgroup limit is used" in err
    assert sampled == [CID]
    assert (
        f"resource use of {NAME}: peak memory 50.0MiB of 2.0GiB, peak CPU 12.5%, "
        "peak pids 3 (1 samples); health: starting"
    ) in err


# --- detach ------------------------------------------------------------------


def register_detached(fp: FakeProcess, out_dir: Path, *polls: str) -> None:
    register_preflight(fp)
    argv = expected_create_argv(out_dir, "--topic", "x", remove=True, interactive=False)
    fp.register(docker(fp, *argv), stdout=f"{CID}\n")
    fp.register(inspect_argv(fp), stdout=container_json(host={"AutoRemove": True}))
    fp.register(docker(fp, "container", "start", CID), stdout=f"{CID}\n")
    stats = docker(
        fp, "container", "stats", "--no-stream", "--format", "{{json .}}", CID
    )
    for poll in polls:
        if poll == "gone":
            fp.register(
                inspect_argv(fp),
                returncode=1,
                stderr=f"Error: No such container: {CID}\n",
            )
        else:
            fp.register(inspect_argv(fp), stdout=poll)
        fp.register(stats, stdout=stats_line(30, 9.5))
        fp.register(inspect_argv(fp), stdout=poll if poll != "gone" else "")


def stats_line(mib: float, cpu: float) -> str:
    return json.dumps(
        {
            "MemUsage": f"{mib}MiB / 2GiB",
            "CPUPerc": f"{cpu}%",
            "PIDs": "2",
            "Name": NAME,
        }
    )


def running(health: str, output: str = "") -> str:
    state = {
        "Status": "running",
        "Running": True,
        "StartedAt": "2026-12-03T10:00:01Z",
        "Health": {"Status": health, "Log": [{"Output": output, "ExitCode": 1}]},
    }
    return container_json(host={"AutoRemove": True}, state=state)


def test_detach_waits_for_healthy_and_leaves_it_running(
    fp: FakeProcess,
    stub_path: Path,
    out_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    register_detached(fp, out_dir, running("starting"), running("healthy"))

    code = run_docker.main(["--detach", "--output-dir", str(out_dir), "--topic", "x"])

    err = capsys.readouterr().err
    assert code == 0, err
    assert "container rm" not in docker_verbs(fp)
    assert f"{NAME} runs detached (healthy); it is removed when it stops" in err
    assert (
        f"resource use of {NAME}: peak memory 30.0MiB of 2.0GiB, peak CPU 9.5%" in err
    )


def test_detach_reports_an_unhealthy_container_and_removes_it(
    fp: FakeProcess,
    stub_path: Path,
    out_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    register_detached(fp, out_dir, running("unhealthy", "unhealthy: ImportError: x"))
    stop = fp.register(docker(fp, "container", "stop", "--time", "10", CID))
    fp.register(docker(fp, "container", "rm", "--force", "--volumes", CID))

    code = run_docker.main(["--detach", "--output-dir", str(out_dir), "--topic", "x"])

    assert code == ExitCode.FAILURE
    assert len(stop.calls) == 1
    assert docker_verbs(fp)[-1] == "container rm"
    assert (
        f"{NAME} did not become healthy (unhealthy: unhealthy: ImportError: x); "
        "it was stopped and removed"
    ) in capsys.readouterr().err


def test_detach_reads_the_exit_of_a_removed_container_from_events(
    fp: FakeProcess,
    stub_path: Path,
    out_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    register_detached(fp, out_dir, "gone")
    events = "\n".join(
        json.dumps({"Action": action, "Actor": {"Attributes": attributes}})
        for action, attributes in (("oom", {}), ("die", {"exitCode": "137"}))
    )
    fp.register(
        docker(
            fp, "system", "events",
            "--since", "2026-12-03T10:00:00.123456789Z",
            "--until", fp.any(min=1, max=1),
            "--filter", f"container={CID}",
            "--filter", "event=die",
            "--filter", "event=oom",
            "--format", "{{json .}}",
        ),
        stdout=events + "\n",
    )  # fmt: skip
    fp.register(
        docker(fp, "container", "rm", "--force", "--volumes", CID),
        returncode=1,
        stderr=f"Error: No such container: {CID}\n",
    )

    code = run_docker.main(["--detach", "--output-dir", str(out_dir), "--topic", "x"])

    err = capsys.readouterr().err
    assert code == 137
    assert f"{NAME} finished (exit code 137) before it reported healthy" in err
    assert "exceeded --memory 2g; try --memory 4g" in err


def test_detach_exit_zero_before_the_first_health_check_is_success(
    fp: FakeProcess,
    stub_path: Path,
    out_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    done = container_json(host={"AutoRemove": True}, state=exited(0))
    register_detached(fp, out_dir, done)
    fp.register(docker(fp, "container", "rm", "--force", "--volumes", CID))

    code = run_docker.main(["--detach", "--output-dir", str(out_dir), "--topic", "x"])

    err = capsys.readouterr().err
    assert code == 0, err
    assert f"[SUCCESS] [feedbeef] done; {NAME} ran to completion" in err


# --- preflight and input -----------------------------------------------------


def test_missing_image_says_how_to_build_it(
    fp: FakeProcess,
    stub_path: Path,
    out_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fp.register(docker(fp, "info", "--format", "{{json .}}"), stdout=docker_info_json())
    fp.register(
        docker(fp, "image", "inspect", "--format", "{{json .}}", REF),
        returncode=1,
        stdout="[]\n",
        stderr=f"Error response from daemon: No such image: {REF}\n",
    )

    code = run_docker.main(["--output-dir", str(out_dir), "--topic", "x"])

    err = capsys.readouterr().err
    assert code == ExitCode.PREFLIGHT
    assert f"image {REF} not found" in err
    assert "hint: build it first: ./build_docker.py" in err
    assert not out_dir.exists()


def test_output_path_that_is_a_file_is_a_preflight_error(
    fp: FakeProcess,
    stub_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    register_preflight(fp)
    target = tmp_path / "a-file"
    target.write_text("keep me")

    code = run_docker.main(["--output-dir", str(target), "--topic", "x"])

    assert code == ExitCode.PREFLIGHT
    assert f"--output-dir {target} is a file" in capsys.readouterr().err
    assert target.read_text() == "keep me"


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        pytest.param(["--memory", "2x"], "--memory", id="memory-malformed"),
        pytest.param(["--memory", "1m"], "--memory", id="memory-below-minimum"),
        pytest.param(["--memory", "9999g"], "--memory", id="memory-above-host"),
        pytest.param(["--cpu", "0"], "--cpu", id="cpu-zero"),
        pytest.param(["--cpu", "0.001"], "--cpu", id="cpu-below-docker-minimum"),
        pytest.param(["--cpu", "abc"], "--cpu", id="cpu-not-a-number"),
        pytest.param(["--cpu", "4096"], "--cpu", id="cpu-above-host"),
        pytest.param(["--pids-limit", "0"], "--pids-limit", id="pids-zero"),
        pytest.param(["--tmpfs-size", "big"], "--tmpfs-size", id="tmpfs-malformed"),
        pytest.param(["--tmpfs-size", "1.5m"], "--tmpfs-size", id="tmpfs-fraction"),
        pytest.param(["--env", "=x"], "--env", id="env-empty-key"),
        pytest.param(["--env", "BAD KEY=x"], "--env", id="env-key-with-space"),
        pytest.param(["--env", "UNSET_IN_CALLER_ENV_42"], "--env", id="env-unset"),
        pytest.param(["--tag", "a:b"], "--tag", id="tag-with-colon"),
        pytest.param(["--name", "-x"], "--name", id="name-leading-dash"),
        pytest.param(["--name", "a b"], "--name", id="name-with-space"),
        pytest.param(["--network", "host"], "CIS Docker Benchmark 5.10", id="net-host"),
        pytest.param(["--network", "container:db"], "--network", id="net-container"),
        pytest.param(["--network", "a/b"], "--network", id="net-bad-name"),
        pytest.param(
            ["--audit-json", "/no/such/dir/a.json"], "--audit-json", id="audit-dir"
        ),
        pytest.param([], "--topic", id="topic-missing"),
    ],
)
def test_bad_input_is_usage_error_and_runs_nothing(
    argv: list[str],
    needle: str,
    fp: FakeProcess,
    stub_path: Path,
    out_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    topic = [] if needle == "--topic" else ["--topic", "x"]

    code = run_docker.main([*argv, "--output-dir", str(out_dir), *topic])

    err = capsys.readouterr().err
    assert code == ExitCode.USAGE
    assert needle in err
    assert "Traceback" not in err
    first, *rest = err.strip().splitlines()
    assert first.startswith("[ERROR] ")
    assert [line for line in rest if not line.startswith("hint: ")] == []
    assert len(fp.calls) == 0
    assert not out_dir.exists()


def test_help_is_this_scripts_usage(
    fp: FakeProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_docker.main(["--help"]) == 0
    out = capsys.readouterr().out
    for flag in (
        "--no-limits", "--memory", "--cpu", "--debug", "--env", "--name",
        "--network", "--detach", "--dry-run", "--audit-json", "--version",
    ):  # fmt: skip
        assert flag in out
    assert len(fp.calls) == 0


def test_version(fp: FakeProcess, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_docker.main(["--version"]) == 0
    assert capsys.readouterr().out == "run_docker.py 1.0.0\n"
    assert len(fp.calls) == 0
