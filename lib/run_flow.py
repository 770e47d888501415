"""One run of run_docker.py: validate, preflight, create, verify, start, report."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import click

if TYPE_CHECKING:
    from lib.docker_argv import RunSpec

PROJECT_DIR = Path(__file__).resolve().parent.parent


class Options(NamedTuple):  # not a dataclass: start-up time, see docker_argv
    image: str
    tag: str
    memory: str
    cpus: str
    pids_limit: int
    tmpfs_size: str
    no_limits: bool
    extra_env: tuple[tuple[str, str | None], ...]
    env_file: Path | None
    output_dir: Path | None
    name: str | None
    network: str | None
    detach: bool
    dry_run: bool
    audit_json: Path | None
    debug: bool
    app_args: tuple[str, ...]

    @classmethod
    def from_cli(cls, values: dict[str, Any]) -> Options:
        """The parsed flags; paths arrive as text (no pathlib import for --help)."""
        converted: dict[str, Any] = dict(values)
        for key in ("env_file", "output_dir", "audit_json"):
            if converted[key] is not None:
                converted[key] = Path(converted[key])
        return cls(**converted)

    @property
    def reference(self) -> str:
        return f"{self.image}:{self.tag}"


def run(options: Options) -> int:
    from lib import cleanup, log, masking
    from lib import run as steps

    run_id = cleanup.unique_name("run").removeprefix("run-")
    log.setup(debug=options.debug, prefix=f"[{run_id}] ")
    steps.check_app_args(options.app_args)
    _check_combination(options)
    extra = steps.resolve_extra_env(options.extra_env, os.environ)
    masking.register_env(extra)
    env_path = (options.env_file or PROJECT_DIR / ".env").resolve()
    out_dir = (options.output_dir or PROJECT_DIR / "workshops").resolve()

    image_info = _preflight_engine(options)
    generator, file_env, required = _load_env(options, env_path, extra)
    user = steps.container_user(os.getuid(), os.getgid())
    _output_dir(options, out_dir, user)
    env = steps.container_env(
        _fixed_env(generator),
        file_env,
        extra,
        {"LOG_LEVEL": "DEBUG"} if options.debug else {},
    )
    name = options.name or f"workshop-builder-{run_id}"
    spec = _spec(options, run_id, name, env.names, user, out_dir, required, generator)
    if options.dry_run:
        return _print_dry_run(spec, name, env.values)
    return _run_container(options, spec, name, env.values, image_info, run_id, out_dir)


def _check_combination(options: Options) -> None:
    from lib.errors import UsageError

    if options.dry_run and options.audit_json is not None:
        raise UsageError(
            "--audit-json needs a container to inspect; --dry-run creates none",
            hint="drop one of --dry-run and --audit-json",
        )
    if options.audit_json is not None and not options.audit_json.parent.is_dir():
        raise UsageError(
            f"--audit-json {options.audit_json}: its folder does not exist",
            hint="create the folder first, or pass another path",
        )


def _preflight_engine(options: Options) -> dict[str, Any]:
    from lib import log
    from lib import run as steps

    if options.dry_run:
        log.logger.info("dry run: docker and the image are not checked")
        return {}
    from lib import engine  # not before: a dry run never asks docker

    log.logger.info("preflight: docker, image %s", options.reference)
    engine.check_engine()
    return steps.check_image(options.reference)


def _load_env(
    options: Options, env_path: Path, extra: dict[str, str]
) -> tuple[str, dict[str, str], tuple[str, ...]]:
    """The generator, the env file's values and the keys that generator needs."""
    from lib import run as steps
    from workshop_builder.generators import DEFAULT_GENERATOR

    given = options.env_file is not None
    file_env = steps.load_env_file(env_path, required=(), given=given)
    generator = extra.get("WORKSHOP_GENERATOR") or file_env.get(
        "WORKSHOP_GENERATOR", DEFAULT_GENERATOR
    )
    required = _required_keys(generator)
    if required:
        file_env = steps.load_env_file(env_path, required=required, given=True)
    return generator, file_env, required


