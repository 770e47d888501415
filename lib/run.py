"""The steps of run_docker.py, each a small function the entrypoint calls.

The container's life: `docker container create` with the full hardening,
`docker container inspect` to verify it, then `docker container start`. In
the foreground the container is created without --rm and this module removes
it itself, after reading its final state (exit code, OOM kill, start error),
on every path: success, failure, Ctrl-C, SIGTERM, SIGHUP. Detached containers
get --rm: they outlive this process, and the daemon removes them when they
stop.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, NamedTuple

from lib import cleanup, docker_argv, masking, runner
from lib.errors import (
    CommandError,
    ExitCode,
    PreflightError,
    ToolError,
    UsageError,
    with_exit_code,
)
from lib.log import logger, success
from lib.validate import host_memory_bytes, parse_size

if TYPE_CHECKING:
    from lib import audit, monitor

# audit, monitor, engine (json) and envfile (dotenv) are imported where they
# are used: --dry-run builds the argv only and should start fast.

IMAGE_USER = (1000, 1000)  # workshop-user in the image
STOP_GRACE_SECONDS = 10
# Variables the docker client itself reads: their values cannot travel in the
# client's environment without changing how docker behaves.
_CLIENT_KEYS = {"PATH", "HOME", "TMPDIR", "SSL_CERT_FILE", "SSL_CERT_DIR"}
# What docker means by these codes when a started container returns them.
_DOCKER_MEANINGS = {
    126: "the container's command could not be invoked",
    127: "the container's command was not found",
}
_SIGNAL_EXIT: dict[int, ExitCode] = {
    signal.SIGINT: ExitCode.INTERRUPTED,
    signal.SIGTERM: ExitCode.TERMINATED,
    signal.SIGHUP: ExitCode.HANGUP,
}
_ENOENT = "no such file or directory"
_NEVER = "0001-01-01T00:00:00Z"  # docker's zero time: never started/finished
# docker's health check defaults, for images that leave a field at 0.
_HEALTH_DEFAULTS_NS = {"Interval": 30e9, "Timeout": 30e9, "StartPeriod": 0}
MAX_HEALTH_WAIT_SECONDS = 300.0


class ContainerEnv(NamedTuple):  # not a dataclass: start-up time, see docker_argv
    """What the container gets: names on argv, values in docker's environment."""

    values: dict[str, str]
    on_argv: dict[str, str]

    @property
    def names(self) -> list[str]:
        return [*self.values, *(f"{k}={v}" for k, v in self.on_argv.items())]


# --- input -------------------------------------------------------------------


def check_app_args(app_args: Sequence[str]) -> None:
    """The app needs --topic; say so before anything runs."""
    wants_help = "--help" in app_args
    has_topic = any(a == "--topic" or a.startswith("--topic=") for a in app_args)
    if not (has_topic or wants_help):
        raise UsageError(
            "missing --topic for the app",
            hint='e.g. ./run_docker.py --topic "Intro to Docker"',
        )


def resolve_extra_env(
    pairs: Sequence[tuple[str, str | None]], environ: Mapping[str, str]
) -> dict[str, str]:
    """--env KEY=VALUE as given; --env KEY takes the value from the caller."""
    resolved: dict[str, str] = {}
    for key, value in pairs:
        if value is None:
            if key not in environ:
                raise UsageError(
                    f"--env {key}: {key} is not set in your environment",
                    hint=f"export {key}=... first, or pass --env {key}=VALUE",
                )
            value = environ[key]
        resolved[key] = value
    return resolved


# --- preflight ---------------------------------------------------------------


def check_image(reference: str) -> dict[str, Any]:
    """The image's inspect data; a missing image says how to build it."""
    from lib import engine

    info = engine.inspect_image(reference)
    if info is None:
        raise PreflightError(
            f"image {reference} not found",
            hint="build it first: ./build_docker.py (or make build)",
        )
    return info


def container_user(uid: int, gid: int) -> tuple[int, int]:
    """Run as the caller so files are theirs; root callers get workshop-user."""
    return IMAGE_USER if uid == 0 else (uid, gid)


def writable_by(path: Path, uid: int, gid: int) -> bool:
    st = path.stat()
    if st.st_uid == uid:
        return bool(st.st_mode & 0o200)
    if st.st_gid == gid:
        return bool(st.st_mode & 0o020)
    return bool(st.st_mode & 0o002)


