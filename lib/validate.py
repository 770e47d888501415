"""Validation of user input, as pure functions and click parameter types.

Every check runs before anything is executed; a failure is a usage error that
names the flag (click adds it) and says what a valid value looks like.
"""

from __future__ import annotations

import os
import re
from typing import Any

import click

# Patterns stay strings: `re` compiles and caches each on first use, which
# keeps this module cheap to import (start-up time of --help).
# docker (go-units RAMInBytes) also takes the long forms: 2gb, 2GiB, 512MB.
_SIZE = r"(?i)(?P<number>[0-9]+(?:\.[0-9]+)?)(?:(?P<unit>[kmg])i?b?|b)?"
_UNITS = {None: 1, "k": 1024, "m": 1024**2, "g": 1024**3}
# The kernel's tmpfs size= option (memparse) takes a whole number and k, m or g.
_TMPFS_SIZE = r"(?i)[0-9]+[kmg]?"
# docker refuses memory limits under 6 MiB.
MIN_MEMORY_BYTES = 6 * 1024**2
# docker refuses --cpus below 0.01 and finer than one nano-CPU.
MIN_CPUS = "0.01"
NANO = 10**9
_CONTAINER_NAME = r"[a-zA-Z0-9][a-zA-Z0-9_.-]+"
_NETWORK_NAME = r"[a-zA-Z0-9][a-zA-Z0-9_.-]*"
_ENV_KEY = r"[A-Za-z_][A-Za-z0-9_]*"
# Reference grammar of the distribution spec, simplified to what a local
# image name needs: lowercase path components, optional registry host:port.
_NAME_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"(?:[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*(?::[0-9]+)?/)?"
_IMAGE_NAME = rf"{_DOMAIN}{_NAME_COMPONENT}(?:/{_NAME_COMPONENT})*"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
SEVERITIES = ("UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL")
# hadolint's levels, most severe first (here so --help needs no lint import).
LINT_LEVELS = ("error", "warning", "info", "style")
DEFAULT_LINT_THRESHOLD = "warning"


