"""Hardening verification and the CIS self-audit, from docker inspect data."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lib import audit
from lib.docker_argv import Hardening, Limits

GIB = 1024**3
HEALTHCHECK = {"Test": ["CMD", "python3", "-m", "workshop_builder.health"]}


def inspect_data(
    *,
    host: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
    state: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A container as docker inspect shows it after run_docker.py's create."""
    return {
        "Config": {"User": "1000:1000", "Healthcheck": HEALTHCHECK, **(config or {})},
        "HostConfig": {
            "CapDrop": ["ALL"],
            "CapAdd": None,
            "Privileged": False,
            "ReadonlyRootfs": True,
            "SecurityOpt": ["no-new-privileges:true"],
            "Memory": 2 * GIB,
            "MemorySwap": 2 * GIB,
            "NanoCpus": 1_000_000_000,
            "CpuShares": 0,
            "CpuQuota": 0,
            "PidsLimit": 100,
            "Tmpfs": {"/tmp": "rw,noexec,nosuid,size=100m"},
            **(host or {}),
        },
        "State": {"Status": "created", **(state or {})},
    }


IMAGE = {"Config": {"User": "1000:1000", "Healthcheck": HEALTHCHECK}}
DEFAULT = audit.expected_from(Hardening())


# --- expected values ---------------------------------------------------------


def test_expected_from_the_default_hardening() -> None:
    assert audit.expected_from(Hardening()) == audit.Expected(
        user="1000:1000",
        memory_bytes=2 * GIB,
        nano_cpus=1_000_000_000,
        pids=100,
        tmpfs={"/tmp": "rw,noexec,nosuid,size=100m"},
    )


def test_expected_from_custom_limits_uses_dockers_arithmetic() -> None:
    hardening = Hardening(
        user="501:20", limits=Limits("1.5g", "0.25", 7), tmpfs_size="64m"
    )

    assert audit.expected_from(hardening) == audit.Expected(
        user="501:20",
        memory_bytes=1_610_612_736,
        nano_cpus=250_000_000,
        pids=7,
        tmpfs={"/tmp": "rw,noexec,nosuid,size=64m"},
    )


def test_expected_without_limits_checks_none() -> None:
    expected = audit.expected_from(Hardening(limits=None))

    assert (expected.memory_bytes, expected.nano_cpus, expected.pids) == (
        None,
        None,
        None,
    )
    unlimited = {"Memory": 0, "MemorySwap": 0, "NanoCpus": 0, "PidsLimit": None}
    assert audit.verify(inspect_data(host=unlimited), expected) == []


# --- verify ------------------------------------------------------------------


def test_verify_accepts_what_was_asked_for() -> None:
    assert audit.verify(inspect_data(), DEFAULT) == []


@pytest.mark.parametrize(
    ("host", "config", "problem"),
    [
        pytest.param(
            {}, {"User": "0:0"}, "Config.User is '0:0', expected '1000:1000'", id="user"
        ),
        pytest.param(
            {"CapDrop": None}, {}, "HostConfig.CapDrop is [], expected ['ALL']",
            id="caps-kept",
        ),
        pytest.param(
            {"CapAdd": ["SYS_ADMIN"]}, {},
            "HostConfig.CapAdd is ['SYS_ADMIN'], expected []", id="cap-added",
        ),
        pytest.param(
            {"Privileged": True}, {}, "HostConfig.Privileged is True, expected False",
            id="privileged",
        ),
        pytest.param(
            {"ReadonlyRootfs": False}, {},
            "HostConfig.ReadonlyRootfs is False, expected True", id="writable-root",
        ),
        pytest.param(
            {"SecurityOpt": ["seccomp=unconfined"]}, {},
            "HostConfig.SecurityOpt is ['seccomp=unconfined'], expected "
            "no-new-privileges:true",
            id="no-nnp",
        ),
        pytest.param(
            {"Memory": GIB}, {}, f"HostConfig.Memory is {GIB}, expected {2 * GIB}",
            id="memory",
        ),
        pytest.param(
            {"MemorySwap": -1}, {}, f"HostConfig.MemorySwap is -1, expected {2 * GIB}",
            id="swap",
        ),
        pytest.param(
            {"NanoCpus": 0}, {}, "HostConfig.NanoCpus is 0, expected 1000000000",
            id="cpus",
        ),
        pytest.param(
            {"PidsLimit": 0}, {}, "HostConfig.PidsLimit is 0, expected 100", id="pids"
        ),
        pytest.param(
            {"Tmpfs": {"/tmp": "rw,size=100m"}}, {},
            "HostConfig.Tmpfs is {'/tmp': 'rw,size=100m'}, expected "
            "{'/tmp': 'rw,noexec,nosuid,size=100m'}",
            id="tmpfs-exec",
        ),
    ],
)  # fmt: skip
def test_verify_names_every_mismatch(
    host: dict[str, Any], config: dict[str, Any], problem: str
) -> None:
    assert audit.verify(inspect_data(host=host, config=config), DEFAULT) == [problem]


