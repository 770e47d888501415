"""The env file (.env): parsed with python-dotenv, checked, never printed."""

from __future__ import annotations

import io
import re
import stat
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from lib.errors import PreflightError

# The keys the AI generator of the original needs; the offline generator
# needs none of them (see required_keys()).
AI_REQUIRED_KEYS = (
    "GEMINI_API_KEY",
    "OPENAI_API_KEY",
    "GITHUB_TOKEN",
    "GITHUB_REPO_OWNER",
    "GITHUB_REPO_NAME",
)
_PLACEHOLDER = re.compile(r"^your[_-].*[_-]here$", re.IGNORECASE)


@dataclass(frozen=True)
class EnvFile:
    path: Path
    values: dict[str, str]
    placeholders: tuple[str, ...]
    world_readable: bool


def is_placeholder(value: str) -> bool:
    return bool(_PLACEHOLDER.match(value.strip()))


def read_text(path: Path) -> str:
    """The file's text: a BOM dropped, CRLF line ends made LF."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise PreflightError(
            f"cannot read env file {path}: {error.strerror}",
            hint=f"check that {path} is a readable file",
        ) from None
    try:
        return raw.decode("utf-8-sig").replace("\r\n", "\n")
    except UnicodeDecodeError:
        raise PreflightError(
            f"env file {path} is not UTF-8 text",
            hint="save it as UTF-8",
        ) from None


def parse(path: Path) -> EnvFile:
    """Parse with python-dotenv; duplicate keys and bad lines are errors."""
    from dotenv import dotenv_values
    from dotenv.parser import parse_stream

    text = read_text(path)
    bindings = list(parse_stream(io.StringIO(text)))
    bad = [b.original.line for b in bindings if b.error]
    if bad:
        raise PreflightError(
            f"env file {path} has a line dotenv cannot parse (line {bad[0]})",
            hint="write each entry as KEY=VALUE",
        )
    counts = Counter(b.key for b in bindings if b.key is not None)
    duplicates = sorted(key for key, n in counts.items() if n > 1)
    if duplicates:
        raise PreflightError(
            f"env file {path} sets {', '.join(duplicates)} more than once",
            hint="keep one line per key",
        )
    parsed = dotenv_values(stream=io.StringIO(text), interpolate=False)
    values = {key: value or "" for key, value in parsed.items()}
    placeholders = tuple(k for k, v in values.items() if is_placeholder(v))
    mode = path.stat().st_mode
    loose = bool(mode & (stat.S_IRGRP | stat.S_IROTH))
    return EnvFile(path, values, placeholders, world_readable=loose)


def missing_keys(values: dict[str, str], required: tuple[str, ...]) -> list[str]:
    return [key for key in required if not values.get(key, "").strip()]


def check_example(path: Path) -> None:
    """.env.example must exist and hold only placeholders for the secret keys."""
    if not path.is_file():
        raise PreflightError(
            f"{path} is missing",
            hint="restore it from git: git checkout -- .env.example",
        )
    example = parse(path)
    real = [key for key in AI_REQUIRED_KEYS if key in example.values]
    real = [key for key in real if not is_placeholder(example.values[key])]
    if real:
        raise PreflightError(
            f"{path} holds real-looking values for {', '.join(real)}",
            hint="replace them with placeholders such as your_openai_api_key_here",
        )
