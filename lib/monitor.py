"""Watching a running container: health status and `docker stats` samples."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lib import docker_argv, runner
from lib.errors import CommandError, ToolError
from lib.log import logger

SAMPLE_INTERVAL_SECONDS = 1.0
_BYTES = re.compile(r"(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>[kKMGTP]?i?B)")
_UNIT_BYTES = {
    "B": 1,
    "kB": 1000, "KB": 1000, "MB": 1000**2, "GB": 1000**3, "TB": 1000**4,
    "KiB": 1024, "kiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "TiB": 1024**4,
}  # fmt: skip


@dataclass(frozen=True)
class Sample:
    memory_bytes: int
    memory_limit_bytes: int
    cpu_percent: float
    pids: int


@dataclass
class Usage:
    """What the samples of one container add up to."""

    samples: list[Sample] = field(default_factory=list)
    health: str | None = None  # last State.Health.Status seen

    def summary(self) -> str:
        health = f"; health: {self.health}" if self.health else ""
        if not self.samples:
            return f"no resource sample: it ended before the first one{health}"
        peak_memory = max(s.memory_bytes for s in self.samples)
        limit = max(s.memory_limit_bytes for s in self.samples)
        peak_cpu = max(s.cpu_percent for s in self.samples)
        peak_pids = max(s.pids for s in self.samples)
        return (
            f"peak memory {human_bytes(peak_memory)} of {human_bytes(limit)}, "
            f"peak CPU {peak_cpu:.1f}%, peak pids {peak_pids} "
            f"({len(self.samples)} samples){health}"
        )


def parse_bytes(text: str) -> int:
    """docker stats sizes ('34.5MiB', '1.2kB', '0B') -> bytes."""
    match = _BYTES.fullmatch(text.strip())
    if not match or match["unit"] not in _UNIT_BYTES:
        raise ValueError(f"not a docker size: {text!r}")
    return int(float(match["number"]) * _UNIT_BYTES[match["unit"]])


def human_bytes(size: int) -> str:
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= factor:
            return f"{size / factor:.1f}{unit}"
    return f"{size}B"


def parse_stats(line: str) -> Sample | None:
    """One `docker stats --format '{{json .}}'` line; None when it says nothing."""
    try:
        data = json.loads(line)
        used, _, limit = str(data["MemUsage"]).partition("/")
        sample = Sample(
            memory_bytes=parse_bytes(used),
            memory_limit_bytes=parse_bytes(limit),
            cpu_percent=float(str(data["CPUPerc"]).rstrip("%")),
            pids=int(data["PIDs"]),
        )
    except (ValueError, KeyError, TypeError):
        return None
    # A container that has exited reports zeros: no information.
    return sample if sample.memory_limit_bytes > 0 else None


def take_sample(container: str) -> Sample | None:
    result = runner.run(docker_argv.stats_argv(container), check=False, timeout=15)
    lines = result.stdout.strip().splitlines()
    return parse_stats(lines[0]) if result.returncode == 0 and lines else None


def health_of(info: dict[str, Any]) -> str | None:
    health = (info.get("State") or {}).get("Health")
    return str(health.get("Status")) if health else None


def inspect_or_none(container: str) -> dict[str, Any] | None:
    """The container's inspect data, or None once it is gone."""
    result = runner.run(docker_argv.container_inspect_argv(container), check=False)
    if result.returncode != 0:
        if "no such container" in result.stderr.lower():
            return None
        raise CommandError(runner.shown(result.argv), result.returncode, result.stderr)
    lines = result.stdout.strip().splitlines()
    data = json.loads(lines[0]) if lines else None
    return data if isinstance(data, dict) else None


class Sampler:
    """Sample stats and health in the background while the container runs.

    Monitoring must never break a run: a failed sample is skipped.
    """

    def __init__(self, container: str, *, interval: float | None = None) -> None:
        self.usage = Usage()
        self._container = container
        self._interval = SAMPLE_INTERVAL_SECONDS if interval is None else interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=20)

    def _loop(self) -> None:
        while not self._stop.is_set():
            sample_into(self.usage, self._container)
            self._stop.wait(self._interval)


def sample_into(usage: Usage, container: str) -> None:
    """Add one stats sample and the health status; skip what fails."""
    try:
        sample = take_sample(container)
        info = inspect_or_none(container) if sample else None
    except ToolError as error:
        logger.debug("monitoring sample skipped: %s", error.message)
        return
    if sample is not None:
        usage.samples.append(sample)
    if info is not None:
        usage.health = health_of(info) or usage.health


# --- waiting for a detached container ----------------------------------------


@dataclass(frozen=True)
class Settled:
    """How a detached container ended the wait."""

    status: str  # healthy, unhealthy, running (no health check), exited, gone, timeout
    info: dict[str, Any] | None  # the last inspect data, None once removed
    detail: str = ""


def wait_until_settled(
    container: str,
    *,
    timeout: float,
    interval: float | None = None,
    on_poll: Callable[[], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Settled:
    """Poll until healthy, unhealthy, exited or removed, or until timeout."""
    deadline = clock() + timeout
    while True:
        info = inspect_or_none(container)
        settled = _settled(info)
        if settled is not None:
            return settled
        if clock() >= deadline:
            return Settled("timeout", info, f"health: {health_of(info or {})}")
        if on_poll is not None:
            on_poll()
        sleep(SAMPLE_INTERVAL_SECONDS if interval is None else interval)


def _settled(info: dict[str, Any] | None) -> Settled | None:
    if info is None:
        return Settled("gone", None)
    state = info.get("State") or {}
    if not state.get("Running"):
        return Settled("exited", info)
    health = state.get("Health")
    if not health:
        return Settled("running", info, "the image has no health check")
    if health.get("Status") in ("healthy", "unhealthy"):
        return Settled(str(health["Status"]), info, _last_health_output(health))
    return None


def _last_health_output(health: dict[str, Any]) -> str:
    log = health.get("Log") or []
    return str(log[-1].get("Output", "")).strip() if log else ""
