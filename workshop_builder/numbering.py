"""Pick the next workshop number and publish the folder atomically.

Several processes, possibly in different containers sharing one bind-mounted
directory, may run at once. An exclusive ``flock`` on a lock file inside that
directory serialises "find the highest number, create the next folder"; the
folder is filled under a hidden temporary name and renamed into place, so a
reader never sees a half-written workshop.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_NAME = ".workshop-builder.lock"
STAGING_PREFIX = ".tmp-"

_NUMBERED_NAME = re.compile(r"workshop-([0-9]+)-")

log = logging.getLogger(__name__)


def workshop_number(name: str) -> int | None:
    """Return N for a name like ``workshop-N-anything``, else None."""
    match = _NUMBERED_NAME.match(name)
    return int(match.group(1)) if match else None


def next_number(base: Path) -> int:
    """One above the highest number used in ``base`` (files count too)."""
    numbers = [workshop_number(name) for name in os.listdir(base)]
    return max((number for number in numbers if number is not None), default=0) + 1


def workshop_dirname(number: int, slug: str) -> str:
    return f"workshop-{number}-{slug}"


def _open_lock_file(path: Path) -> int:
    flags = os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
    try:
        return os.open(path, flags | os.O_RDWR, 0o666)
    except PermissionError:
        # The lock file may belong to another uid sharing the directory (host
        # user and container user); flock on a local file system does not need
        # write access, so a read-only descriptor still serialises correctly.
        return os.open(path, flags | os.O_RDONLY)


@contextmanager
def exclusive_lock(base: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``base`` for the duration of the block."""
    fd = _open_lock_file(base / LOCK_NAME)
    try:
        # Blocks without a timeout: the critical section only writes a few small
        # files, and the kernel releases the lock if its holder dies.
        fcntl.flock(fd, fcntl.LOCK_EX)
        log.debug("Locked %s", base / LOCK_NAME)
        yield
    finally:
        # Closing the descriptor releases the lock.
        os.close(fd)


@contextmanager
def staging_dir(base: Path) -> Iterator[Path]:
    """A fresh hidden directory in ``base``, removed again if the block fails."""
    staging = base / f"{STAGING_PREFIX}{secrets.token_hex(8)}"
    # Plain mkdir honours the umask, unlike tempfile.mkdtemp's fixed 0o700, so
    # the published folder is as readable as any other the user creates.
    staging.mkdir()
    try:
        yield staging
    except BaseException:
        # BaseException so Ctrl-C cleans up as well.
        shutil.rmtree(staging, ignore_errors=True)
        raise


def publish(staging: Path, final: Path) -> None:
    """Move the finished folder to its real name in one atomic step."""
    os.rename(staging, final)
