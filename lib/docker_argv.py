"""Pure builders of docker argv lists, one per verb. Nothing here runs anything.

A flag sits next to its value; optional flags come from small helpers that
return an empty or a filled list, so whole argv lists can be compared in tests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import NamedTuple

DOCKER = "docker"
TOOL_LABEL = "org.workshop-builder.built-by"
TOOL_LABEL_VALUE = "build_docker.py"
RUN_LABEL = "org.workshop-builder.run-id"
CONTAINER_WORKSHOPS_DIR = "/workshops"


# The records below are NamedTuples, not dataclasses: a frozen dataclass costs
# several times as much to create at import, and --dry-run's start-up time is
# measured (bench/). They are immutable values all the same.


class Limits(NamedTuple):
    """Resource limits of a run; REFERENCE.md defaults."""

    memory: str = "2g"
    cpus: str = "1.0"
    pids: int = 100


class Hardening(NamedTuple):
    """The run-time hardening every container of this tool gets."""

    user: str | None = "1000:1000"  # None: the image's own USER
    limits: Limits | None = Limits()  # None: --no-limits
    tmpfs_size: str = "100m"


class RunSpec(NamedTuple):
    image: str
    args: Sequence[str] = ()
    hardening: Hardening = Hardening()
    name: str | None = None
    entrypoint: str | None = None
    env_names: Sequence[str] = ()  # values travel in docker's environment
    labels: Mapping[str, str] = MappingProxyType({})
    bind_mounts: Mapping[str, str] = MappingProxyType({})  # host -> container
    network: str | None = None
    interactive: bool = False
    tty: bool = False
    detach: bool = False
    remove: bool = True
    init: bool = False


def _flag(name: str, value: str | None) -> list[str]:
    return [name, value] if value is not None else []


def _switch(name: str, on: bool) -> list[str]:
    return [name] if on else []


def _repeat(name: str, values: Sequence[str]) -> list[str]:
    return [part for value in values for part in (name, value)]


def _pairs(name: str, mapping: Mapping[str, str]) -> list[str]:
    return _repeat(name, [f"{key}={value}" for key, value in mapping.items()])


def _csv_field(text: str) -> str:
    # docker parses --mount as CSV: a field holding a comma or quote is quoted.
    if "," in text or '"' in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def bind_mount(host: str, container: str, *, read_only: bool = False) -> str:
    parts = ["type=bind", f"source={host}", f"target={container}"]
    if read_only:
        parts.append("readonly")
    return ",".join(_csv_field(part) for part in parts)


def limit_args(limits: Limits | None) -> list[str]:
    if limits is None:
        return []
    return [
        "--memory", limits.memory,
        # Swap equal to memory: the limit is real and an overrun is an OOM kill.
        "--memory-swap", limits.memory,
        "--cpus", limits.cpus,
        "--pids-limit", str(limits.pids),
    ]  # fmt: skip


def hardening_args(hardening: Hardening) -> list[str]:
    return [
        *_flag("--user", hardening.user),
        "--cap-drop", "ALL",
        "--security-opt", "no-new-privileges:true",
        "--read-only",
        "--tmpfs", f"/tmp:rw,noexec,nosuid,size={hardening.tmpfs_size}",
        *limit_args(hardening.limits),
    ]  # fmt: skip


def run_argv(spec: RunSpec) -> list[str]:
    mounts = [bind_mount(host, dst) for host, dst in spec.bind_mounts.items()]
    return [
        DOCKER, "run",
        *_switch("--rm", spec.remove),
        *_switch("--detach", spec.detach),
        *_switch("--interactive", spec.interactive),
        *_switch("--tty", spec.tty),
        *_switch("--init", spec.init),
        *_flag("--name", spec.name),
        *_pairs("--label", spec.labels),
        *hardening_args(spec.hardening),
        *_flag("--network", spec.network),
        *_repeat("--mount", mounts),
        *_repeat("--env", list(spec.env_names)),
        *_flag("--entrypoint", spec.entrypoint),
        spec.image,
        *spec.args,
    ]  # fmt: skip


def build_argv(
    *,
    context: str,
    dockerfile: str,
    tag: str,
    target: str | None,
    build_args: Mapping[str, str],
    labels: Mapping[str, str],
    buildx: bool,
    no_cache: bool = False,
    pull: bool = False,
    env_build_args: Sequence[str] = (),
) -> list[str]:
    """env_build_args: names only; docker reads their values from its own
    environment, so secret values never stand on a command line."""
    # The legacy builder refuses --progress, and keeps the intermediate
    # container of a failed step unless --force-rm; buildx needs --load to
    # leave the image in the local engine, and leaves no containers.
    verb = [DOCKER, "buildx", "build", "--load", "--progress", "plain"]
    return [
        *(verb if buildx else [DOCKER, "build"]),
        "--file", dockerfile,
        "--tag", tag,
        *_flag("--target", target),
        *_pairs("--build-arg", build_args),
        *_repeat("--build-arg", list(env_build_args)),
        *_pairs("--label", labels),
        *_switch("--no-cache", no_cache),
        *_switch("--pull", pull),
        *_switch("--force-rm", not buildx),
        context,
    ]  # fmt: skip


def info_argv() -> list[str]:
    return [DOCKER, "info", "--format", "{{json .}}"]


def image_inspect_argv(image: str) -> list[str]:
    return [DOCKER, "image", "inspect", "--format", "{{json .}}", image]


def container_inspect_argv(container: str) -> list[str]:
    return [DOCKER, "container", "inspect", "--format", "{{json .}}", container]


def history_argv(image: str) -> list[str]:
    return [DOCKER, "image", "history", "--no-trunc", "--format", "{{json .}}", image]


def stop_argv(container: str, *, grace_seconds: int = 10) -> list[str]:
    return [DOCKER, "container", "stop", "--time", str(grace_seconds), container]


def remove_container_argv(container: str) -> list[str]:
    return [DOCKER, "container", "rm", "--force", "--volumes", container]


def dangling_images_argv(label: str) -> list[str]:
    return [
        DOCKER, "image", "ls", "--quiet", "--no-trunc",
        "--filter", "dangling=true",
        "--filter", f"label={label}",
    ]  # fmt: skip


def remove_images_argv(image_ids: Sequence[str]) -> list[str]:
    return [DOCKER, "image", "rm", *image_ids]


def containers_with_label_argv(label: str) -> list[str]:
    return [DOCKER, "container", "ls", "--all", "--quiet", "--filter", f"label={label}"]


def stats_argv(container: str) -> list[str]:
    fmt = "{{json .}}"
    return [DOCKER, "container", "stats", "--no-stream", "--format", fmt, container]


def create_argv(spec: RunSpec) -> list[str]:
    """docker container create with run_argv's options; start_argv starts it.

    Creating first lets the hardening be inspected before anything runs.
    """
    options = run_argv(spec._replace(detach=False))[2:]
    return [DOCKER, "container", "create", *options]


def start_argv(container: str, *, attach: bool, interactive: bool) -> list[str]:
    return [
        DOCKER, "container", "start",
        *_switch("--attach", attach),
        *_switch("--interactive", interactive),
        container,
    ]  # fmt: skip


def events_argv(
    container: str, *, since: str, until: str, events: Sequence[str]
) -> list[str]:
    """Past events of one container; with --until docker prints them and exits."""
    return [
        DOCKER, "system", "events",
        "--since", since,
        "--until", until,
        "--filter", f"container={container}",
        *_repeat("--filter", [f"event={event}" for event in events]),
        "--format", "{{json .}}",
    ]  # fmt: skip
