"""Docker argv builders, compared as whole lists."""

from __future__ import annotations

import pytest

from lib import docker_argv
from lib.docker_argv import Hardening, Limits, RunSpec, bind_mount, build_argv, run_argv

# REFERENCE.md's hardening: no capabilities, no privilege gain, read-only root,
# a small noexec /tmp, and the documented limits.
HARDENING = [
    "--cap-drop", "ALL",
    "--security-opt", "no-new-privileges:true",
    "--read-only",
    "--tmpfs", "/tmp:rw,noexec,nosuid,size=100m",
]  # fmt: skip
LIMITS = [
    "--memory", "2g",
    "--memory-swap", "2g",
    "--cpus", "1.0",
    "--pids-limit", "100",
]  # fmt: skip


def test_run_defaults() -> None:
    assert run_argv(RunSpec(image="img:1")) == [
        "docker", "run", "--rm",
        "--user", "1000:1000",
        "--cap-drop", "ALL",
        "--security-opt", "no-new-privileges:true",
        "--read-only",
        "--tmpfs", "/tmp:rw,noexec,nosuid,size=100m",
        "--memory", "2g",
        "--memory-swap", "2g",
        "--cpus", "1.0",
        "--pids-limit", "100",
        "img:1",
    ]  # fmt: skip


def test_run_without_limits() -> None:
    spec = RunSpec(image="img:1", hardening=Hardening(limits=None))

    assert run_argv(spec) == [
        "docker", "run", "--rm", "--user", "1000:1000", *HARDENING, "img:1"
    ]  # fmt: skip


def test_run_with_image_user() -> None:
    spec = RunSpec(image="img:1", hardening=Hardening(user=None))

    assert run_argv(spec) == ["docker", "run", "--rm", *HARDENING, *LIMITS, "img:1"]


def test_run_with_own_limits() -> None:
    hardening = Hardening(
        user="1000:1000",
        limits=Limits(memory="512m", cpus="0.5", pids=50),
        tmpfs_size="64m",
    )

    assert run_argv(RunSpec(image="img:1", hardening=hardening)) == [
        "docker", "run", "--rm",
        "--user", "1000:1000",
        "--cap-drop", "ALL",
        "--security-opt", "no-new-privileges:true",
        "--read-only",
        "--tmpfs", "/tmp:rw,noexec,nosuid,size=64m",
        "--memory", "512m",
        "--memory-swap", "512m",
        "--cpus", "0.5",
        "--pids-limit", "50",
        "img:1",
    ]  # fmt: skip


def test_run_with_everything() -> None:
    spec = RunSpec(
        image="workshop-builder-app:latest",
        args=["--topic", "Intro to Docker", "--verbose"],
        hardening=Hardening(user=None, limits=None),
        name="workshop-builder-feedbeef",
        entrypoint="python3",
        env_names=["OPENAI_API_KEY", "LOG_LEVEL"],
        labels={docker_argv.RUN_LABEL: "feedbeef", "purpose": "test"},
        bind_mounts={
            "/home/me/my workshops": "/workshops",
            "/data/a,b": "/input",
        },
        network="none",
        interactive=True,
        tty=True,
        detach=True,
        init=True,
    )

    assert run_argv(spec) == [
        "docker", "run", "--rm", "--detach", "--interactive", "--tty", "--init",
        "--name", "workshop-builder-feedbeef",
        "--label", "org.workshop-builder.run-id=feedbeef",
        "--label", "purpose=test",
        *HARDENING,
        "--network", "none",
        "--mount", "type=bind,source=/home/me/my workshops,target=/workshops",
        "--mount", 'type=bind,"source=/data/a,b",target=/input',
        "--env", "OPENAI_API_KEY",
        "--env", "LOG_LEVEL",
        "--entrypoint", "python3",
        "workshop-builder-app:latest",
        "--topic", "Intro to Docker", "--verbose",
    ]  # fmt: skip


def test_run_without_remove() -> None:
    spec = RunSpec(image="img:1", remove=False, hardening=Hardening(limits=None))

    assert run_argv(spec) == [
        "docker",
        "run",
        "--user",
        "1000:1000",
        *HARDENING,
        "img:1",
    ]


@pytest.mark.parametrize(
    ("host", "read_only", "expected"),
    [
        pytest.param(
            "/srv/ws", False, "type=bind,source=/srv/ws,target=/workshops", id="plain"
        ),
        pytest.param(
            "/home/me/my ws",
            False,
            "type=bind,source=/home/me/my ws,target=/workshops",
            id="space-unquoted",
        ),
        pytest.param(
            "/data/a,b",
            False,
            'type=bind,"source=/data/a,b",target=/workshops',
            id="comma-quoted",
        ),
        pytest.param(
            '/data/say "hi"',
            False,
            'type=bind,"source=/data/say ""hi""",target=/workshops',
            id="quote-doubled",
        ),
        pytest.param(
            "/srv/ws",
            True,
            "type=bind,source=/srv/ws,target=/workshops,readonly",
            id="read-only",
        ),
    ],
)
def test_bind_mount(host: str, read_only: bool, expected: str) -> None:
    assert bind_mount(host, "/workshops", read_only=read_only) == expected


BUILD_ARGS = {"BUILD_DATE": "2026-12-01T10:00:00Z", "VCS_REF": "abc1234"}
LABELS = {docker_argv.TOOL_LABEL: docker_argv.TOOL_LABEL_VALUE}


