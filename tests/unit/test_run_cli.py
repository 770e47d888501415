"""run_docker.py driven in-process, docker faked."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pytest_subprocess import FakeProcess

import run_docker
from lib.errors import ExitCode
from tests.conftest import docker_info_json, image_json

REF = "workshop-builder-app:latest"
NAME = "workshop-builder-feedbeef"
SECRET = "sk-unit-test-secret-0123456789abcdef"


@pytest.fixture(autouse=True)
def fixed_names(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("lib.cleanup.secrets.token_hex", lambda _n: "feedbeef")
    # The default .env is looked up in the project dir: keep a developer's
    # own .env out of these tests.
    monkeypatch.setattr("run_docker.PROJECT_DIR", tmp_path / "project")


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    return tmp_path / "my workshops"


def container_user() -> str:
    uid, gid = os.getuid(), os.getgid()
    return "1000:1000" if uid == 0 else f"{uid}:{gid}"


def docker(fp: FakeProcess, *args: str) -> list[object]:
    return [fp.program("docker"), *args]


def register_preflight(fp: FakeProcess) -> None:
    fp.register(docker(fp, "info", "--format", "{{json .}}"), stdout=docker_info_json())
    fp.register(
        docker(fp, "image", "inspect", "--format", "{{json .}}", REF),
        stdout=image_json(),
    )


def expected_run_argv(
    out_dir: Path,
    *app_args: str,
    env: list[str] | None = None,
    limits: bool = True,
    network: str = "none",
) -> list[str]:
    limit_flags = [
        "--memory",
        "2g",
        "--memory-swap",
        "2g",
        "--cpus",
        "1.0",
        "--pids-limit",
        "100",
    ]
    names = env or [
        "PYTHONUNBUFFERED",
        "PYTHONDONTWRITEBYTECODE",
        "WORKSHOPS_BASE_DIR",
        "WORKSHOP_GENERATOR",
    ]
    return [
        "run",
        "--rm",
        "--interactive",
        "--init",
        "--name",
        NAME,
        "--label",
        "org.workshop-builder.built-by=run_docker.py",
        "--label",
        "org.workshop-builder.run-id=feedbeef",
        "--user",
        container_user(),
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges:true",
        "--read-only",
        "--tmpfs",
        "/tmp:rw,noexec,nosuid,size=100m",
        *(limit_flags if limits else []),
        "--network",
        network,
        "--mount",
        f"type=bind,source={out_dir},target=/workshops",
        *[part for name in names for part in ("--env", name)],
        REF,
        *app_args,
    ]


def test_default_run_is_hardened_and_passes_app_args_unchanged(
    fp: FakeProcess,
    stub_path: Path,
    out_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    register_preflight(fp)
    topic = "Intro to Docker; $(rm -rf /) 'quoted' \"double\""
    run = fp.register(
        docker(fp, *expected_run_argv(out_dir, "--topic", topic, "--verbose"))
    )

    code = run_docker.main(
        ["--output-dir", str(out_dir), "--topic", topic, "--verbose"]
    )

    assert code == 0, capsys.readouterr().err
    assert out_dir.is_dir()
    env = run.calls[0].kwargs["env"]
    assert env["WORKSHOPS_BASE_DIR"] == "/workshops"
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["WORKSHOP_GENERATOR"] == "offline"


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
    names = [
        "PYTHONUNBUFFERED",
        "PYTHONDONTWRITEBYTECODE",
        "WORKSHOPS_BASE_DIR",
        "WORKSHOP_GENERATOR",
        "OPENAI_API_KEY",
        "EXTRA",
        "LOG_LEVEL",
    ]
    run = fp.register(
        docker(fp, *expected_run_argv(out_dir, "--topic", "x", env=names))
    )

    code = run_docker.main(
        [
            "--env-file",
            str(env_file),
            "--output-dir",
            str(out_dir),
            "--env",
            "EXTRA=visible-value",
            "--debug",
            "--topic",
            "x",
        ]
    )

    output = capsys.readouterr()
    assert code == 0, output.err
    env = run.calls[0].kwargs["env"]
    assert env["OPENAI_API_KEY"] == SECRET  # quotes removed by dotenv
    assert "GITHUB_TOKEN" not in env  # a placeholder is not passed on
    assert env["LOG_LEVEL"] == "DEBUG"
    assert SECRET not in " ".join(str(a) for a in run.calls[0].args)
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
    names = [
        "PYTHONUNBUFFERED",
        "PYTHONDONTWRITEBYTECODE",
        "WORKSHOPS_BASE_DIR",
        "WORKSHOP_GENERATOR",
        "MY_TOKEN",
    ]
    run = fp.register(
        docker(fp, *expected_run_argv(out_dir, "--topic", "x", env=names))
    )

    code = run_docker.main(
        ["--env", "MY_TOKEN", "--output-dir", str(out_dir), "--topic", "x"]
    )

    assert code == 0
    assert run.calls[0].kwargs["env"]["MY_TOKEN"] == "from-the-caller-env"


def test_no_limits_drops_every_limit_flag(
    fp: FakeProcess,
    stub_path: Path,
    out_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    register_preflight(fp)
    fp.register(docker(fp, *expected_run_argv(out_dir, "--topic", "x", limits=False)))

    code = run_docker.main(
        ["--no-limits", "--output-dir", str(out_dir), "--topic", "x"]
    )

    assert code == 0
    assert "[WARNING]" in capsys.readouterr().err


def test_custom_limits_reach_docker(
    fp: FakeProcess, stub_path: Path, out_dir: Path
) -> None:
    register_preflight(fp)
    argv = expected_run_argv(out_dir, "--topic", "x")
    argv[argv.index("--memory") + 1] = "512m"
    argv[argv.index("--memory-swap") + 1] = "512m"
    argv[argv.index("--cpus") + 1] = "0.5"
    argv[argv.index("--pids-limit") + 1] = "50"
    argv[argv.index("--tmpfs") + 1] = "/tmp:rw,noexec,nosuid,size=64m"
    fp.register(docker(fp, *argv))

    code = run_docker.main(
        [
            "--memory",
            "512M",
            "--cpu",
            "0.5",
            "--pids-limit",
            "50",
            "--tmpfs-size",
            "64m",
            "--output-dir",
            str(out_dir),
            "--topic",
            "x",
        ]
    )

    assert code == 0


@pytest.mark.parametrize("app_code", [1, 2, 3, 42])
def test_the_apps_exit_code_is_returned_unchanged(
    app_code: int,
    fp: FakeProcess,
    stub_path: Path,
    out_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    register_preflight(fp)
    fp.register(
        docker(fp, *expected_run_argv(out_dir, "--topic", "x")), returncode=app_code
    )

    code = run_docker.main(["--output-dir", str(out_dir), "--topic", "x"])

    assert code == app_code
    assert f"the app exited with code {app_code}" in capsys.readouterr().err


def test_docker_own_failure_is_named(
    fp: FakeProcess,
    stub_path: Path,
    out_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    register_preflight(fp)
    fp.register(docker(fp, *expected_run_argv(out_dir, "--topic", "x")), returncode=125)

    code = run_docker.main(["--output-dir", str(out_dir), "--topic", "x"])

    assert code == 125
    assert "docker could not create or start the container" in capsys.readouterr().err


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
        pytest.param(["--cpu", "abc"], "--cpu", id="cpu-not-a-number"),
        pytest.param(["--cpu", "4096"], "--cpu", id="cpu-above-host"),
        pytest.param(["--pids-limit", "0"], "--pids-limit", id="pids-zero"),
        pytest.param(["--tmpfs-size", "big"], "--tmpfs-size", id="tmpfs-malformed"),
        pytest.param(["--env", "=x"], "--env", id="env-empty-key"),
        pytest.param(["--env", "BAD KEY=x"], "--env", id="env-key-with-space"),
        pytest.param(["--env", "UNSET_IN_CALLER_ENV_42"], "--env", id="env-unset"),
        pytest.param(["--tag", "a:b"], "--tag", id="tag-with-colon"),
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
    assert len(fp.calls) == 0
    assert not out_dir.exists()


def test_help_is_this_scripts_usage(
    fp: FakeProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_docker.main(["--help"]) == 0
    out = capsys.readouterr().out
    for flag in ("--no-limits", "--memory", "--cpu", "--debug", "--env"):
        assert flag in out
    assert len(fp.calls) == 0
