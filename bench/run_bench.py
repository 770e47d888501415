#!/usr/bin/env python3
"""Benchmarks of the container tooling, each against a reference of the same run.

Absolute times on shared machines vary, so each time is the median of several
runs, compared with a reference measured in the same run. `--quick` (CI) runs
every measure once and checks that it works, not its figure.

    python bench/run_bench.py [--quick] [--runs N] [--base-image REF] [--json FILE]

Exit status: 0 when every target is met (always 0 with --quick, unless a
measure could not run), 1 when a target is missed, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from lib import runner  # noqa: E402 - importable only after the line above

PY = sys.executable
MB = 1000**2
# What the image build needs: the build-context copy used for the rebuild.
PROJECT_FILES = (
    "Dockerfile",
    "requirements.txt",
    ".dockerignore",
    ".env.example",
    "build_docker.py",
    "lib",
    "workshop_builder",
)
BUILD_QUIET = ("--no-test", "--no-scan", "--no-lint", "--no-cleanup")


@dataclass
class Row:
    measure: str
    value: str
    reference: str
    target: str
    met: bool


def timed(argv: Sequence[str], **kwargs: object) -> float:
    """Wall time of a command that must succeed; its output is dropped."""
    started = time.perf_counter()
    subprocess.run(
        argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs
    )  # type: ignore[call-overload]
    return time.perf_counter() - started


def median(runs: int, measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(runs))


def interleaved(runs: int, commands: dict[str, list[str]]) -> dict[str, float]:
    """Median wall time of each command, taking turns run after run.

    A command and its reference see the same load on a shared machine, which
    blocks of runs one after the other would not.
    """
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            times[name].append(timed(argv))
    return {name: statistics.median(values) for name, values in times.items()}


def docker(*args: str) -> str:
    return runner.run(["docker", *args]).stdout


def ratio_row(
    measure: str, value: float, ref_name: str, ref: float, limit: float
) -> Row:
    ratio = value / ref
    return Row(
        measure,
        f"{value * 1000:.0f} ms ({ratio:.2f}x)",
        f"{ref_name}: {ref * 1000:.0f} ms",
        f"<= {limit}x",
        ratio <= limit,
    )


# --- the measures ----------------------------------------------------------------


def byte_compile() -> None:
    """Measure the scripts as installed: byte-compiled, as pip leaves click.

    `make install` does the same; this refreshes it after an edit, since
    where PYTHONDONTWRITEBYTECODE is set no run writes the cache itself.
    """
    subprocess.run(
        [PY, "-m", "compileall", "-q", "lib", "workshop_builder"],
        cwd=PROJECT_DIR,
        check=True,
    )


def start_up(runs: int) -> list[Row]:
    """--help of both scripts against `import click`, --dry-run against --help."""
    byte_compile()
    build, run = (
        str(PROJECT_DIR / "build_docker.py"),
        str(PROJECT_DIR / "run_docker.py"),
    )
    took = interleaved(
        runs,
        {
            "click": [PY, "-c", "import click"],
            "build help": [PY, build, "--help"],
            "run help": [PY, run, "--help"],
            "dry run": [PY, run, "--dry-run", "--topic", "x"],
        },
    )
    click = 'python -c "import click"'
    return [
        ratio_row(
            "build_docker.py --help", took["build help"], click, took["click"], 1.3
        ),
        ratio_row("run_docker.py --help", took["run help"], click, took["click"], 1.3),
        ratio_row(
            "run_docker.py --dry-run --topic x",
            took["dry run"],
            "its --help",
            took["run help"],
            1.5,
        ),
    ]


def build_in(
    project: Path, image: str, tag: str, base: str, *extra: str
) -> tuple[float, str]:
    argv = [
        PY,
        str(project / "build_docker.py"),
        "--image",
        image,
        "--tag",
        tag,
        "--base-image",
        base,
        *extra,
    ]
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"build failed ({done.returncode}): {done.stderr[-2000:]}")
    return took, done.stdout + done.stderr


def context_size(build_output: str) -> int | None:
    """Bytes the legacy builder reports sending ("Sending build context ...")."""
    match = re.search(
        r"Sending build context to Docker daemon\s+([\d.]+)([kMG]?B)", build_output
    )
    if not match:
        return None
    scale = {"B": 1, "kB": 1000, "MB": MB, "GB": 1000 * MB}[match[2]]
    return int(float(match[1]) * scale)


def rebuild_size_context(base: str, work: Path) -> list[Row]:
    project = work / "project"
    project.mkdir()
    for name in PROJECT_FILES:
        source = PROJECT_DIR / name
        copy = shutil.copytree if source.is_dir() else shutil.copy2
        copy(source, project / name)
    image = f"workshop-builder-bench-{secrets.token_hex(3)}"
    try:
        cold, output = build_in(
            project, image, "cold", base, "--no-cache", *BUILD_QUIET
        )
        with (project / "workshop_builder" / "__init__.py").open("a") as app_code:
            app_code.write("# a change to the app's code only\n")
        warm, _ = build_in(project, image, "warm", base, *BUILD_QUIET)
        size = int(docker("image", "inspect", "--format", "{{.Size}}", f"{image}:warm"))
        base_size = int(docker("image", "inspect", "--format", "{{.Size}}", base))
    finally:
        runner.run(
            ["docker", "image", "rm", "--force", f"{image}:cold", f"{image}:warm"],
            check=False,
        )
    share = warm / cold
    sent = context_size(output)
    return [
        Row(
            "rebuild after an app-code change",
            f"{warm:.1f} s ({share:.0%})",
            f"cold --no-cache build: {cold:.1f} s",
            "<= 15 %",
            share <= 0.15,
        ),
        Row(
            "production image size",
            f"{size / MB:.1f} MB (+{(size - base_size) / MB:.1f})",
            f"base {base}: {base_size / MB:.1f} MB",
            "<= base + 25 MB",
            size - base_size <= 25 * MB,
        ),
        Row(
            "build context sent to the daemon",
            "not reported" if sent is None else f"{sent / 1000:.1f} kB",
            "-",
            "<= 1 MB",
            sent is not None and sent <= MB,
        ),
    ]


def container_start(runs: int, base: str, image: str) -> Row:
    took = interleaved(
        runs,
        {
            "true": ["docker", "run", "--rm", base, "true"],
            "help": ["docker", "run", "--rm", image, "--help"],
        },
    )
    return ratio_row(
        "container --help, start to exit",
        took["help"],
        f"docker run --rm {base} true",
        took["true"],
        2.0,
    )


def synthetic_report(findings: int) -> dict[str, object]:
    levels = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")
    vulns = [
        {
            "VulnerabilityID": f"CVE-2026-{i:05d}",
            "PkgName": f"pkg{i % 700}",
            "InstalledVersion": f"1.{i % 13}.0",
            **({"FixedVersion": f"1.{i % 13}.1"} if i % 3 else {}),
            "Severity": levels[i % 5],
            **({"Title": f"issue {i}"} if i % 4 else {}),
        }
        for i in range(findings)
    ]
    return {
        "SchemaVersion": 2,
        "ArtifactName": "bench",
        "Results": [
            {
                "Target": "bench (debian 12)",
                "Class": "os-pkgs",
                "Vulnerabilities": vulns,
            },
            {"Target": "empty", "Class": "lang-pkgs", "Vulnerabilities": None},
        ],
    }


def report_parsing(runs: int, work: Path) -> Row:
    from lib import scan

    path = work / "trivy-10000.json"
    path.write_text(json.dumps(synthetic_report(10_000)))
    severities = ("HIGH", "CRITICAL")

    def once() -> float:
        started = time.perf_counter()
        findings = scan.load_report(path)
        scan.counts(findings, severities)
        scan.table_lines(findings, severities)
        return time.perf_counter() - started

    took = median(runs, once)
    return Row(
        "parse + summarise a 10 000-finding trivy report",
        f"{took * 1000:.0f} ms",
        "-",
        "<= 300 ms",
        took <= 0.3,
    )


def docker_calls(base: str, work: Path) -> Row:
    """Count docker CLI invocations of a full default build via a PATH wrapper."""
    real = shutil.which("docker")
    if real is None:
        raise RuntimeError("docker is not on PATH")
    wrappers = work / "wrap"
    wrappers.mkdir()
    log = work / "docker-calls.log"
    wrapper = wrappers / "docker"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\nexec "{real}" "$@"\n')
    wrapper.chmod(0o755)
    image = f"workshop-builder-bench-{secrets.token_hex(3)}"
    env = {**os.environ, "PATH": f"{wrappers}{os.pathsep}{os.environ['PATH']}"}
    argv = [
        PY,
        str(PROJECT_DIR / "build_docker.py"),
        "--image",
        image,
        "--tag",
        "calls",
        "--base-image",
        base,
    ]
    try:
        done = subprocess.run(
            argv, env=env, capture_output=True, text=True, check=False
        )
    finally:
        runner.run(["docker", "image", "rm", "--force", f"{image}:calls"], check=False)
    if done.returncode != 0:
        raise RuntimeError(
            f"default build failed ({done.returncode}): {done.stderr[-2000:]}"
        )
    calls = log.read_text().splitlines()
    verbs = ", ".join(" ".join(line.split()[:2]) for line in calls)
    return Row(
        "docker CLI invocations, full default build",
        str(len(calls)),
        verbs,
        "<= 6",
        len(calls) <= 6,
    )


# --- the report ----------------------------------------------------------------


def table(rows: Sequence[Row]) -> str:
    lines = [
        "| measure | value | reference in the same run | target | met |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.measure} | {r.value} | {r.reference} | {r.target} | "
        f"{'yes' if r.met else 'NO'} |"
        for r in rows
    ]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="one run of each measure; check it works, not its figure",
    )
    parser.add_argument(
        "--runs", type=int, default=7, help="runs per median (default 7)"
    )
    parser.add_argument(
        "--base-image",
        default=os.environ.get("BASE_IMAGE", "workshop-builder-base:bookworm"),
    )
    parser.add_argument(
        "--image",
        default="workshop-builder-app:latest",
        help="built image for the container start measure",
    )
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    runs = 1 if args.quick else args.runs
    with tempfile.TemporaryDirectory(prefix="workshop-bench-") as tmp:
        work = Path(tmp)
        rows = [
            *start_up(runs),
            *rebuild_size_context(args.base_image, work),
            container_start(runs, args.base_image, args.image),
            report_parsing(runs, work),
            docker_calls(args.base_image, work),
        ]
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=2) + "\n")
    missed = [r.measure for r in rows if not r.met]
    if missed and not args.quick:
        print(f"targets missed: {'; '.join(missed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