def test_build_legacy() -> None:
    argv = build_argv(
        context="/src/app dir",
        dockerfile="/src/app dir/Dockerfile",
        tag="workshop-builder-app:latest",
        target="production",
        build_args=BUILD_ARGS,
        labels=LABELS,
        buildx=False,
    )

    assert argv == [
        "docker", "build",
        "--file", "/src/app dir/Dockerfile",
        "--tag", "workshop-builder-app:latest",
        "--target", "production",
        "--build-arg", "BUILD_DATE=2026-12-01T10:00:00Z",
        "--build-arg", "VCS_REF=abc1234",
        "--label", "org.workshop-builder.built-by=build_docker.py",
        "--force-rm",
        "/src/app dir",
    ]  # fmt: skip
    assert not any(arg.startswith("--progress") for arg in argv)


def test_build_secret_args_by_name_only() -> None:
    argv = build_argv(
        context=".",
        dockerfile="Dockerfile",
        tag="app:1",
        target=None,
        build_args={"PLAIN": "1"},
        env_build_args=["API_TOKEN"],
        labels={},
        buildx=True,
    )

    assert argv == [
        "docker", "buildx", "build", "--load", "--progress", "plain",
        "--file", "Dockerfile", "--tag", "app:1",
        "--build-arg", "PLAIN=1", "--build-arg", "API_TOKEN", ".",
    ]  # fmt: skip


def test_build_buildx_with_every_option() -> None:
    argv = build_argv(
        context=".",
        dockerfile="Dockerfile",
        tag="app:1",
        target="production",
        build_args=BUILD_ARGS,
        labels=LABELS,
        buildx=True,
        no_cache=True,
        pull=True,
    )

    assert argv == [
        "docker", "buildx", "build", "--load", "--progress", "plain",
        "--file", "Dockerfile",
        "--tag", "app:1",
        "--target", "production",
        "--build-arg", "BUILD_DATE=2026-12-01T10:00:00Z",
        "--build-arg", "VCS_REF=abc1234",
        "--label", "org.workshop-builder.built-by=build_docker.py",
        "--no-cache",
        "--pull",
        ".",
    ]  # fmt: skip


def test_build_minimal() -> None:
    argv = build_argv(
        context=".",
        dockerfile="Dockerfile",
        tag="app:1",
        target=None,
        build_args={},
        labels={},
        buildx=False,
    )

    assert argv == [
        "docker", "build", "--file", "Dockerfile", "--tag", "app:1", "--force-rm", ".",
    ]  # fmt: skip


ID = "sha256:" + "ab" * 32
DANGLING = [
    "docker", "image", "ls", "--quiet", "--no-trunc",
    "--filter", "dangling=true",
    "--filter", "label=org.workshop-builder.build-id=feedbeef",
]  # fmt: skip
LABELLED = [
    "docker", "container", "ls", "--all", "--quiet",
    "--filter", "label=org.workshop-builder.run-id",
]  # fmt: skip
SMALL_VERBS = [
    pytest.param(
        docker_argv.info_argv(), ["docker", "info", "--format", "{{json .}}"], id="info"
    ),
    pytest.param(
        docker_argv.image_inspect_argv("app:1"),
        ["docker", "image", "inspect", "--format", "{{json .}}", "app:1"],
        id="image-inspect",
    ),
    pytest.param(
        docker_argv.container_inspect_argv("c1"),
        ["docker", "container", "inspect", "--format", "{{json .}}", "c1"],
        id="container-inspect",
    ),
    pytest.param(
        docker_argv.history_argv("app:1"),
        ["docker", "image", "history", "--no-trunc", "--format", "{{json .}}", "app:1"],
        id="history",
    ),
    pytest.param(
        docker_argv.stop_argv("c1"),
        ["docker", "container", "stop", "--time", "10", "c1"],
        id="stop-default-grace",
    ),
    pytest.param(
        docker_argv.stop_argv("c1", grace_seconds=3),
        ["docker", "container", "stop", "--time", "3", "c1"],
        id="stop-grace",
    ),
    pytest.param(
        docker_argv.remove_container_argv("c1"),
        ["docker", "container", "rm", "--force", "--volumes", "c1"],
        id="rm-container",
    ),
    pytest.param(
        docker_argv.dangling_images_argv("org.workshop-builder.build-id=feedbeef"),
        DANGLING,
        id="dangling-images-with-label",
    ),
    pytest.param(
        docker_argv.remove_images_argv([ID, "sha256:cd"]),
        ["docker", "image", "rm", ID, "sha256:cd"],
        id="remove-images",
    ),
    pytest.param(
        docker_argv.containers_with_label_argv("org.workshop-builder.run-id"),
        LABELLED,
        id="containers-with-label",
    ),
    pytest.param(
        docker_argv.stats_argv("c1"),
        ["docker", "container", "stats", "--no-stream", "--format", "{{json .}}", "c1"],
        id="stats",
    ),
]


@pytest.mark.parametrize(("argv", "expected"), SMALL_VERBS)
def test_small_verbs(argv: list[str], expected: list[str]) -> None:
    assert argv == expected


def test_no_builder_returns_a_joined_command() -> None:
    built = [
        run_argv(RunSpec(image="img:1", args=["--topic", "x"], env_names=["A"])),
        build_argv(
            context=".",
            dockerfile="Dockerfile",
            tag="app:1",
            target="production",
            build_args=BUILD_ARGS,
            labels=LABELS,
            buildx=True,
        ),
        *(case.values[0] for case in SMALL_VERBS),
    ]
    # The inputs hold no spaces, so apart from the Go template docker reads
    # as one argument, a space can only come from a joined command.
    joined = [
        arg for argv in built for arg in argv if " " in arg and arg != "{{json .}}"
    ]

    assert all(isinstance(arg, str) for argv in built for arg in argv)
    assert [argv[0] for argv in built] == ["docker"] * len(built)
    assert joined == []
