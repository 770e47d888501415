"""The .env file: parsed like docker should have, refused when ambiguous."""

from __future__ import annotations

from pathlib import Path

import pytest

from lib import envfile
from lib.errors import ExitCode, PreflightError

PROJECT_DIR = Path(__file__).resolve().parents[2]


def write_env(tmp_path: Path, content: str | bytes, *, mode: int = 0o600) -> Path:
    path = tmp_path / ".env"
    if isinstance(content, str):
        path.write_bytes(content.encode())
    else:
        path.write_bytes(content)
    path.chmod(mode)
    return path


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param('KEY="a b"\n', {"KEY": "a b"}, id="double-quotes-dropped"),
        pytest.param("KEY='a b'\n", {"KEY": "a b"}, id="single-quotes-dropped"),
        pytest.param('A=1\r\nB="q"\r\n', {"A": "1", "B": "q"}, id="crlf"),
        pytest.param(b"\xef\xbb\xbfA=1\n", {"A": "1"}, id="utf8-bom"),
        pytest.param(
            "# comment\n\nA=1 # trailing\n  # indented\n", {"A": "1"}, id="comments"
        ),
        pytest.param("export A=1\n", {"A": "1"}, id="export-prefix"),
        pytest.param("A=\n", {"A": ""}, id="empty-value"),
        pytest.param("A\n", {"A": ""}, id="key-without-equals"),
        pytest.param("A=${HOME}/x\n", {"A": "${HOME}/x"}, id="no-interpolation"),
    ],
)
def test_parse_values(
    tmp_path: Path, content: str | bytes, expected: dict[str, str]
) -> None:
    assert envfile.parse(write_env(tmp_path, content)).values == expected


def test_parse_result(tmp_path: Path) -> None:
    path = write_env(tmp_path, "OPENAI_API_KEY=your_openai_api_key_here\nA=1\n")

    assert envfile.parse(path) == envfile.EnvFile(
        path=path,
        values={"OPENAI_API_KEY": "your_openai_api_key_here", "A": "1"},
        placeholders=("OPENAI_API_KEY",),
        world_readable=False,
    )


@pytest.mark.parametrize(
    ("content", "keys"),
    [
        pytest.param("A=1\nexport A=2\n", "A", id="export-repeats"),
        pytest.param("B=1\nA=1\nB=2\nA=2\n", "A, B", id="two-keys-sorted"),
    ],
)
def test_parse_refuses_duplicate_keys(tmp_path: Path, content: str, keys: str) -> None:
    path = write_env(tmp_path, content)

    with pytest.raises(PreflightError) as caught:
        envfile.parse(path)

    assert caught.value.message == f"env file {path} sets {keys} more than once"
    assert caught.value.hint == "keep one line per key"
    assert caught.value.exit_code is ExitCode.PREFLIGHT


@pytest.mark.parametrize(
    ("content", "line"),
    [
        pytest.param("A=1\nnot valid line\n", 2, id="words"),
        pytest.param("A=1\r\nB=2\r\n=novalue\r\n", 3, id="no-key-crlf"),
        pytest.param('A="unterminated\n', 1, id="open-quote"),
    ],
)
def test_parse_refuses_unparseable_line(
    tmp_path: Path, content: str, line: int
) -> None:
    path = write_env(tmp_path, content)

    with pytest.raises(PreflightError) as caught:
        envfile.parse(path)

    assert caught.value.message == (
        f"env file {path} has a line dotenv cannot parse (line {line})"
    )
    assert caught.value.hint == "write each entry as KEY=VALUE"
    assert caught.value.exit_code == 3


