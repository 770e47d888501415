"""Ten runs at once on the real engine: their own names, folders and cleanup.

All runs are started while the test holds the app's numbering lock in the
shared workshops folder, so every container is created and running at the
same moment; the test lets go once it has looked at them all.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PROJECT_DIR
from tests.integration.conftest import containers_mounting, docker, inspect
from tests.integration.test_run_engine import numbering_lock, run_args
from tests.reliability.conftest import UserThings, exists, token

pytestmark = pytest.mark.engine

RUNS = 10
RUN_LABEL = "org.workshop-builder.run-id"


def shared_folder(path: Path) -> Path:
    path.mkdir()
    if os.getuid() == 0:
        os.chown(path, 1000, 1000)  # the container user writes there
    return path


@contextmanager
def launched(
    reference: str, out_dir: Path, argvs: list[list[str]]
) -> Iterator[list[subprocess.Popen[str]]]:
    """One run_docker.py per argv, all at once; on failure each is ended cleanly."""
    children = [
        subprocess.Popen(
            [
                sys.executable,
                str(PROJECT_DIR / "run_docker.py"),
                *run_args(reference, out_dir, *argv),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for argv in argvs
    ]
    try:
        yield children
    except BaseException:
        for child in children:
            if child.poll() is None:
                child.terminate()  # run_docker.py removes its own container
        for child in children:
            child.communicate(timeout=60)
        raise


def running_containers(
    out_dir: Path, count: int, timeout: float = 120
) -> list[dict[str, Any]]:
    """Inspect data of `count` running containers mounting out_dir."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        infos = []
        for cid in containers_mounting(out_dir):
            shown = docker("container", "inspect", cid, check=False)
            if shown.returncode != 0:
                continue  # a run that failed at once removed its container
            info = json.loads(shown.stdout)[0]
            if info["State"]["Running"]:
                infos.append(info)
        if len(infos) >= count:
            return infos
        time.sleep(0.3)
    raise AssertionError(f"{count} containers were not all running within {timeout}s")


def workshops(out_dir: Path) -> dict[int, str]:
    """{number: topic} of the workshop folders written."""
    found = {}
    for folder in out_dir.glob("workshop-*"):
        manifest = json.loads((folder / "manifest.json").read_text())
        found[manifest["number"]] = manifest["topic"]
        assert folder.name.startswith(f"workshop-{manifest['number']}-")
    return found


def test_ten_parallel_runs_get_their_own_containers_and_folders(
    built_image: str, tmp_path: Path
) -> None:
    out_dir = shared_folder(tmp_path / "shared")
    topics = [f"Parallel {i}" for i in range(RUNS)]

    with (
        numbering_lock(out_dir) as lock,
        launched(built_image, out_dir, [["--topic", t] for t in topics]) as children,
    ):
        infos = running_containers(out_dir, RUNS)
        fcntl.flock(lock, fcntl.LOCK_UN)
        results = [child.communicate(timeout=120) for child in children]

    codes = [child.returncode for child in children]
    assert codes == [0] * RUNS, [err[-500:] for _out, err in results]
    names = {info["Name"][1:] for info in infos}
    run_ids = {info["Config"]["Labels"][RUN_LABEL] for info in infos}
    assert len(names) == len(run_ids) == RUNS
    assert names == {f"workshop-builder-{run_id}" for run_id in run_ids}
    assert {run_id for run_id in run_ids if any(run_id in e for _o, e in results)} == (
        run_ids
    )  # each run's log lines carry its own run id
    found = workshops(out_dir)  # numbered in the order the lock was taken
    assert sorted(found) == list(range(1, RUNS + 1))
    assert sorted(found.values()) == sorted(topics)
    assert containers_mounting(out_dir) == []
    assert exists("image", built_image)


def test_cleanup_of_some_runs_never_touches_the_others(
    built_image: str, user_things: UserThings, tmp_path: Path
) -> None:
    """Eight held runs, two that fail at once; then three of the held are
    interrupted. Each removal must hit its own container and nothing else."""
    out_dir = shared_folder(tmp_path / "shared")
    held = [f"Held {i}" for i in range(8)]
    argvs = [["--topic", t] for t in held] + [["--topic", " "], ["--topic", "\t"]]
    interrupted = (0, 3, 6)

    with (
        numbering_lock(out_dir) as lock,
        launched(built_image, out_dir, argvs) as children,
    ):
        failing = [child.communicate(timeout=60) for child in children[8:]]
        infos = running_containers(out_dir, len(held))
        for at in interrupted:
            children[at].send_signal(signal.SIGTERM)
        stopped = [children[at].communicate(timeout=60) for at in interrupted]
        survivors = {
            info["Id"]: inspect("container", info["Id"])["State"]["Running"]
            for info in infos
            if exists("container", info["Id"])
        }
        fcntl.flock(lock, fcntl.LOCK_UN)
        finished = [children[at].communicate(timeout=120) for at in range(8)
                    if at not in interrupted]  # fmt: skip

    assert [c.returncode for c in children[8:]] == [2, 2], failing
    assert [children[at].returncode for at in interrupted] == [143] * 3, stopped
    rest = [at for at in range(8) if at not in interrupted]
    assert [children[at].returncode for at in rest] == [0] * 5, finished
    # At the moment the five were still held, exactly they were there, running.
    assert list(survivors.values()) == [True] * 5
    assert len(survivors) == 5
    assert sorted(workshops(out_dir).values()) == sorted(held[at] for at in rest)
    assert sorted(workshops(out_dir)) == [1, 2, 3, 4, 5]
    assert containers_mounting(out_dir) == []
    assert user_things.intact()
    assert exists("image", built_image)


def test_a_name_clash_fails_the_second_run_and_spares_the_first(
    built_image: str, tmp_path: Path
) -> None:
    """Two runs ask for one --name: docker refuses the second (exit 125), and
    its cleanup must not remove the first run's container of that name."""
    out_dir = shared_folder(tmp_path / "shared")
    name = f"reliability-clash-{token()}"
    argv = ["--name", name, "--topic", "Clash"]

    with (
        numbering_lock(out_dir) as lock,
        launched(built_image, out_dir, [argv]) as [first],
    ):
        [info] = running_containers(out_dir, 1)
        with launched(built_image, out_dir, [argv]) as [second]:
            _out, second_err = second.communicate(timeout=60)
        still_running = inspect("container", info["Id"])["State"]["Running"]
        fcntl.flock(lock, fcntl.LOCK_UN)
        _out, first_err = first.communicate(timeout=60)

    assert second.returncode == 125, second_err
    assert f'The container name "/{name}" is already in use' in second_err
    assert still_running is True
    assert first.returncode == 0, first_err
    assert list(workshops(out_dir).values()) == ["Clash"]
    assert containers_mounting(out_dir) == []
