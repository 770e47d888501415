"""lib/ci.py: GitHub annotation lines and the Markdown step summary."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from lib import ci, masking


@pytest.mark.parametrize(
    ("args", "kwargs", "line"),
    [
        pytest.param(("error", "boom"), {}, "::error::boom", id="plain"),
        pytest.param(
            ("warning", "line one\nline two 100%"),
            {},
            "::warning::line one%0Aline two 100%25",
            id="newline-and-percent",
        ),
        pytest.param(
            ("warning", "DL3008 pin versions"),
            {"file": "Dockerfile", "line": 14},
            "::warning file=Dockerfile,line=14::DL3008 pin versions",
            id="file-and-line",
        ),
        pytest.param(
            ("error", "x"),
            {"title": "scan: a, b"},
            "::error title=scan%3A a%2C b::x",
            id="property-escaping",
        ),
    ],
)
def test_annotation_lines(
    args: tuple[str, str], kwargs: dict[str, object], line: str
) -> None:
    assert ci.annotation(*args, **kwargs) == line


def test_annotation_masks_secrets() -> None:
    masking.register(["hunter2-secret"])

    assert ci.annotation("error", "token hunter2-secret leaked") == (
        "::error::token *** leaked"
    )


def test_handler_turns_warnings_and_errors_into_annotations(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logger = logging.getLogger("test-ci-annotations")
    logger.handlers[:] = []
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    ci.enable_annotations(logger)
    ci.enable_annotations(logger)  # twice: still one handler

    logger.info("just info")
    logger.warning("careful")
    logger.warning("pinned", extra={ci.FILE_KEY: "Dockerfile", ci.LINE_KEY: 3})
    logger.error("failed\nbadly")

    assert capsys.readouterr().out.splitlines() == [
        "::warning::careful",
        "::warning file=Dockerfile,line=3::pinned",
        "::error::failed%0Abadly",
    ]


def test_step_summary_is_appended_when_the_variable_is_set(tmp_path: Path) -> None:
    record = ci.RunRecord(title="build_docker.py: `app:1`")
    record.record("preflight", "passed")
    record.record("scan", "failed", "trivy: 2 finding(s) | more")
    record.add_section("### Image\n\nsome text")
    summary = tmp_path / "summary.md"
    summary.write_text("# before\n")

    written = ci.write_step_summary(record, {"GITHUB_STEP_SUMMARY": str(summary)})

    assert written == summary
    assert summary.read_text() == (
        "# before\n"
        "## build_docker.py: `app:1`\n\n"
        "| step | result | note |\n"
        "|---|---|---|\n"
        "| preflight | passed |  |\n"
        "| scan | failed | trivy: 2 finding(s) \\| more |\n\n"
        "### Image\n\nsome text\n"
    )


def test_no_step_summary_without_the_variable(tmp_path: Path) -> None:
    record = ci.RunRecord(title="t")

    assert ci.write_step_summary(record, {}) is None
    assert ci.write_step_summary(record, {"GITHUB_STEP_SUMMARY": " "}) is None
