"""Choosing N, locking, and concurrent runs sharing one directory."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from workshop_builder import writer
from workshop_builder.generators import OfflineGenerator
from workshop_builder.numbering import (
    LOCK_NAME,
    exclusive_lock,
    next_number,
    staging_dir,
    workshop_number,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
# The repo first, then whatever path the test run itself relies on.
PYTHONPATH = os.pathsep.join(
    filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])
)
NOW = datetime(2026, 12, 3, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "number"),
    [
        pytest.param("workshop-1-intro", 1, id="simple"),
        pytest.param("workshop-10-a-b-c", 10, id="two-digits"),
        pytest.param("workshop-007-bond", 7, id="leading-zeros"),
        pytest.param("workshop-3-", 3, id="empty-slug"),
        pytest.param("workshop-3", None, id="no-slug-dash"),
        pytest.param("workshop--3-x", None, id="negative"),
        pytest.param("workshop-x-3", None, id="not-a-number"),
        pytest.param("Workshop-3-x", None, id="capitalised"),
        pytest.param("my-workshop-3-x", None, id="prefix"),
        pytest.param("workshop-٣-x", None, id="non-ascii-digit"),
    ],
)
def test_workshop_number(name: str, number: int | None) -> None:
    assert workshop_number(name) == number


def test_next_number_in_empty_dir_is_one(tmp_path: Path) -> None:
    assert next_number(tmp_path) == 1


def test_next_number_follows_highest_and_ignores_others(tmp_path: Path) -> None:
    for name in ["workshop-3-x", "workshop-10-y", "workshop-abc", ".tmp-1", "misc"]:
        (tmp_path / name).mkdir()
    (tmp_path / "workshop-2-file.txt").write_text("files count too\n")

    assert next_number(tmp_path) == 11


def test_staging_dir_is_removed_on_error(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt), staging_dir(tmp_path) as staging:
        (staging / "partial.md").write_text("half\n")
        raise KeyboardInterrupt

    assert list(tmp_path.iterdir()) == []


def test_staging_dir_is_hidden_and_kept_on_success(tmp_path: Path) -> None:
    with staging_dir(tmp_path) as staging:
        pass

    assert staging.name.startswith(".tmp-")
    assert staging.is_dir()


def test_lock_file_is_created_and_reusable(tmp_path: Path) -> None:
    with exclusive_lock(tmp_path):
        pass
    with exclusive_lock(tmp_path):
        pass

    assert [path.name for path in tmp_path.iterdir()] == [LOCK_NAME]


def test_ten_concurrent_processes_get_numbers_one_to_ten(tmp_path: Path) -> None:
    base = tmp_path / "shared"
    env = {**os.environ, "PYTHONPATH": PYTHONPATH, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("WORKSHOPS_BASE_DIR", None)
    topics = [f"Concurrent {index}" for index in range(10)]

    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "workshop_builder", "--topic", topic],
            cwd=tmp_path,
            env={**env, "WORKSHOPS_BASE_DIR": str(base)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for topic in topics
    ]
    outputs = [process.communicate(timeout=60) for process in processes]

    assert [process.returncode for process in processes] == [0] * 10, outputs
    folders = sorted(path for path in base.iterdir() if path.name != LOCK_NAME)
    numbers = sorted(int(path.name.split("-")[1]) for path in folders)
    assert numbers == list(range(1, 11))
    manifests = [json.loads((path / "manifest.json").read_text()) for path in folders]
    assert sorted(manifest["topic"] for manifest in manifests) == sorted(topics)
    for folder, manifest in zip(folders, manifests, strict=True):
        assert folder.name == f"workshop-{manifest['number']}-{manifest['slug']}"
    printed = sorted(stdout for stdout, _ in outputs)
    assert printed == sorted(f"Workshop created: {path}\n" for path in folders)


def _slow_create(base: str, topic: str, start: Any) -> None:
    """Child process: widen the choose-then-create window so races show."""
    real_next_number = writer.next_number

    def slow_next_number(base: Path) -> int:
        number = real_next_number(base)
        time.sleep(0.05)
        return number

    # Patched in this child only; the parent's module is untouched.
    writer.next_number = slow_next_number
    modules = OfflineGenerator().generate(topic, now=NOW)
    start.wait()
    writer.create_workshop(Path(base), topic, modules, generator="offline", now=NOW)


def test_lock_serialises_racing_processes(tmp_path: Path) -> None:
    # Without the lock every process would pick N=1 within the 50 ms window.
    context = multiprocessing.get_context("fork")
    start = context.Barrier(10)
    processes = [
        context.Process(target=_slow_create, args=(str(tmp_path), f"Race {i}", start))
        for i in range(10)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)

    assert [process.exitcode for process in processes] == [0] * 10
    names = [path.name for path in tmp_path.iterdir() if path.name != LOCK_NAME]
    assert sorted(int(name.split("-")[1]) for name in names) == list(range(1, 11))
