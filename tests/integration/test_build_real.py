"""build_docker.py on a real Docker engine: --ci-mode end to end, --scan-only
with a real SBOM, the secret-leak guard, scoped cleanup and Ctrl-C.

trivy cannot be installed here, so the fake in tests/fakes stands in for it;
hadolint, syft and docker are real.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BASE_IMAGE, PROJECT_DIR
from tests.fakes import FINDINGS_REPORT, install_fake_trivy, path_with, trivy_env
from tests.integration.conftest import TEST_IMAGE, docker, inspect, script

pytestmark = pytest.mark.engine

LABEL = "org.workshop-builder.built-by=build_docker.py"


@pytest.fixture
def fake_trivy_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a child process with the fake trivy on PATH."""
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    install_fake_trivy(bin_dir)
    env = {**os.environ, "PATH": path_with(bin_dir)}
    env.pop("GITHUB_STEP_SUMMARY", None)
    return env


@pytest.fixture
def unique_tag() -> Iterator[str]:
    """A tag of TEST_IMAGE for one test; the image is removed afterwards."""
    tag = f"t{secrets.token_hex(4)}"
    yield tag
    docker("image", "rm", "--force", f"{TEST_IMAGE}:{tag}", check=False)


def image_args(reference: str) -> list[str]:
    name, tag = reference.split(":")
    return ["--image", name, "--tag", tag]


def exists(kind: str, ref: str) -> bool:
    return docker(kind, "inspect", ref, check=False).returncode == 0


def build_tiny_image(tmp_path: Path, dockerfile: str, *build_args: str) -> str:
    """An image from a Dockerfile written for the test (legacy builder)."""
    context = tmp_path / f"ctx-{secrets.token_hex(3)}"
    context.mkdir()
    (context / "Dockerfile").write_text(dockerfile)
    done = subprocess.run(
        ["docker", "build", "--quiet", *build_args, str(context)],
        capture_output=True,
        text=True,
        env={**os.environ, "DOCKER_BUILDKIT": "0"},
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]  # sha256:...


