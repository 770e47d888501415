"""Input checks: what they accept, what they return, what they say when they refuse."""

from __future__ import annotations

import re
from contextlib import AbstractContextManager
from typing import Any

import click
import pytest

from lib import validate
from lib.validate import (
    check_container_name,
    check_cpus,
    check_env_key,
    check_image_name,
    check_memory,
    check_network,
    check_severities,
    check_tag,
    check_tmpfs_size,
    nano_cpus,
    parse_size,
    split_env,
)

GIB = 1024**3
HOST_BYTES = 8 * GIB
HOST_CPUS = 4
NOT_A_SIZE = "is not a size; use a number with b, k, m or g"
NOT_A_NAME = "is not a valid variable name; use letters, digits and _"
IMAGE_HINT = (
    "is not a valid image name; use lowercase letters, digits "
    "and . _ - /, e.g. workshop-builder-app"
)
TAG_HINT = (
    "is not a valid tag; use up to 128 of A-Z a-z 0-9 _ . - not starting with . or -"
)
SEVERITY_HINT = (
    "has unknown severities; use a comma list of UNKNOWN,LOW,MEDIUM,HIGH,CRITICAL"
)


def raises_exactly(
    message: str,
) -> AbstractContextManager[pytest.ExceptionInfo[ValueError]]:
    return pytest.raises(ValueError, match=f"^{re.escape(message)}$")


# --- sizes and memory --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("1024", 1024, id="bare-bytes"),
        pytest.param("512b", 512, id="b-unit"),
        pytest.param("100k", 102_400, id="kibibytes"),
        pytest.param("512m", 536_870_912, id="mebibytes"),
        pytest.param("2g", 2_147_483_648, id="gibibytes"),
        pytest.param("1.5g", 1_610_612_736, id="fraction"),
        pytest.param(" 2g\n", 2_147_483_648, id="surrounding-whitespace"),
    ],
)
def test_parse_size(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("1e3", id="exponent"),
        pytest.param("1,5g", id="decimal-comma"),
        pytest.param("2 g", id="space-before-unit"),
    ],
)
def test_parse_size_refuses(text: str) -> None:
    with raises_exactly(f"{text!r} {NOT_A_SIZE}"):
        parse_size(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("2g", "2g", id="default"),
        pytest.param("2G", "2g", id="uppercase-lowered"),
        pytest.param("6m", "6m", id="docker-minimum"),
        pytest.param("6291456", "6291456", id="docker-minimum-in-bytes"),
        pytest.param("8g", "8g", id="all-of-host"),
    ],
)
def test_check_memory_accepts(text: str, expected: str) -> None:
    assert check_memory(text, host_bytes=HOST_BYTES) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("2x", f"'2x' {NOT_A_SIZE}", id="unknown-unit"),
        pytest.param("-1g", f"'-1g' {NOT_A_SIZE}", id="negative"),
        pytest.param("", f"'' {NOT_A_SIZE}", id="empty"),
        pytest.param("1.5.5g", f"'1.5.5g' {NOT_A_SIZE}", id="two-dots"),
        pytest.param("5m", "'5m' is below docker's minimum of 6m", id="below-6m"),
        pytest.param(
            "6291455", "'6291455' is below docker's minimum of 6m", id="one-byte-short"
        ),
        pytest.param("99999g", "'99999g' is more than this host has (8.0g)", id="huge"),
        pytest.param(
            "8193m", "'8193m' is more than this host has (8.0g)", id="just-above-host"
        ),
    ],
)
def test_check_memory_refuses(text: str, message: str) -> None:
    with raises_exactly(message):
        check_memory(text, host_bytes=HOST_BYTES)


@pytest.mark.parametrize("text", ["2gb", "2GiB"])
def test_check_memory_accepts_docker_long_units(text: str) -> None:
    assert check_memory(text, host_bytes=HOST_BYTES) == text.lower()


def test_check_memory_returns_value_docker_accepts() -> None:
    assert check_memory(" 2g ", host_bytes=HOST_BYTES) == "2g"


