"""docker-compose.yml on the real engine, driven by the real Compose binary.

Every test runs under its own compose project name, with its own workshops
folder and env file, and an image name that is not the user's; the project's
containers are removed afterwards.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import BASE_IMAGE, ENGINE_REQUIRED, PROJECT_DIR, required_tool
from tests.integration.conftest import docker, inspect, writable_dir_for_container

COMPOSE_FILE = PROJECT_DIR / "docker-compose.yml"
SERVICES = ("workshop-builder", "workshop-builder-dev")
# Variables docker-compose.yml reads; the caller's own values must not leak in.
COMPOSE_VARIABLES = (
    "IMAGE",
    "TAG",
    "BASE_IMAGE",
    "TOPIC",
    "LOG_LEVEL",
    "WORKSHOPS_DIR",
    "WORKSHOP_ENV_FILE",
    "WORKSHOP_NETWORK",
    "WORKSHOP_UID",
    "WORKSHOP_GID",
    "COMPOSE_PROJECT_NAME",
    "COMPOSE_PROFILES",
    "COMPOSE_FILE",
)
APP_ENV = "WORKSHOP_GENERATOR=offline\nOPENAI_MODEL=compose-test-model\n"
WORKSHOP_FILES = [
    "01-introduction.md",
    "02-concepts.md",
    "03-hands-on-lab.md",
    "04-review.md",
    "README.md",
    "manifest.json",
]


def expected_user() -> str:
    return "1000:1000" if os.getuid() == 0 else f"{os.getuid()}:{os.getgid()}"


@dataclass
class Compose:
    """One compose project: the binary, its name and its environment."""

    binary: str
    project: str
    env: dict[str, str]
    interpolation_file: Path

    def argv(self, *args: str) -> list[str]:
        # --env-file replaces the checkout's .env as the source of ${...}
        # values, so a developer's .env cannot change what is tested.
        return [
            self.binary,
            "--file", str(COMPOSE_FILE),
            "--project-name", self.project,
            "--env-file", str(self.interpolation_file),
            *args,
        ]  # fmt: skip

    def run(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(*args),
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )

    def container_ids(self, *filters: str) -> list[str]:
        label = f"label=com.docker.compose.project={self.project}"
        args = ["container", "ls", "--all", "--quiet", "--filter", label]
        for extra in filters:
            args += ["--filter", extra]
        return docker(*args).stdout.split()


def compose_env(tmp_path: Path, **values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in COMPOSE_VARIABLES}
    app_env = tmp_path / "app.env"
    app_env.write_text(APP_ENV, encoding="utf-8")
    uid, gid = expected_user().split(":")
    defaults = {
        "WORKSHOPS_DIR": str(writable_dir_for_container(tmp_path / "workshops")),
        "WORKSHOP_ENV_FILE": str(app_env),
        "WORKSHOP_UID": uid,
        "WORKSHOP_GID": gid,
        "BASE_IMAGE": BASE_IMAGE,
    }
    return {**env, **defaults, **values}


@pytest.fixture
def compose(tmp_path: Path) -> Iterator[Compose]:
    """A fresh project for the built image; its containers go afterwards."""
    binary = required_tool("docker-compose")
    interpolation = tmp_path / "interpolation.env"
    interpolation.write_text("", encoding="utf-8")
    project = Compose(
        binary, f"wbtest-{secrets.token_hex(4)}", compose_env(tmp_path), interpolation
    )
    yield project
    result = project.run("--profile", "dev", "down", "--remove-orphans")
    assert result.returncode == 0, result.stderr
    assert project.container_ids() == []


@pytest.fixture
def image_compose(compose: Compose, built_image: str) -> Compose:
    name, tag = built_image.split(":")
    compose.env.update(IMAGE=name, TAG=tag)
    return compose


def workshops(compose: Compose) -> Path:
    return Path(compose.env["WORKSHOPS_DIR"])


def folder_names(base: Path) -> list[str]:
    return sorted(p.name for p in base.iterdir() if p.name.startswith("workshop-"))


def container_of(compose: Compose, service: str) -> dict[str, Any]:
    [cid] = compose.container_ids(f"label=com.docker.compose.service={service}")
    return inspect("container", cid)


def mounts(info: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    return sorted(
        (m["Type"], m["Source"], m["Destination"], m["RW"]) for m in info["Mounts"]
    )


def assert_hardened(info: dict[str, Any]) -> None:
    host = info["HostConfig"]
    assert info["Config"]["User"] == expected_user()
    assert host["CapDrop"] == ["ALL"]
    assert not host["CapAdd"]
    assert host["SecurityOpt"] == ["no-new-privileges:true"]
    assert host["Privileged"] is False
    assert host["Memory"] == 2 * 1024**3
    assert host["MemorySwap"] == 2 * 1024**3
    assert host["NanoCpus"] == 1_000_000_000
    assert host["PidsLimit"] == 100
    assert host["Tmpfs"] == {"/tmp": "rw,noexec,nosuid,size=100m"}
    assert host["NetworkMode"] == "none"
    assert host["Init"] is True
    assert host["RestartPolicy"]["Name"] in ("", "no")
    assert info["Config"]["Healthcheck"]["Test"] == [
        "CMD",
        "python3",
        "-m",
        "workshop_builder.health",
    ]


# --- the file itself (no engine needed) ------------------------------------------


def test_file_has_no_version_container_name_restart_or_deploy() -> None:
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))

    assert "version" not in data
    assert set(data["services"]) == set(SERVICES)
    for service in data["services"].values():
        assert not {"container_name", "restart", "deploy"} & set(service)


def test_config_validates(tmp_path: Path) -> None:
    interpolation = tmp_path / "interpolation.env"
    interpolation.touch()
    project = Compose(
        required_tool("docker-compose"),
        "wbconfig",
        compose_env(tmp_path, IMAGE="img", TAG="t1", TOPIC="Rust basics"),
        interpolation,
    )

    result = project.run("--profile", "dev", "config", "--format", "json")

    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    assert set(services) == set(SERVICES)
    for name, service in services.items():
        assert service["image"] == "img:t1", name
        assert service["command"] == ["--topic", "Rust basics"], name
        assert service["pids_limit"] == 100, name
        assert service["cap_drop"] == ["ALL"], name
        assert "container_name" not in service, name
        assert service.get("restart", "no") == "no", name
        assert service["build"]["target"] == "production", name
        assert service["build"]["args"] == {"BASE_IMAGE": BASE_IMAGE}, name
        assert service["environment"]["OPENAI_MODEL"] == "compose-test-model", name
    assert services["workshop-builder"]["read_only"] is True
    assert services["workshop-builder"]["environment"]["LOG_LEVEL"] == "INFO"
    # false is the default, so Compose leaves the key out.
    assert services["workshop-builder-dev"].get("read_only", False) is False
    assert services["workshop-builder-dev"]["environment"]["LOG_LEVEL"] == "DEBUG"
    assert services["workshop-builder-dev"]["profiles"] == ["dev"]


def test_config_rejects_a_missing_env_file(tmp_path: Path) -> None:
    interpolation = tmp_path / "interpolation.env"
    interpolation.touch()
    missing = tmp_path / "missing.env"
    project = Compose(
        required_tool("docker-compose"),
        "wbconfig",
        compose_env(tmp_path, WORKSHOP_ENV_FILE=str(missing)),
        interpolation,
    )

    result = project.run("config", "--quiet")

    assert result.returncode != 0
    assert str(missing) in result.stderr


# --- on the real engine ----------------------------------------------------------


@pytest.mark.engine
def test_build_makes_the_production_stage(compose: Compose, engine: None) -> None:
    tag = f"c{secrets.token_hex(4)}"
    compose.env.update(IMAGE="workshop-builder-compose-itest", TAG=tag)
    reference = f"workshop-builder-compose-itest:{tag}"
    try:
        result = compose.run("build", "workshop-builder", timeout=600)

        assert result.returncode == 0, result.stderr[-3000:]
        config = inspect("image", reference)["Config"]
        assert config["User"] == "1000:1000"
        assert config["Entrypoint"] == ["python3", "-m", "workshop_builder"]
    finally:
        docker("image", "rm", "--force", reference, check=False)


@pytest.mark.engine
def test_up_writes_a_workshop_on_the_host(image_compose: Compose) -> None:
    image_compose.env["TOPIC"] = "Intro to Docker"

    result = image_compose.run(
        "up", "--no-build", "--exit-code-from", "workshop-builder", "workshop-builder"
    )

    assert result.returncode == 0, result.stdout + result.stderr
    folder = workshops(image_compose) / "workshop-1-intro-to-docker"
    assert sorted(p.name for p in folder.iterdir()) == WORKSHOP_FILES
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["topic"] == "Intro to Docker"
    assert folder.stat().st_uid == int(expected_user().split(":")[0])
    assert "[INFO] Wrote 4 modules" in result.stderr
    assert "[DEBUG]" not in result.stdout + result.stderr


@pytest.mark.engine
def test_compose_container_is_hardened(image_compose: Compose) -> None:
    result = image_compose.run(
        "up", "--no-build", "--exit-code-from", "workshop-builder", "workshop-builder"
    )
    assert result.returncode == 0, result.stdout + result.stderr

    info = container_of(image_compose, "workshop-builder")

    assert_hardened(info)
    assert info["HostConfig"]["ReadonlyRootfs"] is True
    assert mounts(info) == [
        ("bind", str(workshops(image_compose)), "/workshops", True),
    ]
    env = info["Config"]["Env"]
    assert "OPENAI_MODEL=compose-test-model" in env  # from the env file
    assert "LOG_LEVEL=INFO" in env
    assert "PYTHONUNBUFFERED=1" in env
    assert "PYTHONDONTWRITEBYTECODE=1" in env


@pytest.mark.engine
def test_app_failure_is_the_exit_code_of_up(image_compose: Compose) -> None:
    image_compose.env["TOPIC"] = "   "

    result = image_compose.run(
        "up", "--no-build", "--exit-code-from", "workshop-builder", "workshop-builder"
    )

    assert result.returncode == 2, result.stdout + result.stderr
    assert folder_names(workshops(image_compose)) == []


def wait_for_running(compose: Compose, count: int, timeout: float = 60) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = compose.container_ids("status=running")
        if len(running) == count:
            return running
        time.sleep(0.2)
    raise AssertionError(f"{count} containers of {compose.project} never ran")


@pytest.mark.engine
def test_scale_three_concurrent_runs_take_distinct_numbers(
    image_compose: Compose,
) -> None:
    """Hold the app's lock so that all three containers start, then race."""
    image_compose.env["TOPIC"] = "Scaled"
    base = workshops(image_compose)
    lock_path = base / ".workshop-builder.lock"
    lock_path.touch()
    lock_path.chmod(0o666)

    with lock_path.open("rb") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        child = subprocess.Popen(
            image_compose.argv(
                "up", "--no-build", "--scale", "workshop-builder=3", "workshop-builder"
            ),
            env=image_compose.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            running = wait_for_running(image_compose, 3)
            infos = [inspect("container", cid) for cid in running]
            written_while_locked = folder_names(base)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
        out, err = child.communicate(timeout=180)

    assert child.returncode == 0, out + err
    assert written_while_locked == []
    assert folder_names(base) == [
        "workshop-1-scaled",
        "workshop-2-scaled",
        "workshop-3-scaled",
    ]
    numbers = sorted(
        json.loads((base / name / "manifest.json").read_text(encoding="utf-8"))[
            "number"
        ]
        for name in folder_names(base)
    )
    assert numbers == [1, 2, 3]
    assert not [p.name for p in base.iterdir() if p.name.startswith(".tmp-")]
    for info in infos:
        assert info["State"]["Running"] is True
        assert_hardened(info)
    assert len({info["Name"] for info in infos}) == 3


@pytest.mark.engine
def test_dev_profile_runs_with_debug_logging_and_live_source(
    image_compose: Compose,
) -> None:
    image_compose.env["TOPIC"] = "Dev run"

    result = image_compose.run(
        "--profile", "dev", "up", "--no-build",
        "--exit-code-from", "workshop-builder-dev", "workshop-builder-dev",
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    # Compose shows the app's stderr, where its log goes, on its own stderr.
    assert "[DEBUG] Locked /workshops/.workshop-builder.lock" in result.stderr
    assert folder_names(workshops(image_compose)) == ["workshop-1-dev-run"]
    info = container_of(image_compose, "workshop-builder-dev")
    assert_hardened(info)
    assert info["HostConfig"]["ReadonlyRootfs"] is False
    assert "LOG_LEVEL=DEBUG" in info["Config"]["Env"]
    assert mounts(info) == sorted(
        [
            ("bind", str(workshops(image_compose)), "/workshops", True),
            (
                "bind",
                str(PROJECT_DIR / "workshop_builder"),
                "/app/workshop_builder",
                False,
            ),
        ]
    )


@pytest.mark.engine
def test_dev_service_is_not_started_without_its_profile(
    image_compose: Compose,
) -> None:
    result = image_compose.run(
        "up", "--no-build", "--exit-code-from", "workshop-builder"
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        image_compose.container_ids(
            "label=com.docker.compose.service=workshop-builder-dev"
        )
        == []
    )
    assert folder_names(workshops(image_compose)) == ["workshop-1-intro-to-docker"]


# --- docker-compose 1.29, where one is at hand -----------------------------------

V1_ENV = "WORKSHOP_TEST_COMPOSE_V1"


@pytest.mark.engine
def test_pids_limit_holds_on_docker_compose_1_29(
    built_image: str, tmp_path: Path
) -> None:
    """docker-compose 1.x is end-of-life and not in the dev dependencies: set
    WORKSHOP_TEST_COMPOSE_V1 to its path to run this."""
    binary = os.environ.get(V1_ENV)
    if not binary:
        reason = f"{V1_ENV} not set (scripts/install-compose-v1.sh makes one)"
        if ENGINE_REQUIRED:
            pytest.fail(f"REQUIRE_ENGINE=1 but {reason}")
        pytest.skip(reason)
    version = subprocess.run(
        [binary, "version", "--short"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert version.startswith("1.29"), version
    name, tag = built_image.split(":")
    interpolation = tmp_path / "interpolation.env"
    interpolation.touch()
    old = Compose(
        binary,
        f"wbv1{secrets.token_hex(4)}",
        compose_env(tmp_path, IMAGE=name, TAG=tag),
        interpolation,
    )
    try:
        result = old.run(
            "up",
            "--no-build",
            "--exit-code-from",
            "workshop-builder",
            "workshop-builder",
        )
        assert result.returncode == 0, result.stdout + result.stderr
        info = container_of(old, "workshop-builder")
        assert_hardened(info)
        assert info["HostConfig"]["ReadonlyRootfs"] is True
        assert folder_names(workshops(old)) == ["workshop-1-intro-to-docker"]
    finally:
        old.run("--profile", "dev", "down", "--remove-orphans")
    assert old.container_ids() == []
