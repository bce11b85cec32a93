#!/usr/bin/env bash
# Install Kling Studio into .venv (with the system libraries Qt needs on Debian/Ubuntu) and start it.
# With no fal key set, it runs on the built-in simulator: nothing is charged, nothing leaves the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/system-packages.sh
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .
exec .venv/bin/kling-studio "$@"