# --- cpus and pids -----------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("1.0", id="default"),
        pytest.param("0.5", id="half"),
        pytest.param("0.01", id="docker-minimum"),
        pytest.param("4", id="all-of-host"),
    ],
)
def test_check_cpus_accepts(text: str) -> None:
    assert check_cpus(text, host_cpus=HOST_CPUS) == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("0", "'0' must be above 0, e.g. 0.5 or 1.0", id="zero"),
        pytest.param("-1", "'-1' must be above 0, e.g. 0.5 or 1.0", id="negative"),
        pytest.param("nan", "'nan' must be above 0, e.g. 0.5 or 1.0", id="nan"),
        pytest.param("-inf", "'-inf' must be above 0, e.g. 0.5 or 1.0", id="-inf"),
        pytest.param("inf", "'inf' is more than the 4 CPUs of this host", id="inf"),
        pytest.param(
            "4.5", "'4.5' is more than the 4 CPUs of this host", id="above-host"
        ),
        pytest.param("abc", "'abc' is not a number; use e.g. 0.5 or 2", id="word"),
        pytest.param("", "'' is not a number; use e.g. 0.5 or 2", id="empty"),
    ],
)
def test_check_cpus_refuses(text: str, message: str) -> None:
    with raises_exactly(message):
        check_cpus(text, host_cpus=HOST_CPUS)


def test_check_cpus_refuses_below_docker_minimum() -> None:
    with pytest.raises(ValueError, match=re.escape("0.01")):
        check_cpus("0.001", host_cpus=HOST_CPUS)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "1.0000000001",
            "'1.0000000001' is too precise; use at most 9 decimals",
            id="finer-than-nano",
        ),
        pytest.param("1_0", "'1_0' is not a number; use e.g. 0.5 or 2", id="under"),
        pytest.param(
            "0.009", "'0.009' is below docker's minimum of 0.01", id="below-min"
        ),
    ],
)
def test_check_cpus_refuses_what_docker_refuses(text: str, message: str) -> None:
    with raises_exactly(message):
        check_cpus(text, host_cpus=HOST_CPUS)


def test_check_cpus_returns_the_stripped_value() -> None:
    assert check_cpus(" 0.5 ", host_cpus=HOST_CPUS) == "0.5"


@pytest.mark.parametrize(
    ("text", "nano"),
    [("1.0", 1_000_000_000), ("0.01", 10_000_000), ("0.333333333", 333_333_333)],
)
def test_nano_cpus_as_docker_stores_them(text: str, nano: int) -> None:
    assert nano_cpus(text) == nano


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("512MB", 536_870_912, id="MB"),
        pytest.param("512mib", 536_870_912, id="mib"),
        pytest.param("100kb", 102_400, id="kb"),
    ],
)
def test_parse_size_long_units(text: str, expected: int) -> None:
    assert parse_size(text) == expected


# --- tmpfs size --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("100m", "100m", id="default"),
        pytest.param("1M", "1m", id="minimum-uppercase"),
        pytest.param("1024k", "1024k", id="minimum-in-k"),
    ],
)
def test_check_tmpfs_size_accepts(text: str, expected: str) -> None:
    assert check_tmpfs_size(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("1023k", "'1023k' is too small; use at least 1m", id="below-1m"),
        pytest.param("0", "'0' is too small; use at least 1m", id="zero"),
        pytest.param("abc", f"'abc' {NOT_A_SIZE}", id="not-a-size"),
    ],
)
def test_check_tmpfs_size_refuses(text: str, message: str) -> None:
    with raises_exactly(message):
        check_tmpfs_size(text)


@pytest.mark.parametrize(
    "text", [pytest.param("1.5m", id="fraction"), pytest.param("1048576b", id="b")]
)
def test_check_tmpfs_size_refuses_what_the_kernel_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        check_tmpfs_size(text)


def test_check_tmpfs_size_says_what_the_kernel_takes() -> None:
    with raises_exactly(
        "'1.5m' is not a size tmpfs takes; use a whole number with k, m or g, e.g. 64m"
    ):
        check_tmpfs_size("1.5m")


# --- environment variables ---------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("OPENAI_API_KEY", id="upper-snake"),
        pytest.param("_private", id="leading-underscore"),
        pytest.param("log_level", id="lowercase"),
    ],
)
def test_check_env_key_accepts(key: str) -> None:
    assert check_env_key(key) == key


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("", id="empty"),
        pytest.param("MY KEY", id="space"),
        pytest.param("1KEY", id="leading-digit"),
        pytest.param("A=B", id="equals"),
        pytest.param("KEY\n", id="trailing-newline"),
    ],
)
def test_check_env_key_refuses(key: str) -> None:
    with raises_exactly(f"{key!r} {NOT_A_NAME}"):
        check_env_key(key)


