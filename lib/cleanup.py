"""Undo what this run created, and only that, on success, failure or Ctrl-C."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from lib import docker_argv, runner
from lib.errors import ToolError
from lib.log import logger


def random_hex(nbytes: int = 4) -> str:
    # What secrets.token_hex does, without the slow import of secrets (which
    # loads hmac, hashlib and random) on the path of --dry-run.
    return os.urandom(nbytes).hex()


def unique_name(prefix: str) -> str:
    return f"{prefix}-{random_hex()}"


def remove_container(name: str) -> None:
    """Force-remove a container this tool started; quiet when already gone."""
    try:
        result = runner.run(docker_argv.remove_container_argv(name), check=False)
    except ToolError as error:  # docker vanished meanwhile: nothing to remove
        logger.debug("could not remove %s: %s", name, error.message)
        return
    if result.returncode != 0 and "no such container" not in result.stderr.lower():
        logger.warning("could not remove container %s: %s", name, result.stderr.strip())


@contextmanager
def removed_on_failure(name: str) -> Iterator[str]:
    """Remove the named container if the block fails or is interrupted.

    The containers are started with --rm, so on success docker removes them;
    this covers the paths where we stop waiting (Ctrl-C, timeout, error).
    """
    try:
        yield name
    except BaseException:
        remove_container(name)
        raise


def remove_dangling_images(label: str) -> list[str]:
    """Remove dangling images carrying this tool's label; never anyone else's."""
    listed = runner.run(docker_argv.dangling_images_argv(label))
    image_ids = listed.stdout.split()
    if image_ids:
        result = runner.run(docker_argv.remove_images_argv(image_ids), check=False)
        if result.returncode != 0:
            logger.warning("some dangling images stayed: %s", result.stderr.strip())
    return image_ids
