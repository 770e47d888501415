"""Secrets: a fixture .env with unique values, every command path, no leak.

Every value holds one random marker, so a leak of any part of any value is
found by one search. The places searched: stdout and stderr of each run (kept
as log files, as CI keeps them), every file the run left anywhere under the
test's folder (reports, step summary, audit JSON, the workshop), the argv of
every docker command (a shim on PATH records them: argv is visible to every
user of the machine in `ps`), and for the built image its layers, its
filesystem, its history, labels and environment. The values must still
reach the container, through docker's environment: checked with inspect.
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import BASE_IMAGE, PROJECT_DIR
from tests.fakes import FINDINGS_REPORT, install_fake_trivy, trivy_env
from tests.integration.conftest import TEST_IMAGE, containers_mounting, docker
from tests.integration.test_run_engine import (
    numbering_lock,
    run_args,
    started,
    wait_until_running,
)
from tests.reliability.conftest import (
    BUILD_DIRS,
    BUILD_FILES,
    bin_dir_with,
    child_env,
    dead_docker_host,
    image_args,
    images_labelled,
    real_docker,
    run_py,
    token,
)

pytestmark = pytest.mark.engine

RUN = PROJECT_DIR / "run_docker.py"
BUILD = PROJECT_DIR / "build_docker.py"


@dataclass(frozen=True)
class Secrets:
    marker: str  # in every value: finding it anywhere is a leak

    @property
    def file_values(self) -> dict[str, str]:
        m = self.marker
        return {
            "OPENAI_API_KEY": f"sk-proj-{m}openai",
            "GEMINI_API_KEY": f"AIza{m}gemini0123456789abcdefghij",
            "GITHUB_TOKEN": f"ghp_{m}github",
            "DB_PASSWORD": f"pw {m} with spaces # and a hash",
            "SESSION_SECRET": f"plain-{m}-value",
        }

    @property
    def flag_value(self) -> str:  # --env API_TOKEN=...
        return f"flag-{self.marker}-token"

    @property
    def caller_value(self) -> str:  # --env MY_SECRET_KEY, from our environment
        return f"caller-{self.marker}-key"

    def env_file(self, path: Path) -> Path:
        lines = [f'{key}="{value}"' for key, value in self.file_values.items()]
        path.write_text("\n".join(["LOG_LEVEL=INFO", *lines]) + "\n")
        path.chmod(0o600)
        return path


@pytest.fixture
def fixture_secrets() -> Secrets:
    return Secrets(f"rel{secrets.token_hex(8)}")


def files_holding(root: Path, marker: str, *, skip: tuple[Path, ...]) -> list[str]:
    """Every file under root (but the .env fixtures) whose bytes hold the marker."""
    found = []
    needle = marker.encode()
    for path in root.rglob("*"):
        if path in skip or not path.is_file() or path.is_symlink():
            continue
        if needle in path.read_bytes():
            found.append(str(path.relative_to(root)))
    return found


def argv_shim(directory: Path, log: Path) -> Path:
    """A `docker` on PATH that records its argv (NUL-separated), then runs docker."""
    directory.mkdir(parents=True, exist_ok=True)
    shim = directory / "docker"
    shim.write_text(
        "#!/bin/sh\n"
        f"printf '%s\\0' \"$@\" >> '{log}'\n"
        f"printf '\\n' >> '{log}'\n"
        f'exec {real_docker()} "$@"\n'
    )
    shim.chmod(0o755)
    return directory


def recorded_argvs(log: Path) -> list[list[str]]:
    text = log.read_bytes().decode() if log.exists() else ""
    return [line.split("\0")[:-1] for line in text.split("\0\n") if line]


@dataclass
class Outcome:
    label: str
    code: int
    stdout: str
    stderr: str


def keep_logs(directory: Path, outcome: Outcome) -> None:
    """What CI would keep of a run: its output, as log files."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{outcome.label}.stdout.log").write_text(outcome.stdout)
    (directory / f"{outcome.label}.stderr.log").write_text(outcome.stderr)


