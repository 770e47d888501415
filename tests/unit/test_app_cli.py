"""The workshop_builder CLI, driven in-process with click's CliRunner."""

from __future__ import annotations

import errno
import inspect
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from workshop_builder import cli, writer

FIXED_EPOCH = "1796313600"  # 2026-12-03T16:00:00Z
MODULE_FILES = [
    "01-introduction.md",
    "02-concepts.md",
    "03-hands-on-lab.md",
    "04-review.md",
]
ALL_FILES = sorted([*MODULE_FILES, "README.md", "manifest.json"])
APP_ENV = ("WORKSHOPS_BASE_DIR", "LOG_LEVEL", "WORKSHOP_GENERATOR", "SOURCE_DATE_EPOCH")


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    # A developer's .env or shell variables must not leak into the tests.
    monkeypatch.chdir(tmp_path)
    for name in APP_ENV:
        monkeypatch.delenv(name, raising=False)
    yield
    # The CLI points the package logger at the runner's (now closed) stderr.
    logger = logging.getLogger("workshop_builder")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    logger.setLevel(logging.NOTSET)
    logger.propagate = True


@pytest.fixture
def runner() -> CliRunner:
    # click < 8.2 mixes stderr into stdout unless told otherwise.
    if "mix_stderr" in inspect.signature(CliRunner.__init__).parameters:
        return CliRunner(mix_stderr=False)
    return CliRunner()


def run(runner: CliRunner, *args: str, **env: str) -> Result:
    return runner.invoke(cli.main, list(args), env=env or None)


