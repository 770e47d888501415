"""Errors the CLI turns into one readable line and exit code 1."""

from __future__ import annotations

from pathlib import Path


class WorkshopError(Exception):
    """An expected failure: shown without a traceback unless --verbose."""


class WorkshopDirError(WorkshopError):
    """The workshops directory cannot be created, locked or written."""

    def __init__(self, directory: Path, reason: str) -> None:
        super().__init__(f"cannot write workshops directory {directory}: {reason}")
        self.directory = directory
        self.reason = reason

    @classmethod
    def from_os_error(cls, directory: Path, exc: OSError) -> WorkshopDirError:
        # strerror is the short human text ("Permission denied"); some OSErrors
        # raised by Python itself carry none, so fall back to the full message.
        return cls(directory, exc.strerror or str(exc))
