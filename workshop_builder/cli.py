"""Command line: ``python -m workshop_builder --topic "Intro to Docker"``.

Exit codes: 0 success, 1 the workshop could not be written (or an unexpected
error), 2 usage error (bad option, empty topic, bad environment value),
130 interrupted.
"""

from __future__ import annotations

import logging
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import NoReturn

import click

from workshop_builder.clock import ClockError, resolve_now
from workshop_builder.errors import WorkshopError
from workshop_builder.generators import DEFAULT_GENERATOR, GENERATORS, get_generator
from workshop_builder.writer import InvalidTopicError, check_topic, create_workshop

BASE_DIR_ENV = "WORKSHOPS_BASE_DIR"
LOG_LEVEL_ENV = "LOG_LEVEL"
GENERATOR_ENV = "WORKSHOP_GENERATOR"
DEFAULT_BASE_DIR = "workshops"
DOTENV_NAME = ".env"

EXIT_FAILURE = 1
EXIT_INTERRUPTED = 130

log = logging.getLogger("workshop_builder")


def load_dotenv_file(path: Path = Path(DOTENV_NAME)) -> None:
    """Load ``.env`` from the current directory, if there is one.

    Real environment variables win (override=False), so ``docker run --env-file``
    and the host shell keep precedence over a stray file.
    """
    if not path.is_file():
        return
    # Imported here: most runs (the container) have no .env to read.
    from dotenv import load_dotenv

    try:
        load_dotenv(dotenv_path=path, override=False)
    except OSError as exc:
        raise click.UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc


def log_level(*, verbose: bool) -> tuple[int, bool]:
    """The level to log at, and whether LOG_LEVEL held an unknown name."""
    if verbose:
        return logging.DEBUG, False
    name = os.environ.get(LOG_LEVEL_ENV, "").strip().upper() or "INFO"
    level = logging.getLevelNamesMapping().get(name)
    return (logging.INFO, True) if level is None else (level, False)


def configure_logging(level: int) -> None:
    """Send this package's logs to the current stderr, replacing earlier setup."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))

    # Only the package logger is touched, so embedding code keeps its own
    # logging; replacing handlers makes repeated in-process runs (tests) safe.
    for old in list(log.handlers):
        log.removeHandler(old)
    log.addHandler(handler)
    log.setLevel(level)
    log.propagate = False


def validate_topic(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    try:
        check_topic(value)
    except InvalidTopicError as exc:
        raise click.BadParameter(str(exc)) from exc
    return value


def resolve_base_dir(output_dir: Path | None) -> Path:
    if output_dir is not None:
        return output_dir
    return Path(os.environ.get(BASE_DIR_ENV, "").strip() or DEFAULT_BASE_DIR)


def resolve_generator(option: str | None) -> str:
    name = option or os.environ.get(GENERATOR_ENV, "").strip() or DEFAULT_GENERATOR
    if name not in GENERATORS:
        known = ", ".join(sorted(GENERATORS))
        raise click.BadParameter(
            f"unknown generator (choose from: {known})", param_hint=GENERATOR_ENV
        )
    return name


def resolve_clock() -> datetime:
    try:
        return resolve_now(os.environ)
    except ClockError as exc:
        raise click.UsageError(str(exc)) from exc


def fail(message: str) -> NoReturn:
    """Report an expected failure in one line; the traceback only at DEBUG."""
    log.debug("Details of the failure:", exc_info=True)
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_FAILURE)


def build_workshop(topic: str, base: Path, generator_name: str, now: datetime) -> Path:
    generator = get_generator(generator_name)
    log.debug("Generating modules with the %s generator", generator_name)
    modules = generator.generate(topic, now=now)

    path = create_workshop(base, topic, modules, generator=generator_name, now=now)
    log.info("Wrote %d modules with the %s generator", len(modules), generator_name)
    return path


@click.command()
@click.option(
    "--topic",
    required=True,
    callback=validate_topic,
    help='Subject of the workshop, e.g. "Intro to Docker".',
)
@click.option(
    "--output-dir",
    type=click.Path(path_type=Path),
    default=None,
    help=f"Directory for workshops [env {BASE_DIR_ENV}; default ./{DEFAULT_BASE_DIR}].",
)
@click.option(
    "--generator",
    "generator_option",
    type=click.Choice(sorted(GENERATORS)),
    default=None,
    help=f"Content generator [env {GENERATOR_ENV}; default {DEFAULT_GENERATOR}].",
)
@click.option("--verbose", is_flag=True, help="Debug logging, tracebacks on errors.")
def main(
    topic: str, output_dir: Path | None, generator_option: str | None, verbose: bool
) -> None:
    """Generate a programming workshop folder about a topic."""
    load_dotenv_file()
    level, unknown_level = log_level(verbose=verbose)
    configure_logging(level)
    if unknown_level:
        # The value is not echoed: this rule holds for every env variable.
        log.warning("%s is not a known level name; using INFO", LOG_LEVEL_ENV)

    base = resolve_base_dir(output_dir)
    generator_name = resolve_generator(generator_option)
    now = resolve_clock()

    try:
        path = build_workshop(topic, base, generator_name, now)
    except WorkshopError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        click.echo("error: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:  # the boundary: even a bug gets one readable line
        fail(f"unexpected {type(exc).__name__}: {exc} (run with --verbose)")

    click.echo(f"Workshop created: {path}")
