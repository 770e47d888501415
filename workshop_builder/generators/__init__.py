"""Registry of content generators.

Host-side tools import ``required_env_for`` from here, so this package must stay
cheap to import: standard library only, no click, no network clients.
"""

from __future__ import annotations

from workshop_builder.generators.base import Generator, Module
from workshop_builder.generators.offline import OfflineGenerator

__all__ = [
    "DEFAULT_GENERATOR",
    "GENERATORS",
    "Generator",
    "Module",
    "OfflineGenerator",
    "UnknownGeneratorError",
    "get_generator",
    "required_env_for",
]

DEFAULT_GENERATOR = "offline"

GENERATORS: dict[str, type[Generator]] = {
    OfflineGenerator.name: OfflineGenerator,
}


class UnknownGeneratorError(ValueError):
    """No generator is registered under the requested name."""

    def __init__(self, name: str) -> None:
        known = ", ".join(sorted(GENERATORS))
        super().__init__(f"unknown generator {name!r} (known: {known})")
        self.name = name


def get_generator(name: str) -> Generator:
    """Return a new instance of the generator registered as ``name``."""
    try:
        generator_class = GENERATORS[name]
    except KeyError:
        raise UnknownGeneratorError(name) from None
    return generator_class()


def required_env_for(name: str) -> tuple[str, ...]:
    """Return the environment variables the ``name`` generator needs."""
    try:
        return GENERATORS[name].required_env
    except KeyError:
        raise UnknownGeneratorError(name) from None
