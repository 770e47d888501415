"""Slugs and Markdown escaping: untrusted topics become safe text."""

from __future__ import annotations

import re

import pytest

from workshop_builder.mdtext import inline
from workshop_builder.slug import slugify

SLUG_SHAPE = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")

SLUG_CASES = [
    pytest.param("Intro to Docker", "intro-to-docker", id="plain"),
    pytest.param("Café Über Docker", "cafe-uber-docker", id="unicode-accents"),
    pytest.param("ﬁle ① Ⅻ", "file-1-xii", id="unicode-compatibility-forms"),
    pytest.param("日本語", "workshop", id="unicode-without-ascii"),
    pytest.param("$(rm -rf /); echo 'x' | cat", "rm-rf-echo-x-cat", id="shell-subst"),
    pytest.param(
        "a;b|c&d$e`f'g\"h<i>j*k?l", "a-b-c-d-e-f-g-h-i-j-k-l", id="shell-meta"
    ),
    pytest.param("(x)[y]{z}", "x-y-z", id="brackets"),
    pytest.param("Intro\nto\r\nDocker\t!", "intro-to-docker", id="newlines-tabs"),
    pytest.param("../../etc", "etc", id="path-traversal"),
    pytest.param("..", "workshop", id="dot-dot"),
    pytest.param("C:\\Windows\\System32", "c-windows-system32", id="backslashes"),
    pytest.param("--verbose", "verbose", id="looks-like-option"),
    pytest.param("a" * 10_000, "a" * 50, id="10000-chars"),
    pytest.param("word " * 2_000, "-".join(["word"] * 10), id="cut-at-dash"),
    pytest.param("!!! ??? ...", "workshop", id="only-punctuation"),
    pytest.param("", "workshop", id="empty"),
    pytest.param("C++ & Rust: 2024 Edition", "c-rust-2024-edition", id="mixed"),
]


@pytest.mark.parametrize(("topic", "expected"), SLUG_CASES)
def test_slugify(topic: str, expected: str) -> None:
    assert slugify(topic) == expected


@pytest.mark.parametrize(("topic", "expected"), SLUG_CASES)
def test_slug_shape_is_always_safe(topic: str, expected: str) -> None:
    slug = slugify(topic)

    assert SLUG_SHAPE.fullmatch(slug)
    assert len(slug) <= 50


def test_slug_respects_custom_length() -> None:
    assert slugify("abc def ghi", max_length=5) == "abc-d"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Intro to Docker", "Intro to Docker", id="plain"),
        pytest.param("*bold* _it_ `code`", r"\*bold\* \_it\_ \`code\`", id="emphasis"),
        pytest.param("[a](http://x)", r"\[a\](http://x)", id="link"),
        pytest.param("<img src=x>", r"\<img src=x\>", id="html"),
        pytest.param("a | b # c ~ d & e", r"a \| b \# c \~ d \& e", id="table-heading"),
        pytest.param("back\\slash", "back\\\\slash", id="backslash"),
        pytest.param("one\ntwo\r\n\tthree", "one two three", id="whitespace"),
        pytest.param("bell\x07 esc\x1b[31m", r"bell esc \[31m", id="control-chars"),
        pytest.param("Café 1.0 - C#", r"Café 1.0 - C\#", id="unicode-kept"),
    ],
)
def test_markdown_inline(text: str, expected: str) -> None:
    assert inline(text) == expected
