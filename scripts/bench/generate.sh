#!/usr/bin/env bash
# Generation benchmark: seal beside transformers' generate on a Qwen2.5-0.5B-shaped model, same threads.
# Batched sampling (8 prompts x 5 samples x 128 new tokens) and single-stream greedy decode, the latter also as a
# fraction of the memory-bandwidth bound (weight bytes per token / bandwidth measured in the same run).
# Usage: scripts/bench/generate.sh [THREADS] [CONFIG]
set -euo pipefail
# ORACLE_PY picks the Python whose torch is the baseline (default: the venv of scripts/oracle-venv.sh).
cd "$(dirname "$0")/../.."
THREADS=${1:-$(nproc)}
CONFIG=${2:-../shared/models/configs/qwen2.5-0.5b.json}
seal_json=$(.build/release/seal bench generate --config "$CONFIG" --threads "$THREADS")
torch_json=$(${ORACLE_PY:-.venv/bin/python} scripts/bench/torch_generate.py --config "$CONFIG" --threads "$THREADS" 2>>"${BENCH_LOG:-/tmp/seal-bench-torch.log}" | tail -n 1) || { echo "the PyTorch side failed: see ${BENCH_LOG:-/tmp/seal-bench-torch.log}" >&2; exit 1; }
python3 - "$seal_json" "$torch_json" <<'PY'
import json, sys
s, t = json.loads(sys.argv[1]), json.loads(sys.argv[2])
n = s['prompts'] * s['samples'] * s['new_tokens']
print(f"generation, {s['prompts']} prompts x {s['samples']} samples x {s['new_tokens']} new tokens, {s['threads']} threads")
print(f"  batched   seal {s['batched_seconds']:7.1f} s ({s['batched_tokens_per_second']:6.1f} tok/s)   transformers {t['batched_seconds']:7.1f} s ({t['batched_tokens_per_second']:6.1f} tok/s)   {t['batched_seconds']/s['batched_seconds']:.2f}x")
if 'sgemm_ceiling_gflops' in s:
    print(f"  batched   seal matrix work {s['batched_gemm_seconds']:.1f} s of {s['batched_seconds']:.1f} s, at {100*s['batched_gemm_fraction_of_ceiling']:.0f}% of the sgemm ceiling ({s['sgemm_ceiling_gflops']:.0f} GFLOP/s); end to end {100*s['batched_end_to_end_fraction_of_ceiling']:.0f}%")
print(f"  single    seal {s['single_decode_tokens_per_second']:6.2f} tok/s   transformers {t['single_decode_tokens_per_second']:6.2f} tok/s   {s['single_decode_tokens_per_second']/t['single_decode_tokens_per_second']:.2f}x")
print(f"  bandwidth {s['memory_bandwidth_gbs']:.1f} GB/s -> bound {s['bandwidth_bound_tokens_per_second']:.2f} tok/s; seal single-stream = {100*s['single_fraction_of_bandwidth_bound']:.0f}% of bound")
print(json.dumps({"seal": s, "torch": t}))
PY