def manifest_of(folder: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((folder / "manifest.json").read_text("utf-8"))
    return data


def test_creates_folder_with_all_files_and_manifest(
    runner: CliRunner, tmp_path: Path
) -> None:
    base = tmp_path / "ws"

    result = run(
        runner,
        "--topic",
        "Intro to Docker",
        "--output-dir",
        str(base),
        SOURCE_DATE_EPOCH=FIXED_EPOCH,
    )

    folder = base / "workshop-1-intro-to-docker"
    assert result.exit_code == 0, result.output
    assert result.stdout == f"Workshop created: {folder}\n"
    assert result.stderr == "[INFO] Wrote 4 modules with the offline generator\n"
    assert sorted(path.name for path in folder.iterdir()) == ALL_FILES
    assert manifest_of(folder) == {
        "created": "2026-12-03T16:00:00Z",
        "generator": "offline",
        "modules": [
            {"file": "01-introduction.md", "title": "Introduction"},
            {"file": "02-concepts.md", "title": "Core Concepts"},
            {"file": "03-hands-on-lab.md", "title": "Hands-on Lab"},
            {"file": "04-review.md", "title": "Review and Quiz"},
        ],
        "number": 1,
        "schema_version": 1,
        "slug": "intro-to-docker",
        "topic": "Intro to Docker",
    }


def test_manifest_layout_is_sorted_indented_with_trailing_newline(
    runner: CliRunner, tmp_path: Path
) -> None:
    run(runner, "--topic", "Café", "--output-dir", str(tmp_path))

    text = (tmp_path / "workshop-1-cafe" / "manifest.json").read_text("utf-8")

    assert text.startswith('{\n  "created": "')
    assert '"topic": "Café"\n}\n' in text
    assert text.endswith("}\n")


def test_readme_lists_modules_with_links(runner: CliRunner, tmp_path: Path) -> None:
    run(runner, "--topic", "Intro to Docker", "--output-dir", str(tmp_path))

    readme = (tmp_path / "workshop-1-intro-to-docker" / "README.md").read_text("utf-8")

    assert readme.startswith("# Workshop 1: Intro to Docker\n")
    assert "- **Topic:** Intro to Docker\n" in readme
    assert (
        "1. [Introduction](01-introduction.md)\n"
        "2. [Core Concepts](02-concepts.md)\n"
        "3. [Hands-on Lab](03-hands-on-lab.md)\n"
        "4. [Review and Quiz](04-review.md)\n"
    ) in readme


def test_output_dir_defaults_to_workshops_in_cwd(
    runner: CliRunner, tmp_path: Path
) -> None:
    result = run(runner, "--topic", "Git")

    assert result.exit_code == 0, result.output
    assert (tmp_path / "workshops" / "workshop-1-git").is_dir()


def test_output_dir_option_overrides_env(runner: CliRunner, tmp_path: Path) -> None:
    env_dir = tmp_path / "from-env"

    run(runner, "--topic", "Git", WORKSHOPS_BASE_DIR=str(env_dir))
    run(
        runner,
        "--topic",
        "Git",
        "--output-dir",
        str(tmp_path / "from-option"),
        WORKSHOPS_BASE_DIR=str(env_dir),
    )

    assert sorted(path.name for path in env_dir.iterdir()) == [
        ".workshop-builder.lock",
        "workshop-1-git",
    ]
    assert (tmp_path / "from-option" / "workshop-1-git").is_dir()


def test_numbering_continues_after_highest_existing(
    runner: CliRunner, tmp_path: Path
) -> None:
    for name in ["workshop-3-x", "workshop-10-y", "workshop-abc-z", "Workshop-20-q"]:
        (tmp_path / name).mkdir()
    for name in ["workshop-99", "notes-50-x", ".tmp-workshop-40-x"]:
        (tmp_path / name).mkdir()

    result = run(runner, "--topic", "Next", "--output-dir", str(tmp_path))

    assert result.stdout == f"Workshop created: {tmp_path / 'workshop-11-next'}\n"


def test_numbering_starts_at_one_and_increments(
    runner: CliRunner, tmp_path: Path
) -> None:
    for _ in range(3):
        run(runner, "--topic", "Same topic", "--output-dir", str(tmp_path))

    assert sorted(path.name for path in tmp_path.glob("workshop-*")) == [
        "workshop-1-same-topic",
        "workshop-2-same-topic",
        "workshop-3-same-topic",
    ]


def test_fixed_source_date_epoch_gives_byte_identical_files(
    runner: CliRunner, tmp_path: Path
) -> None:
    for base in ("a", "b"):
        result = run(
            runner,
            "--topic",
            "Intro to Docker",
            "--output-dir",
            str(tmp_path / base),
            SOURCE_DATE_EPOCH=FIXED_EPOCH,
        )
        assert result.exit_code == 0, result.output

    first = tmp_path / "a" / "workshop-1-intro-to-docker"
    second = tmp_path / "b" / "workshop-1-intro-to-docker"
    for name in ALL_FILES:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_different_clock_changes_created(runner: CliRunner, tmp_path: Path) -> None:
    run(runner, "--topic", "T", "--output-dir", str(tmp_path), SOURCE_DATE_EPOCH="0")

    assert manifest_of(tmp_path / "workshop-1-t")["created"] == "1970-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("topic", "slug"),
    [
        pytest.param("Café Über Docker", "cafe-uber-docker", id="unicode"),
        pytest.param(
            "$(rm -rf /); echo 'x' | cat", "rm-rf-echo-x-cat", id="shell-metachars"
        ),
        pytest.param("line one\nline two", "line-one-line-two", id="newline"),
        pytest.param("../../etc/passwd", "etc-passwd", id="path-traversal"),
        pytest.param("<script>alert(1)</script>", "script-alert-1-script", id="html"),
        pytest.param("  padded  ", "padded", id="surrounding-spaces"),
        pytest.param("x" * 10_000, "x" * 50, id="10000-chars"),
    ],
)
def test_topic_is_kept_exactly_in_manifest(
    runner: CliRunner, tmp_path: Path, topic: str, slug: str
) -> None:
    result = run(runner, "--topic", topic, "--output-dir", str(tmp_path))

    folder = tmp_path / f"workshop-1-{slug}"
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        ".workshop-builder.lock",
        folder.name,
    ]
    manifest = manifest_of(folder)
    assert manifest["topic"] == topic
    assert manifest["slug"] == slug


def test_readme_escapes_markdown_in_topic(runner: CliRunner, tmp_path: Path) -> None:
    run(runner, "--topic", "<b>bold</b>\n# [x](y)", "--output-dir", str(tmp_path))

    readme = (tmp_path / "workshop-1-b-bold-b-x-y" / "README.md").read_text("utf-8")

    assert readme.splitlines()[0] == r"# Workshop 1: \<b\>bold\</b\> \# \[x\](y)"


@pytest.mark.parametrize(
    "topic",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="spaces"),
        pytest.param("\n\t", id="newline-and-tab"),
    ],
)
def test_blank_topic_is_a_usage_error(
    runner: CliRunner, tmp_path: Path, topic: str
) -> None:
    result = run(runner, "--topic", topic, "--output-dir", str(tmp_path / "ws"))

    assert result.exit_code == 2
    assert "Invalid value for '--topic': topic must not be empty" in result.stderr
    assert not (tmp_path / "ws").exists()


def test_missing_topic_is_a_usage_error(runner: CliRunner) -> None:
    result = run(runner)

    assert result.exit_code == 2
    assert "Missing option '--topic'" in result.stderr


