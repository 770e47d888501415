"""The steps of run_docker.py, each a small function the entrypoint calls."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from lib import cleanup, docker_argv, engine, envfile, masking, runner
from lib.errors import ExitCode, PreflightError, ToolError, UsageError
from lib.log import logger

IMAGE_USER = (1000, 1000)  # workshop-user in the image
STOP_GRACE_SECONDS = 10
# Variables the docker client itself reads: their values cannot travel in the
# client's environment without changing how docker behaves.
_CLIENT_KEYS = {"PATH", "HOME", "TMPDIR", "SSL_CERT_FILE", "SSL_CERT_DIR"}
_DOCKER_MEANINGS = {
    125: "docker could not create or start the container",
    126: "the container's command could not be invoked",
    127: "the container's command was not found",
}


@dataclass(frozen=True)
class ContainerEnv:
    """What the container gets: names on argv, values in docker's environment."""

    values: dict[str, str] = field(default_factory=dict)
    on_argv: dict[str, str] = field(default_factory=dict)

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


# --- preflight -----------------------------------------------------------------


def check_image(reference: str) -> None:
    if engine.inspect_image(reference) is None:
        raise PreflightError(
            f"image {reference} not found",
            hint="build it first: ./build_docker.py (or make build)",
        )


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


def prepare_output_dir(path: Path, user: tuple[int, int], *, caller_uid: int) -> bool:
    """Make sure the container user can write there; True when we created it."""
    if path.exists() and not path.is_dir():
        raise PreflightError(
            f"--output-dir {path} is a file, not a directory",
            hint="pass a directory path with --output-dir",
        )
    created = not path.exists()
    if created:
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
    if not writable_by(path, *user):
        raise PreflightError(
            f"output directory {path} is not writable by the container user "
            f"{user[0]}:{user[1]}",
            hint=f"chown {user[0]}:{user[1]} {path}, or pass another --output-dir",
        )
    return created


def load_env_file(
    path: Path, *, required: tuple[str, ...], given: bool
) -> dict[str, str]:
    """Values of the env file the container should get (placeholders left out)."""
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
        logger.warning("%s is readable by other users; run: chmod 600 %s", path, path)
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
    env = ContainerEnv()
    for key, value in merged.items():
        target = env.on_argv if _client_reads(key) else env.values
        target[key] = value
    return env


def _client_reads(key: str) -> bool:
    return key in _CLIENT_KEYS or key.startswith("DOCKER_")


# --- the run -------------------------------------------------------------------


def stdin_is_terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty() and sys.stdout.isatty()


def run_foreground(argv: list[str], name: str, env: Mapping[str, str]) -> int:
    """Run attached; Ctrl-C or SIGTERM stop and remove the container."""
    received: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if not received:
            received.append(signum)
            logger.warning("signal %d: stopping container %s", signum, name)
            threading.Thread(target=_stop, args=(name,), daemon=True).start()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with cleanup.removed_on_failure(name):
            process = runner.spawn(argv, env=env)
            code = process.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if received:
        cleanup.remove_container(name)
        return (
            ExitCode.INTERRUPTED
            if received[0] == signal.SIGINT
            else ExitCode.TERMINATED
        )
    return code


def _stop(name: str) -> None:
    try:
        runner.run(
            docker_argv.stop_argv(name, grace_seconds=STOP_GRACE_SECONDS), check=False
        )
    except ToolError as error:
        logger.warning("could not stop %s: %s", name, error.message)


def explain_exit(code: int) -> None:
    if code == 0:
        return
    meaning = _DOCKER_MEANINGS.get(code)
    if meaning:
        logger.error("docker run failed with exit code %d: %s", code, meaning)
    else:
        logger.error("the app exited with code %d", code)
