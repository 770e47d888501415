"""The one error boundary of an entrypoint: exceptions become exit codes."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import click

from lib.errors import ExitCode, ToolError

# lib.log and lib.masking are imported where an error is reported, not here:
# --help and --version must not pay for logging's import.


def help_width() -> int:
    """The width click would choose for --help, without importing shutil.

    click asks shutil for the terminal size, and importing shutil (with the
    compression modules it loads) is a fifth of what --help costs beyond
    click itself. Same rule: the terminal's columns, at most 80, minus 2.
    """
    try:
        columns = os.get_terminal_size(1).columns  # help goes to stdout
    except OSError:
        columns = 80
    return max(min(columns, 80) - 2, 50)


def _print_error(message: str) -> None:
    # Used before logging is set up (usage errors); still masked.
    from lib import masking

    click.echo(f"[ERROR] {masking.mask(message)}", err=True)


def report(error: ToolError) -> None:
    """The fixed shape of an expected failure: error line, detail, hint."""
    from lib.log import logger

    lines = [error.message]
    detail = error.detail()
    if detail:
        lines.append(detail)
    if error.hint:
        lines.append(f"hint: {error.hint}")
    if logger.handlers:
        logger.error("\n".join(lines))
    else:
        _print_error("\n".join(lines))


def run_cli(command: click.Command, argv: Sequence[str] | None, prog: str) -> int:
    """Run a click command; map every outcome to a documented exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        result = command.main(args=args, prog_name=prog, standalone_mode=False)
    except click.exceptions.Exit as done:  # --help, --version
        return done.exit_code
    except click.UsageError as error:
        message = " ".join(error.format_message().split())
        _print_error(f"{message} (see {prog} --help)")
        return ExitCode.USAGE
    except ToolError as error:
        report(error)
        if debug:
            from lib.log import logger

            logger.debug("traceback", exc_info=True)
        return error.exit_code
    except (KeyboardInterrupt, click.Abort):
        _print_error("interrupted")
        return ExitCode.INTERRUPTED
    except Exception as error:  # the boundary must catch all
        if debug:
            from lib.log import logger

            logger.exception("unexpected error")
        else:
            _print_error(
                f"unexpected error: {error!r} (rerun with --debug for details)"
            )
        return ExitCode.FAILURE
    return int(result or 0)
