"""The CIS Docker Benchmark 1.6 self-audit, judged on real containers.

A container started by run_docker.py passes all ten checks. Containers
started by hand with the same hardening minus one piece fail exactly the
check about that piece, named in the audit table; a plain `docker run` fails
every check the tool's hardening exists for. lib.audit.audit_container()
points the audit at any container.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lib import audit, docker_argv
from tests.conftest import BASE_IMAGE, PROJECT_DIR
from tests.integration.conftest import containers_mounting, docker
from tests.integration.test_run_engine import (
    numbering_lock,
    run_args,
    started,
    wait_until_running,
)
from tests.reliability.conftest import run_py, token

pytestmark = pytest.mark.engine

CHECKS = ("4.1", "4.6", "5.4", "5.5", "5.11", "5.12", "5.13", "5.26", "5.27", "5.29")
TITLES = {rule_id: title for rule_id, title, _rule in audit.RULES}
SLEEP = ["-c", "import time; time.sleep(120)"]  # keeps the container running


def failed(findings: list[audit.Finding]) -> set[str]:
    return {f.id for f in findings if not f.passed}


def hardened_argv(image: str, name: str) -> list[str]:
    """What run_docker.py would give docker, as one `docker run --detach`."""
    spec = docker_argv.RunSpec(
        image=image,
        args=SLEEP,
        hardening=docker_argv.Hardening(user="1000:1000"),
        name=name,
        entrypoint="python3",
        labels={"reliability.audit": name},
        network="none",
        detach=True,
        remove=False,
        init=True,
    )
    return docker_argv.run_argv(spec)


def without(*flags: str) -> Callable[[list[str]], list[str]]:
    """Drop each flag, and its value unless it is a switch (--read-only)."""

    def weaken(argv: list[str]) -> list[str]:
        kept: list[str] = []
        drop_value = False
        for arg in argv:
            if drop_value:
                drop_value = False
            elif arg in flags:
                drop_value = arg != "--read-only"
            else:
                kept.append(arg)
        return kept

    return weaken


def adding(*extra: str) -> Callable[[list[str]], list[str]]:
    def weaken(argv: list[str]) -> list[str]:
        at = argv.index("--entrypoint")
        return [*argv[:at], *extra, *argv[at:]]

    return weaken


def replacing(old: str, new: str) -> Callable[[list[str]], list[str]]:
    def weaken(argv: list[str]) -> list[str]:
        return [new if arg == old else arg for arg in argv]

    return weaken


def unchanged(argv: list[str]) -> list[str]:
    return argv


@pytest.fixture
def container_name() -> Iterator[str]:
    name = f"reliability-audit-{token()}"
    yield name
    docker("container", "rm", "--force", name, check=False)


# --- the tool's own container ---------------------------------------------------


def test_a_run_docker_container_passes_all_ten_checks(
    built_image: str, tmp_path: Path
) -> None:
    out_dir = tmp_path / "held"
    out_dir.mkdir()
    if os.getuid() == 0:
        os.chown(out_dir, 1000, 1000)
    report = tmp_path / "audit.json"

    with (
        numbering_lock(out_dir) as lock,
        started(
            built_image, out_dir, "--audit-json", str(report), "--topic", "Audited"
        ) as child,
    ):
        info = wait_until_running(out_dir)
        ours = audit.audit_container(info["Id"])
        fcntl.flock(lock, fcntl.LOCK_UN)
        _out, err = child.communicate(timeout=60)

    assert child.returncode == 0, err
    assert [f.id for f in ours] == list(CHECKS)
    assert failed(ours) == set(), audit.as_table(ours)
    document = json.loads(report.read_text())
    assert document["passed"] is True
    assert [(f["id"], f["passed"]) for f in document["findings"]] == [
        (check, True) for check in CHECKS
    ]
    assert "not met" not in err
    assert containers_mounting(out_dir) == []


def test_no_limits_run_fails_exactly_the_three_limit_checks(
    built_image: str, tmp_path: Path
) -> None:
    report = tmp_path / "audit.json"
    out_dir = tmp_path / "out"

    result = run_py(
        PROJECT_DIR / "run_docker.py",
        *run_args(built_image, out_dir, "--no-limits", "--audit-json", str(report),
                  "--topic", "Unlimited"),
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "CIS Docker Benchmark 1.6.0: not met: 5.11, 5.12, 5.29" in result.stderr
    document = json.loads(report.read_text())
    assert document["passed"] is False
    assert {f["id"] for f in document["findings"] if not f["passed"]} == {
        "5.11", "5.12", "5.29",
    }  # fmt: skip
    assert containers_mounting(out_dir) == []


# --- containers started by hand ---------------------------------------------------

WEAKENED = [
    pytest.param(unchanged, None, set(), id="hardened-as-run_docker-does"),
    pytest.param(replacing("1000:1000", "0:0"), None, {"4.1"}, id="root-user"),
    pytest.param(
        adding("--health-cmd", "python3 -c pass"), BASE_IMAGE, {"4.6"},
        id="image-without-healthcheck",
    ),
    pytest.param(without("--cap-drop"), None, {"5.4"}, id="capabilities-kept"),
    pytest.param(adding("--cap-add", "NET_RAW"), None, {"5.4"}, id="capability-added"),
    pytest.param(adding("--privileged"), None, {"5.5"}, id="privileged"),
    pytest.param(
        without("--memory", "--memory-swap"), None, {"5.11"}, id="no-memory-limit"
    ),
    pytest.param(without("--cpus"), None, {"5.12"}, id="no-cpu-limit"),
    pytest.param(without("--read-only"), None, {"5.13"}, id="writable-root"),
    pytest.param(
        without("--security-opt"), None, {"5.26"}, id="new-privileges-allowed"
    ),
    pytest.param(adding("--no-healthcheck"), None, {"5.27"}, id="healthcheck-disabled"),
    pytest.param(without("--pids-limit"), None, {"5.29"}, id="no-pids-limit"),
]  # fmt: skip


@pytest.mark.parametrize(("weaken", "image", "expected"), WEAKENED)
def test_a_weakened_container_fails_the_check_about_it(
    weaken: Callable[[list[str]], list[str]],
    image: str | None,
    expected: set[str],
    built_image: str,
    container_name: str,
) -> None:
    argv = weaken(hardened_argv(image or built_image, container_name))
    docker(*argv[1:])

    findings = audit.audit_container(container_name)

    assert failed(findings) == expected, audit.as_table(findings)
    table = audit.as_table(findings)
    for check in expected:
        assert f"  {check:<5} FAIL  {TITLES[check]}" in table
    assert docker(
        "container", "inspect", "--format", "{{.State.Running}}", container_name
    ).stdout.strip() == "true"  # fmt: skip


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        pytest.param(
            [], {"5.4", "5.11", "5.12", "5.13", "5.26", "5.29"}, id="plain-docker-run"
        ),
        pytest.param(
            ["--privileged"],
            {"5.4", "5.5", "5.11", "5.12", "5.13", "5.26", "5.29"},
            id="plain-docker-run-privileged",
        ),
    ],
)
def test_a_plain_docker_run_fails_what_the_hardening_is_for(
    extra: list[str], expected: set[str], built_image: str, container_name: str
) -> None:
    docker(
        "run", "--detach", "--name", container_name, *extra,
        "--entrypoint", "python3", built_image, *SLEEP,
    )  # fmt: skip

    findings = audit.audit_container(container_name)

    assert failed(findings) == expected, audit.as_table(findings)
    assert "4.1   PASS" in audit.as_table(findings)  # the image's own USER 1000


def test_auditing_a_missing_container_is_a_named_error(engine: None) -> None:
    from lib.errors import CommandError

    name = f"reliability-audit-missing-{token()}"
    with pytest.raises(CommandError) as caught:
        audit.audit_container(name)

    assert f"docker container inspect --format '{{{{json .}}}}' {name}" in (
        caught.value.message
    )
    assert "No such container" in caught.value.stderr
