#!/usr/bin/env bash
# Makes .venv-llamacpp (git-ignored) with llama-cpp-python, the Python binding of llama.cpp, for the benchmark of
# seal beside llama.cpp on the same GGUF file (scripts/bench/gguf.sh). pip builds llama.cpp from source (C/C++
# compiler needed; cmake and ninja come from PyPI as build dependencies); on 2 cores that takes several minutes.
# llama.cpp's AMX path crashes on SmolLM2's Q4_1 weights in some VMs; llamacpp_bench.py probes for that at run time
# (the build is left as pip makes it: GGML_NATIVE, -march=native). The version is pinned so that runs are reproducible: LLAMACPP_PY_VERSION overrides it.
# Idempotent: an existing venv whose llama_cpp imports at the pinned version is kept.
# LLAMACPP_VENV (default <repo>/.venv-llamacpp) is where it goes. CMAKE_BUILD_PARALLEL_LEVEL (default 2) is how
# many compile jobs run at once; the build runs under nice -n 15.
# Prints the venv's python on the last line. Exit 1 with a message when it cannot be made.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${LLAMACPP_VENV:-$ROOT/.venv-llamacpp}"
PY="${PYTHON:-python3}"
VERSION="${LLAMACPP_PY_VERSION:-0.3.36}"
check() {
  "$VENV/bin/python" -c "import llama_cpp, sys; sys.exit(0 if llama_cpp.__version__ == '$VERSION' else 1)" 2>/dev/null
}
if [ -x "$VENV/bin/python" ] && check; then
  echo "$VENV/bin/python"; exit 0
fi
rm -rf "$VENV"
if ! "$PY" -m venv "$VENV" >&2; then
  echo "llamacpp-venv: '$PY -m venv' failed (on Debian: apt-get install python3-venv)" >&2; exit 1
fi
echo "llamacpp-venv: building llama-cpp-python==$VERSION from source into $VENV (this takes a while)" >&2
if ! CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}" nice -n 15 \
    "$VENV/bin/python" -m pip install --disable-pip-version-check --no-cache-dir \
    "llama-cpp-python==$VERSION" >&2; then
  echo "llamacpp-venv: pip could not build llama-cpp-python==$VERSION into $VENV (is PyPI reachable? is a C/C++ compiler installed?)" >&2
  exit 1
fi
if ! check; then
  echo "llamacpp-venv: llama_cpp does not import at version $VERSION from $VENV" >&2; exit 1
fi
echo "$VENV/bin/python"