def check_output_dir(path: Path, user: tuple[int, int]) -> bool:
    """Read-only version of prepare_output_dir; True when it already exists."""
    if path.exists() and not path.is_dir():
        raise PreflightError(
            f"--output-dir {path} is a file, not a directory",
            hint="pass a directory path with --output-dir",
        )
    if path.is_dir() and not writable_by(path, *user):
        raise PreflightError(
            f"output directory {path} is not writable by the container user "
            f"{user[0]}:{user[1]}",
            hint=f"chown {user[0]}:{user[1]} {path}, or pass another --output-dir",
        )
    return path.is_dir()


def prepare_output_dir(path: Path, user: tuple[int, int], *, caller_uid: int) -> bool:
    """Make sure the container user can write there; True when we created it."""
    if check_output_dir(path, user):
        return False
    try:
        path.mkdir(parents=True)
    except OSError as error:
        raise PreflightError(
            f"cannot create output directory {path}: {error.strerror}",
            hint="pass a writable location with --output-dir",
        ) from None
    if caller_uid == 0:
        # Our own new directory: hand it to the unprivileged container user.
        os.chown(path, *user)
    check_output_dir(path, user)
    return True


def load_env_file(
    path: Path, *, required: tuple[str, ...], given: bool
) -> dict[str, str]:
    """Values of the env file the container should get (placeholders left out)."""
    from lib import envfile

    if not path.is_file():
        if given or required:
            raise PreflightError(
                f"env file {path} not found",
                hint="create it: cp .env.example .env, then fill in the keys",
            )
        logger.debug("no env file at %s; the offline generator needs none", path)
        return {}
    parsed = envfile.parse(path)
    masking.register(parsed.values.values())
    if parsed.world_readable:
        logger.warning(
            "%s can be read by other users; make it yours alone: chmod 600 %s",
            path,
            path,
        )
    bad = [key for key in parsed.placeholders if key in required]
    if bad:
        raise PreflightError(
            f"{path} still has placeholder values for {', '.join(bad)}",
            hint=f"edit {path} and set real values",
        )
    missing = envfile.missing_keys(parsed.values, required)
    if missing:
        raise PreflightError(
            f"{path} lacks required keys {', '.join(missing)}",
            hint="copy them from .env.example and fill them in",
        )
    for key in parsed.placeholders:
        logger.info("%s: %s is a placeholder, not passed on", path.name, key)
    return {k: v for k, v in parsed.values.items() if k not in parsed.placeholders}


def container_env(*layers: Mapping[str, str]) -> ContainerEnv:
    """Merge layers (later wins) and route each value the safe way."""
    merged: dict[str, str] = {}
    for layer in layers:
        merged.update(layer)
    env = ContainerEnv(values={}, on_argv={})
    for key, value in merged.items():
        target = env.on_argv if _client_reads(key) else env.values
        target[key] = value
    return env


def _client_reads(key: str) -> bool:
    return key in _CLIENT_KEYS or key.startswith("DOCKER_")


def stdin_is_terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty() and sys.stdout.isatty()


# --- signals and ownership ---------------------------------------------------


class RunInterrupted(ToolError):
    """A signal ended the run; the container was stopped and removed."""

    def __init__(self, signum: int, container: str) -> None:
        name = signal.Signals(signum).name
        super().__init__(
            f"{name} received: container {container} stopped and removed",
            exit_code=_SIGNAL_EXIT.get(signum, ExitCode.TERMINATED),
        )


