#!/usr/bin/env python3
"""Build, smoke-test and describe the hardened Workshop Builder image.

Replaces build-docker.sh; see README.md for flags and exit codes.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

import click

from lib import TOOL_VERSION, boundary, validate
from lib.errors import ExitCode, ToolError, with_exit_code

PROJECT_DIR = Path(__file__).resolve().parent
PROG = "build_docker.py"
P = ParamSpec("P")
T = TypeVar("T")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--image",
    default="workshop-builder-app",
    show_default=True,
    type=validate.IMAGE_NAME,
    help="Image name.",
)
@click.option(
    "--tag",
    default="latest",
    show_default=True,
    type=validate.TAG,
    help="Tag to build instead of latest.",
)
@click.option(
    "--target",
    default="production",
    show_default=True,
    help="Dockerfile stage to build.",
)
@click.option(
    "--base-image",
    default=None,
    help="Base image of both stages (Dockerfile default: python:3.12-slim).",
)
@click.option(
    "--build-arg",
    "build_args",
    multiple=True,
    type=validate.BUILD_ARG,
    metavar="KEY=VALUE",
    help="Extra build argument (repeatable).",
)
@click.option("--no-cache", is_flag=True, help="Build without the layer cache.")
@click.option("--pull", is_flag=True, help="Pull a newer base image first.")
@click.option("--no-test", is_flag=True, help="Skip the smoke test.")
@click.option("--no-cleanup", is_flag=True, help="Keep this tool's dangling images.")
@click.option("--debug", is_flag=True, help="Verbose output, every command shown.")
@click.version_option(TOOL_VERSION, prog_name=PROG, message="%(prog)s %(version)s")
def cli(**options: object) -> int:
    """Lint-free, reproducible build of the Workshop Builder image."""
    return build(**options)  # type: ignore[arg-type]


def build(
    *,
    image: str,
    tag: str,
    target: str,
    base_image: str | None,
    build_args: tuple[tuple[str, str], ...],
    no_cache: bool,
    pull: bool,
    no_test: bool,
    no_cleanup: bool,
    debug: bool,
) -> int:
    from lib import build as steps
    from lib import engine, log

    log.setup(debug=debug)
    config = steps.BuildConfig(
        project_dir=PROJECT_DIR, image=image, tag=tag, target=target,
        base_image=base_image, build_args=dict(build_args),
        no_cache=no_cache, pull=pull,
    )  # fmt: skip

    log.logger.info("Step 1/5: preflight")
    eng = _step(ExitCode.PREFLIGHT, engine.check_engine)
    _step(ExitCode.PREFLIGHT, steps.check_project_files, config)
    prov = steps.provenance(PROJECT_DIR, TOOL_VERSION)
    builder = "buildx" if eng.buildx else "legacy builder (no buildx)"
    log.logger.info("docker engine %s, %s", eng.server_version, builder)

    log.logger.info("Step 2/5: build %s (target %s)", config.reference, target)
    seconds = _step(ExitCode.BUILD, steps.build_image, config, eng, prov)
    log.success("built %s in %.1fs", config.reference, seconds)
    info = engine.inspect_image(config.reference) or {}

    if no_test:
        log.logger.warning("Step 3/5: smoke test skipped (--no-test)")
    else:
        log.logger.info("Step 3/5: smoke test")
        _step(ExitCode.SMOKE_TEST, steps.smoke_test, config.reference, info)
        log.success("smoke test passed")

    log.logger.info("Step 4/5: image info")
    steps.print_summary(steps.image_summary(config.reference, info))

    if no_cleanup:
        log.logger.info("Step 5/5: cleanup skipped (--no-cleanup)")
    else:
        log.logger.info("Step 5/5: cleanup")
        steps.remove_own_dangling_images()

    log.success('done; run it with: ./run_docker.py --topic "Intro to Docker"')
    return ExitCode.OK


def _step(
    code: ExitCode, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """Run one step; an unclassified failure gets the step's exit code."""
    try:
        return function(*args, **kwargs)
    except ToolError as error:
        raise with_exit_code(error, code) from None


def main(argv: list[str] | None = None) -> int:
    return boundary.run_cli(cli, argv, PROG)


if __name__ == "__main__":
    sys.exit(main())
