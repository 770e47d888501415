"""Bad input to both scripts: one error line naming the problem, the documented
exit code, no traceback, and no docker call that changes anything.

Usage errors (exit 2) run in-process with every program faked: not a single
call may happen. File problems (exit 3) may ask docker read-only questions
(info, inspect) first, never more. Odd but valid input (env files with a BOM,
CRLF or quotes; topics full of shell characters) must work, and topics must
reach the app byte for byte: checked on the real engine.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shlex
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from pytest_subprocess import FakeProcess

import build_docker
import run_docker
from lib.envfile import AI_REQUIRED_KEYS
from lib.errors import ExitCode
from tests.conftest import PROJECT_DIR, docker_info_json, image_json
from tests.integration.conftest import containers_mounting
from tests.integration.test_run_engine import (
    numbering_lock,
    run_args,
    started,
    wait_until_running,
)
from tests.reliability.conftest import run_py

REF = "workshop-builder-app:latest"
# docker verbs that only read: the most a failed preflight may have run.
READ_ONLY = {"info", "image inspect", "container inspect"}
PLACEHOLDERS = "".join(f"{key}=your_{key.lower()}_here\n" for key in AI_REQUIRED_KEYS)
REAL_KEYS = "".join(f"{key}=real-{key.lower()}-0123\n" for key in AI_REQUIRED_KEYS)


def docker_verbs(fp: FakeProcess) -> list[str]:
    verbs = []
    for call in fp.calls:
        args = [str(part) for part in call]
        if Path(args[0]).name == "docker":
            two = args[1] in ("container", "image", "system")
            verbs.append(" ".join(args[1:3] if two else args[1:2]))
    return verbs


def one_error_line(err: str) -> str:
    """The error: one [ERROR] line, at most a hint after it, no traceback."""
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    errors = [i for i, line in enumerate(lines) if line.startswith("[ERROR]")]
    assert len(errors) == 1, err
    after = lines[errors[0] + 1 :]
    assert all(line.startswith("hint: ") for line in after), err
    assert len(after) <= 1, err
    return lines[errors[0]]


# --- run_docker.py: usage errors --------------------------------------------------


def _p(flag: str, value: str, case: str) -> object:
    """One bad value of one flag; the error must name the flag."""
    return pytest.param([flag, value], flag, id=case)


RUN_USAGE = [
    _p("--memory", "", "memory-empty"),
    _p("--memory", "2 g", "memory-inner-space"),
    _p("--memory", "1e3m", "memory-exponent"),
    _p("--memory", "2t", "memory-terabytes"),
    _p("--memory", "-1g", "memory-negative"),
    _p("--memory", "0", "memory-zero"),
    _p("--memory", "5m", "memory-under-6m"),
    _p("--memory", "1.5.5g", "memory-two-dots"),
    _p("--memory", "0x10m", "memory-hex"),
    _p("--cpu", "", "cpu-empty"),
    _p("--cpu", "-1", "cpu-negative"),
    _p("--cpu", "nan", "cpu-nan"),
    _p("--cpu", "inf", "cpu-infinite"),
    _p("--cpu", "1_0", "cpu-underscore"),
    _p("--cpu", "\u0663", "cpu-arabic-digit"),
    _p("--cpu", "1,5", "cpu-decimal-comma"),
    _p("--cpu", "0.0000000001", "cpu-finer-than-nano"),
    _p("--pids-limit", "-5", "pids-negative"),
    _p("--pids-limit", "abc", "pids-not-a-number"),
    _p("--pids-limit", "1.5", "pids-fraction"),
    _p("--pids-limit", "4194305", "pids-above-kernel-max"),
    _p("--pids-limit", "", "pids-empty"),
    _p("--tmpfs-size", "0", "tmpfs-zero"),
    _p("--tmpfs-size", "512k", "tmpfs-under-1m"),
    _p("--tmpfs-size", "1g5", "tmpfs-trailing-digits"),
    _p("--tmpfs-size", "-1m", "tmpfs-negative"),
    _p("--tmpfs-size", "1mb", "tmpfs-docker-unit"),
    _p("--tmpfs-size", "", "tmpfs-empty"),
    _p("--env", "1ABC=x", "env-key-leading-digit"),
    _p("--env", "A-B=x", "env-key-with-dash"),
    _p("--env", "==x", "env-key-is-equals"),
    _p("--env", "\u00c4PI=x", "env-key-non-ascii"),
    _p("--env", "A.B=x", "env-key-with-dot"),
    _p("--env", "", "env-empty"),
    _p("--image", "Upper", "image-uppercase"),
    _p("--image", "has space", "image-with-space"),
    _p("--image", "a::b", "image-two-colons"),
    _p("--image", "x" * 256, "image-256-chars"),
    _p("--image", "", "image-empty"),
    _p("--image", "-x", "image-leading-dash"),
    _p("--tag", "x" * 200, "tag-200-chars"),
    _p("--tag", ".start", "tag-leading-dot"),
    _p("--tag", "-start", "tag-leading-dash"),
    _p("--tag", "", "tag-empty"),
    _p("--tag", "a b", "tag-with-space"),
    _p("--tag", "a:b:c", "tag-two-colons"),
    _p("--name", "", "name-empty"),
    _p("--name", "x", "name-one-char"),
    _p("--name", "a/b", "name-with-slash"),
    _p("--name", "\u00e4-name", "name-non-ascii"),
    _p("--network", "", "network-empty"),
    _p("--network", "a b", "network-with-space"),
    _p("--audit-json", "/tmp", "audit-json-is-a-directory"),
    _p("--env-file", "/tmp", "env-file-is-a-directory"),
    _p("--output-dir", "", "output-dir-empty"),
    _p("--env-file", "", "env-file-empty"),
    pytest.param(
        ["--no-limits", "--memory", "4g"], "--memory", id="no-limits-with-memory"
    ),
    pytest.param(["--no-limits", "--cpu", "0.5"], "--cpu", id="no-limits-with-cpu"),
    pytest.param(
        ["--no-limits", "--pids-limit", "50"], "--pids-limit", id="no-limits-with-pids"
    ),
]


@pytest.mark.parametrize(("argv", "needle"), RUN_USAGE)
def test_run_usage_error_names_the_flag_and_runs_nothing(
    argv: list[str],
    needle: str,
    fp: FakeProcess,
    stub_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out_dir = tmp_path / "out"

    code = run_docker.main(["--output-dir", str(out_dir), *argv, "--topic", "x"])

    captured = capsys.readouterr()
    assert code == ExitCode.USAGE, captured.err
    assert needle in one_error_line(captured.err)
    assert len(fp.calls) == 0  # not a single program ran
    assert not out_dir.exists()
    assert captured.out == ""


# --- build_docker.py: usage errors ------------------------------------------------

BUILD_USAGE = [
    _p("--image", "a b", "image-with-space"),
    _p("--image", "a:b:c", "image-two-colons"),
    _p("--image", "-x", "image-leading-dash"),
    _p("--image", "x/", "image-trailing-slash"),
    _p("--image", "x" * 256, "image-256-chars"),
    _p("--image", "", "image-empty"),
    _p("--tag", ".x", "tag-leading-dot"),
    _p("--tag", "", "tag-empty"),
    _p("--tag", "-x", "tag-leading-dash"),
    _p("--tag", "a/b", "tag-with-slash"),
    _p("--severity", "CRITIAL", "severity-misspelt"),
    _p("--severity", "HIGH;CRITICAL", "severity-semicolon"),
    _p("--severity", "NONE", "severity-none"),
    _p("--severity", "", "severity-empty"),
    _p("--build-arg", "A B=1", "build-arg-key-with-space"),
    _p("--build-arg", "1A=1", "build-arg-key-leading-digit"),
    _p("--build-arg", "A-B=1", "build-arg-key-with-dash"),
    _p("--scan-timeout", "abc", "scan-timeout-not-a-number"),
    _p("--scan-timeout", "-1", "scan-timeout-negative"),
    _p("--scan-timeout", "1.5", "scan-timeout-fraction"),
    _p("--lint-threshold", "", "lint-threshold-empty"),
    _p("--report-dir", "/etc/hostname", "report-dir-is-a-file"),
    _p("--report-dir", "", "report-dir-empty"),
    _p("--env-file", "/tmp", "env-file-is-a-directory"),
    _p("--env-file", "", "env-file-empty"),
    _p("--target", "", "target-empty"),
    _p("--target", "two words", "target-with-space"),
    _p("--base-image", "", "base-image-empty"),
    _p("--base-image", "Not/Valid:tag", "base-image-uppercase"),
    _p("--base-image", "python:3:12", "base-image-two-colons"),
    pytest.param(
        ["--scan-only", "--base-image", "x"], "--base-image", id="scan-only-base-image"
    ),
    pytest.param(["--scan-only", "--pull"], "--pull", id="scan-only-pull"),
    pytest.param(["--scan-only", "--no-lint"], "--no-lint", id="scan-only-no-lint"),
    pytest.param(
        ["--scan-only", "--lint-threshold", "error"],
        "--lint-threshold",
        id="scan-only-lint-threshold",
    ),
    pytest.param(
        ["--scan-only", "--no-cleanup"], "--no-cleanup", id="scan-only-no-cleanup"
    ),
    pytest.param(
        ["--no-scan", "--ignore-unfixed"],
        "--ignore-unfixed",
        id="no-scan-ignore-unfixed",
    ),
    pytest.param(
        ["--no-scan", "--scan-timeout", "5"],
        "--scan-timeout",
        id="no-scan-scan-timeout",
    ),
]


@pytest.mark.parametrize(("argv", "needle"), BUILD_USAGE)
def test_build_usage_error_names_the_flag_and_runs_nothing(
    argv: list[str],
    needle: str,
    fp: FakeProcess,
    stub_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cwd, project = tmp_path / "cwd", tmp_path / "project"
    cwd.mkdir()
    monkeypatch.chdir(cwd)  # an empty path must not quietly mean this folder
    monkeypatch.setattr("lib.build_flow.PROJECT_DIR", project)

    code = build_docker.main(argv)

    captured = capsys.readouterr()
    assert code == ExitCode.USAGE, captured.err
    assert needle in one_error_line(captured.err)
    assert len(fp.calls) == 0
    assert list(cwd.iterdir()) == [] and not project.exists()  # no report anywhere
    assert captured.out == ""


# --- build_docker.py: the project's files ---------------------------------------


@pytest.fixture
def build_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The files preflight checks, copied; build_docker.py pointed at them."""
    root = tmp_path / "project"
    root.mkdir()
    for name in ("Dockerfile", "requirements.txt", ".env.example", ".dockerignore"):
        shutil.copy(PROJECT_DIR / name, root / name)
    monkeypatch.setattr("lib.build_flow.PROJECT_DIR", root)
    return root