# --- run_docker.py ----------------------------------------------------------------


@dataclass(frozen=True)
class RunSetup:
    secrets: Secrets
    env_file: Path
    out_dir: Path
    argv_log: Path
    env: dict[str, str]
    common: list[str]

    def outcome(self, label: str, result: subprocess.CompletedProcess[str]) -> Outcome:
        return Outcome(label, result.returncode, result.stdout, result.stderr)


@pytest.fixture
def run_setup(fixture_secrets: Secrets, tmp_path: Path) -> RunSetup:
    env_file = fixture_secrets.env_file(tmp_path / "app.env")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    if os.getuid() == 0:
        os.chown(out_dir, 1000, 1000)
    argv_log = tmp_path / "docker-argv.log"
    shim = argv_shim(tmp_path / "shim", argv_log)
    env = child_env(
        PATH=f"{shim}{os.pathsep}{os.environ['PATH']}",
        MY_SECRET_KEY=fixture_secrets.caller_value,
    )
    common = [
        "--env-file", str(env_file),
        "--env", f"API_TOKEN={fixture_secrets.flag_value}",
        "--env", "MY_SECRET_KEY",
    ]  # fmt: skip
    return RunSetup(fixture_secrets, env_file, out_dir, argv_log, env, common)


def assert_nothing_leaked(setup: RunSetup, outcome: Outcome, tmp_path: Path) -> None:
    marker = setup.secrets.marker
    keep_logs(tmp_path / "logs", outcome)
    assert marker not in outcome.stdout, "stdout shows a secret"
    assert marker not in outcome.stderr, "stderr shows a secret"
    argvs = recorded_argvs(setup.argv_log)
    assert [argv for argv in argvs if any(marker in a for a in argv)] == []
    assert files_holding(tmp_path, marker, skip=(setup.env_file,)) == []


