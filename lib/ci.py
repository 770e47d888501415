"""--ci-mode for GitHub Actions: annotation lines and the Markdown step summary.

Annotations are workflow commands (`::error::text`) printed on stdout, where
the runner looks for them; the step summary is Markdown appended to the file
named by GITHUB_STEP_SUMMARY. Both are masked like every other output.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lib import masking
from lib.log import logger

SUMMARY_ENV = "GITHUB_STEP_SUMMARY"
# logging `extra=` keys that give an annotation a file and line.
FILE_KEY = "annotation_file"
LINE_KEY = "annotation_line"


def _escape_data(text: str) -> str:
    # The runner's own escaping; without it a newline would end the command.
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(
    level: str,
    message: str,
    *,
    title: str | None = None,
    file: str | None = None,
    line: int | None = None,
) -> str:
    """One workflow command line, e.g. `::error file=Dockerfile,line=3::text`."""
    props = {"title": title, "file": file, "line": str(line) if line else None}
    shown = ",".join(
        f"{key}={_escape_property(masking.mask(value))}"
        for key, value in props.items()
        if value
    )
    head = f"{level} {shown}" if shown else level
    return f"::{head}::{_escape_data(masking.mask(message))}"


class AnnotationHandler(logging.Handler):
    """Repeats every warning and error of the log as a GitHub annotation."""

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno < logging.WARNING:
            return
        level = "error" if record.levelno >= logging.ERROR else "warning"
        line = annotation(
            level,
            record.getMessage(),
            file=getattr(record, FILE_KEY, None),
            line=getattr(record, LINE_KEY, None),
        )
        # sys.stdout looked up per line, so a redirected stdout is honoured.
        print(line, file=sys.stdout, flush=True)


def enable_annotations(logger: logging.Logger) -> None:
    if not any(isinstance(h, AnnotationHandler) for h in logger.handlers):
        logger.addHandler(AnnotationHandler())


# --- step summary ----------------------------------------------------------------


def cell(text: object) -> str:
    """Text made safe for one Markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = [
        "| " + " | ".join(cell(h) for h in header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(cell(c) for c in row) + " |" for row in rows),
    ]
    return "\n".join(lines)


@dataclass
class StepRecord:
    name: str
    status: str  # passed, warning, failed, skipped, interrupted
    note: str = ""


@dataclass
class RunRecord:
    """What happened in this run, for the step summary."""

    title: str
    steps: list[StepRecord] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)

    def record(self, name: str, status: str, note: str = "") -> None:
        self.steps.append(StepRecord(name, status, note))

    def add_section(self, markdown: str) -> None:
        self.sections.append(markdown)

    def markdown(self) -> str:
        rows = [(s.name, s.status, s.note) for s in self.steps]
        parts = [
            f"## {self.title}",
            table(("step", "result", "note"), rows),
            *self.sections,
        ]
        return masking.mask("\n\n".join(parts)) + "\n"


def write_step_summary(record: RunRecord, env: Mapping[str, str]) -> Path | None:
    """Append the summary to $GITHUB_STEP_SUMMARY; None when it is not set."""
    target = env.get(SUMMARY_ENV, "").strip()
    if not target:
        return None
    path = Path(target)
    try:
        with path.open("a", encoding="utf-8") as summary:
            summary.write(record.markdown())
    except OSError as error:
        # Called on the way out, after a failure too: raising here would put
        # "unexpected error" (exit 1) in place of the run's own exit code.
        logger.warning(
            "cannot write the step summary to %s: %s", path, error.strerror or error
        )
        return None
    return path
