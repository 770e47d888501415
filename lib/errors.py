"""Exceptions and the documented exit codes."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes of both entrypoints (see README, "Exit codes")."""

    OK = 0
    FAILURE = 1
    USAGE = 2
    PREFLIGHT = 3
    LINT = 4
    BUILD = 5
    SMOKE_TEST = 6
    FINDINGS = 7
    SCANNER = 8
    SECRET_LEAK = 9
    # run_docker.py: docker's own codes, meaning what `docker run` means.
    DOCKER_ERROR = 125
    CANNOT_INVOKE = 126
    COMMAND_NOT_FOUND = 127
    HANGUP = 129
    INTERRUPTED = 130
    TERMINATED = 143


class ToolError(Exception):
    """An expected failure: shown as one error line (plus detail), no traceback."""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        exit_code: ExitCode = ExitCode.FAILURE,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code

    def detail(self) -> str:
        """Extra lines printed under the error line (empty by default)."""
        return ""


class UsageError(ToolError):
    """Bad input: exit 2, nothing executed."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint, exit_code=ExitCode.USAGE)


class PreflightError(ToolError):
    """The environment is not ready: exit 3, nothing changed."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint, exit_code=ExitCode.PREFLIGHT)


class CommandError(ToolError):
    """An external command failed; carries what ran (masked) and what it said."""

    def __init__(
        self,
        shown_command: str,
        returncode: int | None,
        stderr: str,
        *,
        reason: str | None = None,
        exit_code: ExitCode = ExitCode.FAILURE,
    ) -> None:
        why = reason or f"exited with code {returncode}"
        super().__init__(
            f"command failed ({why}): {shown_command}", exit_code=exit_code
        )
        self.shown_command = shown_command
        self.returncode = returncode
        self.stderr = stderr

    def detail(self) -> str:
        text = self.stderr.strip() or "(no output on stderr)"
        return "\n".join(f"    {line}" for line in text.splitlines()[-20:])


def with_exit_code(error: ToolError, code: ExitCode) -> ToolError:
    """Give a failure the exit code of the step it happened in."""
    if error.exit_code is ExitCode.FAILURE:
        error.exit_code = code
    return error