def _replace_with_dir(path: Path) -> None:
    path.unlink()
    path.mkdir()


Breakage = Callable[[Path], object]
BUILD_FILES: list[object] = [
    pytest.param(
        lambda root: (root / "Dockerfile").unlink(),
        [],
        "Dockerfile is missing",
        id="dockerfile-missing",
    ),
    pytest.param(
        lambda root: _replace_with_dir(root / "Dockerfile"),
        [],
        "Dockerfile is not a file",
        id="dockerfile-is-a-directory",
    ),
    pytest.param(
        lambda root: _replace_with_dir(root / "requirements.txt"),
        [],
        "requirements.txt is not a file",
        id="requirements-is-a-directory",
    ),
    pytest.param(
        lambda root: (root / ".env.example").unlink(),
        [],
        ".env.example is missing",
        id="env-example-missing",
    ),
    pytest.param(
        lambda root: (root / ".dockerignore").unlink(),
        [],
        ".dockerignore is missing, so .env would be sent to the daemon",
        id="dockerignore-missing",
    ),
    pytest.param(
        lambda root: (root / ".env").write_text("API_KEY=a\nAPI_KEY=b\n"),
        [],
        ".env sets API_KEY more than once",
        id="dotenv-duplicate-key",
    ),
    pytest.param(
        lambda root: (root / ".env").write_bytes(b"API_KEY=caf\xe9\n"),
        [],
        ".env is not UTF-8 text",
        id="dotenv-not-utf8",
    ),
    pytest.param(
        lambda root: (root / ".env").write_text("API_KEY='never closed\n"),
        [],
        ".env has a line dotenv cannot parse (line 1)",
        id="dotenv-unparseable-line",
    ),
    pytest.param(
        lambda root: (root / "notes").write_text("the user's file\n"),
        ["--report-dir", "{root}/notes/reports"],
        "cannot create the report directory",
        id="report-dir-under-a-file",
    ),
]


