"""Show arbitrary user text inside Markdown without it becoming markup."""

from __future__ import annotations

import unicodedata

# Characters that start emphasis, code, links, HTML, tables, headings closers or
# entities when they appear inline. The topic is never placed at the start of a
# line, so block markers such as "-" or "1." need no escaping.
_SPECIAL = frozenset("\\`*_[]<>#|~&")


def inline(text: str) -> str:
    """Return ``text`` as one line of literal Markdown text."""
    # Control characters (newlines, escapes) would break the line or the
    # terminal; they become spaces and every whitespace run becomes one space.
    visible = "".join(
        " " if unicodedata.category(char) == "Cc" else char for char in text
    )
    one_line = " ".join(visible.split())

    return "".join(f"\\{char}" if char in _SPECIAL else char for char in one_line)
