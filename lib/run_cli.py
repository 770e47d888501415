"""The command line of run_docker.py: its flags and its exit codes.

run_docker.py is a two-line shim that calls main() here: Python caches the
byte code of an imported module but compiles a script on every start. Only
click and cheap modules are imported here; the run itself lives in
lib/run_flow.py, loaded when a run starts. Options this script does not know
(--topic, --verbose, anything after --) go to the app.
"""

from __future__ import annotations

from typing import Any

import click

from lib import TOOL_VERSION, boundary, cli_common, validate

PROG = "run_docker.py"


@click.command(
    context_settings={
        "help_option_names": ["-h", "--help"],
        "terminal_width": boundary.help_width(),
        "ignore_unknown_options": True,
        "allow_interspersed_args": True,
    }
)
@cli_common.image_options(tag_help="Image tag.")
@click.option(
    "--memory",
    default="2g",
    show_default=True,
    type=validate.MEMORY,
    help="Memory limit, e.g. 512m, 2g, 1.5g.",
)
@click.option(
    "--cpu",
    "cpus",
    default="1.0",
    show_default=True,
    type=validate.CPUS,
    help="CPU limit, e.g. 0.5 or 2.",
)
@click.option(
    "--pids-limit",
    default=100,
    show_default=True,
    type=click.IntRange(min=1, max=4_194_304),
    help="Maximum number of processes.",
)
@click.option(
    "--tmpfs-size",
    default="100m",
    show_default=True,
    type=validate.TMPFS_SIZE,
    help="Size of the /tmp tmpfs.",
)
@click.option(
    "--no-limits",
    is_flag=True,
    help="Run without memory/CPU/pids limits (not recommended).",
)
@click.option(
    "--env",
    "extra_env",
    multiple=True,
    type=validate.EXTRA_ENV,
    metavar="KEY[=VALUE]",
    help="Extra variable for the container (repeatable); KEY alone "
    "takes the value from your environment.",
)
@click.option(
    "--env-file",
    type=validate.NonEmptyPath(dir_okay=False),
    default=None,
    help="Env file for the app [default: ./.env].",
)
@click.option(
    "--output-dir",
    type=validate.NonEmptyPath(),
    default=None,
    help="Host directory for workshops [default: ./workshops].",
)
@click.option(
    "--name",
    type=validate.CONTAINER_NAME,
    default=None,
    help="Container name [default: workshop-builder-<run id>].",
)
@click.option(
    "--network",
    type=validate.NETWORK,
    default=None,
    help="none, bridge or a user-defined network; host is refused "
    "[default: none when the generator needs no API keys, else docker's bridge].",
)
@click.option(
    "--detach",
    is_flag=True,
    help="Run in the background; wait until it reports healthy (or say why not).",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Validate and print the docker commands (secrets masked); run nothing.",
)
@click.option(
    "--audit-json",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the CIS Docker Benchmark self-audit of the container as JSON.",
)
@click.option(
    "--debug",
    is_flag=True,
    help="Verbose output, the docker commands shown, the self-audit table, "
    "resource use; LOG_LEVEL=DEBUG in the container.",
)
@click.version_option(TOOL_VERSION, prog_name=PROG, message="%(prog)s %(version)s")
@click.argument("app_args", nargs=-1, type=click.UNPROCESSED)
def cli(**options: Any) -> int:
    """Run the Workshop Builder image hardened; app options pass through.

    \b
    Example:
      ./run_docker.py --topic "Intro to Docker" --verbose
    """
    from lib.run_flow import Options, run

    check_conflicts(click.get_current_context())
    return run(Options.from_cli(options))


# --no-limits drops these; typed next to it, one of them would be ignored.
LIMIT_FLAGS = {"memory": "--memory", "cpus": "--cpu", "pids_limit": "--pids-limit"}


def check_conflicts(ctx: click.Context) -> None:
    """Flags that contradict each other are usage errors: nothing silently ignored."""
    from click.core import ParameterSource

    if not ctx.params["no_limits"]:
        return
    for name, flag in LIMIT_FLAGS.items():
        if ctx.get_parameter_source(name) not in (None, ParameterSource.DEFAULT):
            raise click.UsageError(
                f"--no-limits removes every limit, so {flag} would have no "
                "effect; drop one of them"
            )


def main(argv: list[str] | None = None) -> int:
    return boundary.run_cli(cli, argv, PROG)
