"""Flags both scripts take, defined once."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

from lib import validate

F = TypeVar("F", bound=Callable[..., object])


def image_options(*, tag_help: str) -> Callable[[F], F]:
    """--image NAME and --tag TAG, with the names and defaults of REFERENCE.md."""

    def apply(function: F) -> F:
        function = click.option(
            "--tag", default="latest", show_default=True, type=validate.TAG,
            help=tag_help,
        )(function)  # fmt: skip
        return click.option(
            "--image", default="workshop-builder-app", show_default=True,
            type=validate.IMAGE_NAME, help="Image name.",
        )(function)  # fmt: skip

    return apply
