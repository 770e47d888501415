"""The steps of build_docker.py, each a small function the entrypoint calls."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from lib import ci, cleanup, docker_argv, engine, envfile, masking, runner
from lib.errors import ExitCode, PreflightError, ToolError, with_exit_code
from lib.log import logger, success

SMOKE_TIMEOUT_SECONDS = 120.0
ROOT_USERS = ("", "root", "0")
INFO_NAME = "image-info.json"


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


# --- steps ---------------------------------------------------------------------


@dataclass
class Outcome:
    """How a step that raised nothing ended: passed, warning, or failed (a
    --ci-mode gate whose error is raised after the remaining steps)."""

    status: str = "passed"
    note: str = ""

    def warn(self, note: str) -> None:
        self.status, self.note = "warning", note


class Progress:
    """Numbered steps, each one logged; outcomes kept for the CI step summary."""

    def __init__(self, total: int, record: ci.RunRecord) -> None:
        self.total = total
        self.record = record
        self.count = 0

    def _heading(self, title: str) -> str:
        self.count += 1
        return f"Step {self.count}/{self.total}: {title}"

    def skip(self, name: str, why: str) -> None:
        logger.info("%s skipped (%s)", self._heading(name), why)
        self.record.record(name, "skipped", why)

    @contextmanager
    def step(
        self, name: str, code: ExitCode, *, title: str | None = None
    ) -> Iterator[Outcome]:
        """Run one step; a failure without its own exit code gets `code`."""
        logger.info("%s", self._heading(title or name))
        outcome = Outcome()
        try:
            yield outcome
        except ToolError as error:
            self.record.record(name, "failed", error.message)
            raise with_exit_code(error, code) from None
        except KeyboardInterrupt:
            self.record.record(name, "interrupted")
            raise
        except Exception as error:
            self.record.record(name, "failed", f"unexpected error: {error!r}")
            raise
        self.record.record(name, outcome.status, outcome.note)


# --- preflight ---------------------------------------------------------------


def check_project_files(config: BuildConfig) -> None:
    root = config.project_dir
    for name, hint in (
        (config.dockerfile, "run from the project root or restore it from git"),
        ("requirements.txt", "restore it from git: git checkout -- requirements.txt"),
    ):
        path = root / name
        if not path.is_file():
            problem = "is not a file" if path.exists() else "is missing"
            raise PreflightError(f"{path} {problem}", hint=hint)
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


def prepare_report_dir(path: Path) -> Path:
    """Create the report directory if needed; it must be a writable directory."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise PreflightError(
            f"cannot create the report directory {path}: {error.strerror}",
            hint="pass --report-dir with a writable directory",
        ) from None
    try:
        # A uniquely named file, so no file of the user's is ever touched.
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as error:
        raise PreflightError(
            f"the report directory {path} is not writable: {error.strerror}",
            hint="pass --report-dir with a writable directory",
        ) from None
    return path


def require_image(config: BuildConfig) -> dict[str, Any]:
    """The inspect data of an image that must already exist (--scan-only)."""
    info = engine.inspect_image(config.reference)
    if info is None:
        raise PreflightError(
            f"image {config.reference} not found in the local engine",
            hint="build it first: "
            f"./build_docker.py --image {config.image} --tag {config.tag}",
        )
    return info


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


def split_secret_args(
    args: Mapping[str, str],
) -> tuple[dict[str, str], dict[str, str]]:
    """(plain build args, secret ones): secret keys or credential-shaped values."""
    secret = {
        key: value
        for key, value in args.items()
        if masking.is_secret_key(key) or masking.mask(value) != value
    }
    plain = {key: value for key, value in args.items() if key not in secret}
    return plain, secret


def build_image(
    config: BuildConfig, eng: engine.Engine, args: Mapping[str, str]
) -> float:
    """Build with only the flags this builder accepts; returns seconds taken.

    args: the build args preflight settled (see build_args()).
    """
    plain, secret = split_secret_args(args)
    argv = docker_argv.build_argv(
        context=str(config.project_dir),
        dockerfile=str(config.project_dir / config.dockerfile),
        tag=config.reference,
        target=config.target,
        build_args=plain,
        env_build_args=list(secret),
        labels={docker_argv.TOOL_LABEL: docker_argv.TOOL_LABEL_VALUE},
        buildx=eng.buildx,
        no_cache=config.no_cache,
        pull=config.pull,
    )
    # Without buildx the CLI must be told to use the legacy builder.
    env = dict(secret) if eng.buildx else {"DOCKER_BUILDKIT": "0", **secret}
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
        value = summary[key]
        if key == "size":
            value = f"{value} ({summary['size_bytes']} bytes)"
        logger.info("%-11s %s", key.replace("_", " ") + ":", value)
    logger.info("labels:")
    for name, value in sorted(summary["labels"].items()):
        logger.info("  %s=%s", name, value)


def write_info(summary: dict[str, Any], report_dir: Path) -> Path:
    path = report_dir / INFO_NAME
    try:
        path.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n", "utf-8")
    except OSError as error:
        # A cut-off report must not pass for a whole one (a full disk).
        with suppress(OSError):
            path.unlink(missing_ok=True)
        raise ToolError(
            f"cannot write {path}: {error.strerror or error}",
            hint="free some space there, or pass --report-dir elsewhere",
        ) from None
    return path


def info_markdown(summary: dict[str, Any]) -> str:
    keys = ("reference", "id", "size", "layers", "user", "build_date", "commit")
    rows = [(key.replace("_", " "), f"`{summary[key]}`") for key in keys]
    return "### Image\n\n" + ci.table(("", ""), rows)


def remove_own_dangling_images() -> None:
    removed = cleanup.remove_dangling_images(
        f"{docker_argv.TOOL_LABEL}={docker_argv.TOOL_LABEL_VALUE}"
    )
    if removed:
        success("removed %d dangling image(s) built by this tool", len(removed))
    else:
        logger.info("no dangling images of this tool to remove")
