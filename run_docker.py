#!/usr/bin/env python3
"""Run the Workshop Builder image as a locked-down container.

Replaces run-docker.sh; see README.md for flags and exit codes. Options this
script does not know (--topic, --verbose, anything after --) go to the app.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from lib import TOOL_VERSION, boundary, validate

PROJECT_DIR = Path(__file__).resolve().parent
PROG = "run_docker.py"


@click.command(
    context_settings={
        "help_option_names": ["-h", "--help"],
        "ignore_unknown_options": True,
        "allow_interspersed_args": True,
    }
)
@click.option(
    "--image",
    default="workshop-builder-app",
    show_default=True,
    type=validate.IMAGE_NAME,
    help="Image name.",
)
@click.option(
    "--tag", default="latest", show_default=True, type=validate.TAG, help="Image tag."
)
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
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Env file for the app [default: ./.env].",
)
@click.option(
    "--output-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Host directory for workshops [default: ./workshops].",
)
@click.option(
    "--debug",
    is_flag=True,
    help="Verbose output, the docker command shown, LOG_LEVEL=DEBUG.",
)
@click.version_option(TOOL_VERSION, prog_name=PROG, message="%(prog)s %(version)s")
@click.argument("app_args", nargs=-1, type=click.UNPROCESSED)
def cli(**options: object) -> int:
    """Run the Workshop Builder image hardened; app options pass through.

    \b
    Example:
      ./run_docker.py --topic "Intro to Docker" --verbose
    """
    return run(**options)  # type: ignore[arg-type]


def run(
    *,
    image: str,
    tag: str,
    memory: str,
    cpus: str,
    pids_limit: int,
    tmpfs_size: str,
    no_limits: bool,
    extra_env: tuple[tuple[str, str | None], ...],
    env_file: Path | None,
    output_dir: Path | None,
    debug: bool,
    app_args: tuple[str, ...],
) -> int:
    from lib import cleanup, docker_argv, engine, log, masking
    from lib import run as steps
    from workshop_builder.generators import DEFAULT_GENERATOR

    run_id = cleanup.unique_name("run").removeprefix("run-")
    log.setup(debug=debug, prefix=f"[{run_id}] ")
    steps.check_app_args(app_args)
    extra = steps.resolve_extra_env(extra_env, os.environ)
    masking.register_env(extra)
    env_path = (env_file or PROJECT_DIR / ".env").resolve()
    out_dir = (output_dir or PROJECT_DIR / "workshops").resolve()
    reference = f"{image}:{tag}"

    log.logger.info("preflight: docker, image %s, %s, %s", reference, out_dir, env_path)
    engine.check_engine()
    steps.check_image(reference)
    file_env = steps.load_env_file(env_path, required=(), given=env_file is not None)
    generator = extra.get("WORKSHOP_GENERATOR") or file_env.get(
        "WORKSHOP_GENERATOR", DEFAULT_GENERATOR
    )
    required = _required_keys(generator)
    if required:
        file_env = steps.load_env_file(env_path, required=required, given=True)
    user = steps.container_user(os.getuid(), os.getgid())
    steps.prepare_output_dir(out_dir, user, caller_uid=os.getuid())
    if os.getuid() == 0:
        log.logger.warning(
            "running as root: the container runs as workshop-user (%d), so new "
            "files in %s belong to uid %d", user[0], out_dir, user[0],
        )  # fmt: skip

    env = steps.container_env(
        {
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "WORKSHOPS_BASE_DIR": docker_argv.CONTAINER_WORKSHOPS_DIR,
            "WORKSHOP_GENERATOR": generator,
        },
        file_env,
        extra,
        {"LOG_LEVEL": "DEBUG"} if debug else {},
    )
    name = f"workshop-builder-{run_id}"
    limits = None if no_limits else docker_argv.Limits(memory, cpus, pids_limit)
    if limits is None:
        log.logger.warning("--no-limits: no memory, CPU or pids limit")
    spec = docker_argv.RunSpec(
        image=reference,
        args=app_args,
        hardening=docker_argv.Hardening(
            user=f"{user[0]}:{user[1]}", limits=limits, tmpfs_size=tmpfs_size
        ),
        name=name,
        env_names=env.names,
        labels={
            docker_argv.TOOL_LABEL: "run_docker.py",
            docker_argv.RUN_LABEL: run_id,
        },
        bind_mounts={str(out_dir): docker_argv.CONTAINER_WORKSHOPS_DIR},
        network="none" if not required else None,
        interactive=sys.stdin is not None,
        tty=steps.stdin_is_terminal(),
        init=True,
    )
    log.logger.info("running %s as %s", name, spec.hardening.user)
    code = steps.run_foreground(docker_argv.run_argv(spec), name, env.values)
    steps.explain_exit(code)
    if code == 0:
        log.success("done; workshops are in %s", out_dir)
    return code


def _required_keys(generator: str) -> tuple[str, ...]:
    from lib.errors import UsageError
    from workshop_builder.generators import UnknownGeneratorError, required_env_for

    try:
        return required_env_for(generator)
    except UnknownGeneratorError as error:
        raise UsageError(str(error), hint="set WORKSHOP_GENERATOR=offline") from None


def main(argv: list[str] | None = None) -> int:
    return boundary.run_cli(cli, argv, PROG)


if __name__ == "__main__":
    sys.exit(main())
