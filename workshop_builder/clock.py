"""The single source of "now", fixable for reproducible output."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

SOURCE_DATE_EPOCH = "SOURCE_DATE_EPOCH"


class ClockError(ValueError):
    """SOURCE_DATE_EPOCH is set but is not usable."""


def resolve_now(environ: Mapping[str, str]) -> datetime:
    """Return the time from SOURCE_DATE_EPOCH when set, else the current UTC time."""
    raw = environ.get(SOURCE_DATE_EPOCH, "").strip()
    if not raw:
        return datetime.now(UTC)

    # The reproducible-builds convention: a malformed value is an error, not a
    # silent fallback to the wall clock. The value itself is not echoed.
    if not raw.isascii() or not raw.isdigit():
        raise ClockError(f"{SOURCE_DATE_EPOCH} must be a non-negative integer")
    try:
        return datetime.fromtimestamp(int(raw), UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise ClockError(f"{SOURCE_DATE_EPOCH} is out of range") from exc


def rfc3339(moment: datetime) -> str:
    """Format as UTC with second precision, e.g. ``2026-12-03T16:00:00Z``."""
    if moment.tzinfo is None:
        raise ValueError("a timezone-aware datetime is required")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
