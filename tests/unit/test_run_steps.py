"""The steps of run_docker.py one by one: preflight, outcomes, advice, argv."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from lib import docker_argv
from lib import run as steps
from lib.docker_argv import RunSpec
from lib.errors import ExitCode, PreflightError

GIB = 1024**3
NEVER = "0001-01-01T00:00:00Z"


# --- argv of the create/start/events verbs -----------------------------------


def test_create_argv_is_run_argv_with_another_verb() -> None:
    spec = RunSpec(image="img:1", args=["--detach"], detach=True, name="n")

    create = docker_argv.create_argv(spec)
    run = docker_argv.run_argv(RunSpec(image="img:1", args=["--detach"], name="n"))

    assert create[:3] == ["docker", "container", "create"]
    assert create[3:] == run[2:]
    assert create[-2:] == ["img:1", "--detach"]  # the app's own flag is kept


@pytest.mark.parametrize(
    ("attach", "interactive", "expected"),
    [
        (True, True, ["--attach", "--interactive"]),
        (True, False, ["--attach"]),
        (False, False, []),
    ],
)
def test_start_argv(attach: bool, interactive: bool, expected: list[str]) -> None:
    argv = docker_argv.start_argv("c1", attach=attach, interactive=interactive)

    assert argv == ["docker", "container", "start", *expected, "c1"]


def test_events_argv() -> None:
    argv = docker_argv.events_argv("c1", since="5", until="9", events=["die", "oom"])

    assert argv == [
        "docker", "system", "events",
        "--since", "5",
        "--until", "9",
        "--filter", "container=c1",
        "--filter", "event=die",
        "--filter", "event=oom",
        "--format", "{{json .}}",
    ]  # fmt: skip


# --- output directory --------------------------------------------------------


def me() -> tuple[int, int]:
    return os.getuid(), os.getgid()


def test_check_output_dir_changes_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "new"

    assert steps.check_output_dir(missing, me()) is False
    assert not missing.exists()
    assert steps.check_output_dir(tmp_path, me()) is True


def test_prepare_output_dir_creates_only_what_is_missing(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b"

    assert steps.prepare_output_dir(target, me(), caller_uid=os.getuid()) is True
    assert target.is_dir()
    assert steps.prepare_output_dir(target, me(), caller_uid=os.getuid()) is False


def test_output_dir_the_container_user_cannot_write_is_refused(
    tmp_path: Path,
) -> None:
    stranger = (os.getuid() + 4242, os.getgid() + 4242)
    tmp_path.chmod(0o755)

    with pytest.raises(PreflightError) as caught:
        steps.check_output_dir(tmp_path, stranger)

    assert caught.value.message == (
        f"output directory {tmp_path} is not writable by the container user "
        f"{stranger[0]}:{stranger[1]}"
    )
    assert caught.value.hint == (
        f"chown {stranger[0]}:{stranger[1]} {tmp_path}, or pass another --output-dir"
    )


# --- env file ----------------------------------------------------------------


AI_KEYS = ("OPENAI_API_KEY", "GITHUB_TOKEN")


def env_file(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / ".env"
    path.write_text(text)
    path.chmod(mode)
    return path


def test_required_keys_need_the_file(tmp_path: Path) -> None:
    with pytest.raises(PreflightError) as caught:
        steps.load_env_file(tmp_path / ".env", required=AI_KEYS, given=False)

    assert caught.value.message == f"env file {tmp_path / '.env'} not found"
    assert caught.value.hint == "create it: cp .env.example .env, then fill in the keys"


def test_an_optional_missing_file_is_no_values(tmp_path: Path) -> None:
    assert steps.load_env_file(tmp_path / ".env", required=(), given=False) == {}


def test_placeholders_of_required_keys_are_refused(tmp_path: Path) -> None:
    path = env_file(
        tmp_path, "OPENAI_API_KEY=your_openai_api_key_here\nGITHUB_TOKEN=ghp_x\n"
    )

    with pytest.raises(PreflightError) as caught:
        steps.load_env_file(path, required=AI_KEYS, given=True)

    assert caught.value.message == (
        f"{path} still has placeholder values for OPENAI_API_KEY"
    )


def test_missing_required_keys_are_named(tmp_path: Path) -> None:
    path = env_file(tmp_path, "OPENAI_API_KEY=sk-real\nGITHUB_TOKEN=\n")

    with pytest.raises(PreflightError) as caught:
        steps.load_env_file(path, required=AI_KEYS, given=True)

    assert caught.value.message == f"{path} lacks required keys GITHUB_TOKEN"


def test_quoted_values_lose_their_quotes_and_placeholders_stay_out(
    tmp_path: Path,
) -> None:
    path = env_file(
        tmp_path,
        "OPENAI_API_KEY=\"sk-with spaces\"\nGITHUB_TOKEN='ghp_x'\n"
        "GEMINI_API_KEY=your_gemini_api_key_here\n",
    )

    values = steps.load_env_file(path, required=AI_KEYS, given=True)

    assert values == {"OPENAI_API_KEY": "sk-with spaces", "GITHUB_TOKEN": "ghp_x"}


# --- outcomes ----------------------------------------------------------------


def info(**state: Any) -> dict[str, Any]:
    return {"State": {"StartedAt": NEVER, "Running": False, **state}}


def test_outcome_of_a_finished_container() -> None:
    finished = info(StartedAt="2026-12-03T10:00:01Z", ExitCode=3, OOMKilled=True)

    assert steps.outcome_of(finished, fallback_code=99) == steps.Outcome(
        code=3, started=True, oom_killed=True, error=""
    )


def test_outcome_of_a_container_that_never_started() -> None:
    never = info(ExitCode=127, Error="exec failed")

    outcome = steps.outcome_of(never, fallback_code=1)

    assert (outcome.started, outcome.code, outcome.error) == (False, 1, "exec failed")


@pytest.mark.parametrize(
    ("error", "code"),
    [
        ('exec: "x": executable file not found in $PATH', 127),
        ("stat /x: no such file or directory", 127),
        ("exec: /etc: permission denied", 126),
        ("read /app: is a directory", 126),
        ("network n not found", 125),
        ("", 125),
    ],
)
def test_start_failure_codes_follow_docker_run(error: str, code: int) -> None:
    failure = steps.start_failure(steps.Outcome(1, False, False, error))

    assert failure.exit_code == code
    assert failure.message == (
        f"docker could not start the container (exit code {code}): "
        f"{error or 'no reason given'}"
    )


@pytest.mark.parametrize(
    ("memory", "host", "advice"),
    [
        ("2g", 16 * GIB, "exceeded --memory 2g; try --memory 4g"),
        ("10m", 16 * GIB, "exceeded --memory 10m; try --memory 20m"),
        ("1.5g", 16 * GIB, "exceeded --memory 1.5g; try --memory 3g"),
        ("768m", 16 * GIB, "exceeded --memory 768m; try --memory 1536m"),
        ("2gb", 16 * GIB, "exceeded --memory 2gb; try --memory 4g"),
        (
            "12g",
            16 * GIB,
            "exceeded --memory 12g; this host has 16g in all, so try a bigger "
            "machine or a smaller job",
        ),
        (None, 16 * GIB, "it ran without --memory, so the host itself ran out"),
    ],
)
def test_oom_advice_doubles_within_the_host(
    memory: str | None, host: int, advice: str
) -> None:
    assert steps.oom_advice(memory, host_bytes=host) == advice


@pytest.mark.parametrize(
    ("size", "text"),
    [(4 * GIB, "4g"), (12 * 1024**2, "12m"), (1536 * 1024**2, "1536m"), (1025, "1m")],
)
def test_format_size(size: int, text: str) -> None:
    assert steps.format_size(size) == text


def test_health_wait_covers_start_period_and_retries() -> None:
    container = {
        "Config": {
            "Healthcheck": {
                "Test": ["CMD", "true"],
                "Interval": 30_000_000_000,
                "Timeout": 10_000_000_000,
                "StartPeriod": 5_000_000_000,
                "Retries": 3,
            }
        }
    }

    assert steps.health_wait_seconds(container) == 5 + (30 + 10) * 3 + 5
    assert steps.health_wait_seconds({"Config": {}}) == 10.0


def test_signals_are_restored_and_a_pending_signal_ends_the_run() -> None:
    import signal

    before = signal.getsignal(signal.SIGTERM)
    with steps.Signals() as signals:
        assert signal.getsignal(signal.SIGTERM) is not before
        signal.raise_signal(signal.SIGTERM)
        with pytest.raises(steps.RunInterrupted) as caught:
            signals.check("c1")
    assert signal.getsignal(signal.SIGTERM) is before
    assert caught.value.exit_code == ExitCode.TERMINATED
    assert caught.value.message == "SIGTERM received: container c1 stopped and removed"
