#!/usr/bin/env python3
"""Lint, build, smoke-test, scan and describe the hardened Workshop Builder image.

Replaces build-docker.sh; see README.md for flags, steps and exit codes. The
code is in lib/build_cli.py (the flags) and lib/build_flow.py (the steps).
"""

import sys

from lib.build_cli import main

if __name__ == "__main__":
    sys.exit(main())
