#!/usr/bin/env bash
# Continued-pretraining throughput over SEAL's 200 evaluation passages at 1 and 2 ranks (1 thread per rank):
# jobs/knowledge-cpt-200.toml with SEAL's base-model self-edits (base_val.json, 5 per passage, no line
# splitting: 2000 rows as in SEAL's cpt_base run), one data-parallel LoRA finetune (r 32, alpha 64 on q,v,
# 3 epochs, 8 rows per step), then all 974 questions answered greedily (at most 64 tokens), sharded. Prints the
# finetune's tokens/s and the end-to-end seconds of each rank count, read from the runs' HDF5 files, and the
# sgemm ceiling measured before. The default model is tinystories-656k (real, tiny: the numbers show the
# engine's overheads and scaling more than matrix speed); MODEL=DIR picks another.
# Usage: scripts/bench/cpt.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
SEAL=${SEAL:-.build/release/seal}
MODEL=${MODEL:-../shared/models/tinystories-656k}
EDITS=../shared/data/seal-reference/knowledge-incorporation/data/synthetic_data/eval/base_val.json
MPI="mpirun --allow-run-as-root --oversubscribe --bind-to none --mca btl self,vader --mca btl_vader_single_copy_mechanism none"
OUT=${KEEP:-$(mktemp -d)}
[ -n "${KEEP:-}" ] || trap 'rm -rf "$OUT"' EXIT
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
c=$($SEAL bench sgemm --threads 1)
for n in 1 2; do
  t0=$(date +%s.%N)
  $MPI -np $n $SEAL knowledge train --config jobs/knowledge-cpt-200.toml --out "$OUT/r$n.h5" --quiet \
    --set model.path="\"$MODEL\"" --set run.threads=1 --set cpt.source=external --set knowledge.self_edits_file="\"$EDITS\"" \
    --set eval.before_train=false >/dev/null
  t1=$(date +%s.%N)
  echo "$t0 $t1" > "$OUT/wall$n"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
/usr/bin/python3 - "$OUT" "$c" "$MODEL" <<'PY'
import h5py, json, sys
d, c, model = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
res = {}
for n in (1, 2):
    f = h5py.File(f"{d}/r{n}.h5", "r")
    a = f["rounds"]["round_000"].attrs
    t0, t1 = map(float, open(f"{d}/wall{n}").read().split())
    tokens = float(a["row_tokens"]) * float(a["epochs"])
    # The finetune's wall time on rank 0: compute, gradient allreduce and waiting for the other ranks.
    finetune = float(a["seconds_sft"]) + float(a.get("seconds_comm", 0)) + float(a.get("seconds_wait", 0))
    res[n] = {"rows": int(a["rows"]), "tokens_trained": tokens, "seconds_sft": float(a["seconds_sft"]),
              **{k: float(a[k]) for k in ("seconds_sampling", "seconds_comm", "seconds_wait") if k in a},
              "seconds_finetune": finetune, "tokens_per_second": tokens / finetune, "seconds_cpt_phase": float(a["seconds_total"]),
              "seconds_eval": float(f["evals"]["cpt"].attrs["seconds"]), "questions": int(f["evals"]["cpt"].attrs["n_questions"]),
              "accuracy": float(f["evals"]["cpt"].attrs["accuracy"]), "wall_seconds": t1 - t0}
    r = res[n]
    print(f"{n} rank(s) x 1 thread, {model}: {r['rows']} rows, {r['tokens_trained']:.0f} tokens trained in {r['seconds_finetune']:.1f} s "
          f"= {r['tokens_per_second']:.0f} tok/s; {r['questions']} questions answered in {r['seconds_eval']:.1f} s; "
          f"end to end {r['wall_seconds']:.1f} s (process wall, incl. loading); the finetune's "
          f"compute {r['seconds_sft']:.1f} s, gradient allreduce {r.get('seconds_comm', 0):.1f} s, waiting {r.get('seconds_wait', 0):.1f} s")
print(f"2 ranks vs 1: finetune {res[2]['tokens_per_second'] / res[1]['tokens_per_second']:.2f}x, "
      f"end to end {res[1]['wall_seconds'] / res[2]['wall_seconds']:.2f}x; sgemm ceiling (1 thread) {c['sgemm_gflops']:.0f} GFLOP/s")
print(json.dumps({"bench": "cpt", "model": model, "ranks": res, "sgemm": c}))
PY
