"""Logging for both entrypoints: coloured tags, secrets masked, set up once."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import TextIO

from lib import masking

SUCCESS = 25
logging.addLevelName(SUCCESS, "SUCCESS")

_TAGS = {
    logging.DEBUG: "DEBUG",
    logging.INFO: "INFO",
    SUCCESS: "SUCCESS",
    logging.WARNING: "WARNING",
    logging.ERROR: "ERROR",
    logging.CRITICAL: "ERROR",
}
# colorama.Fore attribute names, looked up only when colour is on.
_COLOURS = {
    "DEBUG": "CYAN",
    "INFO": "BLUE",
    "SUCCESS": "GREEN",
    "WARNING": "YELLOW",
    "ERROR": "RED",
}

logger = logging.getLogger("workshop_builder.tooling")


def colour_wanted(stream: TextIO, *, ci: bool) -> bool:
    """One place decides colour: FORCE_COLOR, NO_COLOR, CI, then the TTY."""
    if os.environ.get("FORCE_COLOR"):
        return True
    if os.environ.get("NO_COLOR") or ci:
        return False
    return stream.isatty()


class _Formatter(logging.Formatter):
    def __init__(self, *, colour: bool, prefix: str) -> None:
        super().__init__()
        self._prefix = prefix
        self._paint = _painter() if colour else None

    def format(self, record: logging.LogRecord) -> str:
        tag = _TAGS.get(record.levelno, record.levelname)
        label = f"[{tag}]"
        if self._paint is not None:
            label = self._paint(tag, label)
        message = masking.mask(record.getMessage())
        if record.exc_info:
            message += "\n" + masking.mask(self.formatException(record.exc_info))
        return f"{label} {self._prefix}{message}"


def _painter() -> Callable[[str, str], str]:
    # colorama is imported only when colour is on (start-up time matters).
    import colorama

    colorama.just_fix_windows_console()

    def paint(tag: str, text: str) -> str:
        colour = getattr(colorama.Fore, _COLOURS.get(tag, "RESET"))
        return f"{colour}{text}{colorama.Style.RESET_ALL}"

    return paint


def setup(
    *,
    debug: bool,
    ci: bool = False,
    prefix: str = "",
    stream: TextIO | None = None,
) -> logging.Logger:
    """Configure the tool's logger; call once from an entrypoint."""
    out = stream or sys.stderr
    handler = logging.StreamHandler(out)
    handler.setFormatter(_Formatter(colour=colour_wanted(out, ci=ci), prefix=prefix))
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG if debug else logging.INFO)
    logger.propagate = False
    return logger


def success(message: str, *args: object) -> None:
    logger.log(SUCCESS, message, *args)