class Signals:
    """Ctrl-C, SIGTERM and SIGHUP stop the container instead of killing us.

    The first signal is remembered; once a container is watched it is stopped
    (docker stop, with a grace period) in a thread, so the main thread keeps
    waiting for docker and then cleans up. The steps call check() between
    them to end the run there.
    """

    def __init__(self, *, grace_seconds: int = STOP_GRACE_SECONDS) -> None:
        self.received: int | None = None
        self._grace = grace_seconds
        self._container: str | None = None
        self._stopper: threading.Thread | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> Signals:
        for signum in _SIGNAL_EXIT:
            self._previous[signum] = signal.signal(signum, self._on_signal)
        return self

    def __exit__(self, *_exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._join()

    def watch(self, container: str) -> None:
        """From now on a signal stops this container."""
        self._container = container
        if self.received is not None:
            self._stop_in_background()

    def check(self, name: str) -> None:
        if self.received is not None:
            self._join()
            raise RunInterrupted(self.received, name)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if self.received is not None:
            return
        self.received = signum
        logger.warning(
            "%s received: stopping the container (grace %ds)",
            signal.Signals(signum).name,
            self._grace,
        )
        if self._container is not None:
            self._stop_in_background()

    def _stop_in_background(self) -> None:
        if self._stopper is None and self._container is not None:
            args = (self._container, self._grace)
            self._stopper = threading.Thread(target=stop, args=args, daemon=True)
            self._stopper.start()

    def _join(self) -> None:
        if self._stopper is not None:
            self._stopper.join(timeout=self._grace + 30)


def stop(container: str, grace_seconds: int = STOP_GRACE_SECONDS) -> None:
    argv = docker_argv.stop_argv(container, grace_seconds=grace_seconds)
    try:
        result = runner.run(argv, check=False, timeout=grace_seconds + 30)
    except ToolError as error:
        logger.warning("could not stop %s: %s", container, error.message)
        return
    if result.returncode != 0 and "no such container" not in result.stderr.lower():
        logger.warning("could not stop %s: %s", container, result.stderr.strip())


@dataclass
class Owned:
    """The container this run created; removed on exit unless kept."""

    name: str
    run_label: str  # label=value unique to this run
    id: str | None = None
    keep: bool = False  # detached and healthy: the daemon's --rm takes over
    create_failed: bool = False


@contextmanager
def owned_container(name: str, *, run_label: str) -> Iterator[Owned]:
    """Remove the container we created, whatever happens, and only that one.

    Removal goes by the id `docker create` printed, never by name: a name
    clash must not remove a container someone else created.
    """
    owned = Owned(name, run_label)
    try:
        yield owned
    finally:
        if owned.id is not None and not owned.keep:
            cleanup.remove_container(owned.id)
        elif owned.create_failed:
            _remove_half_created(owned.run_label)


def _remove_half_created(run_label: str) -> None:
    # A docker create interrupted by Ctrl-C may still have created the
    # container without printing its id; the run label finds it (and only it).
    argv = docker_argv.containers_with_label_argv(run_label)
    try:
        listed = runner.run(argv, check=False)
    except ToolError:
        return
    for container_id in listed.stdout.split():
        cleanup.remove_container(container_id)


# --- create, verify, audit ---------------------------------------------------


def create_container(owned: Owned, argv: list[str], env: Mapping[str, str]) -> str:
    """docker container create; records and returns the new container's id."""
    try:
        result = runner.run(argv, env=env)
    except CommandError as error:
        owned.create_failed = True
        raise with_exit_code(error, ExitCode.DOCKER_ERROR) from None
    owned.id = result.stdout.strip().splitlines()[-1]
    return owned.id


def verify_hardening(container_id: str, expected: audit.Expected) -> dict[str, Any]:
    """docker inspect must show exactly the hardening we asked for."""
    from lib import audit, engine

    info = engine.inspect_container(container_id)
    problems = audit.verify(info, expected)
    if problems:
        raise PreflightError(
            "docker did not apply the hardening asked for, so the container was "
            "removed before it started:\n    " + "\n    ".join(problems),
            hint="check the daemon's configuration (authorization plugins, "
            "default options) and its version",
        )
    logger.info(
        "hardening verified by docker inspect: user %s, no capabilities, "
        "read-only root, no-new-privileges, limits as asked",
        (info.get("Config") or {}).get("User"),
    )
    return info


def report_audit(
    container: dict[str, Any],
    image: dict[str, Any],
    *,
    name: str,
    reference: str,
    json_path: Path | None,
) -> list[audit.Finding]:
    from lib import audit

    findings = audit.audit(container, image)
    logger.debug("%s", audit.as_table(findings))
    failed = [f.id for f in findings if not f.passed]
    if failed:
        logger.warning("%s: not met: %s", audit.BENCHMARK, ", ".join(failed))
    if json_path is not None:
        document = audit.as_json(findings, container=name, image=reference)
        try:
            json_path.write_text(document, encoding="utf-8")
        except OSError as error:
            raise ToolError(
                f"cannot write --audit-json {json_path}: {error.strerror}",
                hint="pass a writable file path",
            ) from None
        logger.info("self-audit written to %s", json_path)
    return findings


# --- the foreground run ------------------------------------------------------


class Outcome(NamedTuple):  # not a dataclass: start-up time, see docker_argv
    """How the container ended, from its final inspect data."""

    code: int
    started: bool
    oom_killed: bool
    error: str


def outcome_of(info: Mapping[str, Any], fallback_code: int) -> Outcome:
    state = info.get("State") or {}
    started = str(state.get("StartedAt") or _NEVER) != _NEVER
    finished = not state.get("Running") and started
    code = int(state.get("ExitCode", fallback_code)) if finished else fallback_code
    return Outcome(
        code=code,
        started=started,
        oom_killed=bool(state.get("OOMKilled")),
        error=str(state.get("Error") or ""),
    )


def run_attached(
    owned: Owned,
    signals: Signals,
    *,
    interactive: bool,
    sample: bool,
) -> tuple[Outcome, monitor.Usage | None]:
    """docker start --attach, then the container's final state."""
    from lib import engine, monitor

    assert owned.id is not None
    argv = docker_argv.start_argv(owned.id, attach=True, interactive=interactive)
    sampler = monitor.Sampler(owned.id) if sample else None
    process = runner.spawn(argv)
    with sampler or nullcontext():
        code = process.wait()
    signals.check(owned.name)
    info = engine.inspect_container(owned.id)
    if (info.get("State") or {}).get("Running"):
        raise ToolError(
            f"docker start exited with code {code} while {owned.name} still ran; "
            "it was stopped and removed",
            exit_code=ExitCode.DOCKER_ERROR,
        )
    return outcome_of(info, code), sampler.usage if sampler else None


def start_failure(outcome: Outcome) -> ToolError:
    """A container that never started: the exit code docker run would give."""
    error = outcome.error.strip() or "no reason given"
    code = ExitCode.DOCKER_ERROR
    if any(s in error for s in ("executable file not found", _ENOENT)):
        code = ExitCode.COMMAND_NOT_FOUND
    elif "permission denied" in error or "is a directory" in error:
        code = ExitCode.CANNOT_INVOKE
    return ToolError(
        f"docker could not start the container (exit code {int(code)}): {error}",
        exit_code=code,
    )


def finish(outcome: Outcome, *, memory: str | None) -> int:
    """Say what the exit code means; the code itself is returned unchanged."""
    if not outcome.started:
        raise start_failure(outcome)
    if outcome.oom_killed:
        logger.error(
            "the container was killed for lack of memory (exit code %d): %s",
            outcome.code,
            oom_advice(memory),
        )
        return outcome.code
    explain_exit(outcome.code)
    return outcome.code


def oom_advice(memory: str | None, *, host_bytes: int | None = None) -> str:
    """'exceeded --memory 2g; try --memory 4g', within what the host has."""
    if memory is None:
        return "it ran without --memory, so the host itself ran out"
    host = host_bytes if host_bytes is not None else host_memory_bytes()
    doubled = 2 * parse_size(memory)
    if doubled > host:
        return (
            f"exceeded --memory {memory}; this host has {format_size(host)} in "
            "all, so try a bigger machine or a smaller job"
        )
    return f"exceeded --memory {memory}; try --memory {format_size(doubled)}"


def format_size(size: int) -> str:
    """Bytes as docker's shortest exact unit: 4g, 12m, 1536m (rounded up to m)."""
    for unit, factor in (("g", 1024**3), ("m", 1024**2)):
        if size % factor == 0:
            return f"{size // factor}{unit}"
    return f"{-(-size // 1024**2)}m"


def explain_exit(code: int) -> None:
    if code == 0:
        return
    meaning = _DOCKER_MEANINGS.get(code)
    if meaning:
        logger.error("exit code %d: %s", code, meaning)
    elif code == 137:
        logger.error(
            "exit code 137: the app was killed (SIGKILL), not for lack of memory; "
            "docker kill, or docker stop after its grace period"
        )
    elif code > 128 and _signal_name(code - 128):
        logger.error(
            "exit code %d: the app was ended by %s", code, _signal_name(code - 128)
        )
    else:
        logger.error("the app exited with code %d", code)


def _signal_name(number: int) -> str | None:
    try:
        return signal.Signals(number).name
    except ValueError:
        return None


# --- the detached run --------------------------------------------------------


def health_wait_seconds(container: Mapping[str, Any]) -> float:
    """Long enough for the health check to pass or fail its retries."""
    check = (container.get("Config") or {}).get("Healthcheck") or {}
    if not check.get("Test") or check["Test"][0] == "NONE":
        return 10.0
    ns = {k: float(check.get(k) or v) for k, v in _HEALTH_DEFAULTS_NS.items()}
    retries = int(check.get("Retries") or 3)
    total = ns["StartPeriod"] + (ns["Interval"] + ns["Timeout"]) * retries
    return min(total / 1e9 + 5, MAX_HEALTH_WAIT_SECONDS)


def run_detached(
    owned: Owned,
    signals: Signals,
    *,
    container: Mapping[str, Any],
    memory: str | None,
) -> int:
    """docker start, then wait for healthy (or say why not)."""
    from lib import monitor

    assert owned.id is not None
    container_id = owned.id
    created = str(container.get("Created") or "")
    began = time.monotonic()
    argv = docker_argv.start_argv(owned.id, attach=False, interactive=False)
    result = runner.run(argv, check=False)
    if result.returncode != 0:
        raise start_failure(Outcome(result.returncode, False, False, result.stderr))
    usage = monitor.Usage()

    def between_polls() -> None:
        signals.check(owned.name)
        monitor.sample_into(usage, container_id)

    timeout = health_wait_seconds(container)
    logger.info("waiting up to %.0fs for %s to report healthy", timeout, owned.name)
    settled = monitor.wait_until_settled(
        owned.id, timeout=timeout, on_poll=between_polls
    )
    signals.check(owned.name)
    logger.info("resource use of %s: %s", owned.name, usage.summary())
    return _detached_result(owned, settled, created, began, memory=memory)


def _detached_result(
    owned: Owned,
    settled: monitor.Settled,
    created: str,
    began: float,
    *,
    memory: str | None,
) -> int:
    if settled.status in ("healthy", "running"):
        owned.keep = True
        note = "healthy" if settled.status == "healthy" else settled.detail
        success(
            "%s runs detached (%s); it is removed when it stops: docker stop %s",
            owned.name,
            note,
            owned.name,
        )
        return 0
    if settled.status in ("unhealthy", "timeout"):
        stop(owned.id or owned.name)
        raise ToolError(
            f"{owned.name} did not become healthy ({settled.status}"
            f"{': ' + settled.detail if settled.detail else ''}); "
            "it was stopped and removed",
            hint=f"rerun without --detach to see its output (was {owned.name})",
        )
    if settled.info is not None:
        outcome = outcome_of(settled.info, fallback_code=1)
    else:
        outcome = outcome_from_events(owned, created, began)
    logger.info(
        "%s finished (exit code %d) before it reported healthy",
        owned.name,
        outcome.code,
    )
    code = finish(outcome, memory=memory)
    if code == 0:
        success("done; %s ran to completion", owned.name)
    return code


def outcome_from_events(owned: Owned, created: str, began: float) -> Outcome:
    """The daemon's record of a container that --rm already removed.

    docker keeps recent events; `die` carries the exit code, `oom` marks an
    OOM kill. Assumes the daemon's clock agrees with ours (a local engine).
    """
    import json

    assert owned.id is not None
    until = f"{time.time() + 1:.3f}"
    since = created or f"{time.time() - (time.monotonic() - began) - 5:.3f}"
    argv = docker_argv.events_argv(
        owned.id, since=since, until=until, events=("die", "oom")
    )
    result = runner.run(argv, check=False, timeout=30)
    code: int | None = None
    oom = False
    for line in result.stdout.splitlines():
        event = json.loads(line)
        action = event.get("Action") or event.get("status")
        attributes = (event.get("Actor") or {}).get("Attributes") or {}
        if action == "oom":
            oom = True
        elif action == "die":
            code = int(attributes.get("exitCode", 1))
    if code is None:
        raise ToolError(
            f"{owned.name} is gone and docker has no record of how it ended",
            hint="rerun without --detach to see its exit code",
        )
    return Outcome(code=code, started=True, oom_killed=oom, error="")