def parse_size(text: str) -> int:
    """'512m', '2g', '1.5g', '100k', '1024' -> bytes."""
    match = re.fullmatch(_SIZE, text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a size; use a number with b, k, m or g")
    unit = match["unit"].lower() if match["unit"] else None
    return int(float(match["number"]) * _UNITS[unit])


def host_memory_bytes() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_memory(text: str, *, host_bytes: int | None = None) -> str:
    size = parse_size(text)
    host = host_bytes if host_bytes is not None else host_memory_bytes()
    if size < MIN_MEMORY_BYTES:
        raise ValueError(f"{text!r} is below docker's minimum of 6m")
    if size > host:
        gib = host / 1024**3
        raise ValueError(f"{text!r} is more than this host has ({gib:.1f}g)")
    return text.strip().lower()


def check_cpus(text: str, *, host_cpus: int | None = None) -> str:
    from decimal import Decimal, InvalidOperation

    try:
        # Decimal, not float: docker parses the exact decimal. Python takes
        # "1_0" as 10 and Arabic-Indic digits too; docker takes neither.
        if "_" in text or not text.isascii():
            raise InvalidOperation
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a number; use e.g. 0.5 or 2") from None
    host = host_cpus if host_cpus is not None else (os.cpu_count() or 1)
    if value.is_nan() or not value > 0:
        raise ValueError(f"{text!r} must be above 0, e.g. 0.5 or 1.0")
    if value > host:
        raise ValueError(f"{text!r} is more than the {host} CPUs of this host")
    if value < Decimal(MIN_CPUS):
        raise ValueError(f"{text!r} is below docker's minimum of 0.01")
    if (value * NANO) % 1:
        raise ValueError(f"{text!r} is too precise; use at most 9 decimals")
    return text.strip()


def nano_cpus(text: str) -> int:
    """--cpus as docker stores it (HostConfig.NanoCpus)."""
    from decimal import Decimal

    return int(Decimal(text) * NANO)


def check_tmpfs_size(text: str) -> str:
    size = parse_size(text)
    if not re.fullmatch(_TMPFS_SIZE, text.strip()):
        raise ValueError(
            f"{text!r} is not a size tmpfs takes; use a whole number with k, m "
            "or g, e.g. 64m"
        )
    if size < 1024**2:
        raise ValueError(f"{text!r} is too small; use at least 1m")
    return text.strip().lower()


def check_env_key(key: str) -> str:
    if not re.fullmatch(_ENV_KEY, key):
        raise ValueError(
            f"{key!r} is not a valid variable name; use letters, digits and _"
        )
    return key


def split_env(text: str, *, require_value: bool) -> tuple[str, str | None]:
    """'KEY=VALUE' -> (KEY, VALUE); 'KEY' -> (KEY, None) when allowed."""
    key, sep, value = text.partition("=")
    if not sep and require_value:
        raise ValueError(f"{text!r} has no '='; use KEY=VALUE")
    check_env_key(key)
    return key, (value if sep else None)


def check_image_name(name: str) -> str:
    if len(name) > 255 or not re.fullmatch(_IMAGE_NAME, name):
        raise ValueError(
            f"{name!r} is not a valid image name; use lowercase letters, digits "
            "and . _ - /, e.g. workshop-builder-app"
        )
    return name


def check_tag(tag: str) -> str:
    if not re.fullmatch(_TAG, tag):
        raise ValueError(
            f"{tag!r} is not a valid tag; use up to 128 of A-Z a-z 0-9 _ . - "
            "not starting with . or -"
        )
    return tag


def check_container_name(name: str) -> str:
    if not re.fullmatch(_CONTAINER_NAME, name):
        raise ValueError(
            f"{name!r} is not a valid container name; use at least 2 of "
            "A-Z a-z 0-9 _ . - starting with a letter or digit"
        )
    return name


def check_network(name: str) -> str:
    """none, bridge or a user-defined network; never the host's own stack."""
    if name == "host":
        raise ValueError(
            "'host' shares the host's network stack with the container (CIS "
            "Docker Benchmark 5.10); use none, bridge or a user-defined network"
        )
    if name.startswith("container:"):
        raise ValueError(
            f"{name!r} shares another container's network stack; use none, "
            "bridge or a user-defined network"
        )
    if not re.fullmatch(_NETWORK_NAME, name):
        raise ValueError(
            f"{name!r} is not a network name; use none, bridge or the name of "
            "a network from docker network ls"
        )
    return name


def check_severities(text: str) -> tuple[str, ...]:
    levels = tuple(part.strip().upper() for part in text.split(",") if part.strip())
    unknown = [level for level in levels if level not in SEVERITIES]
    if not levels or unknown:
        raise ValueError(
            f"{text!r} has unknown severities; use a comma list of "
            + ",".join(SEVERITIES)
        )
    return levels


# ParamType is generic only in newer click; the ignore keeps both working.
class Checked(click.ParamType):  # type: ignore[type-arg]
    """A click type built from one of the check functions above."""

    def __init__(self, name: str, check: Any) -> None:
        self.name = name
        self._check = check

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return self._check(value)
        except ValueError as error:
            self.fail(str(error), param, ctx)


MEMORY = Checked("memory", check_memory)
CPUS = Checked("cpus", check_cpus)
TMPFS_SIZE = Checked("size", check_tmpfs_size)
IMAGE_NAME = Checked("image", check_image_name)
TAG = Checked("tag", check_tag)
SEVERITY_LIST = Checked("severities", check_severities)
CONTAINER_NAME = Checked("name", check_container_name)
NETWORK = Checked("network", check_network)
EXTRA_ENV = Checked("KEY[=VALUE]", lambda t: split_env(t, require_value=False))
BUILD_ARG = Checked("KEY=VALUE", lambda t: split_env(t, require_value=True))


# --- stage names, image references, paths ------------------------------------

# A Dockerfile stage name, as docker takes it after `FROM ... AS`.
_STAGE = r"[A-Za-z][A-Za-z0-9_.-]*"
_DIGEST = r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}"


def check_stage(name: str) -> str:
    if not re.fullmatch(_STAGE, name):
        raise ValueError(
            f"{name!r} is not a stage name; use the name after AS in the "
            "Dockerfile, e.g. production"
        )
    return name


def check_image_reference(reference: str) -> str:
    """NAME[:TAG][@DIGEST], e.g. python:3.12-slim or host:5000/a/b:tag."""
    name, at, digest = reference.partition("@")
    tag = None
    if name.rfind(":") > name.rfind("/"):  # a colon before the last / is a port
        name, _, tag = name.rpartition(":")
    valid = (
        len(name) <= 255
        and re.fullmatch(_IMAGE_NAME, name) is not None
        and (tag is None or re.fullmatch(_TAG, tag) is not None)
        and (not at or re.fullmatch(_DIGEST, digest) is not None)
    )
    if not valid:
        raise ValueError(
            f"{reference!r} is not an image reference; use NAME[:TAG], "
            "e.g. python:3.12-slim"
        )
    return reference


class NonEmptyPath(click.Path):
    """click.Path that refuses '': an unset variable ("$DIR") would mean '.'."""

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            self.fail(
                "an empty path (an unset variable?); pass a real path", param, ctx
            )
        return super().convert(value, param, ctx)


STAGE = Checked("stage", check_stage)
IMAGE_REFERENCE = Checked("reference", check_image_reference)
