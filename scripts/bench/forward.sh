#!/usr/bin/env bash
# Forward-pass benchmark: seal beside PyTorch (transformers) on a Qwen2.5-0.5B-shaped model, 512 tokens, the same
# thread count, with the sgemm ceiling measured in the same run. Usage: scripts/bench/forward.sh [THREADS] [CONFIG]
set -euo pipefail
# ORACLE_PY picks the Python whose torch is the baseline (default: the venv of scripts/oracle-venv.sh).
cd "$(dirname "$0")/../.."
THREADS=${1:-$(nproc)}
CONFIG=${2:-../shared/models/configs/qwen2.5-0.5b.json}
TOKENS=${TOKENS:-512}
seal_json=$(.build/release/seal bench forward --config "$CONFIG" --tokens "$TOKENS" --threads "$THREADS")
torch_json=$(${ORACLE_PY:-.venv/bin/python} scripts/bench/torch_forward.py --config "$CONFIG" --tokens "$TOKENS" --threads "$THREADS" 2>>"${BENCH_LOG:-/tmp/seal-bench-torch.log}" | tail -n 1) || { echo "the PyTorch side failed: see ${BENCH_LOG:-/tmp/seal-bench-torch.log}" >&2; exit 1; }
python3 - "$seal_json" "$torch_json" <<'PY'
import json, sys
s, t = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"forward pass, {s['tokens']} tokens, {s['parameters']/1e6:.0f}M parameters, {s['threads']} threads, OpenBLAS {s['blas_core']}")
print(f"  sgemm ceiling (2048^3, same run)      {s['sgemm_ceiling_gflops']:8.1f} GFLOP/s")
print(f"  seal matrix work                      {s['gemm_gflops']:8.1f} GFLOP/s = {100*s['gemm_fraction_of_ceiling']:.0f}% of ceiling")
print(f"  seal end to end                       {s['seconds']:8.3f} s  ({s['tokens_per_second']:.0f} tok/s, {100*s['end_to_end_fraction_of_ceiling']:.0f}% of ceiling)")
print(f"  PyTorch {t['torch']} + transformers {t['transformers']} {t['seconds']:8.3f} s  ({t['tokens_per_second']:.0f} tok/s)")
print(f"  seal speed-up over PyTorch            {t['seconds']/s['seconds']:8.2f}x")
print(json.dumps({"seal": s, "torch": t}))
PY