def test_ci_mode_build_with_findings(
    unique_tag: str, fake_trivy_env: dict[str, str], tmp_path: Path
) -> None:
    """Lint, build, smoke test on the engine; findings fail CI after info."""
    reports = tmp_path / "reports"
    summary = tmp_path / "step-summary.md"
    env = {
        **fake_trivy_env,
        **trivy_env(findings=FINDINGS_REPORT),
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    reference = f"{TEST_IMAGE}:{unique_tag}"

    result = script(
        "build_docker.py", *image_args(reference), "--base-image", BASE_IMAGE,
        "--ci-mode", "--report-dir", str(reports), env=env,
    )  # fmt: skip

    assert result.returncode == 7, result.stderr[-3000:]
    assert "[SUCCESS] hadolint: no findings in Dockerfile" in result.stderr
    assert "[SUCCESS] smoke test passed" in result.stderr
    assert "::error::trivy: 5 finding(s) at HIGH,CRITICAL" in result.stdout
    info = inspect("image", reference)
    written = json.loads((reports / "image-info.json").read_text())
    assert written["id"] == info["Id"]
    assert written["size_bytes"] == info["Size"]
    assert written["labels"] == info["Config"]["Labels"]
    assert written["user"] == "1000:1000"
    assert (
        json.loads((reports / "trivy-report.sarif").read_text())["version"] == "2.1.0"
    )
    text = summary.read_text()
    assert f"## build_docker.py: `{reference}`" in text
    assert "| lint | passed | no findings |" in text
    assert "| smoke test | passed |  |" in text
    assert "| scan | failed |" in text


def test_scan_only_writes_sbom_and_info_and_reads_history(
    built_image: str, fake_trivy_env: dict[str, str], tmp_path: Path
) -> None:
    """Our own image passes the leak guard even with .env secrets to look for."""
    reports = tmp_path / "reports"
    env_file = tmp_path / ".env"
    env_file.write_text("OPENAI_API_KEY=sk-proj-notinthisimage0123456789\n")

    result = script(
        "build_docker.py", *image_args(built_image), "--scan-only", "--sbom",
        "--report-dir", str(reports), "--env-file", str(env_file),
        env=fake_trivy_env,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr[-3000:]
    assert "no secrets found in env, labels, command and history" in result.stderr
    sbom = json.loads((reports / "sbom.cdx.json").read_text())
    assert sbom["bomFormat"] == "CycloneDX"
    assert sbom["metadata"]["component"]["name"] == TEST_IMAGE
    names = {component.get("name") for component in sbom["components"]}
    assert {"click", "python-dotenv"} <= names  # the venv the builder stage made
    written = json.loads((reports / "image-info.json").read_text())
    assert written["id"] == inspect("image", built_image)["Id"]
    assert "sk-proj-notinthisimage" not in result.stdout + result.stderr


def test_leaked_secrets_fail_with_the_place_never_the_value(
    engine: None, fake_trivy_env: dict[str, str], tmp_path: Path
) -> None:
    password = f"pw-{secrets.token_hex(8)}"
    token = "ghp_" + secrets.token_hex(18)
    env_file = tmp_path / ".env"
    env_file.write_text(f"DB_PASSWORD={password}\n")
    image_id = build_tiny_image(
        tmp_path,
        f"FROM {BASE_IMAGE}\n"
        "ARG DB_PASSWORD\n"
        'RUN test -n "$DB_PASSWORD"\n'
        f"ENV GH_TOKEN={token}\n",
        "--build-arg", f"DB_PASSWORD={password}",
    )  # fmt: skip
    reference = f"{TEST_IMAGE}:leak{secrets.token_hex(4)}"
    docker("image", "tag", image_id, reference)
    try:
        result = script(
            "build_docker.py", *image_args(reference), "--scan-only",
            "--env-file", str(env_file), "--report-dir", str(tmp_path / "r"),
            env=fake_trivy_env,
        )  # fmt: skip
    finally:
        docker("image", "rm", "--force", reference, image_id, check=False)

    assert result.returncode == 9, result.stderr[-3000:]
    err = result.stderr
    assert f"[ERROR] secret leak: 3 secret(s) found in image {reference}" in err
    assert "the value of .env key DB_PASSWORD is in history layer 3" in err
    assert "a credential-looking string is in env GH_TOKEN" in err
    assert "a credential-looking string is in history layer 4" in err
    everything = (
        result.stdout + err + (tmp_path / "r").joinpath("trivy-report.json").read_text()
    )
    assert password not in everything
    assert token not in everything


def test_cleanup_removes_only_this_tools_dangling_images(
    unique_tag: str, tmp_path: Path
) -> None:
    marker = secrets.token_hex(4)
    dangling_tag = f"workshop-builder-dangling-{marker}:x"

    def dangling_image(*labels: str) -> str:
        first = build_tiny_image(
            tmp_path, f"FROM {BASE_IMAGE}\nLABEL marker={marker}-{len(labels)}\n",
            "--tag", dangling_tag, *labels,
        )  # fmt: skip
        # Building the tag again leaves the first image dangling.
        build_tiny_image(tmp_path, f"FROM {BASE_IMAGE}\nLABEL again={marker}\n",
                         "--tag", dangling_tag)  # fmt: skip
        return first

    foreign = dangling_image()
    ours = dangling_image("--label", LABEL)
    try:
        result = script(
            "build_docker.py", "--image", TEST_IMAGE, "--tag", unique_tag,
            "--base-image", BASE_IMAGE, "--no-lint", "--no-test", "--no-scan",
            "--report-dir", str(tmp_path / "r"),
        )  # fmt: skip
        survived = exists("image", foreign)
        removed = not exists("image", ours)
    finally:
        docker("image", "rm", "--force", foreign, ours, dangling_tag, check=False)

    assert result.returncode == 0, result.stderr[-3000:]
    assert survived, "cleanup removed a dangling image this tool did not build"
    assert removed, "cleanup left this tool's dangling image"
    assert "[SUCCESS] removed " in result.stderr


def _start_events(reference: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            "docker", "events",
            "--filter", "type=container",
            "--filter", "event=start",
            "--filter", f"image={reference}",
            "--format", "{{.Actor.Attributes.name}}",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def test_ctrl_c_during_the_smoke_test_removes_its_container(
    built_image: str, unique_tag: str, tmp_path: Path
) -> None:
    """A paused smoke container cannot exit by itself: only the cleanup removes it."""
    reference = f"{TEST_IMAGE}:{unique_tag}"
    events = _start_events(reference)
    child = subprocess.Popen(
        [
            sys.executable, str(PROJECT_DIR / "build_docker.py"),
            "--image", TEST_IMAGE, "--tag", unique_tag, "--base-image", BASE_IMAGE,
            "--no-lint", "--no-scan", "--report-dir", str(tmp_path / "r"),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    paused = None
    try:
        assert events.stdout is not None
        for _attempt in range(2):  # --help, then the health check
            name = events.stdout.readline().strip()
            if docker("pause", name, check=False).returncode == 0:
                paused = name
                break
        assert paused, "no smoke container could be paused in time"
        child.send_signal(signal.SIGINT)
        _out, err = child.communicate(timeout=60)
        left_behind = exists("container", paused)
    finally:
        events.kill()
        events.wait()
        if child.poll() is None:
            child.kill()
        if paused and exists("container", paused):
            docker("container", "rm", "--force", paused, check=False)

    assert child.returncode == 130, err[-3000:]
    assert "[ERROR] interrupted" in err
    assert not left_behind, f"smoke container {paused} was left behind"
