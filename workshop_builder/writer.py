"""Render a workshop's files and write them as one numbered folder."""

from __future__ import annotations

import errno
import json
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from string import Template

from workshop_builder import mdtext, templates
from workshop_builder.clock import rfc3339
from workshop_builder.errors import WorkshopDirError, WorkshopError
from workshop_builder.generators.base import Module
from workshop_builder.numbering import (
    exclusive_lock,
    next_number,
    publish,
    staging_dir,
    workshop_dirname,
)
from workshop_builder.slug import slugify

SCHEMA_VERSION = 1
README_NAME = "README.md"
MANIFEST_NAME = "manifest.json"

# Generators are pluggable; their file names must stay plain names inside the
# workshop folder and must not overwrite the README or manifest.
_MODULE_NAME = re.compile(r"[0-9a-z][0-9a-z._-]*\.md")

log = logging.getLogger(__name__)


class InvalidTopicError(WorkshopError, ValueError):
    """The topic cannot name a workshop."""


class InvalidModuleError(WorkshopError):
    """A generator returned modules that cannot be written safely."""


@dataclass(frozen=True)
class WorkshopInfo:
    """Everything the README and manifest describe."""

    topic: str
    number: int
    slug: str
    generator: str
    created: datetime
    modules: Sequence[Module]


def check_topic(topic: str) -> None:
    """Reject topics that cannot be written as UTF-8 or hold no visible text."""
    if not topic.strip():
        raise InvalidTopicError("topic must not be empty")
    try:
        topic.encode("utf-8")
    except UnicodeEncodeError:
        # Undecodable command-line bytes arrive as lone surrogates.
        raise InvalidTopicError("topic is not valid UTF-8 text") from None


def check_modules(modules: Sequence[Module]) -> None:
    names = [module.filename for module in modules]
    if not names:
        raise InvalidModuleError("generator returned no modules")
    bad = [name for name in names if not _MODULE_NAME.fullmatch(name)]
    if bad or README_NAME.lower() in names or len(set(names)) != len(names):
        raise InvalidModuleError("generator returned invalid module file names")


def render_readme(template: Template, info: WorkshopInfo) -> str:
    module_list = "\n".join(
        f"{index}. [{mdtext.inline(module.title)}]({module.filename})"
        for index, module in enumerate(info.modules, start=1)
    )
    return template.substitute(
        number=info.number,
        topic=mdtext.inline(info.topic),
        created=rfc3339(info.created),
        generator=mdtext.inline(info.generator),
        module_list=module_list,
    )


def render_manifest(info: WorkshopInfo) -> str:
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "topic": info.topic,
        "number": info.number,
        "slug": info.slug,
        "created": rfc3339(info.created),
        "generator": info.generator,
        "modules": [
            {"file": module.filename, "title": module.title} for module in info.modules
        ],
    }
    # Sorted keys and a fixed layout keep the bytes stable for a fixed clock.
    return json.dumps(manifest, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def render_files(readme_template: Template, info: WorkshopInfo) -> dict[str, str]:
    files = {module.filename: module.body for module in info.modules}
    files[README_NAME] = render_readme(readme_template, info)
    files[MANIFEST_NAME] = render_manifest(info)
    return files


def write_files(directory: Path, files: dict[str, str]) -> None:
    for name, content in files.items():
        # newline="\n" so the bytes do not depend on the platform.
        (directory / name).write_text(content, encoding="utf-8", newline="\n")


def ensure_base_dir(base: Path) -> None:
    try:
        base.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        # exist_ok only tolerates an existing directory, so this is a file.
        raise NotADirectoryError(
            errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(base)
        ) from None


def create_workshop(
    base: Path,
    topic: str,
    modules: Sequence[Module],
    *,
    generator: str,
    now: datetime,
) -> Path:
    """Write a new ``workshop-<N>-<slug>`` folder in ``base`` and return its path.

    Raises WorkshopDirError when ``base`` cannot be created or written; nothing
    is left behind in that case except, possibly, the lock file.
    """
    check_topic(topic)
    check_modules(modules)
    base = Path(os.path.abspath(base))
    slug = slugify(topic)
    # Loaded before touching the directory, so a broken install is not
    # reported as an unwritable directory.
    readme_template = templates.load("readme.md")

    try:
        ensure_base_dir(base)
        with exclusive_lock(base):
            number = next_number(base)
            final = base / workshop_dirname(number, slug)
            info = WorkshopInfo(topic, number, slug, generator, now, modules)
            files = render_files(readme_template, info)

            with staging_dir(base) as staging:
                log.debug("Writing %d files to %s", len(files), staging)
                write_files(staging, files)
                publish(staging, final)
    except OSError as exc:
        raise WorkshopDirError.from_os_error(base, exc) from exc

    return final