RUN_PATHS = [
    pytest.param("normal", ["--topic", "Normal"], 0, id="normal"),
    pytest.param(
        "debug", ["--debug", "--audit-json", "{tmp}/audit.json", "--topic", "Debug"], 0,
        id="debug-with-audit-json",
    ),
    pytest.param("dry-run", ["--dry-run", "--debug", "--topic", "Dry"], 0,
                 id="dry-run"),
    pytest.param("detach", ["--detach", "--topic", "Detached"], 0, id="detach"),
    pytest.param("app-failure", ["--debug", "--topic", " "], 2, id="app-failure"),
    pytest.param(
        "docker-failure", ["--debug", "--network", "no-such-net-{tok}", "--topic", "x"],
        125, id="docker-failure",
    ),
    pytest.param(
        "image-missing", ["--debug", "--tag", "never-built-{tok}", "--topic", "x"], 3,
        id="image-missing",
    ),
    pytest.param(
        "oom-killed", ["--debug", "--memory", "10m", "--topic", "x"], 137,
        id="oom-killed",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("label", "args", "code"), RUN_PATHS)
def test_run_path_leaks_no_secret(
    label: str,
    args: list[str],
    code: int,
    built_image: str,
    run_setup: RunSetup,
    tmp_path: Path,
) -> None:
    concrete = [
        a.replace("{tmp}", str(tmp_path)).replace("{tok}", token()) for a in args
    ]

    result = run_py(
        RUN, *run_args(built_image, run_setup.out_dir, *run_setup.common, *concrete),
        env=run_setup.env,
    )  # fmt: skip

    assert result.returncode == code, result.stderr[-3000:]
    argvs = recorded_argvs(run_setup.argv_log)
    if label != "dry-run":  # the shim really stood in for docker
        assert any(argv[:1] == ["info"] for argv in argvs)
    if label in ("normal", "debug", "detach", "oom-killed"):
        [create] = [argv for argv in argvs if argv[:2] == ["container", "create"]]
        for key in ("OPENAI_API_KEY", "DB_PASSWORD", "API_TOKEN", "MY_SECRET_KEY"):
            assert create[create.index(key) - 1] == "--env"  # the name, no value
    assert_nothing_leaked(run_setup, run_setup.outcome(label, result), tmp_path)
    assert containers_mounting(run_setup.out_dir) == []


@pytest.mark.parametrize(
    ("signum", "code"),
    [
        pytest.param(None, 0, id="completed"),
        pytest.param(signal.SIGTERM, 143, id="sigterm-mid-run"),
    ],
)
def test_values_reach_the_container_only_through_its_environment(
    signum: int | None,
    code: int,
    built_image: str,
    run_setup: RunSetup,
    tmp_path: Path,
) -> None:
    held = [*run_setup.common, "--debug", "--topic", "Held"]
    with (
        numbering_lock(run_setup.out_dir) as lock,
        started(built_image, run_setup.out_dir, *held, env=run_setup.env) as child,
    ):
        info = wait_until_running(run_setup.out_dir)
        if signum is None:
            fcntl.flock(lock, fcntl.LOCK_UN)
        else:
            child.send_signal(signum)
        out, err = child.communicate(timeout=60)

    assert child.returncode == code, err
    container_env = info["Config"]["Env"]
    values = run_setup.secrets.file_values
    for key, value in values.items():
        assert f"{key}={value}" in container_env  # quotes gone, value whole
    assert f"API_TOKEN={run_setup.secrets.flag_value}" in container_env
    assert f"MY_SECRET_KEY={run_setup.secrets.caller_value}" in container_env
    assert "--env OPENAI_API_KEY" in err  # the debug log shows names only
    assert_nothing_leaked(run_setup, Outcome(f"held-{code}", code, out, err), tmp_path)
    assert containers_mounting(run_setup.out_dir) == []


# --- build_docker.py -------------------------------------------------------------


def copy_project(root: Path) -> Path:
    root.mkdir(parents=True)
    for name in BUILD_FILES:
        shutil.copy2(PROJECT_DIR / name, root / name)
    for name in BUILD_DIRS:
        shutil.copytree(
            PROJECT_DIR / name,
            root / name,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
    return root


def fake_trivy_path(directory: Path) -> str:
    bin_dir = bin_dir_with(directory, python3=sys.executable)
    install_fake_trivy(bin_dir)
    return f"{bin_dir}{os.pathsep}{os.environ['PATH']}"


@dataclass
class SecretBuild:
    secrets: Secrets
    root: Path  # everything of the build: project copy, reports, logs
    env_file: Path  # the project's .env: in the build context's folder
    reference: str
    outcome: Outcome


@pytest.fixture(scope="module")
def secret_build(
    engine: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SecretBuild]:
    """A --ci-mode --debug --sarif build of the real Dockerfile, from a project
    copy whose .env holds the secrets, with findings (exit 7 after all steps)."""
    root = tmp_path_factory.mktemp("secret-build")
    project = copy_project(root / "project")
    found = Secrets(f"rel{secrets.token_hex(8)}")
    env_file = found.env_file(project / ".env")
    reports = root / "reports"
    reference = f"{TEST_IMAGE}:secrets-{token()}"
    env = child_env(
        PATH=fake_trivy_path(root / "bin"),
        GITHUB_STEP_SUMMARY=str(reports / "step-summary.md"),
        **trivy_env(findings=FINDINGS_REPORT),
    )
    reports.mkdir()
    result = run_py(
        project / "build_docker.py", *image_args(reference),
        "--base-image", BASE_IMAGE, "--ci-mode", "--debug", "--sarif",
        "--report-dir", str(reports), env=env,
    )  # fmt: skip
    outcome = Outcome("ci-build", result.returncode, result.stdout, result.stderr)
    keep_logs(root / "logs", outcome)
    yield SecretBuild(found, root, env_file, reference, outcome)
    docker("image", "rm", "--force", reference, check=False)


def test_build_output_logs_reports_and_summary_hold_no_secret(
    secret_build: SecretBuild,
) -> None:
    outcome = secret_build.outcome
    assert outcome.code == 7, outcome.stderr[-3000:]  # findings, --ci-mode
    assert "[SUCCESS] smoke test passed" in outcome.stderr
    assert "no secrets found in env, labels and command" in outcome.stderr
    reports = secret_build.root / "reports"
    assert {p.name for p in reports.iterdir()} >= {
        "trivy-report.json", "trivy-report.sarif", "image-info.json", "step-summary.md",
    }  # fmt: skip
    marker = secret_build.secrets.marker
    assert marker not in outcome.stdout + outcome.stderr
    assert files_holding(secret_build.root, marker, skip=(secret_build.env_file,)) == []


def test_built_image_layers_hold_no_env_file_and_no_secret(
    secret_build: SecretBuild,
) -> None:
    """docker save: every layer as built, files deleted in later layers included."""
    marker = secret_build.secrets.marker.encode()
    saved = subprocess.Popen(
        ["docker", "image", "save", secret_build.reference], stdout=subprocess.PIPE
    )
    assert saved.stdout is not None
    layers = 0
    leaks: list[str] = []
    with tarfile.open(fileobj=saved.stdout, mode="r|") as archive:
        for member in archive:
            blob = archive.extractfile(member)
            data = blob.read() if blob is not None else b""
            if marker in data or marker.decode() in member.name:
                leaks.append(member.name)
            if member.name.endswith("layer.tar"):
                layers += 1
                leaks += [
                    f"{member.name}:{name}"
                    for name in tar_names(data)
                    if _is_env_file(name)
                ]
    assert saved.wait() == 0
    assert layers >= 3
    assert leaks == []


def tar_names(data: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        return archive.getnames()


def _is_env_file(name: str) -> bool:
    base = Path(name).name
    return base == ".env" or (base.startswith(".env") and base != ".env.example")


def test_built_image_filesystem_has_no_env_file(secret_build: SecretBuild) -> None:
    """docker create + docker export: the filesystem a container would see."""
    container = docker("container", "create", secret_build.reference).stdout.strip()
    try:
        exported = subprocess.run(
            ["docker", "container", "export", container],
            capture_output=True,
            check=True,
        ).stdout
    finally:
        docker("container", "rm", "--force", container, check=False)
    names = tar_names(exported)

    assert "app/workshop_builder/cli.py" in names  # the listing is the real one
    assert [n for n in names if _is_env_file(n)] == []
    assert secret_build.secrets.marker.encode() not in exported


def test_built_image_history_labels_and_env_hold_no_secret(
    secret_build: SecretBuild,
) -> None:
    info = json.loads(docker("image", "inspect", secret_build.reference).stdout)[0]
    history = docker(
        "image", "history", "--no-trunc", "--format", "{{json .}}",
        secret_build.reference,
    ).stdout  # fmt: skip
    config = info["Config"]
    marker = secret_build.secrets.marker

    assert config["Labels"]["org.workshop-builder.built-by"] == "build_docker.py"
    assert "WORKSHOPS_BASE_DIR=/workshops" in config["Env"]
    assert len(history.splitlines()) >= 10
    for place, text in (
        ("history", history),
        ("labels", json.dumps(config["Labels"])),
        ("env", json.dumps(config["Env"])),
        ("entrypoint and cmd", json.dumps([config["Entrypoint"], config["Cmd"]])),
    ):
        assert marker not in text, f"the image's {place} hold a secret"


@pytest.fixture
def leaky_image(
    fixture_secrets: Secrets, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """An image with the secrets baked into a label, the env and a layer.

    Its build context lies outside the test's folder, which is searched.
    """
    values = fixture_secrets.file_values
    context = tmp_path_factory.mktemp("leaky")
    mark = f"rel-leak-{token()}"
    (context / "Dockerfile").write_text(
        f"FROM {BASE_IMAGE}\n"
        f'LABEL reliability.marker={mark} note="{values["SESSION_SECRET"]}"\n'
        "ARG DB_PASSWORD\n"
        'RUN test -n "$DB_PASSWORD"\n'
        f"ENV GITHUB_TOKEN={values['GITHUB_TOKEN']}\n"
    )
    reference = f"{TEST_IMAGE}:leaky-{token()}"
    subprocess.run(
        ["docker", "build", "--quiet", "--tag", reference,
         "--build-arg", f"DB_PASSWORD={values['DB_PASSWORD']}", str(context)],
        capture_output=True,
        check=True,
        env={**os.environ, "DOCKER_BUILDKIT": "0"},
    )  # fmt: skip
    yield reference
    docker("image", "rm", "--force", reference, check=False)
    for image in images_labelled(f"reliability.marker={mark}"):
        docker("image", "rm", "--force", image, check=False)


def test_leak_guard_names_places_never_values(
    leaky_image: str, fixture_secrets: Secrets, tmp_path: Path
) -> None:
    env_file = fixture_secrets.env_file(tmp_path / "ci.env")
    reports = tmp_path / "reports"
    reports.mkdir()
    env = child_env(
        PATH=fake_trivy_path(tmp_path / "bin"),
        GITHUB_STEP_SUMMARY=str(reports / "step-summary.md"),
    )

    result = run_py(
        BUILD, *image_args(leaky_image), "--scan-only", "--ci-mode", "--debug",
        "--env-file", str(env_file), "--report-dir", str(reports), env=env,
    )  # fmt: skip

    assert result.returncode == 9, result.stderr[-3000:]
    err = result.stderr
    assert "the value of ci.env key SESSION_SECRET is in label note" in err
    assert "the value of ci.env key GITHUB_TOKEN is in env GITHUB_TOKEN" in err
    assert "the value of ci.env key DB_PASSWORD is in history layer " in err
    assert "::error::secret leak: " in result.stdout
    outcome = Outcome("leak", result.returncode, result.stdout, err)
    keep_logs(tmp_path / "logs", outcome)
    marker = fixture_secrets.marker
    assert marker not in result.stdout + err
    assert files_holding(tmp_path, marker, skip=(env_file,)) == []


@pytest.mark.parametrize(
    ("label", "dockerfile", "code"),
    [
        pytest.param(
            "build-failure",
            "RUN echo 'reliability: failing on purpose' >&2 && exit 3",
            5,
            id="build-failure",
        ),
        pytest.param("daemon-down", None, 3, id="daemon-down"),
    ],
)
def test_failing_build_leaks_no_secret(
    label: str,
    dockerfile: str | None,
    code: int,
    engine: None,
    fixture_secrets: Secrets,
    tmp_path: Path,
) -> None:
    project = copy_project(tmp_path / "project")
    env_file = fixture_secrets.env_file(project / ".env")
    mark = f"rel-{token()}"
    if dockerfile is not None:
        (project / "Dockerfile").write_text(
            "ARG BASE_IMAGE=python:3.12-slim\nFROM ${BASE_IMAGE} AS production\n"
            f"LABEL reliability.marker={mark}\n{dockerfile}\n"
        )
    extra = {"DOCKER_HOST": dead_docker_host(tmp_path)} if dockerfile is None else {}
    reference = f"{TEST_IMAGE}:secrets-{token()}"
    try:
        result = run_py(
            project / "build_docker.py", *image_args(reference),
            "--base-image", BASE_IMAGE, "--debug", "--no-lint", "--no-scan",
            "--report-dir", str(tmp_path / "reports"), env=child_env(**extra),
        )  # fmt: skip
    finally:
        for image in images_labelled(f"reliability.marker={mark}"):
            docker("image", "rm", "--force", image, check=False)

    assert result.returncode == code, result.stderr[-3000:]
    assert "$ docker " in result.stderr  # --debug shows the commands
    outcome = Outcome(label, result.returncode, result.stdout, result.stderr)
    keep_logs(tmp_path / "logs", outcome)
    marker = fixture_secrets.marker
    assert marker not in result.stdout + result.stderr
    assert files_holding(tmp_path, marker, skip=(env_file,)) == []
