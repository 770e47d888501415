"""The generator registry, the offline generator and the writer API."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from workshop_builder import __version__, health, templates
from workshop_builder.generators import (
    GENERATORS,
    Module,
    OfflineGenerator,
    UnknownGeneratorError,
    get_generator,
    required_env_for,
)
from workshop_builder.writer import InvalidModuleError, create_workshop

REPO_ROOT = Path(__file__).resolve().parents[2]
# The repo first, then whatever path the test run itself relies on.
PYTHONPATH = os.pathsep.join(
    filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])
)
NOW = datetime(2026, 12, 3, 16, 0, tzinfo=UTC)


def test_version() -> None:
    assert __version__ == "1.0.0"


def test_registry_holds_offline_generator() -> None:
    assert list(GENERATORS.items()) == [("offline", OfflineGenerator)]
    assert isinstance(get_generator("offline"), OfflineGenerator)


def test_offline_generator_needs_no_environment() -> None:
    assert required_env_for("offline") == ()


def test_unknown_generator_is_reported_by_name() -> None:
    with pytest.raises(UnknownGeneratorError, match=r"unknown generator 'ai' \(known"):
        required_env_for("ai")
    with pytest.raises(UnknownGeneratorError):
        get_generator("ai")


def test_generators_package_imports_without_click_or_dotenv() -> None:
    code = (
        "import sys, workshop_builder.generators as g; "
        "print(g.required_env_for('offline'), 'click' in sys.modules, "
        "'dotenv' in sys.modules)"
    )

    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )

    assert result.stdout == "() False False\n"


def test_offline_modules_files_and_titles() -> None:
    modules = OfflineGenerator().generate("Intro to Docker", now=NOW)

    assert [(module.filename, module.title) for module in modules] == [
        ("01-introduction.md", "Introduction"),
        ("02-concepts.md", "Core Concepts"),
        ("03-hands-on-lab.md", "Hands-on Lab"),
        ("04-review.md", "Review and Quiz"),
    ]
    assert [module.body.splitlines()[0] for module in modules] == [
        "# Module 1: Introduction to Intro to Docker",
        "# Module 2: Core Concepts of Intro to Docker",
        "# Module 3: Hands-on Lab for Intro to Docker",
        "# Module 4: Review and Quiz on Intro to Docker",
    ]


def test_offline_lab_has_numbered_exercises_and_review_a_quiz() -> None:
    modules = OfflineGenerator().generate("Rust", now=NOW)
    lab, review = modules[2].body, modules[3].body

    assert re.findall(r"^### Exercise (\d+):", lab, re.MULTILINE) == list("12345")
    quiz = review.split("## Quiz\n", 1)[1].split("\n## ", 1)[0]
    assert re.findall(r"^(\d+)\. ", quiz, re.MULTILINE) == list("12345")


def test_offline_text_uses_topic_and_date_and_leaves_no_placeholders() -> None:
    modules = OfflineGenerator().generate("Kubernetes", now=NOW)

    for module in modules:
        assert "Kubernetes" in module.body
        assert "$" not in module.body, module.filename
        assert module.body.endswith("\n")
    assert "Workshop material generated on 2026-12-03.\n" in modules[0].body


def test_offline_output_is_deterministic() -> None:
    first = OfflineGenerator().generate("Go", now=NOW)
    second = OfflineGenerator().generate("Go", now=NOW)

    assert first == second


@pytest.mark.parametrize(
    "filename",
    [
        pytest.param("../escape.md", id="traversal"),
        pytest.param("sub/dir.md", id="separator"),
        pytest.param("README.md", id="readme"),
        pytest.param("readme.md", id="readme-lowercase"),
        pytest.param("notes.txt", id="not-markdown"),
        pytest.param(".hidden.md", id="hidden"),
    ],
)
def test_writer_rejects_unsafe_module_names(tmp_path: Path, filename: str) -> None:
    modules = [Module(filename=filename, title="T", body="x\n")]

    with pytest.raises(InvalidModuleError):
        create_workshop(tmp_path / "ws", "T", modules, generator="test", now=NOW)

    assert not (tmp_path / "ws").exists()


def test_writer_rejects_duplicate_module_names(tmp_path: Path) -> None:
    modules = [Module("01-a.md", "A", "a\n"), Module("01-a.md", "B", "b\n")]

    with pytest.raises(InvalidModuleError):
        create_workshop(tmp_path, "T", modules, generator="test", now=NOW)


def test_writer_accepts_another_generators_modules(tmp_path: Path) -> None:
    modules = [Module("01-only.md", "Only", "# Only\n")]

    folder = create_workshop(tmp_path, "T", modules, generator="test", now=NOW)

    assert folder == tmp_path / "workshop-1-t"
    assert (folder / "01-only.md").read_text() == "# Only\n"
    assert '"generator": "test"' in (folder / "manifest.json").read_text()


def test_health_main_reports_healthy(capsys: pytest.CaptureFixture[str]) -> None:
    assert health.main() == 0
    assert capsys.readouterr().out == "healthy\n"


def test_health_main_reports_missing_templates(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def missing(filename: str) -> object:
        raise FileNotFoundError(f"no template {filename}")

    monkeypatch.setattr(templates, "load", missing)

    assert health.main() == 1
    assert capsys.readouterr().err == (
        "unhealthy: FileNotFoundError: no template 01-introduction.md\n"
    )


def test_health_module_runs_and_writes_nothing(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "workshop_builder.health"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": PYTHONPATH, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        check=False,
    )

    assert (result.returncode, result.stdout, result.stderr) == (0, "healthy\n", "")
    assert list(tmp_path.iterdir()) == []
