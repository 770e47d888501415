"""A generator that fills Markdown templates shipped with the package."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from workshop_builder import mdtext, templates
from workshop_builder.generators.base import Module

# (file name, title); each module's template has the same file name.
OFFLINE_MODULES: tuple[tuple[str, str], ...] = (
    ("01-introduction.md", "Introduction"),
    ("02-concepts.md", "Core Concepts"),
    ("03-hands-on-lab.md", "Hands-on Lab"),
    ("04-review.md", "Review and Quiz"),
)


def render_module(filename: str, title: str, topic: str, now: datetime) -> Module:
    """Fill one module template for ``topic``."""
    values = {"topic": mdtext.inline(topic), "date": now.strftime("%Y-%m-%d")}

    # substitute(), not safe_substitute(): a typo in a placeholder should fail
    # the health check instead of leaking "$name" into a workshop.
    body = templates.load(filename).substitute(values)

    return Module(filename=filename, title=title, body=body)


class OfflineGenerator:
    """Deterministic, network-free content: the same input gives the same text."""

    name: ClassVar[str] = "offline"
    required_env: ClassVar[tuple[str, ...]] = ()

    def generate(self, topic: str, *, now: datetime) -> list[Module]:
        return [
            render_module(filename, title, topic, now)
            for filename, title in OFFLINE_MODULES
        ]
