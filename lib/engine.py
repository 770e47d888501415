"""Questions to the docker engine shared by both entrypoints."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from lib import docker_argv, runner
from lib.errors import CommandError, PreflightError

DAEMON_TIMEOUT_SECONDS = 20.0


@dataclass(frozen=True)
class Engine:
    server_version: str
    buildx: bool


def check_engine(*, timeout: float = DAEMON_TIMEOUT_SECONDS) -> Engine:
    """Docker CLI present and daemon answering; which builder the CLI has."""
    try:
        result = runner.run(docker_argv.info_argv(), timeout=timeout)
    except CommandError as error:
        said = error.stderr.strip() or "no answer"
        raise PreflightError(
            f"the Docker daemon is not reachable ({said})",
            hint="start it (sudo systemctl start docker, or dockerd &) and retry",
        ) from None
    info = _json_object(result.stdout)
    plugins = (info.get("ClientInfo") or {}).get("Plugins") or []
    buildx = any(plugin.get("Name") == "buildx" for plugin in plugins)
    return Engine(server_version=str(info.get("ServerVersion", "?")), buildx=buildx)


def inspect_image(reference: str) -> dict[str, Any] | None:
    """The image's inspect data, or None when the engine has no such image."""
    result = runner.run(docker_argv.image_inspect_argv(reference), check=False)
    if result.returncode != 0:
        if "no such image" in result.stderr.lower():
            return None
        raise CommandError(runner.shown(result.argv), result.returncode, result.stderr)
    return _json_object(result.stdout)


def inspect_container(name: str) -> dict[str, Any]:
    result = runner.run(docker_argv.container_inspect_argv(name))
    return _json_object(result.stdout)


def _json_object(text: str) -> dict[str, Any]:
    # docker prints one JSON document per line; the first is the one asked for.
    line = text.strip().splitlines()[0] if text.strip() else "{}"
    value = json.loads(line)
    return value if isinstance(value, dict) else {}
