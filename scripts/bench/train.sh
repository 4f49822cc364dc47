#!/usr/bin/env bash
# Training benchmark: one SEAL inner-loop step (LoRA r=32, alpha 64 on q,v; one 512-token sequence) and one
# full-finetuning step, on a Qwen2.5-0.5B-shaped model, seal beside transformers + PEFT with the same threads;
# matrix throughput as a fraction of the sgemm ceiling measured in the same run; peak memory of each process.
# Usage: scripts/bench/train.sh [THREADS] [CONFIG]
set -euo pipefail
# ORACLE_PY picks the Python whose torch is the baseline (default: the venv of scripts/oracle-venv.sh).
cd "$(dirname "$0")/../.."
THREADS=${1:-$(nproc)}
CONFIG=${2:-../shared/models/configs/qwen2.5-0.5b.json}
for MODE in lora full; do
  s=$(.build/release/seal bench train --config "$CONFIG" --mode $MODE --threads "$THREADS")
  t=$(${ORACLE_PY:-.venv/bin/python} scripts/bench/torch_train.py --config "$CONFIG" --mode $MODE --threads "$THREADS" 2>>"${BENCH_LOG:-/tmp/seal-bench-torch.log}" | tail -n 1) || { echo "the PyTorch side failed: see ${BENCH_LOG:-/tmp/seal-bench-torch.log}" >&2; exit 1; }
  python3 - "$s" "$t" <<'PY'
import json, sys
s, t = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"{s['mode']:>4} step, {s['tokens']} tokens, {s['threads']} threads: seal {s['seconds']:.2f} s ({s['tokens_per_second']:.0f} tok/s), "
      f"PyTorch {t['torch']} {t['seconds']:.2f} s ({t['tokens_per_second']:.0f} tok/s) -> {t['seconds']/s['seconds']:.2f}x; "
      f"matrix work {100*s['gemm_fraction_of_ceiling']:.0f}% of the {s['sgemm_ceiling_gflops']:.0f} GFLOP/s ceiling, "
      f"end to end {100*s['end_to_end_fraction_of_ceiling']:.0f}%; peak RSS seal {s['peak_rss_bytes']/2**30:.2f} GiB, PyTorch {t['peak_rss_bytes']/2**30:.2f} GiB")
print(json.dumps({"seal": s, "torch": t}))
PY
done
