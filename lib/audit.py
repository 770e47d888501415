"""What `docker inspect` shows about a container: verified, and audited.

Two questions, both answered from the inspect data alone:
- verify(): did docker apply exactly the hardening we asked for? A mismatch
  means the container must not run.
- audit(): how does the container score on the CIS Docker Benchmark 1.6
  recommendations that can be judged from inspect output?
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from lib import validate
from lib.docker_argv import Hardening

BENCHMARK = "CIS Docker Benchmark 1.6.0"
_ROOT_USERS = {"", "0", "root"}
_NO_NEW_PRIVILEGES = {"no-new-privileges", "no-new-privileges:true"}

Inspect = Mapping[str, Any]


# --- verification: what we asked for is what docker did ----------------------


@dataclass(frozen=True)
class Expected:
    """The hardening values docker should report for our container."""

    user: str | None
    memory_bytes: int | None = None
    nano_cpus: int | None = None
    pids: int | None = None
    tmpfs: Mapping[str, str] = field(default_factory=dict)


def expected_from(hardening: Hardening) -> Expected:
    limits = hardening.limits
    return Expected(
        user=hardening.user,
        memory_bytes=validate.parse_size(limits.memory) if limits else None,
        nano_cpus=validate.nano_cpus(limits.cpus) if limits else None,
        pids=limits.pids if limits else None,
        tmpfs={"/tmp": f"rw,noexec,nosuid,size={hardening.tmpfs_size}"},
    )


def verify(container: Inspect, expected: Expected) -> list[str]:
    """Every difference between the inspect data and what we asked for."""
    config = container.get("Config") or {}
    host = container.get("HostConfig") or {}
    problems: list[str] = []

    def differs(what: str, actual: object, wanted: object) -> None:
        if actual != wanted:
            problems.append(f"{what} is {actual!r}, expected {wanted!r}")

    user = config.get("User") or ""
    if expected.user is not None:
        differs("Config.User", user, expected.user)
    elif is_root(user):
        problems.append(f"Config.User is {user!r}, expected a non-root user")
    differs("HostConfig.CapDrop", _upper(host.get("CapDrop")), ["ALL"])
    differs("HostConfig.CapAdd", list(host.get("CapAdd") or []), [])
    differs("HostConfig.Privileged", host.get("Privileged"), False)
    differs("HostConfig.ReadonlyRootfs", host.get("ReadonlyRootfs"), True)
    if not no_new_privileges(host):
        problems.append(
            f"HostConfig.SecurityOpt is {host.get('SecurityOpt')!r}, "
            "expected no-new-privileges:true"
        )
    if expected.memory_bytes is not None:
        differs("HostConfig.Memory", host.get("Memory"), expected.memory_bytes)
        differs("HostConfig.MemorySwap", host.get("MemorySwap"), expected.memory_bytes)
    if expected.nano_cpus is not None:
        differs("HostConfig.NanoCpus", host.get("NanoCpus"), expected.nano_cpus)
    if expected.pids is not None:
        differs("HostConfig.PidsLimit", host.get("PidsLimit"), expected.pids)
    differs("HostConfig.Tmpfs", dict(host.get("Tmpfs") or {}), dict(expected.tmpfs))
    return problems


def is_root(user: str) -> bool:
    """'', 'root', '0', '0:1000', 'root:root' all run as uid 0."""
    return user.partition(":")[0] in _ROOT_USERS


def no_new_privileges(host: Inspect) -> bool:
    options = {str(opt).replace("=", ":") for opt in host.get("SecurityOpt") or []}
    return bool(options & _NO_NEW_PRIVILEGES)


def _upper(values: Sequence[str] | None) -> list[str]:
    return [str(value).upper() for value in values or []]


# --- the CIS self-audit ------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    id: str
    title: str
    passed: bool
    evidence: str  # what inspect shows, so a reader can check it


Rule = Callable[[Inspect, Inspect], tuple[bool, str]]


def _user(container: Inspect, image: Inspect) -> tuple[bool, str]:
    user = (container.get("Config") or {}).get("User") or ""
    image_user = (image.get("Config") or {}).get("User") or ""
    evidence = f"Config.User={user!r} (image USER {image_user!r})"
    return not is_root(user), evidence


def _healthcheck_test(config: Inspect) -> list[str]:
    return list((config.get("Healthcheck") or {}).get("Test") or [])


def _image_healthcheck(_container: Inspect, image: Inspect) -> tuple[bool, str]:
    test = _healthcheck_test(image.get("Config") or {})
    if not test or test[0] == "NONE":
        return False, "image Config.Healthcheck is not set"
    return True, f"image Config.Healthcheck.Test={test!r}"


def _capabilities(container: Inspect, _image: Inspect) -> tuple[bool, str]:
    host = container.get("HostConfig") or {}
    dropped, added = _upper(host.get("CapDrop")), list(host.get("CapAdd") or [])
    return "ALL" in dropped and not added, f"CapDrop={dropped} CapAdd={added}"


def _privileged(container: Inspect, _image: Inspect) -> tuple[bool, str]:
    privileged = (container.get("HostConfig") or {}).get("Privileged")
    return privileged is False, f"Privileged={privileged}"


def _memory(container: Inspect, _image: Inspect) -> tuple[bool, str]:
    memory = int((container.get("HostConfig") or {}).get("Memory") or 0)
    return memory > 0, f"Memory={memory}"


def _cpu(container: Inspect, _image: Inspect) -> tuple[bool, str]:
    # CIS audits CpuShares; a hard cap (--cpus, NanoCpus) bounds the container
    # at least as well, so either counts.
    host = container.get("HostConfig") or {}
    nano = int(host.get("NanoCpus") or 0)
    shares = int(host.get("CpuShares") or 0)
    quota = int(host.get("CpuQuota") or 0)
    passed = nano > 0 or quota > 0 or shares not in (0, 1024)
    return passed, f"NanoCpus={nano} CpuQuota={quota} CpuShares={shares}"


def _read_only(container: Inspect, _image: Inspect) -> tuple[bool, str]:
    read_only = (container.get("HostConfig") or {}).get("ReadonlyRootfs")
    return read_only is True, f"ReadonlyRootfs={read_only}"


def _no_new_privileges(container: Inspect, _image: Inspect) -> tuple[bool, str]:
    host = container.get("HostConfig") or {}
    return no_new_privileges(host), f"SecurityOpt={host.get('SecurityOpt') or []}"


def _runtime_health(container: Inspect, _image: Inspect) -> tuple[bool, str]:
    # The container's own Config holds the health check it will run (the
    # image's unless overridden); State.Health exists once it has started.
    test = _healthcheck_test(container.get("Config") or {})
    if not test or test[0] == "NONE":
        return False, "Config.Healthcheck is not set or disabled"
    health = (container.get("State") or {}).get("Health") or {}
    status = health.get("Status", "not started yet")
    return True, f"Config.Healthcheck.Test={test!r}, State.Health.Status={status}"


def _pids(container: Inspect, _image: Inspect) -> tuple[bool, str]:
    pids = (container.get("HostConfig") or {}).get("PidsLimit")
    return int(pids or 0) > 0, f"PidsLimit={pids}"


RULES: tuple[tuple[str, str, Rule], ...] = (
    ("4.1", "a user for the container has been created", _user),
    (
        "4.6",
        "HEALTHCHECK instructions have been added to the image",
        _image_healthcheck,
    ),
    ("5.4", "Linux kernel capabilities are restricted", _capabilities),
    ("5.5", "privileged containers are not used", _privileged),
    ("5.11", "memory usage is limited", _memory),
    ("5.12", "CPU priority is set", _cpu),
    ("5.13", "the root filesystem is mounted read-only", _read_only),
    ("5.26", "the container cannot acquire additional privileges", _no_new_privileges),
    ("5.27", "container health is checked at runtime", _runtime_health),
    ("5.29", "the PIDs cgroup limit is used", _pids),
)


def audit(container: Inspect, image: Inspect) -> list[Finding]:
    findings = []
    for rule_id, title, rule in RULES:
        passed, evidence = rule(container, image)
        findings.append(Finding(rule_id, title, passed, evidence))
    return findings


def audit_container(container: str) -> list[Finding]:
    """Audit any container, by name or id, from its and its image's inspect data.

    The judgement run_docker.py makes of its own container, for one started
    any other way (docker run, Compose, another tool).
    """
    # Imported here: everything else in this module judges data, runs nothing.
    from lib import engine

    info = engine.inspect_container(container)
    image = engine.inspect_image(str(info.get("Image") or "")) or {}
    return audit(info, image)


def as_table(findings: Sequence[Finding]) -> str:
    width = max(len(f.title) for f in findings)
    lines = [f"{BENCHMARK} self-audit:"]
    for f in findings:
        verdict = "PASS" if f.passed else "FAIL"
        lines.append(f"  {f.id:<5} {verdict}  {f.title:<{width}}  {f.evidence}")
    return "\n".join(lines)


def as_json(findings: Sequence[Finding], *, container: str, image: str) -> str:
    document = {
        "benchmark": BENCHMARK,
        "container": container,
        "image": image,
        "passed": all(f.passed for f in findings),
        "findings": [asdict(f) for f in findings],
    }
    return json.dumps(document, indent=2) + "\n"
