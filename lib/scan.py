"""The vulnerability scan with trivy: argv, defensive report parsing, summary.

trivy exits 1 on its own errors (no DB, timeout, no such image), so findings
get a different exit code (FINDINGS_EXIT_CODE) and the two are told apart.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from lib import ci, runner
from lib.errors import CommandError, ExitCode, ToolError

FINDINGS_EXIT_CODE = 10
# Most severe first; the order of the summary table.
SEVERITY_ORDER = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")
DEFAULT_SEVERITIES = ("HIGH", "CRITICAL")
DEFAULT_TIMEOUT_SECONDS = 600
# trivy gets --timeout; our watchdog fires this much later, for a trivy that
# hangs past its own timeout.
GRACE_SECONDS = 30.0
TOP_FINDINGS = 10
JSON_REPORT = "trivy-report.json"
SARIF_REPORT = "trivy-report.sarif"
IGNORE_FILE = ".trivyignore"
_TRUE = ("1", "true", "t", "yes", "on")


@dataclass(frozen=True)
class Offline:
    """trivy's offline switches, taken from the environment (see README)."""

    skip_db_update: bool = False
    skip_java_db_update: bool = False
    offline_scan: bool = False
    cache_dir: str | None = None


@dataclass(frozen=True)
class ScanSettings:
    severities: tuple[str, ...] = DEFAULT_SEVERITIES
    ignore_unfixed: bool = False
    ignorefile: Path | None = None
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS
    offline: Offline = field(default_factory=Offline)


@dataclass(frozen=True)
class Finding:
    target: str
    id: str
    package: str
    installed: str
    fixed: str
    severity: str
    title: str

    @property
    def key(self) -> tuple[str, str, str, str]:
        # One ID is often reported once per affected package: never key by ID.
        return (self.target, self.id, self.package, self.installed)


@dataclass(frozen=True)
class ScanResult:
    findings: tuple[Finding, ...]  # at the requested severities
    over_threshold: bool
    report: Path
    sarif: Path | None


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in _TRUE


def offline_from_env(env: Mapping[str, str]) -> Offline:
    """trivy's own variable names, so an existing offline setup keeps working."""
    return Offline(
        skip_db_update=_truthy(env.get("TRIVY_SKIP_DB_UPDATE")),
        skip_java_db_update=_truthy(env.get("TRIVY_SKIP_JAVA_DB_UPDATE")),
        offline_scan=_truthy(env.get("TRIVY_OFFLINE_SCAN")),
        cache_dir=(env.get("TRIVY_CACHE_DIR") or "").strip() or None,
    )


def ignorefile_in(project_dir: Path) -> Path | None:
    path = project_dir / IGNORE_FILE
    return path if path.is_file() else None


def _flag(name: str, value: str | None) -> list[str]:
    return [name, value] if value is not None else []


def _switch(name: str, on: bool) -> list[str]:
    return [name] if on else []


def offline_args(offline: Offline) -> list[str]:
    return [
        *_switch("--skip-db-update", offline.skip_db_update),
        *_switch("--skip-java-db-update", offline.skip_java_db_update),
        *_switch("--offline-scan", offline.offline_scan),
        *_flag("--cache-dir", offline.cache_dir),
    ]


def trivy_argv(
    program: str,
    reference: str,
    settings: ScanSettings,
    *,
    fmt: str,
    output: Path,
    exit_code: int | None,
) -> list[str]:
    ignorefile = settings.ignorefile
    return [
        program, "image",
        "--format", fmt,
        "--output", str(output),
        "--severity", ",".join(settings.severities),
        *_flag("--exit-code", None if exit_code is None else str(exit_code)),
        *_switch("--ignore-unfixed", settings.ignore_unfixed),
        *_flag("--ignorefile", str(ignorefile) if ignorefile else None),
        *offline_args(settings.offline),
        "--timeout", f"{settings.timeout_seconds}s",
        # Not --quiet: it would hide trivy's own error messages too.
        "--no-progress",
        reference,
    ]  # fmt: skip


