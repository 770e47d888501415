"""Shared library of build_docker.py and run_docker.py.

Modules raise exceptions and never exit; each entrypoint maps them to its
documented exit codes in one place.
"""

TOOL_VERSION = "1.0.0"
