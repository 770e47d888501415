"""lib/sbom.py: the syft argv and checking what syft wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pytest_subprocess import FakeProcess

from lib import sbom
from lib.errors import CommandError, ExitCode, ToolError


def test_argv_reads_from_the_local_engine() -> None:
    assert sbom.syft_argv("syft", "app:1", Path("/r/sbom.cdx.json")) == [
        "syft", "scan", "docker:app:1",
        "--output", "cyclonedx-json=/r/sbom.cdx.json",
        "--quiet",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(None, "syft wrote no readable SBOM", id="missing"),
        pytest.param("{broken", "syft wrote no readable SBOM", id="not-json"),
        pytest.param(
            '{"spdxVersion": "SPDX-2.3"}', "not a CycloneDX document", id="spdx"
        ),
    ],
)
def test_a_bad_sbom_is_a_scanner_error(
    content: str | None, message: str, tmp_path: Path
) -> None:
    path = tmp_path / "sbom.cdx.json"
    if content is not None:
        path.write_text(content)

    with pytest.raises(ToolError) as raised:
        sbom.component_count(path)
    assert raised.value.exit_code == ExitCode.SCANNER
    assert message in raised.value.message


def test_stale_sbom_is_removed_before_syft_runs(
    fp: FakeProcess, stub_path: Path, tmp_path: Path
) -> None:
    stale = tmp_path / sbom.SBOM_NAME
    stale.write_text(json.dumps({"bomFormat": "CycloneDX", "components": [{}]}))
    fp.register([fp.program("syft"), fp.any()])  # exits 0, writes nothing

    with pytest.raises(ToolError, match="syft wrote no readable SBOM"):
        sbom.write_sbom("syft", "app:1", tmp_path)


def test_syft_failure_is_a_scanner_error(
    fp: FakeProcess, stub_path: Path, tmp_path: Path
) -> None:
    fp.register(
        [fp.program("syft"), fp.any()],
        returncode=1,
        stderr="could not fetch image 'app:1': unable to use DockerDaemon source\n",
    )

    with pytest.raises(CommandError) as raised:
        sbom.write_sbom("syft", "app:1", tmp_path)
    assert raised.value.exit_code == ExitCode.SCANNER
    assert "unable to use DockerDaemon source" in raised.value.detail()
