"""The command line of build_docker.py: its flags, their conflicts, its exit codes.

build_docker.py is a two-line shim that calls main() here: Python caches the
byte code of an imported module but compiles a script on every start, and
--help should cost little more than importing click. Only click and cheap
modules are imported here; the steps live in lib/build_flow.py, loaded when a
run starts.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import click
from click.core import ParameterSource

from lib import TOOL_VERSION, boundary, cli_common, validate
from lib.errors import ExitCode

PROG = "build_docker.py"
# Flags that only change what is built; --scan-only builds nothing.
BUILD_ONLY = (
    "target", "base_image", "build_args", "no_cache", "pull",
    "no_lint", "lint_threshold", "no_test", "no_cleanup",
)  # fmt: skip
SCAN_FLAGS = ("severities", "ignore_unfixed", "sarif", "scan_timeout")


@click.command(
    context_settings={
        "help_option_names": ["-h", "--help"],
        "terminal_width": boundary.help_width(),
    }
)
@cli_common.image_options(tag_help="Tag to build instead of latest.")
@click.option(
    "--target",
    default="production",
    show_default=True,
    type=validate.STAGE,
    help="Dockerfile stage.",
)
@click.option(
    "--base-image",
    default=None,
    type=validate.IMAGE_REFERENCE,
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
@click.option("--no-lint", is_flag=True, help="Skip the hadolint step.")
@click.option(
    "--lint-threshold",
    type=click.Choice(validate.LINT_LEVELS),
    default=validate.DEFAULT_LINT_THRESHOLD,
    show_default=True,
    help="hadolint level at and above which the lint fails.",
)
@click.option("--no-test", is_flag=True, help="Skip the smoke test.")
@click.option("--no-scan", is_flag=True, help="Skip the vulnerability scan.")
@click.option(
    "--severity",
    "severities",
    default="HIGH,CRITICAL",
    show_default=True,
    type=validate.SEVERITY_LIST,
    metavar="LIST",
    help="Severities that count as findings, comma-separated.",
)
@click.option(
    "--ignore-unfixed", is_flag=True, help="Leave out findings that have no fix yet."
)
@click.option(
    "--scan-timeout",
    type=click.IntRange(min=1),
    default=600,
    show_default=True,
    metavar="SECONDS",
    help="Time trivy may take.",
)
@click.option(
    "--sarif", is_flag=True, help="Also write a SARIF report (always in --ci-mode)."
)
@click.option("--sbom", is_flag=True, help="Write a CycloneDX SBOM with syft.")
@click.option(
    "--report-dir",
    type=validate.NonEmptyPath(file_okay=False),
    default=None,
    help="Where reports are written  [default: reports/ in the project]",
)
@click.option(
    "--env-file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Env file whose secret values must not be in the image  "
    "[default: .env in the project]",
)
@click.option("--no-cleanup", is_flag=True, help="Keep this tool's dangling images.")
@click.option(
    "--scan-only", is_flag=True, help="Scan and describe an existing image only."
)
@click.option(
    "--ci-mode",
    is_flag=True,
    help="For CI: no colour, GitHub annotations and step summary, hard gates.",
)
@click.option("--debug", is_flag=True, help="Verbose output, every command shown.")
@click.version_option(TOOL_VERSION, prog_name=PROG, message="%(prog)s %(version)s")
@click.pass_context
def cli(ctx: click.Context, /, **options: Any) -> int:
    """Lint, build, smoke-test, scan and describe the Workshop Builder image."""
    from lib.build_flow import Options, build

    check_conflicts(ctx)
    return build(Options.from_cli(options))


def _flag_of(ctx: click.Context, name: str) -> str:
    for param in ctx.command.params:
        if param.name == name and param.opts:
            return str(param.opts[0])
    return name


def _given(ctx: click.Context, name: str) -> bool:
    return ctx.get_parameter_source(name) not in (None, ParameterSource.DEFAULT)


def check_conflicts(ctx: click.Context) -> None:
    """Flags that contradict each other are usage errors: nothing silently ignored."""
    if ctx.params["scan_only"] and ctx.params["no_scan"]:
        raise click.UsageError(
            "--scan-only cannot be combined with --no-scan: the scan is what "
            "--scan-only runs"
        )
    if ctx.params["scan_only"]:
        for name in BUILD_ONLY:
            if _given(ctx, name):
                raise click.UsageError(
                    f"--scan-only builds nothing, so {_flag_of(ctx, name)} would "
                    "have no effect; drop it"
                )
    if ctx.params["no_scan"]:
        for name in SCAN_FLAGS:
            if _given(ctx, name):
                raise click.UsageError(
                    f"--no-scan skips the scan, so {_flag_of(ctx, name)} would "
                    "have no effect; drop one of them"
                )


# --- the boundary -----------------------------------------------------------------


@contextmanager
def sigterm_as_interrupt(received: list[int]) -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C, so the same cleanup runs (then exit 143)."""

    def on_term(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    received: list[int] = []
    with sigterm_as_interrupt(received):
        code = boundary.run_cli(cli, argv, PROG)
    if received and code == ExitCode.INTERRUPTED:
        return ExitCode.TERMINATED
    return code
