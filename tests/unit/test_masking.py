"""Secrets out of every printed line: registered values and credential shapes."""

from __future__ import annotations

import pytest

from lib import masking


def test_registered_value_is_masked_everywhere() -> None:
    masking.register(["hunter2-password"])

    assert masking.mask("a=hunter2-password b=hunter2-password") == "a=*** b=***"


def test_longer_secret_masked_whole_when_it_contains_another() -> None:
    masking.register(["abcd", "abcd-efgh-ijkl"])

    assert masking.mask("x abcd-efgh-ijkl y abcd") == "x *** y ***"


@pytest.mark.parametrize(
    ("value", "text", "expected"),
    [
        pytest.param("", "docker run", "docker run", id="empty"),
        pytest.param("abc", "abc abc", "abc abc", id="three-chars"),
        pytest.param("abcd", "abcd abc", "*** abc", id="four-chars"),
    ],
)
def test_short_values_are_not_registered(value: str, text: str, expected: str) -> None:
    masking.register([value])

    assert masking.mask(text) == expected


ENV = {
    "OPENAI_API_KEY": "openai-value",
    "GITHUB_TOKEN": "github-value",
    "LOG_LEVEL": "DEBUG",
    "GITHUB_REPO_OWNER": "octo-owner",
}
ALL_VALUES = "openai-value github-value DEBUG octo-owner"


@pytest.mark.parametrize(
    ("all_values", "expected"),
    [
        pytest.param(False, "*** *** DEBUG octo-owner", id="secret-keys-only"),
        pytest.param(True, "*** *** *** ***", id="all-values"),
    ],
)
def test_register_env(all_values: bool, expected: str) -> None:
    masking.register_env(ENV, all_values=all_values)

    assert masking.mask(ALL_VALUES) == expected


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        pytest.param("OPENAI_API_KEY", True, id="key"),
        pytest.param("GITHUB_TOKEN", True, id="token"),
        pytest.param("client_secret", True, id="secret-lowercase"),
        pytest.param("DB_PASSWORD", True, id="password"),
        pytest.param("GOOGLE_APPLICATION_CREDENTIALS", True, id="credentials"),
        pytest.param("SSH_PRIVATE_PEM", True, id="private"),
        pytest.param("BASIC_AUTH", True, id="auth"),
        pytest.param("LOG_LEVEL", False, id="log-level"),
        pytest.param("GITHUB_REPO_OWNER", False, id="repo-owner"),
    ],
)
def test_is_secret_key(key: str, expected: bool) -> None:
    assert masking.is_secret_key(key) is expected


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("sk-proj-AbC_123-xyz7890abcd", id="openai"),
        pytest.param("AIzaSyA0123456789abcdefghijklmnopqrstu", id="google"),
        pytest.param("ghp_0123456789abcdefghijABCDEFGHIJklmnop", id="github-classic"),
        pytest.param("github_pat_11ABCDEFG0123456789_abcdefghijkl", id="github-pat"),
        pytest.param("AKIAIOSFODNN7EXAMPLE", id="aws-key-id"),
        pytest.param("xoxb-1234567890-abcdef", id="slack"),
    ],
)
def test_credential_shapes_masked_without_registration(token: str) -> None:
    assert masking.mask(f"--env TOKEN={token} run") == "--env TOKEN=*** run"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("sk-short", id="openai-too-short"),
        pytest.param("ghp_short", id="github-too-short"),
        pytest.param("AKIAiosfodnn7example", id="aws-lowercase"),
        pytest.param("docker run --rm workshop-builder-app:latest", id="command"),
    ],
)
def test_ordinary_text_unchanged(text: str) -> None:
    assert masking.mask(text) == text


def test_forget_all() -> None:
    masking.register(["hunter2-password"])

    masking.forget_all()

    assert masking.mask("hunter2-password") == "hunter2-password"
