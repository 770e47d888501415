"""The steps of build_docker.py, each a small function the entrypoint calls."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from lib import cleanup, docker_argv, engine, envfile, runner
from lib.errors import ExitCode, PreflightError, ToolError
from lib.log import logger, success

SMOKE_TIMEOUT_SECONDS = 120.0
ROOT_USERS = ("", "root", "0")


@dataclass(frozen=True)
class BuildConfig:
    project_dir: Path
    image: str = "workshop-builder-app"
    tag: str = "latest"
    target: str = "production"
    dockerfile: str = "Dockerfile"
    base_image: str | None = None
    build_args: dict[str, str] = field(default_factory=dict)
    no_cache: bool = False
    pull: bool = False

    @property
    def reference(self) -> str:
        return f"{self.image}:{self.tag}"


@dataclass(frozen=True)
class Provenance:
    build_date: str
    vcs_ref: str
    version: str


# --- preflight ---------------------------------------------------------------


def check_project_files(config: BuildConfig) -> None:
    root = config.project_dir
    for name, hint in (
        (config.dockerfile, "run from the project root or restore it from git"),
        ("requirements.txt", "restore it from git: git checkout -- requirements.txt"),
    ):
        if not (root / name).is_file():
            raise PreflightError(f"{root / name} is missing", hint=hint)
    envfile.check_example(root / ".env.example")
    check_dockerignore(root / ".dockerignore")


def check_dockerignore(path: Path) -> None:
    """.dockerignore must exist and keep .env out of the build context."""
    if not path.is_file():
        raise PreflightError(
            f"{path} is missing, so .env would be sent to the daemon",
            hint="restore it from git: git checkout -- .dockerignore",
        )
    if not ignores(path.read_text(encoding="utf-8"), ".env"):
        raise PreflightError(
            f"{path} does not exclude .env",
            hint="add a line '.env' to .dockerignore",
        )


def ignores(dockerignore: str, name: str) -> bool:
    """Whether docker would leave `name` out of the context (last match wins)."""
    excluded = False
    for raw in dockerignore.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = line.lstrip("!").strip("/")
        if fnmatch(name, pattern):
            excluded = not negated
    return excluded


def provenance(project_dir: Path, version: str) -> Provenance:
    """BUILD_DATE from the commit time (reproducible), VCS_REF the short commit."""
    ref = _git(project_dir, "rev-parse", "--short", "HEAD")
    stamp = _git(project_dir, "log", "-1", "--format=%ct")
    moment = (
        datetime.fromtimestamp(int(stamp), tz=UTC) if stamp else datetime.now(tz=UTC)
    )
    return Provenance(
        build_date=moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        vcs_ref=ref or "unknown",
        version=version,
    )


def _git(project_dir: Path, *args: str) -> str:
    try:
        result = runner.run(["git", "-C", str(project_dir), *args], check=False)
    except ToolError:  # no git on this machine: not fatal, the ref is "unknown"
        return ""
    return result.stdout.strip() if result.returncode == 0 else ""


# --- build -------------------------------------------------------------------


def build_args(config: BuildConfig, prov: Provenance) -> dict[str, str]:
    args = {
        "BUILD_DATE": prov.build_date,
        "VCS_REF": prov.vcs_ref,
        "VERSION": prov.version,
    }
    if config.base_image:
        args["BASE_IMAGE"] = config.base_image
    return {**args, **config.build_args}


def build_image(config: BuildConfig, eng: engine.Engine, prov: Provenance) -> float:
    """Build with only the flags this builder accepts; returns seconds taken."""
    argv = docker_argv.build_argv(
        context=str(config.project_dir),
        dockerfile=str(config.project_dir / config.dockerfile),
        tag=config.reference,
        target=config.target,
        build_args=build_args(config, prov),
        labels={docker_argv.TOOL_LABEL: docker_argv.TOOL_LABEL_VALUE},
        buildx=eng.buildx,
        no_cache=config.no_cache,
        pull=config.pull,
    )
    # Without buildx the CLI must be told to use the legacy builder.
    env = None if eng.buildx else {"DOCKER_BUILDKIT": "0"}
    started = time.monotonic()
    runner.run(argv, stream=True, env=env, failure_code=ExitCode.BUILD)
    return time.monotonic() - started


# --- smoke test ----------------------------------------------------------------


def image_user(info: dict[str, Any]) -> str:
    return str((info.get("Config") or {}).get("User") or "")


def is_root(user: str) -> bool:
    return user.split(":")[0] in ROOT_USERS


def healthcheck_command(info: dict[str, Any]) -> tuple[str, list[str]]:
    """The image's HEALTHCHECK as (entrypoint, args) to run it directly."""
    test = ((info.get("Config") or {}).get("Healthcheck") or {}).get("Test") or []
    if len(test) >= 2 and test[0] == "CMD":
        return test[1], list(test[2:])
    if len(test) == 2 and test[0] == "CMD-SHELL":
        return "/bin/sh", ["-c", test[1]]
    raise ToolError(
        "the image declares no HEALTHCHECK command",
        hint="add a HEALTHCHECK CMD [...] to the Dockerfile",
        exit_code=ExitCode.SMOKE_TEST,
    )


