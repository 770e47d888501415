"""Lint the Dockerfile with hadolint; its JSON report decides, not its exit code."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lib import runner
from lib.errors import CommandError, ExitCode, ToolError
from lib.validate import LINT_LEVELS as LEVELS

LINT_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class LintFinding:
    code: str
    level: str
    line: int
    message: str
    file: str


@dataclass(frozen=True)
class LintResult:
    findings: tuple[LintFinding, ...]
    threshold: str

    @property
    def failing(self) -> tuple[LintFinding, ...]:
        return tuple(f for f in self.findings if at_or_above(f.level, self.threshold))


def at_or_above(level: str, threshold: str) -> bool:
    # A level this code does not know counts as failing: better loud than lost.
    if level not in LEVELS:
        return True
    return LEVELS.index(level) <= LEVELS.index(threshold)


def hadolint_argv(program: str, dockerfile: Path) -> list[str]:
    # --no-fail: hadolint exits 0 whatever it finds, so a non-zero exit means
    # hadolint itself failed; the threshold is applied to the parsed report.
    return [program, "--format", "json", "--no-fail", str(dockerfile)]


def _finding(item: Any) -> LintFinding:
    if not isinstance(item, dict):
        raise ValueError(f"unexpected entry {item!r}")
    return LintFinding(
        code=str(item.get("code") or "?"),
        level=str(item.get("level") or "error").lower(),
        line=int(item.get("line") or 0),
        message=str(item.get("message") or ""),
        file=str(item.get("file") or ""),
    )


def parse_report(text: str) -> list[LintFinding]:
    """hadolint --format json: a list of findings, `[]` when clean."""
    try:
        data = json.loads(text or "[]")
        if not isinstance(data, list):
            raise ValueError("not a list")
        return [_finding(item) for item in data]
    except (ValueError, TypeError) as error:
        raise ToolError(
            f"hadolint printed something that is not its JSON report ({error})",
            hint="check the hadolint install: hadolint --version",
            exit_code=ExitCode.LINT,
        ) from None


def lint(program: str, dockerfile: Path, *, threshold: str) -> LintResult:
    argv = hadolint_argv(program, dockerfile)
    result = runner.run(
        argv, check=False, timeout=LINT_TIMEOUT_SECONDS, failure_code=ExitCode.LINT
    )
    if result.returncode != 0:
        raise CommandError(
            runner.shown(argv),
            result.returncode,
            result.stderr or result.stdout,
            exit_code=ExitCode.LINT,
        )
    findings = sorted(parse_report(result.stdout), key=lambda f: (f.line, f.code))
    return LintResult(tuple(findings), threshold)


def describe(finding: LintFinding, dockerfile_name: str) -> str:
    return (
        f"{dockerfile_name}:{finding.line} {finding.code} "
        f"({finding.level}) {finding.message}"
    )
