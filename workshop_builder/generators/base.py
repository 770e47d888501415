"""What every content generator provides and returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Protocol


@dataclass(frozen=True)
class Module:
    """One Markdown file of a workshop."""

    filename: str
    title: str
    body: str


class Generator(Protocol):
    """A source of workshop modules for a topic.

    ``required_env`` lists the environment variables the generator cannot run
    without, so a host-side launcher can check them before starting a container.
    """

    name: ClassVar[str]
    required_env: ClassVar[tuple[str, ...]]

    def generate(self, topic: str, *, now: datetime) -> list[Module]: ...