# --- the report --------------------------------------------------------------------


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _entries(result: Mapping[str, Any], key: str) -> Iterator[Mapping[str, Any]]:
    # Absent when empty (omitempty), null in some versions, a list otherwise.
    value = result.get(key)
    if isinstance(value, list):
        yield from (item for item in value if isinstance(item, Mapping))


def _vulnerability(target: str, item: Mapping[str, Any]) -> Finding:
    return Finding(
        target=target,
        id=_text(item.get("VulnerabilityID")) or "?",
        package=_text(item.get("PkgName") or item.get("PkgID")),
        installed=_text(item.get("InstalledVersion")),
        fixed=_text(item.get("FixedVersion")),
        severity=_text(item.get("Severity")).upper() or "UNKNOWN",
        title=_text(item.get("Title")),
    )


def _misconfiguration(target: str, item: Mapping[str, Any]) -> Finding | None:
    if _text(item.get("Status")).upper() not in ("", "FAIL"):
        return None  # PASS/EXCEPTION entries appear with --include-non-failures
    return Finding(
        target=target,
        id=_text(item.get("AVDID") or item.get("ID")) or "?",
        package="",
        installed="",
        fixed="",
        severity=_text(item.get("Severity")).upper() or "UNKNOWN",
        title=_text(item.get("Title")),
    )


def _secret(target: str, item: Mapping[str, Any]) -> Finding:
    # Never "Match" or "Code": they hold the secret itself.
    line = item.get("StartLine")
    return Finding(
        target=f"{target}:{line}" if line else target,
        id=_text(item.get("RuleID")) or "?",
        package="",
        installed="",
        fixed="",
        severity=_text(item.get("Severity")).upper() or "UNKNOWN",
        title=_text(item.get("Title")),
    )


def _findings_of(result: Mapping[str, Any]) -> Iterator[Finding]:
    target = _text(result.get("Target"))
    for item in _entries(result, "Vulnerabilities"):
        yield _vulnerability(target, item)
    for item in _entries(result, "Misconfigurations"):
        finding = _misconfiguration(target, item)
        if finding is not None:
            yield finding
    for item in _entries(result, "Secrets"):
        yield _secret(target, item)


def parse_report(data: Any) -> list[Finding]:
    """Findings of a trivy JSON report (SchemaVersion 2, or the old bare list)."""
    if isinstance(data, Mapping):
        results = data.get("Results")
    elif isinstance(data, list):
        results = data  # trivy before 0.20 wrote the results list alone
    else:
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    if results is None:
        return []
    if not isinstance(results, list):
        raise ValueError("'Results' is not a list")
    unique: dict[tuple[str, str, str, str], Finding] = {}
    for result in results:
        if isinstance(result, Mapping):
            for finding in _findings_of(result):
                unique.setdefault(finding.key, finding)
    return list(unique.values())