@pytest.mark.parametrize(("breakage", "argv", "message"), BUILD_FILES)
def test_build_project_file_problem_is_exit_3_before_anything_changes(
    breakage: Breakage,
    argv: list[str],
    message: str,
    build_project: Path,
    fp: FakeProcess,
    stub_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    breakage(build_project)
    fp.register(
        [fp.program("docker"), "info", "--format", "{{json .}}"],
        stdout=docker_info_json(),
    )
    # The commit and its date are read (git changes nothing) before the report
    # directory, the last thing preflight checks.
    fp.register([fp.program("git"), fp.any()], stdout="", occurrences=2)

    code = build_docker.main(
        ["--no-lint", *(arg.replace("{root}", str(build_project)) for arg in argv)]
    )

    err = capsys.readouterr().err
    assert code == ExitCode.PREFLIGHT, err
    assert message in one_error_line(err)
    assert set(docker_verbs(fp)) <= READ_ONLY
    reports = build_project / "reports"
    assert not reports.is_dir() or list(reports.iterdir()) == []  # no report


def test_build_env_file_with_duplicates_is_exit_3(
    build_project: Path,
    tmp_path: Path,
    fp: FakeProcess,
    stub_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env_file = tmp_path / "ci.env"
    env_file.write_text("GITHUB_TOKEN=one-value\nGITHUB_TOKEN=other-value\n")
    fp.register(
        [fp.program("docker"), "info", "--format", "{{json .}}"],
        stdout=docker_info_json(),
    )

    code = build_docker.main(["--no-lint", "--env-file", str(env_file)])

    err = capsys.readouterr().err
    assert code == ExitCode.PREFLIGHT, err
    assert f"env file {env_file} sets GITHUB_TOKEN more than once" in one_error_line(
        err
    )
    assert "one-value" not in err and "other-value" not in err
    assert set(docker_verbs(fp)) <= READ_ONLY


# --- run_docker.py: env file and output folder ----------------------------------


class NeedsKeys:
    """A generator that needs the AI keys (the offline default needs none)."""

    name = "needs-keys"
    required_env = AI_REQUIRED_KEYS


@pytest.fixture
def keyed_generator(monkeypatch: pytest.MonkeyPatch) -> str:
    from workshop_builder import generators

    monkeypatch.setitem(generators.GENERATORS, NeedsKeys.name, NeedsKeys)
    return f"WORKSHOP_GENERATOR={NeedsKeys.name}\n"


def _env_file(tmp_path: Path, content: bytes | str) -> Path:
    path = tmp_path / "app.env"
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    path.chmod(0o600)
    return path


RUN_FILES = [
    pytest.param(
        None, "not found", ExitCode.PREFLIGHT, id="env-file-missing"
    ),
    pytest.param(
        b"GEMINI_API_KEY=caf\xe9\n", "is not UTF-8 text", ExitCode.PREFLIGHT,
        id="env-file-not-utf8",
    ),
    pytest.param(
        "OPENAI_API_KEY=a\nOPENAI_API_KEY=b\n", "sets OPENAI_API_KEY more than once",
        ExitCode.PREFLIGHT, id="env-file-duplicate-key",
    ),
    pytest.param(
        "GITHUB_TOKEN=\"never closed\n", "has a line dotenv cannot parse",
        ExitCode.PREFLIGHT, id="env-file-unparseable-line",
    ),
    pytest.param(
        "{generator}" + PLACEHOLDERS, "still has placeholder values for GEMINI_API_KEY",
        ExitCode.PREFLIGHT, id="env-file-placeholders",
    ),
    pytest.param(
        "{generator}" + REAL_KEYS.replace("GITHUB_TOKEN=", "#GITHUB_TOKEN="),
        "lacks required keys GITHUB_TOKEN", ExitCode.PREFLIGHT,
        id="env-file-missing-key",
    ),
    pytest.param(
        "{generator}" + REAL_KEYS.replace("OPENAI_API_KEY=real", "OPENAI_API_KEY=   #"),
        "lacks required keys OPENAI_API_KEY", ExitCode.PREFLIGHT,
        id="env-file-empty-key",
    ),
    pytest.param(
        # Every env-file value is masked in output, this one too.
        "WORKSHOP_GENERATOR=gpt-9\n", "unknown generator '***'", ExitCode.USAGE,
        id="env-file-unknown-generator",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("content", "message", "exit_code"), RUN_FILES)
def test_run_env_file_problem_is_named_and_nothing_is_created(
    content: str | bytes | None,
    message: str,
    exit_code: ExitCode,
    keyed_generator: str,
    fp: FakeProcess,
    stub_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if isinstance(content, str):
        content = content.replace("{generator}", keyed_generator)
    env_file = (
        tmp_path / "absent.env" if content is None else _env_file(tmp_path, content)
    )
    out_dir = tmp_path / "out"
    fp.register(
        [fp.program("docker"), "info", "--format", "{{json .}}"],
        stdout=docker_info_json(),
    )
    fp.register(
        [fp.program("docker"), "image", "inspect", "--format", "{{json .}}", REF],
        stdout=image_json(),
    )

    code = run_docker.main(
        ["--env-file", str(env_file), "--output-dir", str(out_dir), "--topic", "x"]
    )

    err = capsys.readouterr().err
    assert code == exit_code, err
    line = one_error_line(err)
    assert message in line
    if exit_code == ExitCode.PREFLIGHT:
        assert str(env_file) in line  # which file, when a file is the problem
    assert set(docker_verbs(fp)) <= READ_ONLY
    assert not out_dir.exists()
    assert "real-" not in err  # no value of the file is shown


def _under_a_file(tmp_path: Path) -> Path:
    (tmp_path / "a-file").write_text("the user's file\n")
    return tmp_path / "a-file" / "workshops"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(
            _under_a_file,
            "cannot create output directory",
            id="output-dir-under-a-file",
        ),
        pytest.param(
            lambda _tmp: Path("/proc/reliability-no-such-dir"),
            "cannot create output directory /proc/reliability-no-such-dir",
            id="output-dir-cannot-be-created",
        ),
    ],
)
def test_run_output_dir_that_cannot_be_made_is_exit_3(
    make: Callable[[Path], Path],
    message: str,
    fp: FakeProcess,
    stub_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out_dir = make(tmp_path)
    fp.register(
        [fp.program("docker"), "info", "--format", "{{json .}}"],
        stdout=docker_info_json(),
    )
    fp.register(
        [fp.program("docker"), "image", "inspect", "--format", "{{json .}}", REF],
        stdout=image_json(),
    )

    code = run_docker.main(
        ["--env-file", str(_env_file(tmp_path, "")), "--output-dir", str(out_dir),
         "--topic", "x"]
    )  # fmt: skip

    err = capsys.readouterr().err
    assert code == ExitCode.PREFLIGHT, err
    assert message in one_error_line(err)
    assert set(docker_verbs(fp)) <= READ_ONLY


def test_run_unknown_generator_from_env_flag_is_a_usage_error(
    fp: FakeProcess, stub_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fp.register(
        [fp.program("docker"), "info", "--format", "{{json .}}"],
        stdout=docker_info_json(),
    )
    fp.register(
        [fp.program("docker"), "image", "inspect", "--format", "{{json .}}", REF],
        stdout=image_json(),
    )
    out_dir = tmp_path / "out"

    env_file = _env_file(tmp_path, "")

    code = run_docker.main(
        ["--env", "WORKSHOP_GENERATOR=gpt-9", "--env-file", str(env_file),
         "--output-dir", str(out_dir), "--topic", "x"]
    )  # fmt: skip

    err = capsys.readouterr().err
    assert code == ExitCode.USAGE, err
    assert "unknown generator 'gpt-9' (known: offline)" in one_error_line(err)
    assert "hint: set WORKSHOP_GENERATOR=offline" in err
    assert set(docker_verbs(fp)) <= READ_ONLY
    assert not out_dir.exists()


# --- topics: exactly what the user typed reaches docker --------------------------

TOPICS = [
    pytest.param(
        "Docker; $(rm -rf /) `id` && echo pwned | tee /x", id="shell-metachars"
    ),
    pytest.param("It's \"quoted\" 'twice'", id="quotes"),
    pytest.param("line one\nline two\ttabbed", id="newline-and-tab"),
    pytest.param("Ünïcödé — 日本語 🐳", id="unicode"),
    pytest.param("x" * 10_000, id="10000-chars"),
    pytest.param("--privileged --volume /:/host", id="looks-like-docker-flags"),
    pytest.param("../../etc/passwd", id="path-traversal"),
    pytest.param("$HOME ${PATH} %s %n {0}", id="expansions-and-formats"),
]


@pytest.mark.parametrize("topic", TOPICS)
def test_topic_reaches_the_docker_argv_byte_for_byte(
    topic: str, fp: FakeProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--dry-run prints the argv it would run, shell-quoted: split it back."""
    code = run_docker.main(
        ["--dry-run", "--env-file", str(_env_file(tmp_path, "")),
         "--output-dir", str(tmp_path / "out"), "--topic", topic]
    )  # fmt: skip

    captured = capsys.readouterr()
    assert code == 0, captured.err
    words = shlex.split(captured.out)
    start = words.index("start")
    create = words[: start - 2]
    assert create[:3] == ["docker", "container", "create"]
    assert create[-3:] == [REF, "--topic", topic]
    assert len(fp.calls) == 0


_SAFE_FOLDER = re.compile(r"workshop-1-[a-z0-9]+(?:-[a-z0-9]+)*")


@pytest.mark.engine
@pytest.mark.parametrize(
    ("topic", "folder"),
    [
        pytest.param(
            "Docker; $(touch /tmp/reliability-pwned) `id` | & > < * ?",
            "workshop-1-docker-touch-tmp-reliability-pwned-id",
            id="shell-metachars",
        ),
        pytest.param(
            "line one\nline two\t\"quoted\" 'single'",
            "workshop-1-line-one-line-two-quoted-single",
            id="newline-tab-quotes",
        ),
        pytest.param("日本語 🐳", "workshop-1-workshop", id="no-ascii-at-all"),
        pytest.param("../../etc/passwd", "workshop-1-etc-passwd", id="path-traversal"),
        pytest.param(
            "Long " * 2000, "workshop-1-" + "-".join(["long"] * 10), id="10000-chars"
        ),
    ],
)
def test_topic_arrives_in_the_app_byte_for_byte_and_the_folder_is_safe(
    topic: str, folder: str, built_image: str, tmp_path: Path
) -> None:
    out_dir = tmp_path / "out"

    result = run_py(
        PROJECT_DIR / "run_docker.py",
        *run_args(built_image, out_dir, "--env-file", str(_env_file(tmp_path, "")),
                  "--topic", topic),
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert [p.name for p in out_dir.glob("workshop-*")] == [folder]
    assert _SAFE_FOLDER.fullmatch(folder) and len(folder) <= 62
    manifest = json.loads((out_dir / folder / "manifest.json").read_text())
    assert manifest["topic"] == topic
    assert not Path("/tmp/reliability-pwned").exists()  # no shell ran it here


# --- odd but valid env files: the exact values reach the container --------------


@pytest.mark.engine
@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(
            b"\xef\xbb\xbfAPI_TOKEN=bom-value-1\nPLAIN=two\n",
            {"API_TOKEN": "bom-value-1", "PLAIN": "two"},
            id="utf8-bom",
        ),
        pytest.param(
            b"API_TOKEN=crlf-value-2\r\nPLAIN=two\r\n",
            {"API_TOKEN": "crlf-value-2", "PLAIN": "two"},
            id="crlf-line-ends",
        ),
        pytest.param(
            b'API_TOKEN="a b # not a comment"\nPLAIN="x=y"\n',
            {"API_TOKEN": "a b # not a comment", "PLAIN": "x=y"},
            id="double-quoted",
        ),
        pytest.param(
            b"export API_TOKEN='single $HOME'\nPLAIN=bare # comment\n",
            {"API_TOKEN": "single $HOME", "PLAIN": "bare"},
            id="single-quoted-export-comment",
        ),
    ],
)
def test_env_file_quirks_give_the_container_the_exact_values(
    content: bytes, expected: dict[str, str], built_image: str, tmp_path: Path
) -> None:
    env_file = _env_file(tmp_path, content)
    out_dir = tmp_path / "held"
    out_dir.mkdir()
    if os.getuid() == 0:
        os.chown(out_dir, 1000, 1000)

    with (
        numbering_lock(out_dir) as lock,
        started(
            built_image, out_dir, "--env-file", str(env_file), "--topic", "Env"
        ) as child,
    ):
        info = wait_until_running(out_dir)
        fcntl.flock(lock, fcntl.LOCK_UN)  # let the app go on
        _out, err = child.communicate(timeout=60)

    assert child.returncode == 0, err
    env = dict(item.split("=", 1) for item in info["Config"]["Env"])
    assert {key: env.get(key) for key in expected} == expected
    assert not any(value in err for value in expected.values() if len(value) > 4)
    assert containers_mounting(out_dir) == []
