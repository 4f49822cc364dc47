#!/usr/bin/env bash
# Makes .venv-openai (git-ignored) with the official `openai` Python client, for the test that talks to
# `seal serve` with it as a new user would. Idempotent: an existing venv whose client imports is kept.
# Prints the venv's python on the last line. Exit 1 with a message when it cannot be made (no network to PyPI).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${OPENAI_VENV:-$ROOT/.venv-openai}"
PY="${PYTHON:-python3}"
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import openai" 2>/dev/null; then
  echo "$VENV/bin/python"; exit 0
fi
rm -rf "$VENV"
if ! "$PY" -m venv "$VENV" >&2; then
  echo "openai-venv: '$PY -m venv' failed (on Debian: apt-get install python3-venv)" >&2; exit 1
fi
if ! timeout 300 "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "openai>=1.0,<3" >&2; then
  echo "openai-venv: pip could not install the openai package into $VENV (is PyPI reachable?)" >&2; exit 1
fi
"$VENV/bin/python" -c "import openai" >&2
echo "$VENV/bin/python"
