#!/usr/bin/env python3
"""Run the Workshop Builder image as a locked-down container.

Replaces run-docker.sh; see README.md for flags and exit codes. The code is in
lib/run_cli.py (the flags) and lib/run_flow.py (the run).
"""

import sys

from lib.run_cli import main

if __name__ == "__main__":
    sys.exit(main())