def _output_dir(options: Options, out_dir: Path, user: tuple[int, int]) -> None:
    from lib import log
    from lib import run as steps

    if options.dry_run:
        if not steps.check_output_dir(out_dir, user):
            log.logger.info("dry run: %s would be created", out_dir)
        return
    steps.prepare_output_dir(out_dir, user, caller_uid=os.getuid())
    if os.getuid() == 0:
        log.logger.warning(
            "running as root: the container runs as workshop-user (%d), so new "
            "files in %s belong to uid %d", user[0], out_dir, user[0],
        )  # fmt: skip


def _fixed_env(generator: str) -> dict[str, str]:
    from lib import docker_argv

    return {
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "WORKSHOPS_BASE_DIR": docker_argv.CONTAINER_WORKSHOPS_DIR,
        "WORKSHOP_GENERATOR": generator,
    }


def _network(options: Options, required: tuple[str, ...], generator: str) -> str | None:
    """Offline generation gets no network; AI generation docker's bridge."""
    from lib import log

    if options.network is None:
        return None if required else "none"
    if options.network == "none" and required:
        log.logger.warning(
            "--network none: the %s generator needs outbound HTTPS and will fail",
            generator,
        )
    return options.network


def _spec(
    options: Options,
    run_id: str,
    name: str,
    env_names: list[str],
    user: tuple[int, int],
    out_dir: Path,
    required: tuple[str, ...],
    generator: str,
) -> RunSpec:
    from lib import docker_argv, log
    from lib import run as steps

    limits = None
    if options.no_limits:
        log.logger.warning("--no-limits: no memory, CPU or pids limit")
    else:
        limits = docker_argv.Limits(options.memory, options.cpus, options.pids_limit)
    return docker_argv.RunSpec(
        image=options.reference,
        args=options.app_args,
        hardening=docker_argv.Hardening(
            user=f"{user[0]}:{user[1]}", limits=limits, tmpfs_size=options.tmpfs_size
        ),
        name=name,
        env_names=env_names,
        labels={
            docker_argv.TOOL_LABEL: "run_docker.py",
            docker_argv.RUN_LABEL: run_id,
        },
        bind_mounts={str(out_dir): docker_argv.CONTAINER_WORKSHOPS_DIR},
        network=_network(options, required, generator),
        interactive=not options.detach and sys.stdin is not None,
        tty=not options.detach and steps.stdin_is_terminal(),
        detach=options.detach,
        # Foreground: no --rm, so the final state (exit code, OOM kill) can be
        # inspected; this tool removes the container itself, on every path.
        remove=options.detach,
        init=True,
    )


def _print_dry_run(spec: RunSpec, name: str, env_values: dict[str, str]) -> int:
    from lib import docker_argv, log, runner

    attach = not spec.detach
    start = docker_argv.start_argv(name, attach=attach, interactive=spec.interactive)
    click.echo(runner.shown(docker_argv.create_argv(spec)))
    click.echo(runner.shown(start))
    log.logger.info(
        "dry run: nothing was run; %s would reach docker through its "
        "environment (values not shown)",
        ", ".join(env_values) or "no value",
    )
    return 0


def _run_container(
    options: Options,
    spec: RunSpec,
    name: str,
    env_values: dict[str, str],
    image_info: dict[str, Any],
    run_id: str,
    out_dir: Path,
) -> int:
    from lib import audit, docker_argv, log
    from lib import run as steps

    memory = None if options.no_limits else options.memory
    run_label = f"{docker_argv.RUN_LABEL}={run_id}"
    with (
        steps.Signals() as signals,
        steps.owned_container(name, run_label=run_label) as owned,
    ):
        log.logger.info("creating %s (runs as %s)", name, spec.hardening.user)
        container_id = steps.create_container(
            owned, docker_argv.create_argv(spec), env_values
        )
        signals.watch(container_id)
        signals.check(name)
        info = steps.verify_hardening(container_id, audit.expected_from(spec.hardening))
        steps.report_audit(
            info,
            image_info,
            name=name,
            reference=options.reference,
            json_path=options.audit_json,
        )
        signals.check(name)
        if options.detach:
            return steps.run_detached(owned, signals, container=info, memory=memory)
        outcome, usage = steps.run_attached(
            owned, signals, interactive=spec.interactive, sample=options.debug
        )
        if usage is not None:
            log.logger.info("resource use of %s: %s", name, usage.summary())
        code = steps.finish(outcome, memory=memory)
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
