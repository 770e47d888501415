"""Markdown templates shipped as package data, read with importlib.resources.

Packaging must include ``workshop_builder/templates/*.md``; the health check
renders one template, so an image built without them fails fast.
"""

from __future__ import annotations

from importlib import resources
from string import Template


def load(filename: str) -> Template:
    """Return the template ``filename`` from this package, wherever installed."""
    source = resources.files(__name__).joinpath(filename)
    return Template(source.read_text(encoding="utf-8"))
