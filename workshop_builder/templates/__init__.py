"""Markdown templates shipped as package data, read with importlib.resources.

Packaging must include ``workshop_builder/templates/*.md``; the health check
renders one template, so an image built without them fails fast.
"""

from __future__ import annotations

from string import Template


def load(filename: str) -> Template:
    """Return the template ``filename`` from this package, wherever installed."""
    # Imported here: importlib.resources is slow to import, and host tools
    # import the generator registry only to ask which keys a generator needs.
    from importlib import resources

    source = resources.files(__name__).joinpath(filename)
    return Template(source.read_text(encoding="utf-8"))
