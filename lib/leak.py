"""The secret-leak guard: no secret in the image's env, labels or history.

A hit names the place (env KEY, label KEY, history layer N) and what was
found there (the value of which key, or a credential-looking string), never
the value itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lib import docker_argv, envfile, masking, runner
from lib.errors import ExitCode, ToolError

# Shorter values are too common ("INFO", "3", "true") to mean anything when
# they turn up in an image, and would fail good builds.
MIN_SECRET_LENGTH = 8


@dataclass(frozen=True)
class Leak:
    place: str  # "env OPENAI_API_KEY", "label x", "history layer 3"
    what: str  # "the value of .env key OPENAI_API_KEY", never the value


class SecretLeakError(ToolError):
    def __init__(self, leaks: Sequence[Leak], reference: str) -> None:
        super().__init__(
            f"secret leak: {len(leaks)} secret(s) found in image {reference}",
            hint="pass secrets at run time (run_docker.py reads .env), never as "
            "ARG, ENV or LABEL; then rebuild with --no-cache",
            exit_code=ExitCode.SECRET_LEAK,
        )
        self.leaks = tuple(leaks)

    def detail(self) -> str:
        return "\n".join(f"    {leak.what} is in {leak.place}" for leak in self.leaks)


def _worth_guarding(key: str, value: str) -> bool:
    return (
        masking.is_secret_key(key)
        and len(value) >= MIN_SECRET_LENGTH
        and not envfile.is_placeholder(value)
    )


def secrets_in_env_file(path: Path) -> dict[str, str]:
    """{description: value} for the secret keys of an env file; {} without one."""
    if not path.is_file():
        return {}
    values = envfile.parse(path).values
    found = {
        f"the value of {path.name} key {key}": value
        for key, value in values.items()
        if _worth_guarding(key, value)
    }
    masking.register(found.values())
    return found


def secrets_in_build_args(build_args: Mapping[str, str]) -> dict[str, str]:
    found = {
        f"the value of build arg {key}": value
        for key, value in build_args.items()
        if _worth_guarding(key, value)
    }
    masking.register(found.values())
    return found


def looks_like_credential(text: str) -> bool:
    """A token shape from masking.SECRET_VALUE_PATTERNS, starting a word.

    The start-of-word check keeps e.g. "disk-usage-report-generator" (which
    holds "sk-" and 16 more characters) from failing a build.
    """
    for pattern in masking.SECRET_VALUE_PATTERNS:
        for match in pattern.finditer(text):
            start = match.start()
            if start == 0 or not text[start - 1].isalnum():
                return True
    return False


def history_needed(
    secrets: Mapping[str, str], build_args: Mapping[str, str], dockerfile_text: str
) -> bool:
    """Whether this build could have put a secret into the image's history.

    History records the Dockerfile's instructions and the build args they use;
    the context keeps .env out (preflight checks .dockerignore). So only a
    build arg or the Dockerfile text can carry a secret there, and both are
    known before the build: the history is read only when one of them holds a
    secret. The base image's own history is then not read; --scan-only reads
    it always.
    """
    carriers = [*build_args.values(), dockerfile_text]
    if any(looks_like_credential(text) for text in carriers):
        return True
    return any(value in text for value in secrets.values() for text in carriers)


def read_history(reference: str) -> list[str]:
    """The image's history entries, oldest first (docker lists newest first)."""
    result = runner.run(docker_argv.history_argv(reference))
    rows: list[str] = []
    for line in result.stdout.splitlines():
        if line.strip():
            row = json.loads(line)
            rows.append(f"{row.get('CreatedBy') or ''} {row.get('Comment') or ''}")
    return list(reversed(rows))


def places(info: Mapping[str, Any], history: Sequence[str]) -> list[tuple[str, str]]:
    """(place, text) pairs of everything the image carries as metadata."""
    config = info.get("Config") or {}
    found: list[tuple[str, str]] = []
    for item in config.get("Env") or []:
        found.append((f"env {str(item).partition('=')[0]}", str(item)))
    for key, value in (config.get("Labels") or {}).items():
        found.append((f"label {key}", f"{key}={value}"))
    for name in ("Entrypoint", "Cmd"):
        words = config.get(name) or []
        found.append((name.lower(), " ".join(str(word) for word in words)))
    for number, text in enumerate(history, start=1):
        found.append((f"history layer {number}", text))
    return found


def find_leaks(
    pairs: Iterable[tuple[str, str]], secrets: Mapping[str, str]
) -> list[Leak]:
    leaks: list[Leak] = []
    for place, text in pairs:
        leaks.extend(Leak(place, what) for what, v in secrets.items() if v in text)
        if looks_like_credential(text):
            leaks.append(Leak(place, "a credential-looking string"))
    return leaks


def check_image(
    reference: str,
    info: Mapping[str, Any],
    secrets: Mapping[str, str],
    *,
    with_history: bool,
) -> int:
    """Raise SecretLeakError on a hit; returns how many places were checked."""
    history = read_history(reference) if with_history else []
    pairs = places(info, history)
    leaks = find_leaks(pairs, secrets)
    if leaks:
        raise SecretLeakError(leaks, reference)
    return len(pairs)
