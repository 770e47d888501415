"""The GitHub Actions workflow: its pins, permissions and steps, and actionlint."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from lib.scan import SARIF_REPORT
from tests.conftest import PROJECT_DIR, required_tool, venv_tool

WORKFLOW = PROJECT_DIR / ".github" / "workflows" / "docker.yml"
FULL_SHA_PIN = re.compile(
    r"uses: (?P<action>[\w.-]+/[\w./-]+)@(?P<sha>[0-9a-f]{40}) # v\d+\.\d+\.\d+$"
)
# The trivy releases that carried malware (March 2026).
MALICIOUS_TRIVY = {"0.69.4", "0.69.5", "0.69.6"}


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the bare key `on` as the boolean True.
    found = workflow.get("on", workflow.get(True))
    assert isinstance(found, dict)
    return found


def all_steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def steps_using(workflow: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [
        step
        for step in all_steps(workflow)
        if step.get("uses", "").split("@")[0] == action
    ]


def run_step(workflow: dict[str, Any], name_start: str) -> dict[str, Any]:
    [step] = [s for s in all_steps(workflow) if s["name"].startswith(name_start)]
    return step


def test_name_and_triggers(workflow: dict[str, Any]) -> None:
    assert workflow["name"] == "Docker Build and Security Scan"
    assert set(triggers(workflow)) == {"push", "pull_request"}


def test_every_action_is_pinned_to_a_full_sha_with_its_version() -> None:
    lines = [
        line.strip()
        for line in WORKFLOW.read_text(encoding="utf-8").splitlines()
        if line.strip().startswith(("uses:", "- uses:"))
    ]

    assert len(lines) >= 5
    for line in lines:
        assert FULL_SHA_PIN.fullmatch(line.removeprefix("- ")), line


def test_each_action_has_one_pin(workflow: dict[str, Any]) -> None:
    pins: dict[str, set[str]] = {}
    for step in all_steps(workflow):
        if "uses" in step:
            action, sha = step["uses"].split("@")
            pins.setdefault(action, set()).add(sha)

    assert set(pins) == {
        "actions/checkout",
        "actions/setup-python",
        "actions/cache",
        "github/codeql-action/upload-sarif",
        "actions/upload-artifact",
    }
    assert all(len(shas) == 1 for shas in pins.values()), pins


def test_no_trivy_action_is_used() -> None:
    text = WORKFLOW.read_text(encoding="utf-8")

    assert "aquasecurity/trivy-action" not in text
    assert "aquasecurity/setup-trivy" not in text


def test_least_permissions(workflow: dict[str, Any]) -> None:
    assert workflow["permissions"] == {"contents": "read"}
    writers = {
        name: job["permissions"]
        for name, job in workflow["jobs"].items()
        if any(v == "write" for v in job.get("permissions", {}).values())
    }

    assert writers == {
        "build-and-scan": {"contents": "read", "security-events": "write"}
    }
    scan_job = workflow["jobs"]["build-and-scan"]
    assert any(
        step.get("uses", "").startswith("github/codeql-action/upload-sarif@")
        for step in scan_job["steps"]
    )


def test_concurrency_group_per_workflow_and_ref(workflow: dict[str, Any]) -> None:
    concurrency = workflow["concurrency"]

    assert "${{ github.workflow }}" in concurrency["group"]
    assert "${{ github.ref }}" in concurrency["group"]
    assert concurrency["cancel-in-progress"] is True


def test_checkouts_keep_no_credentials(workflow: dict[str, Any]) -> None:
    checkouts = steps_using(workflow, "actions/checkout")

    assert checkouts
    assert all(step["with"]["persist-credentials"] is False for step in checkouts)


def test_pip_and_trivy_db_are_cached(workflow: dict[str, Any]) -> None:
    pythons = steps_using(workflow, "actions/setup-python")
    [trivy_cache] = steps_using(workflow, "actions/cache")

    assert pythons
    assert all(step["with"]["cache"] == "pip" for step in pythons)
    assert trivy_cache["with"]["path"] == "~/.cache/trivy"
    assert trivy_cache["with"]["key"].startswith("trivy-db-")


def test_trivy_is_a_pinned_release_checked_against_its_sha256(
    workflow: dict[str, Any],
) -> None:
    env = workflow["env"]
    install = run_step(workflow, "Install trivy")["run"]

    assert re.fullmatch(r"\d+\.\d+\.\d+", env["TRIVY_VERSION"])
    assert env["TRIVY_VERSION"] not in MALICIOUS_TRIVY
    assert re.fullmatch(r"[0-9a-f]{64}", env["TRIVY_SHA256"])
    assert "releases/download/v${TRIVY_VERSION}/" in install
    assert '"${TRIVY_SHA256}  $RUNNER_TEMP/$archive" | sha256sum --check' in install
    # The archive is unpacked only after the check passed (set -e in run:).
    assert install.index("sha256sum --check") < install.index("tar -xzf")


def test_build_runs_in_ci_mode_and_reports_are_published(
    workflow: dict[str, Any],
) -> None:
    report_dir = workflow["env"]["REPORT_DIR"]
    build = run_step(workflow, "Build, smoke-test and scan")
    [sarif] = steps_using(workflow, "github/codeql-action/upload-sarif")
    [artifact] = steps_using(workflow, "actions/upload-artifact")

    assert build["run"] == './build_docker.py --ci-mode --report-dir "$REPORT_DIR"'
    # The file build_docker.py writes, by the name it writes it under.
    assert sarif["with"]["sarif_file"] == f"{report_dir}/{SARIF_REPORT}"
    assert sarif["if"].startswith("always()")
    assert f"hashFiles('{report_dir}/{SARIF_REPORT}')" in sarif["if"]
    assert artifact["if"] == "always()"
    assert artifact["with"]["path"] == "${{ env.REPORT_DIR }}/"


def test_lint_job_runs_the_makefile_targets(workflow: dict[str, Any]) -> None:
    runs = [step.get("run") for step in workflow["jobs"]["lint"]["steps"]]

    assert runs[-3:] == ["make install", "make lint", "make test-unit"]


# --- actionlint ------------------------------------------------------------------


def actionlint(*paths: Path) -> subprocess.CompletedProcess[str]:
    shellcheck = venv_tool("shellcheck") or ""
    return subprocess.run(
        [
            required_tool("actionlint"),
            "-oneline",
            "-no-color",
            "-shellcheck",
            shellcheck,
            "-pyflakes",
            "",
            *map(str, paths),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_actionlint_reports_nothing() -> None:
    result = actionlint(WORKFLOW)

    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_actionlint_would_catch_a_broken_workflow(tmp_path: Path) -> None:
    """Proves the linter above is real: a typo in a step reference fails."""
    broken = tmp_path / "docker.yml"
    text = WORKFLOW.read_text(encoding="utf-8")
    broken.write_text(
        text.replace(
            "steps.trivy-db-date.outputs.date", "steps.trivy-db-dat.outputs.date"
        ),
        encoding="utf-8",
    )

    result = actionlint(broken)

    assert result.returncode == 1
    assert 'property "trivy-db-dat" is not defined' in result.stdout
