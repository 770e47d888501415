"""lib/scan.py: trivy argv, defensive report parsing, the summary; and the
fake trivy itself, run as a program, behaving the way trivy does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lib import scan
from lib.scan import Finding, Offline, ScanSettings
from tests.fakes import BARE_LIST_REPORT, FAKE_TRIVY, FINDINGS_REPORT

# --- argv ------------------------------------------------------------------------


def test_argv_with_every_option() -> None:
    settings = ScanSettings(
        severities=("MEDIUM", "HIGH"),
        ignore_unfixed=True,
        ignorefile=Path("/p/.trivyignore"),
        timeout_seconds=90,
        offline=Offline(
            skip_db_update=True,
            skip_java_db_update=True,
            offline_scan=True,
            cache_dir="/cache",
        ),
    )

    argv = scan.trivy_argv(
        "trivy", "app:1", settings, fmt="json", output=Path("/r/t.json"), exit_code=10
    )

    assert argv == [
        "trivy", "image",
        "--format", "json",
        "--output", "/r/t.json",
        "--severity", "MEDIUM,HIGH",
        "--exit-code", "10",
        "--ignore-unfixed",
        "--ignorefile", "/p/.trivyignore",
        "--skip-db-update",
        "--skip-java-db-update",
        "--offline-scan",
        "--cache-dir", "/cache",
        "--timeout", "90s",
        "--no-progress",
        "app:1",
    ]  # fmt: skip


def test_argv_defaults_leave_optional_flags_out() -> None:
    argv = scan.trivy_argv(
        "trivy", "app:1", ScanSettings(), fmt="sarif", output=Path("o"), exit_code=None
    )

    assert argv == [
        "trivy", "image", "--format", "sarif", "--output", "o",
        "--severity", "HIGH,CRITICAL", "--timeout", "600s", "--no-progress", "app:1",
    ]  # fmt: skip


def test_findings_exit_code_differs_from_trivys_own_error_exit() -> None:
    assert scan.FINDINGS_EXIT_CODE not in (0, 1)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        pytest.param({}, Offline(), id="nothing-set"),
        pytest.param(
            {"TRIVY_SKIP_DB_UPDATE": "true", "TRIVY_CACHE_DIR": " /c "},
            Offline(skip_db_update=True, cache_dir="/c"),
            id="skip-db-and-cache",
        ),
        pytest.param(
            {"TRIVY_SKIP_JAVA_DB_UPDATE": "1", "TRIVY_OFFLINE_SCAN": "YES"},
            Offline(skip_java_db_update=True, offline_scan=True),
            id="java-db-and-offline-scan",
        ),
        pytest.param(
            {"TRIVY_SKIP_DB_UPDATE": "false", "TRIVY_CACHE_DIR": ""},
            Offline(),
            id="false-and-empty",
        ),
    ],
)
def test_offline_options_come_from_trivys_own_variables(
    env: dict[str, str], expected: Offline
) -> None:
    assert scan.offline_from_env(env) == expected


def test_ignorefile_only_when_present(tmp_path: Path) -> None:
    assert scan.ignorefile_in(tmp_path) is None
    (tmp_path / ".trivyignore").write_text("CVE-1\n")
    assert scan.ignorefile_in(tmp_path) == tmp_path / ".trivyignore"


# --- parsing -----------------------------------------------------------------------


def vuln(vid: str, pkg: str, severity: str = "HIGH", **extra: Any) -> dict[str, Any]:
    return {
        "VulnerabilityID": vid,
        "PkgName": pkg,
        "InstalledVersion": "1.0",
        "Severity": severity,
        **extra,
    }


@pytest.mark.parametrize(
    "data",
    [
        pytest.param({"SchemaVersion": 2}, id="no-results-key"),
        pytest.param({"SchemaVersion": 2, "Results": None}, id="results-null"),
        pytest.param({"SchemaVersion": 2, "Results": []}, id="results-empty"),
        pytest.param(
            {"Results": [{"Target": "img (debian 12)", "Class": "os-pkgs"}]},
            id="vulnerabilities-absent",
        ),
        pytest.param(
            {"Results": [{"Target": "Python", "Vulnerabilities": None}]},
            id="vulnerabilities-null",
        ),
        pytest.param(
            {"Results": [{"Target": "OS Packages", "Class": "license"}]},
            id="license-result-only-target-and-class",
        ),
        pytest.param([], id="old-bare-list-empty"),
        pytest.param({"Results": ["junk", 3, None]}, id="non-object-results"),
    ],
)
def test_reports_without_findings_parse_to_nothing(data: Any) -> None:
    assert scan.parse_report(data) == []


def test_missing_fixed_version_and_title_are_empty_strings() -> None:
    data = {"Results": [{"Target": "t", "Vulnerabilities": [{"VulnerabilityID": "X"}]}]}

    assert scan.parse_report(data) == [Finding("t", "X", "", "", "", "UNKNOWN", "")]


def test_one_id_on_two_packages_is_two_findings_and_duplicates_collapse() -> None:
    data = {
        "Results": [
            {
                "Target": "t",
                "Vulnerabilities": [
                    vuln("CVE-1", "libexpat1"),
                    vuln("CVE-1", "libexpat1-dev"),
                    vuln("CVE-1", "libexpat1"),  # repeated verbatim
                ],
            },
            {"Target": "u", "Vulnerabilities": [vuln("CVE-1", "libexpat1")]},
        ]
    }

    keys = [f.key for f in scan.parse_report(data)]

    assert keys == [
        ("t", "CVE-1", "libexpat1", "1.0"),
        ("t", "CVE-1", "libexpat1-dev", "1.0"),
        ("u", "CVE-1", "libexpat1", "1.0"),
    ]


def test_old_bare_list_form_parses() -> None:
    findings = scan.parse_report(json.loads(BARE_LIST_REPORT.read_text()))

    assert [(f.id, f.package, f.fixed, f.severity) for f in findings] == [
        ("CVE-2022-0100", "zlib1g", "1:1.2.11.dfsg-2+deb11u2", "CRITICAL")
    ]


def test_misconfigurations_and_secrets_count_but_never_carry_the_secret() -> None:
    data = {
        "Results": [
            {
                "Target": "Dockerfile",
                "Class": "config",
                "Misconfigurations": [
                    {"ID": "DS002", "AVDID": "AVD-DS-0002", "Severity": "HIGH",
                     "Title": "Image user should not be 'root'", "Status": "FAIL"},
                    {"ID": "DS026", "AVDID": "AVD-DS-0026", "Severity": "LOW",
                     "Status": "PASS"},
                ],
            },
            {
                "Target": "/app/settings.py",
                "Class": "secret",
                "Secrets": [
                    {"RuleID": "github-pat", "Severity": "CRITICAL", "StartLine": 4,
                     "Title": "GitHub Personal Access Token",
                     "Match": "TOKEN = ghp_************************************"},
                ],
            },
        ]
    }  # fmt: skip

    findings = scan.parse_report(data)

    assert findings == [
        Finding("Dockerfile", "AVD-DS-0002", "", "", "", "HIGH",
                "Image user should not be 'root'"),
        Finding("/app/settings.py:4", "github-pat", "", "", "", "CRITICAL",
                "GitHub Personal Access Token"),
    ]  # fmt: skip
    assert "ghp_" not in repr(findings)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param("a string", id="string"),
        pytest.param(42, id="number"),
        pytest.param({"Results": {"Target": "t"}}, id="results-not-a-list"),
    ],
)
def test_not_a_report_is_an_error(data: Any) -> None:
    with pytest.raises(ValueError):
        scan.parse_report(data)


def test_unreadable_report_is_a_scanner_error(tmp_path: Path) -> None:
    from lib.errors import ExitCode, ToolError

    broken = tmp_path / "r.json"
    broken.write_text("{not json")

    with pytest.raises(ToolError) as raised:
        scan.load_report(broken)
    assert raised.value.exit_code == ExitCode.SCANNER
    assert "not readable JSON" in raised.value.message

    with pytest.raises(ToolError) as raised:
        scan.load_report(tmp_path / "absent.json")
    assert "trivy wrote no report" in raised.value.message


def test_the_findings_report_parses_by_target_id_package_and_version() -> None:
    findings = scan.parse_report(json.loads(FINDINGS_REPORT.read_text()))

    assert len(findings) == 7
    assert scan.counts(findings, ("LOW", "MEDIUM", "HIGH", "CRITICAL")) == {
        "CRITICAL": 1,
        "HIGH": 4,
        "MEDIUM": 1,
        "LOW": 1,
    }


# --- summary -------------------------------------------------------------------------


def test_table_lists_counts_then_most_severe_first() -> None:
    findings = scan.at_severities(
        scan.parse_report(json.loads(FINDINGS_REPORT.read_text())), ("HIGH", "CRITICAL")
    )

    lines = scan.table_lines(findings, ("HIGH", "CRITICAL"))

    assert lines[0] == "by severity: CRITICAL 1, HIGH 4"
    assert lines[1].split() == ["severity", "id", "package", "installed", "fixed"]
    assert [line.split()[:3] for line in lines[2:]] == [
        ["CRITICAL", "CVE-2025-0001", "libssl3"],
        ["HIGH", "CVE-2025-0002", "libc6"],
        ["HIGH", "CVE-2025-0003", "libsqlite3-0"],
        ["HIGH", "CVE-2025-0004", "libexpat1"],
        ["HIGH", "CVE-2025-0004", "libexpat1-dev"],
    ]
    assert lines[3].endswith("no fix yet")


def test_table_says_how_many_more_than_the_top_ones() -> None:
    findings = [
        Finding("t", f"CVE-{n:03}", "p", "1", "2", "HIGH", "") for n in range(13)
    ]

    lines = scan.table_lines(findings, ("HIGH",))

    assert len(lines) == 2 + scan.TOP_FINDINGS + 1
    assert lines[-1] == "... and 3 more in the JSON report"


def test_counts_include_zero_for_requested_severities() -> None:
    assert scan.counts([], ("HIGH", "CRITICAL")) == {"CRITICAL": 0, "HIGH": 0}


def test_markdown_summary_escapes_pipes() -> None:
    finding = Finding("t", "CVE-1", "p", "1", "", "HIGH", "a | b")

    text = scan.summary_markdown([finding], ("HIGH",), Path("/r/t.json"))

    assert "| HIGH | 1 |" in text
    assert "| HIGH | CVE-1 | p | 1 | no fix yet | a \\| b |" in text
    assert text.endswith("Full report: `/r/t.json`")


# --- the fake trivy, as a program ----------------------------------------------


def fake(
    *args: str, env: dict[str, str] | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(FAKE_TRIVY), *args],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", **(env or {})},
        timeout=timeout,
        check=False,
    )


def test_fake_clean_image_writes_schema_2_and_exits_0(tmp_path: Path) -> None:
    out = tmp_path / "r.json"

    done = fake(
        "image", "--format", "json", "--output", str(out), "--exit-code", "10", "a:1"
    )

    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text())
    assert report["SchemaVersion"] == 2
    assert report["ArtifactName"] == "a:1"
    assert all("Vulnerabilities" not in r for r in report["Results"])


def test_fake_filters_like_trivy_and_honours_exit_code(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    ignore = tmp_path / ".trivyignore"
    ignore.write_text("# accepted\nCVE-2025-0004  # expat, not reachable\n")

    done = fake(
        "--cache-dir", str(tmp_path),  # a global flag before the subcommand
        "image", "--format=json", "-o", str(out), "-s", "HIGH,CRITICAL",
        "--exit-code", "10", "--ignore-unfixed", "--ignorefile", str(ignore),
        "--skip-db-update", "--timeout", "5m0s", "a:1",
        env={"FAKE_TRIVY_FINDINGS": str(FINDINGS_REPORT)},
    )  # fmt: skip

    assert done.returncode == 10, done.stderr
    found = scan.load_report(out)
    assert [(f.id, f.package) for f in found] == [
        ("CVE-2025-0001", "libssl3"),
        ("CVE-2025-0003", "libsqlite3-0"),
    ]


def test_fake_sarif_has_trivys_shape(tmp_path: Path) -> None:
    out = tmp_path / "r.sarif"

    done = fake(
        "image", "--format", "sarif", "--output", str(out), "--severity", "CRITICAL",
        "a:1", env={"FAKE_TRIVY_FINDINGS": str(FINDINGS_REPORT)},
    )  # fmt: skip

    assert done.returncode == 0  # no --exit-code: findings do not fail
    sarif = json.loads(out.read_text())
    assert sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    assert run["tool"]["driver"]["name"] == "Trivy"
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["CVE-2025-0001"]
    [result] = run["results"]
    assert result["ruleId"] == "CVE-2025-0001"
    assert result["level"] == "error"
    assert "Installed Version: 3.0.15-1~deb12u1" in result["message"]["text"]
    assert run["tool"]["driver"]["rules"][0]["properties"]["security-severity"] == "9.5"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["image", "--bogus", "a:1"], "unknown flag: --bogus", id="flag"),
        pytest.param(["image", "--format", "xml", "a:1"], '"--format"', id="format"),
        pytest.param(["image", "--severity", "SEVERE", "a:1"], "SEVERE", id="severity"),
        pytest.param(
            ["image", "--timeout", "soon", "a:1"], '"--timeout"', id="timeout"
        ),
        pytest.param(["image"], "requires exactly 1 argument", id="no-image"),
        pytest.param(["scan", "a:1"], 'unknown command "scan"', id="command"),
    ],
)
def test_fake_rejects_what_trivy_rejects(args: list[str], message: str) -> None:
    done = fake(*args)

    assert done.returncode == 1
    assert message in done.stderr


@pytest.mark.parametrize(
    ("mode", "code", "message"),
    [
        pytest.param("db-fail", 1, "failed to download vulnerability DB", id="db-fail"),
        pytest.param("timeout", 1, "context deadline exceeded", id="timeout"),
        pytest.param("crash", 2, "panic: runtime error", id="crash"),
    ],
)
def test_fake_fails_the_ways_trivy_fails(
    mode: str, code: int, message: str, tmp_path: Path
) -> None:
    out = tmp_path / "r.json"

    done = fake(
        "image", "--format", "json", "--output", str(out), "--exit-code", "10", "a:1",
        env={"FAKE_TRIVY_MODE": mode},
    )  # fmt: skip

    assert done.returncode == code
    assert message in done.stderr
    assert not out.exists()


HANG = {"FAKE_TRIVY_MODE": "hang"}


def test_fake_hang_outlives_its_timeout_flag() -> None:
    with pytest.raises(subprocess.TimeoutExpired):
        fake("image", "--timeout", "1s", "a:1", env=HANG, timeout=2)


def test_fake_logs_its_argv(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"

    fake("--version", env={"FAKE_TRIVY_LOG": str(log)})
    fake("image", "--quiet", "a:1", env={"FAKE_TRIVY_LOG": str(log)})

    assert [json.loads(line) for line in log.read_text().splitlines()] == [
        ["--version"],
        ["image", "--quiet", "a:1"],
    ]
