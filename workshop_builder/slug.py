"""Turn any topic into a short name that is safe as a single path component."""

from __future__ import annotations

import re
import unicodedata

MAX_SLUG_LENGTH = 50
FALLBACK_SLUG = "workshop"

_NOT_SLUG_CHARS = re.compile(r"[^a-z0-9]+")


def slugify(topic: str, *, max_length: int = MAX_SLUG_LENGTH) -> str:
    """Return ``[a-z0-9-]`` text of at most ``max_length`` chars, never empty.

    Everything outside the alphabet (separators, ``..``, shell metacharacters,
    newlines) becomes a dash, so the result can never escape the workshops
    directory or mean anything to a shell.
    """
    # NFKD splits "é" into "e" plus a combining accent; the ASCII encode then
    # drops the accent and any character without an ASCII base.
    decomposed = unicodedata.normalize("NFKD", topic)
    ascii_text = decomposed.encode("ascii", "ignore").decode("ascii")

    dashed = _NOT_SLUG_CHARS.sub("-", ascii_text.lower()).strip("-")
    truncated = dashed[:max_length].rstrip("-")

    return truncated or FALLBACK_SLUG
