"""The SBOM: syft reads the image from the local engine, writes CycloneDX JSON."""

from __future__ import annotations

import json
from pathlib import Path

from lib import runner
from lib.errors import ExitCode, ToolError

SBOM_NAME = "sbom.cdx.json"
SYFT_TIMEOUT_SECONDS = 600.0
# No update check: our machines reach no network, and it is noise in CI.
SYFT_ENV = {"SYFT_CHECK_FOR_APP_UPDATE": "false"}


def syft_argv(program: str, reference: str, output: Path) -> list[str]:
    # docker: the local engine's image, never a registry's of the same name.
    return [
        program, "scan", f"docker:{reference}",
        "--output", f"cyclonedx-json={output}",
        "--quiet",
    ]  # fmt: skip


def component_count(path: Path) -> int:
    """Components in a CycloneDX JSON file; a scanner error if it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ToolError(
            f"syft wrote no readable SBOM at {path} ({error})",
            hint="rerun with --debug to see the syft command",
            exit_code=ExitCode.SCANNER,
        ) from None
    if not isinstance(data, dict) or data.get("bomFormat") != "CycloneDX":
        raise ToolError(
            f"{path} is not a CycloneDX document",
            hint="check the syft install: syft version",
            exit_code=ExitCode.SCANNER,
        )
    return len(data.get("components") or [])


def write_sbom(program: str, reference: str, report_dir: Path) -> tuple[Path, int]:
    output = report_dir / SBOM_NAME
    output.unlink(missing_ok=True)  # a stale SBOM must not pass for this one
    runner.run(
        syft_argv(program, reference, output),
        env=SYFT_ENV,
        timeout=SYFT_TIMEOUT_SECONDS,
        failure_code=ExitCode.SCANNER,
    )
    return output, component_count(output)