def smoke_run(
    reference: str, args: list[str], *, entrypoint: str | None = None
) -> None:
    """Run the image once, hardened as at run time, as its own USER."""
    name = cleanup.unique_name("workshop-builder-smoke")
    spec = docker_argv.RunSpec(
        image=reference,
        args=args,
        hardening=docker_argv.Hardening(user=None),
        name=name,
        entrypoint=entrypoint,
        labels={docker_argv.TOOL_LABEL: docker_argv.TOOL_LABEL_VALUE},
        network="none",
    )
    with cleanup.removed_on_failure(name):
        runner.run(
            docker_argv.run_argv(spec),
            timeout=SMOKE_TIMEOUT_SECONDS,
            failure_code=ExitCode.SMOKE_TEST,
        )


def smoke_test(reference: str, info: dict[str, Any]) -> None:
    user = image_user(info)
    if is_root(user):
        raise ToolError(
            f"the image runs as root (USER {user or 'unset'})",
            hint="set USER workshop-user (uid 1000) in the production stage",
            exit_code=ExitCode.SMOKE_TEST,
        )
    logger.info("image user: %s (not root)", user)
    smoke_run(reference, ["--help"])
    logger.info("--help exits 0")
    entrypoint, args = healthcheck_command(info)
    smoke_run(reference, args, entrypoint=entrypoint)
    logger.info("health check command succeeds: %s", runner.shown([entrypoint, *args]))


# --- info ----------------------------------------------------------------------


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def image_summary(reference: str, info: dict[str, Any]) -> dict[str, Any]:
    config = info.get("Config") or {}
    labels = config.get("Labels") or {}
    size = int(info.get("Size") or 0)
    return {
        "reference": reference,
        "id": info.get("Id", ""),
        "size_bytes": size,
        "size": human_size(size),
        "layers": len((info.get("RootFS") or {}).get("Layers") or []),
        "user": config.get("User") or "",
        "build_date": labels.get("org.opencontainers.image.created", "unknown"),
        "commit": labels.get("org.opencontainers.image.revision", "unknown"),
        "version": labels.get("org.opencontainers.image.version", "unknown"),
        "labels": labels,
    }


def print_summary(summary: dict[str, Any]) -> None:
    for key in ("reference", "id", "size", "layers", "user", "build_date", "commit"):
        logger.info("%-11s %s", key.replace("_", " ") + ":", summary[key])


def remove_own_dangling_images() -> None:
    removed = cleanup.remove_dangling_images(
        f"{docker_argv.TOOL_LABEL}={docker_argv.TOOL_LABEL_VALUE}"
    )
    if removed:
        success("removed %d dangling image(s) built by this tool", len(removed))
    else:
        logger.info("no dangling images of this tool to remove")