def test_verify_without_a_fixed_user_refuses_root() -> None:
    expected = audit.expected_from(Hardening(user=None))

    assert audit.verify(inspect_data(config={"User": "1000"}), expected) == []
    assert audit.verify(inspect_data(config={"User": ""}), expected) == [
        "Config.User is '', expected a non-root user"
    ]


@pytest.mark.parametrize(
    "option", ["no-new-privileges", "no-new-privileges:true", "no-new-privileges=true"]
)
def test_every_spelling_of_no_new_privileges_counts(option: str) -> None:
    data = inspect_data(host={"SecurityOpt": [option]})

    assert audit.verify(data, DEFAULT) == []


@pytest.mark.parametrize(
    ("user", "root"),
    [
        ("", True),
        ("0", True),
        ("root", True),
        ("0:1000", True),
        ("root:root", True),
        ("1000:1000", False),
        ("workshop-user", False),
        ("1000:0", False),
    ],
)
def test_is_root(user: str, root: bool) -> None:
    assert audit.is_root(user) is root


# --- the CIS audit -----------------------------------------------------------


def verdicts(findings: list[audit.Finding]) -> dict[str, bool]:
    return {f.id: f.passed for f in findings}


def test_the_hardened_container_passes_all_ten() -> None:
    findings = audit.audit(inspect_data(), IMAGE)

    assert verdicts(findings) == dict.fromkeys(
        ["4.1", "4.6", "5.4", "5.5", "5.11", "5.12", "5.13", "5.26", "5.27", "5.29"],
        True,
    )
    evidence = {f.id: f.evidence for f in findings}
    assert evidence["5.11"] == f"Memory={2 * GIB}"
    assert evidence["5.29"] == "PidsLimit=100"
    assert evidence["5.27"].endswith("State.Health.Status=not started yet")


@pytest.mark.parametrize(
    ("host", "config", "image", "failed"),
    [
        pytest.param({}, {"User": "root"}, IMAGE, "4.1", id="4.1-root"),
        pytest.param(
            {}, {}, {"Config": {"Healthcheck": {"Test": ["NONE"]}}}, "4.6",
            id="4.6-healthcheck-disabled",
        ),
        pytest.param({}, {}, {"Config": {}}, "4.6", id="4.6-no-healthcheck"),
        pytest.param({"CapAdd": ["NET_RAW"]}, {}, IMAGE, "5.4", id="5.4-cap-added"),
        pytest.param({"CapDrop": []}, {}, IMAGE, "5.4", id="5.4-nothing-dropped"),
        pytest.param({"Privileged": True}, {}, IMAGE, "5.5", id="5.5-privileged"),
        pytest.param({"Memory": 0}, {}, IMAGE, "5.11", id="5.11-no-memory-limit"),
        pytest.param(
            {"NanoCpus": 0, "CpuShares": 1024}, {}, IMAGE, "5.12",
            id="5.12-default-shares",
        ),
        pytest.param({"ReadonlyRootfs": False}, {}, IMAGE, "5.13", id="5.13-writable"),
        pytest.param({"SecurityOpt": None}, {}, IMAGE, "5.26", id="5.26-no-nnp"),
        pytest.param(
            {}, {"Healthcheck": {"Test": ["NONE"]}}, IMAGE, "5.27",
            id="5.27-disabled-at-run",
        ),
        pytest.param({"PidsLimit": -1}, {}, IMAGE, "5.29", id="5.29-unlimited"),
        pytest.param({"PidsLimit": None}, {}, IMAGE, "5.29", id="5.29-unset"),
    ],
)  # fmt: skip
def test_each_rule_fails_on_its_own_weakness(
    host: dict[str, Any], config: dict[str, Any], image: dict[str, Any], failed: str
) -> None:
    findings = audit.audit(inspect_data(host=host, config=config), image)

    assert [f.id for f in findings if not f.passed] == [failed]


def test_cpu_priority_counts_shares_or_a_quota() -> None:
    by_shares = inspect_data(host={"NanoCpus": 0, "CpuShares": 512})
    by_quota = inspect_data(host={"NanoCpus": 0, "CpuQuota": 50_000})

    assert verdicts(audit.audit(by_shares, IMAGE))["5.12"] is True
    assert verdicts(audit.audit(by_quota, IMAGE))["5.12"] is True


def test_runtime_health_reports_the_live_status() -> None:
    data = inspect_data(state={"Health": {"Status": "healthy"}})

    [finding] = [f for f in audit.audit(data, IMAGE) if f.id == "5.27"]

    assert finding.evidence.endswith("State.Health.Status=healthy")


def test_table_and_json() -> None:
    findings = audit.audit(inspect_data(host={"Privileged": True}), IMAGE)

    table = audit.as_table(findings).splitlines()
    document = json.loads(audit.as_json(findings, container="c1", image="img:1"))

    assert table[0] == "CIS Docker Benchmark 1.6.0 self-audit:"
    assert len(table) == 11
    assert table[4].split()[:2] == ["5.5", "FAIL"]
    assert table[4].endswith("Privileged=True")
    assert document["container"] == "c1"
    assert document["image"] == "img:1"
    assert document["passed"] is False
    assert document["findings"][3] == {
        "id": "5.5",
        "title": "privileged containers are not used",
        "passed": False,
        "evidence": "Privileged=True",
    }
