"""Log lines: a tag, an optional prefix, the message with secrets masked."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from lib import log, masking


class TtyStream(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _clean_logger(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    saved = (log.logger.handlers[:], log.logger.level, log.logger.propagate)
    yield
    log.logger.handlers[:], log.logger.level, log.logger.propagate = saved


def capture(*, debug: bool = False, prefix: str = "") -> io.StringIO:
    stream = io.StringIO()
    log.setup(debug=debug, prefix=prefix, stream=stream)
    return stream


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        pytest.param(logging.DEBUG, "[DEBUG] hello\n", id="debug"),
        pytest.param(logging.INFO, "[INFO] hello\n", id="info"),
        pytest.param(log.SUCCESS, "[SUCCESS] hello\n", id="success"),
        pytest.param(logging.WARNING, "[WARNING] hello\n", id="warning"),
        pytest.param(logging.ERROR, "[ERROR] hello\n", id="error"),
        pytest.param(logging.CRITICAL, "[ERROR] hello\n", id="critical-as-error"),
    ],
)
def test_tags(level: int, expected: str) -> None:
    stream = capture(debug=True)

    log.logger.log(level, "hello")

    assert stream.getvalue() == expected


def test_success_helper_formats_arguments() -> None:
    stream = capture()

    log.success("built %s", "workshop-builder-app:latest")

    assert stream.getvalue() == "[SUCCESS] built workshop-builder-app:latest\n"


def test_debug_hidden_without_debug() -> None:
    stream = capture(debug=False)

    log.logger.debug("details")
    log.logger.info("summary")

    assert stream.getvalue() == "[INFO] summary\n"


def test_prefix_follows_the_tag() -> None:
    stream = capture(prefix="run: ")

    log.logger.warning("no limits")

    assert stream.getvalue() == "[WARNING] run: no limits\n"


def test_registered_secret_printed_as_mask() -> None:
    stream = capture()
    masking.register(["hunter2-password"])

    log.logger.info("--env PASSWORD=%s", "hunter2-password")

    assert stream.getvalue() == "[INFO] --env PASSWORD=***\n"


def test_secret_in_traceback_masked() -> None:
    stream = capture()
    masking.register(["hunter2-password"])

    try:
        raise RuntimeError("login with hunter2-password failed")
    except RuntimeError:
        log.logger.exception("boom")

    output = stream.getvalue()
    assert output.startswith("[ERROR] boom\nTraceback")
    assert "RuntimeError: login with *** failed" in output
    assert "hunter2-password" not in output


def test_setup_twice_keeps_one_handler() -> None:
    first = capture()
    second = capture()

    log.logger.info("once")

    assert first.getvalue() == ""
    assert second.getvalue() == "[INFO] once\n"
    assert log.logger.propagate is False


@pytest.mark.parametrize(
    ("env", "ci", "tty", "expected"),
    [
        pytest.param({"FORCE_COLOR": "1"}, False, False, True, id="force-no-tty"),
        pytest.param({"FORCE_COLOR": "1"}, True, False, True, id="force-beats-ci"),
        pytest.param({"NO_COLOR": "1"}, False, True, False, id="no-color-on-tty"),
        pytest.param({"NO_COLOR": ""}, False, True, True, id="empty-no-color-ignored"),
        pytest.param({}, True, True, False, id="ci-on-tty"),
        pytest.param({}, False, True, True, id="tty"),
        pytest.param({}, False, False, False, id="not-a-tty"),
    ],
)
def test_colour_wanted(
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    ci: bool,
    tty: bool,
    expected: bool,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    stream = TtyStream() if tty else io.StringIO()

    assert log.colour_wanted(stream, ci=ci) is expected


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        pytest.param(logging.INFO, "\x1b[34m[INFO]\x1b[0m hello\n", id="info-blue"),
        pytest.param(log.SUCCESS, "\x1b[32m[SUCCESS]\x1b[0m hello\n", id="green"),
        pytest.param(logging.WARNING, "\x1b[33m[WARNING]\x1b[0m hello\n", id="yellow"),
        pytest.param(logging.ERROR, "\x1b[31m[ERROR]\x1b[0m hello\n", id="error-red"),
    ],
)
def test_force_color_paints_the_tag(
    monkeypatch: pytest.MonkeyPatch, level: int, expected: str
) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    stream = capture()

    log.logger.log(level, "hello")

    assert stream.getvalue() == expected


def test_no_color_on_a_tty_writes_no_escapes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    stream = TtyStream()
    log.setup(debug=False, stream=stream)

    log.logger.error("failed")

    assert stream.getvalue() == "[ERROR] failed\n"
