"""The steps of one build_docker.py run, in order, each visible in the log."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lib import TOOL_VERSION
from lib.build_cli import PROG
from lib.errors import ExitCode, ToolError

if TYPE_CHECKING:
    from lib.build import BuildConfig, Outcome, Progress, Provenance
    from lib.ci import RunRecord
    from lib.engine import Engine
    from lib.lint import LintResult
    from lib.scan import ScanSettings

PROJECT_DIR = Path(__file__).resolve().parent.parent
FULL_BUILD_STEPS = 9
SCAN_ONLY_STEPS = 5


@dataclass(frozen=True)
class Options:
    image: str
    tag: str
    target: str
    base_image: str | None
    build_args: tuple[tuple[str, str], ...]
    no_cache: bool
    pull: bool
    no_lint: bool
    lint_threshold: str
    no_test: bool
    no_scan: bool
    severities: tuple[str, ...]
    ignore_unfixed: bool
    scan_timeout: int
    sarif: bool
    sbom: bool
    report_dir: Path | None
    env_file: Path | None
    no_cleanup: bool
    scan_only: bool
    ci_mode: bool
    debug: bool

    @classmethod
    def from_cli(cls, values: dict[str, Any]) -> Options:
        """The parsed flags; paths arrive as text (no pathlib import for --help)."""
        converted: dict[str, Any] = dict(values)
        for key in ("report_dir", "env_file"):
            if converted[key] is not None:
                converted[key] = Path(converted[key])
        return cls(**converted)


# --- one run --------------------------------------------------------------------


@dataclass
class Run:
    """What the steps of one run share."""

    opts: Options
    config: BuildConfig
    progress: Progress
    record: RunRecord
    report_dir: Path = Path()  # set by preflight
    engine: Engine | None = None
    provenance: Provenance | None = None
    secrets: dict[str, str] = field(default_factory=dict)
    trivy: str | None = None
    syft: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    build_args: dict[str, str] = field(default_factory=dict)
    deferred: ToolError | None = None  # a --ci-mode gate raised after the last step

    @property
    def reference(self) -> str:
        return self.config.reference


def build(opts: Options) -> int:
    from lib import build as steps
    from lib import ci, log

    log.setup(debug=opts.debug, ci=opts.ci_mode)
    if opts.ci_mode:
        ci.enable_annotations(log.logger)
    config = steps.BuildConfig(
        project_dir=PROJECT_DIR, image=opts.image, tag=opts.tag,
        target=opts.target, base_image=opts.base_image,
        build_args=dict(opts.build_args), no_cache=opts.no_cache, pull=opts.pull,
    )  # fmt: skip
    record = ci.RunRecord(title=f"{PROG}: `{config.reference}`")
    total = SCAN_ONLY_STEPS if opts.scan_only else FULL_BUILD_STEPS
    run = Run(opts, config, steps.Progress(total, record), record)
    try:
        if opts.scan_only:
            scan_only(run)
        else:
            full_build(run)
    finally:
        if opts.ci_mode:
            ci.write_step_summary(record, os.environ)
    return ExitCode.OK


def full_build(run: Run) -> None:
    from lib.log import success

    preflight(run)
    lint_step(run)
    build_step(run)
    smoke_step(run)
    scan_step(run)
    leak_step(run)
    sbom_step(run)
    info_step(run)
    cleanup_step(run)
    finish(run)
    success('done; run it with: ./run_docker.py --topic "Intro to Docker"')


def scan_only(run: Run) -> None:
    from lib.log import success

    preflight(run)
    scan_step(run)
    leak_step(run)
    sbom_step(run)
    info_step(run)
    finish(run)
    success("done: %s scanned and described", run.reference)


def finish(run: Run) -> None:
    if run.deferred is not None:
        raise run.deferred


def gate(run: Run, outcome: Outcome, error: ToolError, *, defer: bool = False) -> None:
    """A failed check: fatal in --ci-mode, a warning otherwise.

    defer=True lets the remaining read-only steps (leak guard, SBOM, info)
    still run and report before the exit code says what failed.
    """
    from lib.log import logger

    if not run.opts.ci_mode:
        lines = [error.message, error.detail()]
        if error.hint:
            lines.append(f"hint: {error.hint}")
        logger.warning("%s", "\n".join(line for line in lines if line))
        logger.warning("continuing: --ci-mode would fail here")
        outcome.warn(error.message)
        return
    if not defer:
        raise error
    logger.warning("%s (--ci-mode fails the run after the remaining steps)", error)
    outcome.status, outcome.note = "failed", error.message
    run.deferred = run.deferred or error


# --- the steps ------------------------------------------------------------------


def preflight(run: Run) -> None:
    from lib import build as steps
    from lib import engine, leak
    from lib.log import logger

    opts = run.opts
    with run.progress.step("preflight", ExitCode.PREFLIGHT):
        run.engine = engine.check_engine()
        _describe_engine(run.engine)
        if not opts.scan_only:
            steps.check_project_files(run.config)
        project = run.config.project_dir
        run.secrets = leak.secrets_in_env_file(opts.env_file or project / ".env")
        _locate_scanners(run)
        if opts.scan_only:
            run.info = steps.require_image(run.config)
        else:
            run.provenance = steps.provenance(project, TOOL_VERSION)
            run.build_args = steps.build_args(run.config, run.provenance)
            run.secrets |= leak.secrets_in_build_args(run.build_args)
        # Last: a preflight that fails on any check above leaves no folder.
        run.report_dir = steps.prepare_report_dir(
            opts.report_dir or project / "reports"
        )
        logger.info("reports go to %s", run.report_dir)


def _describe_engine(eng: Engine) -> None:
    from lib.log import logger

    builder = "buildx" if eng.buildx else "legacy builder (no buildx)"
    logger.info("docker engine %s, %s", eng.server_version, builder)


def _locate_scanners(run: Run) -> None:
    from lib import runner, tools
    from lib.log import logger

    opts = run.opts
    if not opts.no_scan:
        run.trivy = tools.locate("trivy")
        if run.trivy is None:
            missing = ToolError(
                "trivy not found on PATH",
                hint=runner.INSTALL_HINTS["trivy"],
                exit_code=ExitCode.SCANNER,
            )
            # Without trivy --scan-only has nothing to do; CI must not pass unscanned.
            if opts.scan_only or opts.ci_mode:
                raise missing
            logger.warning(
                "trivy not found on PATH: the scan will be skipped (%s)", missing.hint
            )
    if opts.sbom:
        run.syft = tools.locate("syft")
        if run.syft is None:
            raise ToolError(
                "syft not found on PATH (needed by --sbom)",
                hint=runner.INSTALL_HINTS["syft"],
                exit_code=ExitCode.PREFLIGHT,
            )


def lint_step(run: Run) -> None:
    from lib import lint, runner, tools

    if run.opts.no_lint:
        run.progress.skip("lint", "--no-lint")
        return
    with run.progress.step(
        "lint", ExitCode.LINT, title="lint the Dockerfile with hadolint"
    ) as outcome:
        program = tools.locate("hadolint")
        if program is None:
            missing = ToolError(
                "hadolint not found on PATH",
                hint=runner.INSTALL_HINTS["hadolint"],
                exit_code=ExitCode.LINT,
            )
            gate(run, outcome, missing)
            return
        dockerfile = run.config.project_dir / run.config.dockerfile
        try:
            result = lint.lint(program, dockerfile, threshold=run.opts.lint_threshold)
        except ToolError as error:
            gate(run, outcome, error)
            return
        _report_lint(run, outcome, result)


def _report_lint(run: Run, outcome: Outcome, result: LintResult) -> None:
    import logging

    from lib import ci, lint
    from lib.log import logger, success

    name = run.config.dockerfile
    failing = result.failing
    for finding in result.findings:
        level = logging.WARNING if finding in failing else logging.INFO
        place = {ci.FILE_KEY: name, ci.LINE_KEY: finding.line}
        logger.log(level, "%s", lint.describe(finding, name), extra=place)
    if failing:
        error = ToolError(
            f"hadolint: {len(failing)} finding(s) at or above "
            f"'{result.threshold}' in {name}",
            hint="fix them, or add '# hadolint ignore=DLxxxx' above the line with "
            "a comment saying why",
            exit_code=ExitCode.LINT,
        )
        gate(run, outcome, error)
    elif result.findings:
        outcome.note = f"{len(result.findings)} finding(s) below '{result.threshold}'"
        success("hadolint: %s", outcome.note)
    else:
        outcome.note = "no findings"
        success("hadolint: no findings in %s", name)


def build_step(run: Run) -> None:
    from lib import build as steps
    from lib import engine
    from lib.log import success

    assert run.engine is not None  # set by preflight
    title = f"build {run.reference} (target {run.config.target})"
    with run.progress.step("build", ExitCode.BUILD, title=title) as outcome:
        seconds = steps.build_image(run.config, run.engine, run.build_args)
        outcome.note = f"{seconds:.1f}s"
        success("built %s in %.1fs", run.reference, seconds)
        run.info = engine.inspect_image(run.reference) or {}


def smoke_step(run: Run) -> None:
    from lib import build as steps
    from lib.log import success

    if run.opts.no_test:
        run.progress.skip("smoke test", "--no-test")
        return
    with run.progress.step("smoke test", ExitCode.SMOKE_TEST):
        steps.smoke_test(run.reference, run.info)
        success("smoke test passed")


def scan_step(run: Run) -> None:
    from lib import scan
    from lib.log import logger, success

    opts = run.opts
    if opts.no_scan:
        run.progress.skip("scan", "--no-scan")
        return
    if run.trivy is None:
        run.progress.skip("scan", "trivy not installed")
        return
    levels = ",".join(opts.severities)
    title = f"scan with trivy (severity {levels})"
    with run.progress.step("scan", ExitCode.SCANNER, title=title) as outcome:
        try:
            result = scan.scan(
                run.trivy, run.reference, scan_settings(run), run.report_dir,
                sarif=opts.sarif or opts.ci_mode,
            )  # fmt: skip
        except ToolError as error:
            if opts.scan_only:
                raise  # the scan is the job of --scan-only
            gate(run, outcome, error, defer=True)
            return
        for line in scan.table_lines(result.findings, opts.severities):
            logger.info("%s", line)
        logger.info("report: %s", result.report)
        if result.sarif:
            logger.info("SARIF: %s", result.sarif)
        run.record.add_section(
            scan.summary_markdown(result.findings, opts.severities, result.report)
        )
        if result.over_threshold:
            found = ToolError(
                f"trivy: {len(result.findings)} finding(s) at {levels} "
                f"in {run.reference}",
                hint="update the base image or the packages; accept a finding only "
                f"in {scan.IGNORE_FILE}, with a comment saying why",
                exit_code=ExitCode.FINDINGS,
            )
            gate(run, outcome, found, defer=True)
        else:
            outcome.note = f"no findings at {levels}"
            success("trivy: no findings at %s", levels)


def scan_settings(run: Run) -> ScanSettings:
    from lib import scan

    opts = run.opts
    return scan.ScanSettings(
        severities=opts.severities,
        ignore_unfixed=opts.ignore_unfixed,
        ignorefile=scan.ignorefile_in(run.config.project_dir),
        timeout_seconds=opts.scan_timeout,
        offline=scan.offline_from_env(os.environ),
    )


def leak_step(run: Run) -> None:
    from lib import leak
    from lib.log import logger, success

    with run.progress.step("secret-leak guard", ExitCode.SECRET_LEAK) as outcome:
        dockerfile = run.config.project_dir / run.config.dockerfile
        with_history = run.opts.scan_only or leak.history_needed(
            run.secrets, run.build_args, dockerfile.read_text(encoding="utf-8")
        )
        checked = leak.check_image(
            run.reference, run.info, run.secrets, with_history=with_history
        )
        where = (
            "env, labels, command and history"
            if with_history
            else ("env, labels and command")
        )
        if not with_history:
            logger.info(
                "history not read: no build arg or Dockerfile line holds a secret"
            )
        outcome.note = f"{checked} places checked ({where})"
        success(
            "no secrets found in %s (%d places, %d secret value(s) looked for)",
            where, checked, len(run.secrets),
        )  # fmt: skip


def sbom_step(run: Run) -> None:
    from lib import sbom
    from lib.log import success

    if run.syft is None:
        run.progress.skip("sbom", "no --sbom")
        return
    with run.progress.step("sbom", ExitCode.SCANNER, title="SBOM with syft") as outcome:
        path, components = sbom.write_sbom(run.syft, run.reference, run.report_dir)
        outcome.note = f"{components} components"
        success("SBOM: %d components in %s", components, path)


def info_step(run: Run) -> None:
    from lib import build as steps
    from lib.log import logger

    with run.progress.step("info", ExitCode.FAILURE, title="image info"):
        summary = steps.image_summary(run.reference, run.info)
        steps.print_summary(summary)
        path = steps.write_info(summary, run.report_dir)
        logger.info("image info written to %s", path)
        run.record.add_section(steps.info_markdown(summary))


def cleanup_step(run: Run) -> None:
    from lib import build as steps

    if run.opts.no_cleanup:
        run.progress.skip("cleanup", "--no-cleanup")
        return
    with run.progress.step("cleanup", ExitCode.FAILURE):
        steps.remove_own_dangling_images()