@pytest.mark.parametrize(
    ("text", "require_value", "expected"),
    [
        pytest.param("KEY=VALUE", True, ("KEY", "VALUE"), id="pair"),
        pytest.param("KEY=", True, ("KEY", ""), id="empty-value"),
        pytest.param("KEY=a=b", True, ("KEY", "a=b"), id="equals-in-value"),
        pytest.param("KEY=a b", True, ("KEY", "a b"), id="space-in-value"),
        pytest.param("KEY", False, ("KEY", None), id="name-only"),
    ],
)
def test_split_env(
    text: str, require_value: bool, expected: tuple[str, str | None]
) -> None:
    assert split_env(text, require_value=require_value) == expected


@pytest.mark.parametrize(
    ("text", "require_value", "message"),
    [
        pytest.param("KEY", True, "'KEY' has no '='; use KEY=VALUE", id="no-equals"),
        pytest.param("=VALUE", False, f"'' {NOT_A_NAME}", id="empty-key"),
        pytest.param("1A=x", True, f"'1A' {NOT_A_NAME}", id="leading-digit"),
    ],
)
def test_split_env_refuses(text: str, require_value: bool, message: str) -> None:
    with raises_exactly(message):
        split_env(text, require_value=require_value)


# --- image names and tags ----------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("workshop-builder-app", id="default"),
        pytest.param("a", id="one-char"),
        pytest.param("library/ubuntu", id="two-components"),
        pytest.param("localhost:5000/team/app", id="registry-with-port"),
        pytest.param("registry.example.com/a/b", id="registry-domain"),
        pytest.param("a__b", id="double-underscore"),
        pytest.param("a--b", id="dashes"),
        pytest.param("x" * 255, id="255-chars"),
    ],
)
def test_check_image_name_accepts(name: str) -> None:
    assert check_image_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("Workshop-Builder", id="uppercase"),
        pytest.param("my app", id="space"),
        pytest.param("a::b", id="double-colon"),
        pytest.param("a" * 300, id="300-chars"),
        pytest.param("", id="empty"),
        pytest.param("app:latest", id="with-tag"),
        pytest.param("-app", id="leading-dash"),
        pytest.param("a..b", id="two-dots"),
        pytest.param("a___b", id="three-underscores"),
        pytest.param("a//b", id="empty-component"),
    ],
)
def test_check_image_name_refuses(name: str) -> None:
    with raises_exactly(f"{name!r} {IMAGE_HINT}"):
        check_image_name(name)


@pytest.mark.parametrize(
    "tag",
    [
        pytest.param("latest", id="default"),
        pytest.param("v1.2-rc_3", id="mixed"),
        pytest.param("_x", id="leading-underscore"),
        pytest.param("A" * 128, id="128-chars"),
    ],
)
def test_check_tag_accepts(tag: str) -> None:
    assert check_tag(tag) == tag


@pytest.mark.parametrize(
    "tag",
    [
        pytest.param("a:b:c", id="two-colons"),
        pytest.param("has space", id="space"),
        pytest.param("a" * 200, id="200-chars"),
        pytest.param("a" * 129, id="129-chars"),
        pytest.param(".hidden", id="leading-dot"),
        pytest.param("-dash", id="leading-dash"),
        pytest.param("", id="empty"),
    ],
)
def test_check_tag_refuses(tag: str) -> None:
    with raises_exactly(f"{tag!r} {TAG_HINT}"):
        check_tag(tag)


# --- container names and networks --------------------------------------------


@pytest.mark.parametrize("name", ["ab", "workshop-builder-feedbeef", "My_Run.2", "0x"])
def test_check_container_name_accepts(name: str) -> None:
    assert check_container_name(name) == name


@pytest.mark.parametrize("name", ["a", "-ab", ".ab", "a b", "a/b", "ä1", ""])
def test_check_container_name_refuses(name: str) -> None:
    with raises_exactly(
        f"{name!r} is not a valid container name; use at least 2 of "
        "A-Z a-z 0-9 _ . - starting with a letter or digit"
    ):
        check_container_name(name)


@pytest.mark.parametrize("name", ["none", "bridge", "workshop_net", "n1.a-b"])
def test_check_network_accepts(name: str) -> None:
    assert check_network(name) == name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        pytest.param(
            "host",
            "'host' shares the host's network stack with the container (CIS "
            "Docker Benchmark 5.10); use none, bridge or a user-defined network",
            id="host",
        ),
        pytest.param(
            "container:db",
            "'container:db' shares another container's network stack; use none, "
            "bridge or a user-defined network",
            id="container",
        ),
        pytest.param(
            "a b",
            "'a b' is not a network name; use none, bridge or the name of a "
            "network from docker network ls",
            id="space",
        ),
        pytest.param(
            "",
            "'' is not a network name; use none, bridge or the name of a "
            "network from docker network ls",
            id="empty",
        ),
    ],
)
def test_check_network_refuses(name: str, message: str) -> None:
    with raises_exactly(message):
        check_network(name)


