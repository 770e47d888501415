"""Secret values known to this process, and masking them out of any text."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

MASK = "***"

# Key names whose values are treated as secret wherever they appear.
_SECRET_KEY = re.compile(
    r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|PRIVATE|AUTH)", re.IGNORECASE
)
# Values that look like credentials even without a telling key name.
SECRET_VALUE_PATTERNS = (
    # The lookbehind keeps words such as "task-runner-..." unmasked.
    re.compile(r"(?<![A-Za-z0-9])sk-[A-Za-z0-9_\-]{16,}"),  # OpenAI
    re.compile(r"AIza[0-9A-Za-z_\-]{30,}"),  # Google / Gemini
    re.compile(r"gh[pousr]_[A-Za-z0-9]{20,}"),  # GitHub tokens
    re.compile(r"github_pat_[A-Za-z0-9_]{20,}"),
    re.compile(r"AKIA[0-9A-Z]{16}"),  # AWS access key id
    re.compile(r"xox[abprs]-[A-Za-z0-9-]{10,}"),  # Slack
)
# Shorter values would mask common words and make logs unreadable.
_MIN_SECRET_LENGTH = 4

_known: set[str] = set()


def is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.search(key))


def register(values: Iterable[str]) -> None:
    """Remember values that must never be printed."""
    _known.update(v for v in values if len(v) >= _MIN_SECRET_LENGTH)


def register_env(env: Mapping[str, str], *, all_values: bool = False) -> None:
    """Register the values of secret-looking keys (or of every key)."""
    register(v for k, v in env.items() if all_values or is_secret_key(k))


def forget_all() -> None:
    _known.clear()


def mask(text: str) -> str:
    """Replace every known secret and credential-looking token by ***."""
    # Longest first, so a secret that contains another is masked whole.
    for value in sorted(_known, key=len, reverse=True):
        text = text.replace(value, MASK)
    for pattern in SECRET_VALUE_PATTERNS:
        text = pattern.sub(MASK, text)
    return text
