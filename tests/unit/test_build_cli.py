"""build_docker.py driven in-process, every external program faked."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_subprocess import FakeProcess

import build_docker
from lib.errors import ExitCode
from tests.conftest import docker_info_json, image_json

REF = "workshop-builder-app:latest"
HARDENING = [
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges:true",
    "--read-only",
    "--tmpfs",
    "/tmp:rw,noexec,nosuid,size=100m",
    "--memory",
    "2g",
    "--memory-swap",
    "2g",
    "--cpus",
    "1.0",
    "--pids-limit",
    "100",
]


@pytest.fixture(autouse=True)
def fixed_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("lib.cleanup.secrets.token_hex", lambda _n: "feedbeef")


def docker(fp: FakeProcess, *args: str) -> list[object]:
    return [fp.program("docker"), *args]


def register_preflight(fp: FakeProcess, *, buildx: bool = False) -> None:
    fp.register(
        docker(fp, "info", "--format", "{{json .}}"),
        stdout=docker_info_json(buildx=buildx),
    )
    fp.register(
        [fp.program("git"), "-C", fp.any(min=1, max=1), "rev-parse", "--short", "HEAD"],
        stdout="abc1234\n",
    )
    fp.register(
        [fp.program("git"), "-C", fp.any(min=1, max=1), "log", "-1", "--format=%ct"],
        stdout="1764756000\n",
    )


def expected_build_argv(*extra_args: str, buildx: bool = False) -> list[str]:
    verb = ["buildx", "build", "--load", "--progress", "plain"] if buildx else ["build"]
    root = str(build_docker.PROJECT_DIR)
    return [
        "docker",
        *verb,
        "--file",
        f"{root}/Dockerfile",
        "--tag",
        REF,
        "--target",
        "production",
        "--build-arg",
        "BUILD_DATE=2025-12-03T10:00:00Z",
        "--build-arg",
        "VCS_REF=abc1234",
        "--build-arg",
        "VERSION=1.0.0",
        *extra_args,
        "--label",
        "org.workshop-builder.built-by=build_docker.py",
        root,
    ]


def register_smoke(fp: FakeProcess) -> None:
    common = [
        "run",
        "--rm",
        "--name",
        "workshop-builder-smoke-feedbeef",
        "--label",
        "org.workshop-builder.built-by=build_docker.py",
        *HARDENING,
        "--network",
        "none",
    ]
    fp.register(docker(fp, *common, REF, "--help"), stdout="Usage: ...\n")
    fp.register(
        docker(
            fp, *common, "--entrypoint", "python3", REF, "-m", "workshop_builder.health"
        )
    )


def register_cleanup(fp: FakeProcess, dangling: str = "") -> None:
    fp.register(
        docker(
            fp,
            "image",
            "ls",
            "--quiet",
            "--no-trunc",
            "--filter",
            "dangling=true",
            "--filter",
            "label=org.workshop-builder.built-by=build_docker.py",
        ),
        stdout=dangling,
    )


def test_default_flow_builds_tests_describes_and_cleans(
    fp: FakeProcess, stub_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    register_preflight(fp)
    build = fp.register(
        docker(fp, *expected_build_argv()[1:]), stdout="Successfully built\n"
    )
    fp.register(
        docker(fp, "image", "inspect", "--format", "{{json .}}", REF),
        stdout=image_json(),
    )
    register_smoke(fp)
    register_cleanup(fp, dangling="sha256:old1\nsha256:old2\n")
    fp.register(docker(fp, "image", "rm", "sha256:old1", "sha256:old2"))

    code = build_docker.main([])

    err = capsys.readouterr().err
    assert code == ExitCode.OK, err
    assert build.calls[0].kwargs["env"]["DOCKER_BUILDKIT"] == "0"
    assert "[INFO] image user: 1000:1000 (not root)" in err
    assert "[INFO] size:       130.0 MB" in err
    assert "[INFO] commit:     abc1234" in err
    assert "[SUCCESS] removed 2 dangling image(s) built by this tool" in err


def test_buildx_gets_progress_and_load(fp: FakeProcess, stub_path: Path) -> None:
    register_preflight(fp, buildx=True)
    build = fp.register(docker(fp, *expected_build_argv(buildx=True)[1:]))
    fp.register(
        docker(fp, "image", "inspect", "--format", "{{json .}}", REF),
        stdout=image_json(),
    )

    code = build_docker.main(["--no-test", "--no-cleanup"])

    assert code == ExitCode.OK
    assert "DOCKER_BUILDKIT" not in (build.calls[0].kwargs.get("env") or {})


def test_flags_reach_the_build_argv(fp: FakeProcess, stub_path: Path) -> None:
    register_preflight(fp)
    argv = expected_build_argv(
        "--build-arg", "BASE_IMAGE=debian-py:12", "--build-arg", "EXTRA=1"
    )
    argv[argv.index(REF)] = "my/app:v2"
    argv[argv.index("production")] = "builder"
    fp.register(docker(fp, *argv[1:-1], "--no-cache", "--pull", argv[-1]))
    fp.register(
        docker(fp, "image", "inspect", "--format", "{{json .}}", "my/app:v2"),
        stdout=image_json(),
    )

    code = build_docker.main(
        [
            "--image",
            "my/app",
            "--tag",
            "v2",
            "--target",
            "builder",
            "--base-image",
            "debian-py:12",
            "--build-arg",
            "EXTRA=1",
            "--no-cache",
            "--pull",
            "--no-test",
            "--no-cleanup",
        ]
    )

    assert code == ExitCode.OK


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        pytest.param(["--tag", "a:b:c"], "--tag", id="tag-with-colons"),
        pytest.param(["--tag", "has space"], "--tag", id="tag-with-space"),
        pytest.param(["--tag", "x" * 200], "--tag", id="tag-200-chars"),
        pytest.param(["--image", "Upper/Case"], "--image", id="image-uppercase"),
        pytest.param(["--build-arg", "NOEQUALS"], "--build-arg", id="build-arg-no-eq"),
        pytest.param(["--build-arg", "=x"], "--build-arg", id="build-arg-empty-key"),
        pytest.param(["--bogus"], "--bogus", id="unknown-flag"),
        pytest.param(["--tag"], "--tag", id="tag-without-value"),
    ],
)
def test_bad_input_is_usage_error_and_runs_nothing(
    argv: list[str],
    needle: str,
    fp: FakeProcess,
    stub_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = build_docker.main(argv)

    err = capsys.readouterr().err
    assert code == ExitCode.USAGE
    assert needle in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
    assert len(fp.calls) == 0


def test_daemon_down_is_preflight_failure(
    fp: FakeProcess, stub_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fp.register(
        docker(fp, "info", "--format", "{{json .}}"),
        returncode=1,
        stderr="Cannot connect to the Docker daemon at unix:///var/run/docker.sock.\n",
    )

    code = build_docker.main([])

    err = capsys.readouterr().err
    assert code == ExitCode.PREFLIGHT
    assert "[ERROR] the Docker daemon is not reachable (Cannot connect" in err
    assert "hint: start it" in err
    assert len(fp.calls) == 1


def test_missing_docker_binary_is_preflight_failure(
    fp: FakeProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from plumbum import local

    with local.env(PATH=str(tmp_path)):
        code = build_docker.main([])

    err = capsys.readouterr().err
    assert code == ExitCode.PREFLIGHT
    assert "[ERROR] docker not found on PATH" in err
    assert "hint: install Docker Engine" in err


def test_build_failure_shows_command_code_and_stderr(
    fp: FakeProcess, stub_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    register_preflight(fp)
    fp.register(
        docker(fp, *expected_build_argv()[1:]),
        returncode=1,
        stderr="Step 5/20 : RUN pip install\nERROR: no matching distribution\n",
    )

    code = build_docker.main([])

    err = capsys.readouterr().err
    assert code == ExitCode.BUILD
    assert "[ERROR] command failed (exited with code 1): docker build --file" in err
    assert "    ERROR: no matching distribution" in err
    assert "Traceback" not in err


def test_root_image_fails_smoke_test(
    fp: FakeProcess, stub_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    register_preflight(fp)
    fp.register(docker(fp, *expected_build_argv()[1:]))
    fp.register(
        docker(fp, "image", "inspect", "--format", "{{json .}}", REF),
        stdout=image_json(user=""),
    )

    code = build_docker.main([])

    assert code == ExitCode.SMOKE_TEST
    assert "the image runs as root (USER unset)" in capsys.readouterr().err


def test_failing_healthcheck_fails_smoke_test_and_removes_container(
    fp: FakeProcess, stub_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    register_preflight(fp)
    fp.register(docker(fp, *expected_build_argv()[1:]))
    fp.register(
        docker(fp, "image", "inspect", "--format", "{{json .}}", REF),
        stdout=image_json(),
    )
    common = [
        "run",
        "--rm",
        "--name",
        "workshop-builder-smoke-feedbeef",
        "--label",
        "org.workshop-builder.built-by=build_docker.py",
        *HARDENING,
        "--network",
        "none",
    ]
    fp.register(docker(fp, *common, REF, "--help"))
    fp.register(
        docker(
            fp, *common, "--entrypoint", "python3", REF, "-m", "workshop_builder.health"
        ),
        returncode=1,
        stderr="ImportError: no module named click\n",
    )
    removal = fp.register(
        docker(
            fp,
            "container",
            "rm",
            "--force",
            "--volumes",
            "workshop-builder-smoke-feedbeef",
        )
    )

    code = build_docker.main([])

    err = capsys.readouterr().err
    assert code == ExitCode.SMOKE_TEST
    assert "ImportError: no module named click" in err
    assert removal.call_count() == 1


def test_dockerignore_must_keep_env_out(tmp_path: Path) -> None:
    from lib.build import ignores

    assert ignores("*\n!workshop_builder/\n", ".env")
    assert ignores(".env\n", ".env")
    assert not ignores("*\n!.env\n", ".env")
    assert not ignores("tests\n.git\n", ".env")


def test_version_and_help_run_nothing(
    fp: FakeProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    assert build_docker.main(["--version"]) == 0
    assert capsys.readouterr().out == "build_docker.py 1.0.0\n"
    assert build_docker.main(["--help"]) == 0
    out = capsys.readouterr().out
    for flag in ("--tag", "--debug", "--base-image", "--image", "--no-test"):
        assert flag in out
    assert len(fp.calls) == 0