# --- severities --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("HIGH,CRITICAL", ("HIGH", "CRITICAL"), id="default"),
        pytest.param("high, critical", ("HIGH", "CRITICAL"), id="lowercase-spaced"),
        pytest.param(" HIGH , ,CRITICAL ", ("HIGH", "CRITICAL"), id="blank-parts"),
        pytest.param("UNKNOWN,LOW,MEDIUM,HIGH,CRITICAL", validate.SEVERITIES, id="all"),
    ],
)
def test_check_severities(text: str, expected: tuple[str, ...]) -> None:
    assert check_severities(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("SEVERE", id="unknown"),
        pytest.param("", id="empty"),
        pytest.param("HIGH,SEVERE", id="one-unknown"),
    ],
)
def test_check_severities_refuses(text: str) -> None:
    with raises_exactly(f"{text!r} {SEVERITY_HINT}"):
        check_severities(text)


# --- click types -------------------------------------------------------------


@click.command()
@click.option("--memory", type=validate.MEMORY, default="6m")
@click.option("--cpus", type=validate.CPUS, default="1.0")
@click.option("--tmpfs-size", type=validate.TMPFS_SIZE, default="100m")
@click.option("--image", type=validate.IMAGE_NAME, default="workshop-builder-app")
@click.option("--tag", type=validate.TAG, default="latest")
@click.option("--severity", type=validate.SEVERITY_LIST, default="HIGH,CRITICAL")
@click.option("--env", "extra_env", type=validate.EXTRA_ENV, multiple=True)
@click.option("--build-arg", type=validate.BUILD_ARG, multiple=True)
def probe(**params: Any) -> dict[str, Any]:
    return params


def test_click_types_convert_defaults() -> None:
    assert probe.main([], standalone_mode=False) == {
        "memory": "6m",
        "cpus": "1.0",
        "tmpfs_size": "100m",
        "image": "workshop-builder-app",
        "tag": "latest",
        "severity": ("HIGH", "CRITICAL"),
        "extra_env": (),
        "build_arg": (),
    }


def test_click_types_convert_given_values() -> None:
    args = [
        "--memory", "512M",
        "--tmpfs-size", "64M",
        "--severity", "critical",
        "--env", "A=1",
        "--env", "B",
        "--build-arg", "VCS_REF=abc1234",
    ]  # fmt: skip

    params = probe.main(args, standalone_mode=False)

    assert params["memory"] == "512m"
    assert params["tmpfs_size"] == "64m"
    assert params["severity"] == ("CRITICAL",)
    assert params["extra_env"] == (("A", "1"), ("B", None))
    assert params["build_arg"] == (("VCS_REF", "abc1234"),)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--memory", "2x"], f"'--memory': '2x' {NOT_A_SIZE}", id="memory"),
        pytest.param(
            ["--cpus", "abc"],
            "'--cpus': 'abc' is not a number; use e.g. 0.5 or 2",
            id="cpus",
        ),
        pytest.param(
            ["--tmpfs-size", "1k"],
            "'--tmpfs-size': '1k' is too small; use at least 1m",
            id="tmpfs-size",
        ),
        pytest.param(
            ["--image", "A::b"], f"'--image': 'A::b' {IMAGE_HINT}", id="image"
        ),
        pytest.param(["--tag", ".x"], f"'--tag': '.x' {TAG_HINT}", id="tag"),
        pytest.param(
            ["--severity", "SEVERE"],
            f"'--severity': 'SEVERE' {SEVERITY_HINT}",
            id="severity",
        ),
        pytest.param(["--env", "1A=x"], f"'--env': '1A' {NOT_A_NAME}", id="env"),
        pytest.param(
            ["--build-arg", "VCS_REF"],
            "'--build-arg': 'VCS_REF' has no '='; use KEY=VALUE",
            id="build-arg",
        ),
    ],
)
def test_click_types_name_the_flag(args: list[str], message: str) -> None:
    with pytest.raises(click.BadParameter) as caught:
        probe.main(args, standalone_mode=False)

    assert caught.value.format_message() == f"Invalid value for {message}"
