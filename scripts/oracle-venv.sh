#!/usr/bin/env bash
# Creates .venv: the Python oracle (HuggingFace transformers + PEFT on Debian's CPU torch) used to write the
# committed fixtures and to run the PyTorch side of the benchmarks. Tests never need it: they read committed
# fixtures. Usage: scripts/oracle-venv.sh  (idempotent)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x .venv/bin/python ] && .venv/bin/python -c 'import transformers, peft, tokenizers, safetensors, torch' 2>/dev/null; then
  exit 0
fi
need=()
for p in python3-torch python3-venv python3-numpy; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
# Debian's torch lives in the system interpreter's dist-packages: the venv must be built on /usr/bin/python3.
/usr/bin/python3 -m venv --system-site-packages .venv
# Debian's torch reports its version as 1.13.0a0, a pre-release that pip does not count as satisfying PEFT's
# "torch>=1.13": PEFT and accelerate go in without dependency resolution (their other needs are listed), so pip
# keeps Debian's CPU torch instead of downloading a multi-GB CUDA wheel.
.venv/bin/pip install -q transformers==4.47.1 tokenizers safetensors huggingface_hub psutil pyyaml tqdm
.venv/bin/pip install -q --no-deps peft==0.12.0 accelerate==0.33.0
