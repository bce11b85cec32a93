#!/usr/bin/env bash
# Install Kling Studio with its test extras into .venv and run the whole test suite.
#
# Keyring tests need a real Secret Service: the suite runs inside its own D-Bus session with an
# unlocked gnome-keyring and a throw-away HOME, so nothing touches the user's own keyring.
# Extra arguments go to pytest (e.g. `bash tools/test.sh -k pricing`).
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/system-packages.sh

python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'

.venv/bin/python -m ruff check kling_studio tests benchmarks tools
.venv/bin/lint-imports

test_home=$(mktemp -d)
trap 'rm -rf "$test_home"' EXIT
export KLING_STUDIO_TEST_HOME="$test_home"
exec env HOME="$test_home" XDG_DATA_HOME="$test_home/.local/share" XDG_CONFIG_HOME="$test_home/.config" \
  dbus-run-session -- sh -c '
    printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
    exec .venv/bin/python -m pytest "$@"' pytest "$@"
