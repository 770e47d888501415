"""Monitoring: docker stats parsing, sampling, and waiting for a detached container."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from pytest_subprocess import FakeProcess

from lib import monitor
from lib.monitor import Sample, Usage

CID = "abc123"
MIB = 1024**2


def docker(fp: FakeProcess, *args: str) -> list[object]:
    return [fp.program("docker"), *args]


def stats_argv(fp: FakeProcess) -> list[object]:
    return docker(
        fp, "container", "stats", "--no-stream", "--format", "{{json .}}", CID
    )


def inspect_argv(fp: FakeProcess) -> list[object]:
    return docker(fp, "container", "inspect", "--format", "{{json .}}", CID)


def stats(mem: str, cpu: str = "1.00%", pids: str = "2") -> str:
    return json.dumps({"MemUsage": mem, "CPUPerc": cpu, "PIDs": pids, "Name": "n"})


def state(**fields: Any) -> str:
    return json.dumps({"Id": CID, "State": fields})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0B", 0),
        ("512B", 512),
        ("1.5KiB", 1536),
        ("34.51MiB", int(34.51 * MIB)),
        ("23.54GiB", int(23.54 * 1024**3)),
        ("1.2kB", 1200),
        ("3MB", 3_000_000),
    ],
)
def test_parse_bytes(text: str, expected: int) -> None:
    assert monitor.parse_bytes(text) == expected


@pytest.mark.parametrize("text", ["", "12", "1.5XB", "MiB", "--"])
def test_parse_bytes_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="not a docker size"):
        monitor.parse_bytes(text)


def test_parse_stats_line() -> None:
    line = stats("34.51MiB / 2GiB", "12.34%", "3")

    assert monitor.parse_stats(line) == Sample(
        memory_bytes=int(34.51 * MIB),
        memory_limit_bytes=2 * 1024**3,
        cpu_percent=12.34,
        pids=3,
    )


@pytest.mark.parametrize(
    "line",
    [
        pytest.param(stats("0B / 0B", "0.00%", "0"), id="exited-container"),
        pytest.param("not json", id="garbage"),
        pytest.param(json.dumps({"MemUsage": "1MiB / 2MiB"}), id="fields-missing"),
        pytest.param(stats("--", "--", "--"), id="dashes"),
    ],
)
def test_parse_stats_says_nothing_rather_than_guess(line: str) -> None:
    assert monitor.parse_stats(line) is None


def test_usage_summary_reports_peaks() -> None:
    usage = Usage(
        [Sample(20 * MIB, 64 * MIB, 5.0, 2), Sample(48 * MIB, 64 * MIB, 80.5, 4)],
        health="healthy",
    )

    assert usage.summary() == (
        "peak memory 48.0MiB of 64.0MiB, peak CPU 80.5%, peak pids 4 "
        "(2 samples); health: healthy"
    )


def test_usage_summary_without_samples_says_so() -> None:
    assert Usage().summary() == "no resource sample: it ended before the first one"


def test_sample_into_adds_stats_and_health(fp: FakeProcess, stub_path: Path) -> None:
    fp.register(stats_argv(fp), stdout=stats("10MiB / 2GiB") + "\n")
    fp.register(
        inspect_argv(fp),
        stdout=state(Running=True, Health={"Status": "starting"}) + "\n",
    )
    usage = Usage()

    monitor.sample_into(usage, CID)

    assert usage.samples == [Sample(10 * MIB, 2 * 1024**3, 1.0, 2)]
    assert usage.health == "starting"


def test_a_failed_sample_is_skipped(fp: FakeProcess, stub_path: Path) -> None:
    fp.register(stats_argv(fp), returncode=1, stderr="Error: No such container\n")
    usage = Usage()

    monitor.sample_into(usage, CID)

    assert usage == Usage()


def test_sampler_samples_in_the_background_until_stopped(
    fp: FakeProcess, stub_path: Path
) -> None:
    for mem, cpu in (("10MiB", "1.00%"), ("30MiB", "50.00%"), ("20MiB", "9.00%")):
        fp.register(stats_argv(fp), stdout=stats(f"{mem} / 2GiB", cpu) + "\n")
        fp.register(inspect_argv(fp), stdout=state(Running=True) + "\n")

    with monitor.Sampler(CID, interval=0.2) as sampler:
        deadline = time.monotonic() + 5
        while len(sampler.usage.samples) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)

    peak = sampler.usage.summary()
    assert peak.startswith("peak memory 30.0MiB of 2.0GiB, peak CPU 50.0%")


# --- waiting for a detached container ----------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def wait(clock: Clock, *, timeout: float = 10) -> monitor.Settled:
    return monitor.wait_until_settled(
        CID, timeout=timeout, interval=1.0, clock=clock, sleep=clock.sleep
    )


def test_wait_returns_once_healthy(fp: FakeProcess, stub_path: Path) -> None:
    fp.register(
        inspect_argv(fp), stdout=state(Running=True, Health={"Status": "starting"})
    )
    fp.register(
        inspect_argv(fp), stdout=state(Running=True, Health={"Status": "healthy"})
    )
    clock = Clock()

    settled = wait(clock)

    assert settled.status == "healthy"
    assert clock.now == 1.0


def test_wait_reports_unhealthy_with_the_last_check_output(
    fp: FakeProcess, stub_path: Path
) -> None:
    log = [{"Output": "old"}, {"Output": "unhealthy: ImportError: click\n"}]
    fp.register(
        inspect_argv(fp),
        stdout=state(Running=True, Health={"Status": "unhealthy", "Log": log}),
    )

    settled = wait(Clock())

    assert (settled.status, settled.detail) == (
        "unhealthy",
        "unhealthy: ImportError: click",
    )


def test_wait_gives_up_at_the_deadline(fp: FakeProcess, stub_path: Path) -> None:
    fp.register(
        inspect_argv(fp), stdout=state(Running=True, Health={"Status": "starting"})
    )
    fp.keep_last_process(True)
    clock = Clock()

    settled = wait(clock, timeout=3)

    assert (settled.status, settled.detail) == ("timeout", "health: starting")
    assert clock.now == 3.0


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        pytest.param({"stdout": state(Running=False, ExitCode=3)}, "exited", id="exit"),
        pytest.param(
            {"returncode": 1, "stderr": "Error: No such container: abc123\n"},
            "gone",
            id="removed",
        ),
        pytest.param({"stdout": state(Running=True)}, "running", id="no-healthcheck"),
    ],
)
def test_wait_ends_when_the_container_does(
    answer: dict[str, Any], status: str, fp: FakeProcess, stub_path: Path
) -> None:
    fp.register(inspect_argv(fp), **answer)

    assert wait(Clock()).status == status


def test_wait_polls_call_back_between_inspects(
    fp: FakeProcess, stub_path: Path
) -> None:
    fp.register(
        inspect_argv(fp), stdout=state(Running=True, Health={"Status": "starting"})
    )
    fp.register(inspect_argv(fp), stdout=state(Running=False, ExitCode=0))
    polls: list[int] = []

    monitor.wait_until_settled(
        CID, timeout=10, on_poll=lambda: polls.append(1), sleep=lambda _s: None
    )

    assert polls == [1]
