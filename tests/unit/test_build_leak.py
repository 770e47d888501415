"""lib/leak.py: where secrets are looked for, and what a hit says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pytest_subprocess import FakeProcess

from lib import leak, masking
from lib.errors import ExitCode
from lib.leak import Leak

OPENAI = "sk-proj-" + "a1B2c3D4e5F6g7H8i9J0k1L2"
GITHUB = "ghp_" + "Z" * 36


def image(**config: Any) -> dict[str, Any]:
    return {"Config": {"Env": [], "Labels": {}, **config}}


def test_places_cover_env_labels_command_and_history_oldest_first() -> None:
    info = image(
        Env=["PATH=/usr/bin", "EMPTY="],
        Labels={"org.opencontainers.image.title": "app"},
        Entrypoint=["python3", "-m", "app"],
        Cmd=["--help"],
    )

    pairs = leak.places(info, ["FROM base", "RUN make"])

    assert pairs == [
        ("env PATH", "PATH=/usr/bin"),
        ("env EMPTY", "EMPTY="),
        ("label org.opencontainers.image.title", "org.opencontainers.image.title=app"),
        ("entrypoint", "python3 -m app"),
        ("cmd", "--help"),
        ("history layer 1", "FROM base"),
        ("history layer 2", "RUN make"),
    ]


def test_places_survive_null_config() -> None:
    assert leak.places({"Config": None}, []) == [("entrypoint", ""), ("cmd", "")]


def test_env_file_secrets_are_the_long_values_of_secret_keys(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "OPENAI_API_KEY=real-key-value-123\n"
        "GITHUB_TOKEN=your_github_token_here\n"  # a placeholder
        "GEMINI_API_KEY=short\n"  # too short to mean anything
        "GITHUB_REPO_NAME=workshop-builder\n"  # not a secret
        "LOG_LEVEL=INFO\n"
    )

    found = leak.secrets_in_env_file(env_file)

    assert found == {"the value of .env key OPENAI_API_KEY": "real-key-value-123"}
    assert masking.mask("x real-key-value-123 y") == "x *** y"


def test_no_env_file_means_no_secrets(tmp_path: Path) -> None:
    assert leak.secrets_in_env_file(tmp_path / ".env") == {}


def test_secret_build_args_are_guarded_and_masked() -> None:
    found = leak.secrets_in_build_args(
        {"BUILD_DATE": "2026-01-01T00:00:00Z", "NPM_TOKEN": "npm-0123456789"}
    )

    assert found == {"the value of build arg NPM_TOKEN": "npm-0123456789"}
    assert "npm-0123456789" not in masking.mask("--build-arg NPM_TOKEN=npm-0123456789")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(f"KEY={OPENAI}", True, id="openai-after-equals"),
        pytest.param(GITHUB, True, id="github-at-start"),
        pytest.param("AKIAABCDEFGHIJKLMNOP", True, id="aws-key-id"),
        pytest.param("disk-usage-report-generator-x", False, id="sk-inside-a-word"),
        pytest.param("PATH=/opt/venv/bin:/usr/bin", False, id="path"),
        pytest.param("", False, id="empty"),
    ],
)
def test_credential_shapes(text: str, expected: bool) -> None:
    assert leak.looks_like_credential(text) is expected


def test_find_leaks_names_place_and_source_never_the_value() -> None:
    secrets = {"the value of .env key OPENAI_API_KEY": "real-key-value-123"}
    pairs = [
        ("env BAKED", "BAKED=real-key-value-123"),
        ("label note", f"note={GITHUB}"),
        ("history layer 2", "RUN make"),
    ]

    leaks = leak.find_leaks(pairs, secrets)

    assert leaks == [
        Leak("env BAKED", "the value of .env key OPENAI_API_KEY"),
        Leak("label note", "a credential-looking string"),
    ]
    error = leak.SecretLeakError(leaks, "app:1")
    assert error.exit_code == ExitCode.SECRET_LEAK
    shown = error.message + error.detail() + (error.hint or "")
    assert "real-key-value-123" not in shown
    assert GITHUB not in shown
    assert "the value of .env key OPENAI_API_KEY is in env BAKED" in error.detail()


@pytest.mark.parametrize(
    ("secrets", "build_args", "dockerfile", "expected"),
    [
        pytest.param(
            {}, {"VCS_REF": "abc1234"}, "FROM x\nRUN make\n", False, id="clean"
        ),
        pytest.param(
            {"the value of .env key K": "real-key-value-123"},
            {"VCS_REF": "abc1234"},
            "FROM x\n",
            False,
            id="env-secret-nowhere-in-the-build",
        ),
        pytest.param(
            {"the value of .env key K": "real-key-value-123"},
            {"X": "real-key-value-123"},
            "FROM x\n",
            True,
            id="env-secret-passed-as-build-arg",
        ),
        pytest.param({}, {"X": OPENAI}, "FROM x\n", True, id="credential-build-arg"),
        pytest.param(
            {}, {}, f"FROM x\nENV T={GITHUB}\n", True, id="credential-in-dockerfile"
        ),
        pytest.param(
            {"the value of build arg NPM_TOKEN": "npm-0123456789"},
            {"NPM_TOKEN": "npm-0123456789"},
            "FROM x\n",
            True,
            id="secret-named-build-arg",
        ),
    ],
)
def test_history_is_read_only_when_the_build_could_have_put_a_secret_there(
    secrets: dict[str, str], build_args: dict[str, str], dockerfile: str, expected: bool
) -> None:
    assert leak.history_needed(secrets, build_args, dockerfile) is expected


def test_check_image_reads_history_newest_last(
    fp: FakeProcess, stub_path: Path
) -> None:
    rows = [
        {"CreatedBy": '/bin/sh -c #(nop)  CMD ["--help"]', "Comment": ""},
        {"CreatedBy": "|1 PASSWORD=real-key-value-123 /bin/sh -c make", "Comment": ""},
        {"CreatedBy": "", "Comment": "Imported from -"},
    ]
    fp.register(
        [fp.program("docker"), "image", "history", "--no-trunc", "--format",
         "{{json .}}", "app:1"],
        stdout="".join(json.dumps(r) + "\n" for r in rows),
    )  # fmt: skip
    secrets = {"the value of .env key PASSWORD": "real-key-value-123"}

    with pytest.raises(leak.SecretLeakError) as raised:
        leak.check_image("app:1", image(), secrets, with_history=True)

    assert raised.value.leaks == (
        Leak("history layer 2", "the value of .env key PASSWORD"),
    )


def test_check_image_without_history_makes_no_docker_call(
    fp: FakeProcess, stub_path: Path
) -> None:
    checked = leak.check_image(
        "app:1", image(Env=["A=1", "B=2"]), {}, with_history=False
    )

    assert checked == 4  # two env entries, entrypoint, cmd
    assert len(fp.calls) == 0