def load_report(path: Path) -> list[Finding]:
    try:
        return parse_report(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        problem = "trivy wrote no report"
    except (OSError, ValueError) as error:
        problem = f"trivy's report is not readable JSON ({error})"
    raise ToolError(
        f"{problem}: {path}",
        hint="rerun with --debug to see the trivy command and its output",
        exit_code=ExitCode.SCANNER,
    )


# --- the summary -----------------------------------------------------------------


def _rank(severity: str) -> int:
    return SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else 99


def at_severities(
    findings: Iterable[Finding], severities: Iterable[str]
) -> list[Finding]:
    wanted = set(severities)
    return [f for f in findings if f.severity in wanted]


def counts(findings: Iterable[Finding], severities: Iterable[str]) -> dict[str, int]:
    """Count per requested severity, most severe first, zeros included."""
    counted = Counter(f.severity for f in findings)
    return {s: counted.get(s, 0) for s in sorted(severities, key=_rank)}


def top(findings: Iterable[Finding], limit: int = TOP_FINDINGS) -> list[Finding]:
    ordered = sorted(findings, key=lambda f: (_rank(f.severity), f.id, f.package))
    return ordered[:limit]


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def table_lines(findings: Iterable[Finding], severities: Iterable[str]) -> list[str]:
    """The plain-text summary for the log: counts, then the top findings."""
    listed = list(findings)
    tally = counts(listed, severities)
    lines = ["by severity: " + ", ".join(f"{s} {n}" for s, n in tally.items())]
    shown = top(listed)
    if shown:
        lines.append(
            f"{'severity':<9} {'id':<20} {'package':<24} {'installed':<18} fixed"
        )
    for f in shown:
        lines.append(
            f"{f.severity:<9} {_short(f.id, 20):<20} {_short(f.package, 24):<24} "
            f"{_short(f.installed, 18):<18} {_short(f.fixed, 30) or 'no fix yet'}"
        )
    if len(listed) > len(shown):
        lines.append(f"... and {len(listed) - len(shown)} more in the JSON report")
    return lines


def summary_markdown(
    findings: Iterable[Finding], severities: Iterable[str], report: Path
) -> str:
    listed = list(findings)
    tally = counts(listed, severities)
    rows = [
        (f.severity, f.id, f.package, f.installed, f.fixed or "no fix yet", f.title)
        for f in top(listed)
    ]
    parts = [
        "### Vulnerability scan (trivy)",
        ci.table(("severity", "count"), list(tally.items())),
    ]
    if rows:
        header = ("severity", "id", "package", "installed", "fixed", "title")
        parts.append(ci.table(header, rows))
    parts.append(f"Full report: `{report}`")
    return "\n\n".join(parts)


# --- running trivy -----------------------------------------------------------------


def _run_trivy(argv: list[str], settings: ScanSettings, *, ok: tuple[int, ...]) -> int:
    result = runner.run(
        argv,
        check=False,
        stream=True,
        timeout=settings.timeout_seconds + GRACE_SECONDS,
        failure_code=ExitCode.SCANNER,
    )
    if result.returncode not in ok:
        raise CommandError(
            runner.shown(argv),
            result.returncode,
            result.stderr or result.stdout,
            reason=f"trivy failed with exit code {result.returncode}, not findings",
            exit_code=ExitCode.SCANNER,
        )
    return result.returncode


def scan(
    program: str,
    reference: str,
    settings: ScanSettings,
    report_dir: Path,
    *,
    sarif: bool,
) -> ScanResult:
    """Scan once for the JSON report (the gate); once more for SARIF if asked."""
    report = report_dir / JSON_REPORT
    report.unlink(missing_ok=True)  # never parse a stale report of an older run
    argv = trivy_argv(
        program, reference, settings,
        fmt="json", output=report, exit_code=FINDINGS_EXIT_CODE,
    )  # fmt: skip
    code = _run_trivy(argv, settings, ok=(0, FINDINGS_EXIT_CODE))
    findings = at_severities(load_report(report), settings.severities)
    return ScanResult(
        findings=tuple(findings),
        over_threshold=code == FINDINGS_EXIT_CODE or bool(findings),
        report=report,
        sarif=_write_sarif(program, reference, settings, report_dir) if sarif else None,
    )


def _write_sarif(
    program: str, reference: str, settings: ScanSettings, report_dir: Path
) -> Path:
    # The first run has just refreshed the DBs; this one need not try again.
    offline = replace(settings.offline, skip_db_update=True, skip_java_db_update=True)
    path = report_dir / SARIF_REPORT
    argv = trivy_argv(
        program, reference, replace(settings, offline=offline),
        fmt="sarif", output=path, exit_code=None,
    )  # fmt: skip
    _run_trivy(argv, settings, ok=(0,))
    return path
