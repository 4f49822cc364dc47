#!/usr/bin/env bash
# Seconds per SEAL knowledge inner loop, seal beside transformers + PEFT (same threads, same machine, one run):
# one real self-edit (SEAL's base Qwen2.5-7B completion for a real SQuAD passage, base_val.json) -> its training
# sequences by SEAL's rule -> LoRA r 32, alpha 64 on q,v, 10 epochs, lr 1e-3, batch 1 -> greedy answers (at most
# 64 new tokens) to that passage's questions, without the passage. The model has Qwen2.5-0.5B's shape and
# tokenizer with random weights (`seal model init`, f32): the work per token is a real model's, the answers are
# noise (with random weights no answer stops early, so every answer is 64 tokens: the slowest case).
# INIT=pretrain (default) draws N(0, 0.02^2) weights, whose logits have a real model's scale; INIT=spread (seal's
# test init) gives logits in the hundreds (loss ~200), whose softmax underflows into denormal floats: seal flushes
# denormals to zero, PyTorch by default does not and then runs several times slower, which measures denormal
# handling rather than the inner loop.
# seal runs the inner loop through the engine exactly as a run does (`seal knowledge eval`, arm `external`); arm
# `base` (the same questions without training) splits off the answering time. The sgemm ceiling is measured before
# and after. Usage: scripts/bench/inner-loop.sh [THREADS] [PASSAGE] [COMPLETION]
set -euo pipefail
cd "$(dirname "$0")/../.."
THREADS=${1:-$(nproc)}
PASSAGE=${2:-0}
COMPLETION=${3:-0}
SEAL=${SEAL:-.build/release/seal}
PY=${ORACLE_PY:-.venv/bin/python}
DATA=../shared/data/seal-reference/knowledge-incorporation/data/synthetic_data/eval/base_val.json
MPI="mpirun --allow-run-as-root --oversubscribe --bind-to none --mca btl self,vader --mca btl_vader_single_copy_mechanism none"
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
$SEAL model init --config ../shared/models/configs/qwen2.5-0.5b.json --out "$DIR/model" --tokenizer ../shared/models/qwen2.5-tokenizer \
  --init-style "${INIT:-pretrain}" --threads "$THREADS" >/dev/null
python3 - "$DATA" "$PASSAGE" "$COMPLETION" "$DIR" <<'PY'
import json, sys
data, p, c, d = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
e = json.load(open(data, encoding="utf-8"))[p]
json.dump([{"title": e["title"], "context": e["context"], "questions": e["questions"]}], open(f"{d}/passage.json", "w"))
json.dump([{"title": e["title"], "context": e["context"], "completions": [e["completions"][c]]}], open(f"{d}/edit.json", "w"))
PY
cat > "$DIR/run.toml" <<EOF
[model]
path = "$DIR/model"
[run]
threads = $THREADS
[inner]
repeats = 1
[eval]
arms = ["base", "external"]
[knowledge]
eval_file = "$DIR/passage.json"
self_edits_file = "$DIR/edit.json"
EOF
c0=$($SEAL bench sgemm --threads "$THREADS")
t0=$(date +%s.%N)
$MPI -np 1 $SEAL knowledge eval --config "$DIR/run.toml" --out "$DIR/run.h5" --quiet >/dev/null
t1=$(date +%s.%N)
s=$(/usr/bin/python3 - "$DIR/run.h5" <<'PY'
import h5py, json, sys
f = h5py.File(sys.argv[1], "r")
print(json.dumps({a: float(f["evals"][a].attrs["seconds"]) for a in ("base", "external")}))
PY
)
t=$($PY scripts/bench/torch_inner_loop.py --model "$DIR/model" --data "$DATA" --passage "$PASSAGE" --completion "$COMPLETION" \
      --threads "$THREADS" 2>>"${BENCH_LOG:-/tmp/seal-bench-torch.log}" | tail -n 1) || { echo "the PyTorch side failed: see ${BENCH_LOG:-/tmp/seal-bench-torch.log}" >&2; exit 1; }
c1=$($SEAL bench sgemm --threads "$THREADS")
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
python3 - "$s" "$t" "$c0" "$c1" "$(echo "$t1 - $t0" | bc)" <<'PY'
import json, sys
s, t, c0, c1, wall = json.loads(sys.argv[1]), json.loads(sys.argv[2]), json.loads(sys.argv[3]), json.loads(sys.argv[4]), float(sys.argv[5])
g = lambda c: c["sgemm_gflops"]
seal_inner = s["external"]
print(f"inner loop, Qwen2.5-0.5B shape (random weights), {t['threads']} threads: {t['sequences']} sequences, "
      f"{t['tokens_per_epoch']} tokens/epoch, {t['steps']} LoRA steps, {t['questions']} questions x {t['new_tokens'] // max(1, t['questions'])} new tokens")
print(f"  seal:    {seal_inner:.1f} s per inner loop (answering alone {s['base']:.1f} s, so training ~{seal_inner - s['base']:.1f} s); "
      f"process wall {wall:.1f} s incl. loading")
print(f"  PyTorch: {t['inner_loop_seconds']:.1f} s per inner loop (training {t['train_seconds']:.1f} s, answering {t['generate_seconds']:.1f} s); "
      f"torch {t['torch']}, transformers {t['transformers']}")
print(f"  ratio PyTorch / seal: {t['inner_loop_seconds'] / seal_inner:.2f}x (training {t['train_seconds'] / max(1e-9, seal_inner - s['base']):.2f}x, "
      f"answering {t['generate_seconds'] / s['base']:.2f}x); sgemm ceiling {g(c0):.0f} GFLOP/s before, {g(c1):.0f} after")
print(json.dumps({"bench": "inner-loop", "seal": s, "seal_wall": wall, "torch": t, "sgemm_before": c0, "sgemm_after": c1}))
PY