def test_malformed_source_date_epoch_is_a_usage_error_without_echo(
    runner: CliRunner, tmp_path: Path
) -> None:
    result = run(
        runner, "--topic", "T", "--output-dir", str(tmp_path), SOURCE_DATE_EPOCH="soon"
    )

    assert result.exit_code == 2
    assert "SOURCE_DATE_EPOCH must be a non-negative integer" in result.stderr
    assert "soon" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_unknown_generator_from_env_is_a_usage_error(
    runner: CliRunner, tmp_path: Path
) -> None:
    result = run(
        runner, "--topic", "T", "--output-dir", str(tmp_path), WORKSHOP_GENERATOR="ai"
    )

    assert result.exit_code == 2
    assert "unknown generator (choose from: offline)" in result.stderr


def test_unknown_generator_option_is_a_usage_error(runner: CliRunner) -> None:
    result = run(runner, "--topic", "T", "--generator", "ai")

    assert result.exit_code == 2
    assert "Invalid value for '--generator'" in result.stderr


def test_verbose_logs_debug_details(runner: CliRunner, tmp_path: Path) -> None:
    result = run(runner, "--topic", "T", "--output-dir", str(tmp_path), "--verbose")

    assert result.exit_code == 0
    assert "[DEBUG] Generating modules with the offline generator\n" in result.stderr


def test_log_level_env_raises_threshold(runner: CliRunner, tmp_path: Path) -> None:
    result = run(
        runner, "--topic", "T", "--output-dir", str(tmp_path), LOG_LEVEL="warning"
    )

    assert result.exit_code == 0
    assert result.stderr == ""


def test_unknown_log_level_warns_without_echoing_value(
    runner: CliRunner, tmp_path: Path
) -> None:
    result = run(
        runner, "--topic", "T", "--output-dir", str(tmp_path), LOG_LEVEL="chatty-x1"
    )

    assert result.exit_code == 0
    assert result.stderr == (
        "[WARNING] LOG_LEVEL is not a known level name; using INFO\n"
        "[INFO] Wrote 4 modules with the offline generator\n"
    )


@pytest.fixture
def regular_file(tmp_path: Path) -> Path:
    path = tmp_path / "a-file"
    path.write_text("not a directory\n")
    return path


def test_base_dir_below_a_file_fails_in_one_line(
    runner: CliRunner, regular_file: Path
) -> None:
    base = regular_file / "ws"

    result = run(runner, "--topic", "T", "--output-dir", str(base))

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"error: cannot write workshops directory {base}: Not a directory\n"
    )


def test_base_dir_that_is_a_file_fails_in_one_line(
    runner: CliRunner, regular_file: Path
) -> None:
    result = run(runner, "--topic", "T", "--output-dir", str(regular_file))

    assert result.exit_code == 1
    assert result.stderr == (
        f"error: cannot write workshops directory {regular_file}: Not a directory\n"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_base_dir_fails_with_permission_denied(
    runner: CliRunner, tmp_path: Path
) -> None:
    base = tmp_path / "locked"
    base.mkdir(mode=0o500)
    try:
        result = run(runner, "--topic", "T", "--output-dir", str(base))
    finally:
        base.chmod(0o700)

    assert result.exit_code == 1
    assert result.stderr == (
        f"error: cannot write workshops directory {base}: Permission denied\n"
    )
    assert list(base.iterdir()) == []


def test_verbose_failure_shows_traceback_then_error(
    runner: CliRunner, regular_file: Path
) -> None:
    result = run(runner, "--topic", "T", "--output-dir", str(regular_file), "--verbose")

    assert result.exit_code == 1
    assert "Traceback (most recent call last):" in result.stderr
    assert "NotADirectoryError" in result.stderr
    assert result.stderr.endswith("Not a directory\n")


def test_failed_publish_removes_staging_dir(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    staged: list[str] = []

    def refuse(staging: Path, final: Path) -> None:
        staged.extend(sorted(path.name for path in staging.iterdir()))
        raise PermissionError(errno.EACCES, "Permission denied", str(final))

    monkeypatch.setattr(writer, "publish", refuse)

    result = run(runner, "--topic", "T", "--output-dir", str(tmp_path))

    assert staged == ALL_FILES  # the failure really happened after writing
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: cannot write workshops directory {tmp_path}: Permission denied\n"
    )
    assert [path.name for path in tmp_path.iterdir()] == [".workshop-builder.lock"]


def test_unexpected_error_is_one_line_and_cleans_up(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(staging: Path, final: Path) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(writer, "publish", explode)

    result = run(runner, "--topic", "T", "--output-dir", str(tmp_path))

    assert result.exit_code == 1
    assert (
        result.stderr == "error: unexpected RuntimeError: boom (run with --verbose)\n"
    )
    assert [path.name for path in tmp_path.iterdir()] == [".workshop-builder.lock"]
