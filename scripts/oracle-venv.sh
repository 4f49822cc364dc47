#!/usr/bin/env bash
# Creates .venv: the Python oracle (HuggingFace transformers 4.47.1 + PEFT 0.12.0, and gguf 0.10.0 — the GGUF
# reader/writer and numpy dequantizers, and accelerate, which transformers' GGUF loading needs) used to write the
# committed fixtures and to run the PyTorch side of the benchmarks. Tests never need it: they read committed
# fixtures. Usage: scripts/oracle-venv.sh  (idempotent)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x .venv/bin/python ] && .venv/bin/python -c 'import transformers, peft, tokenizers, safetensors, torch, gguf, accelerate' 2>/dev/null; then
  exit 0
fi
need=()
for p in python3-torch python3-venv python3-numpy; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
# Debian's torch lives in the system interpreter's dist-packages: the venv must be built on /usr/bin/python3.
/usr/bin/python3 -m venv --system-site-packages .venv
# PEFT requires torch>=1.13, which pip does not see Debian's "1.13.0a0" satisfy, so pip brings PyPI's torch 2.x.
# That is also what works: Debian's torch 1.13 fails inside transformers' generate() under Python 3.11 (a
# dataclass error in torch.distributed). Debian's torch stays usable as a forward-pass baseline through
# ORACLE_PY (see scripts/bench/*.sh). gguf 0.10.0 imports sentencepiece without declaring it.
.venv/bin/pip install -q transformers==4.47.1 peft==0.12.0 tokenizers safetensors gguf==0.10.0 sentencepiece==0.2.0 accelerate==1.2.1
