#!/usr/bin/env bash
# Install docker-compose 1.29 (the last Python release) into its own venv, so
# the tests can check that the compose file's limits hold there too.
# Usage: scripts/install-compose-v1.sh [VENV]   (default .venv-compose1)
set -euo pipefail
venv="${1:-.venv-compose1}"
if [ -x "$venv/bin/docker-compose" ]; then
    echo "[INFO] $venv already has $("$venv/bin/docker-compose" version --short)"
    exit 0
fi
python3 -m venv "$venv"
# PyYAML 5.4 (pinned by compose 1.29) only builds with Cython < 3 and without
# build isolation; docker-py 7 and requests 2.32 dropped what compose 1.29 uses.
"$venv/bin/pip" install --quiet "cython<3" "setuptools<70" wheel
"$venv/bin/pip" install --quiet --no-build-isolation "pyyaml==5.4.1"
"$venv/bin/pip" install --quiet "docker-compose==1.29.2" "docker<7" "requests<2.32"
echo "[INFO] installed $("$venv/bin/docker-compose" version --short) in $venv"