def test_parse_refuses_non_utf8(tmp_path: Path) -> None:
    path = write_env(tmp_path, b"A=caf\xe9\n")

    with pytest.raises(PreflightError) as caught:
        envfile.parse(path)

    assert caught.value.message == f"env file {path} is not UTF-8 text"
    assert caught.value.hint == "save it as UTF-8"
    assert caught.value.exit_code is ExitCode.PREFLIGHT


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        pytest.param("missing", "No such file or directory", id="missing"),
        pytest.param("", "Is a directory", id="directory"),
    ],
)
def test_parse_refuses_unreadable(tmp_path: Path, name: str, reason: str) -> None:
    # A directory rather than chmod 000: root reads a mode-000 file anyway.
    path = tmp_path / name

    with pytest.raises(PreflightError) as caught:
        envfile.parse(path)

    assert caught.value.message == f"cannot read env file {path}: {reason}"
    assert caught.value.hint == f"check that {path} is a readable file"
    assert caught.value.exit_code is ExitCode.PREFLIGHT


def test_parse_finds_placeholders(tmp_path: Path) -> None:
    path = write_env(
        tmp_path,
        "OPENAI_API_KEY=your_openai_api_key_here\n"
        'GITHUB_TOKEN="YOUR-TOKEN-HERE"\n'
        "GEMINI_API_KEY=AIzaSyRealLookingValue0123456789\n"
        "LOG_LEVEL=INFO\n",
    )

    assert envfile.parse(path).placeholders == ("OPENAI_API_KEY", "GITHUB_TOKEN")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("your_openai_api_key_here", True, id="snake"),
        pytest.param("YOUR-TOKEN-HERE", True, id="upper-kebab"),
        pytest.param("  your_key_here ", True, id="padded"),
        pytest.param("sk-proj-0123456789abcdef", False, id="real-key"),
        pytest.param("your_key", False, id="no-here"),
        pytest.param("not_your_key_here", False, id="not-at-start"),
        pytest.param("", False, id="empty"),
    ],
)
def test_is_placeholder(value: str, expected: bool) -> None:
    assert envfile.is_placeholder(value) is expected


@pytest.mark.parametrize(
    ("mode", "expected"),
    [pytest.param(0o644, True, id="0644"), pytest.param(0o600, False, id="0600")],
)
def test_world_readable(tmp_path: Path, mode: int, expected: bool) -> None:
    path = write_env(tmp_path, "A=1\n", mode=mode)

    assert envfile.parse(path).world_readable is expected


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param({"A": "1"}, ["B", "C"], id="absent-in-required-order"),
        pytest.param({"A": "1", "B": "  ", "C": ""}, ["B", "C"], id="blank-is-missing"),
    ],
)
def test_missing_keys(values: dict[str, str], expected: list[str]) -> None:
    assert envfile.missing_keys(values, ("A", "B", "C")) == expected


def test_check_example_refuses_missing_file(tmp_path: Path) -> None:
    path = tmp_path / ".env.example"

    with pytest.raises(PreflightError) as caught:
        envfile.check_example(path)

    assert caught.value.message == f"{path} is missing"
    assert caught.value.hint == "restore it from git: git checkout -- .env.example"
    assert caught.value.exit_code is ExitCode.PREFLIGHT


def test_check_example_accepts_the_repository_example() -> None:
    assert envfile.check_example(PROJECT_DIR / ".env.example") is None


def test_check_example_accepts_secret_keys_left_out(tmp_path: Path) -> None:
    path = write_env(tmp_path, "LOG_LEVEL=INFO\nOPENAI_MODEL=gpt-4o\n")

    assert envfile.check_example(path) is None


@pytest.mark.parametrize(
    ("content", "keys"),
    [
        pytest.param(
            "OPENAI_API_KEY=sk-proj-0123456789abcdef\n"
            "GITHUB_TOKEN=your_github_token_here\n",
            "OPENAI_API_KEY",
            id="one-real",
        ),
        pytest.param(
            "GITHUB_TOKEN=ghp_0123456789abcdefghij\nOPENAI_API_KEY=sk-x\n",
            "OPENAI_API_KEY, GITHUB_TOKEN",
            id="two-real-in-contract-order",
        ),
    ],
)
def test_check_example_refuses_real_values(
    tmp_path: Path, content: str, keys: str
) -> None:
    path = write_env(tmp_path, content)

    with pytest.raises(PreflightError) as caught:
        envfile.check_example(path)

    assert caught.value.message == f"{path} holds real-looking values for {keys}"
    assert caught.value.exit_code is ExitCode.PREFLIGHT
