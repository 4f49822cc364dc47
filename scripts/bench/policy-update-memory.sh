#!/usr/bin/env bash
# Peak resident memory of a ReSTEM policy update (LoRA SFT of the policy) on a Qwen2.5-0.5B-shaped model (random
# weights, f32: ~2.0 GB of weights): one training passage, one self-edit, one short inner loop, every self-edit kept
# (filter threshold -1), then the update (sft.* LoRA r 64 on all seven projections, 1 epoch) and nothing else.
# Prints the process's peak RSS (GNU time) beside the size of the weights, so that what the update adds is visible.
# Usage: scripts/bench/policy-update-memory.sh [SEAL_BINARY] (default .build/release/seal); THREADS (default 2).
set -euo pipefail
cd "$(dirname "$0")/../.."
SEAL=${1:-.build/release/seal}
THREADS=${THREADS:-2}
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
$SEAL model init --config ../shared/models/configs/qwen2.5-0.5b.json --out "$DIR/model" --tokenizer ../shared/models/qwen2.5-tokenizer \
  --init-style pretrain --threads "$THREADS" >/dev/null
python3 - "$DIR" <<'PY'
import json, sys
d = sys.argv[1]
e = json.load(open("../shared/data/seal-reference/knowledge-incorporation/data/squad_val.json", encoding="utf-8"))[0]
json.dump([{"title": e["title"], "context": e["context"], "questions": e["questions"][:2]}], open(f"{d}/passage.json", "w"))
PY
cat > "$DIR/run.toml" <<TOML
[model]
path = "$DIR/model"
[run]
threads = $THREADS
rounds = 1
[sampling]
samples = 1
max_new_tokens = 16
[inner]
epochs = 1
repeats = 1
[filter]
mode = "threshold"
threshold = -1.0
[sft]
epochs = 1
batch = 1
[eval]
arms = []
after_train = false
[knowledge]
train_file = "$DIR/passage.json"
answer_tokens = 4
reward = "answer_likelihood"
TOML
/usr/bin/time -v "$SEAL" knowledge train --config "$DIR/run.toml" --out "$DIR/run.h5" --quiet 2> "$DIR/time.txt"
rss_kb=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$DIR/time.txt")
steps=$(/usr/bin/python3 -c "import h5py,sys; f=h5py.File(sys.argv[1],'r'); print(len(f['rounds/round_000/sft/loss']))" "$DIR/run.h5")
weights=$(du -sb "$DIR/model" | cut -f1)
python3 - "$rss_kb" "$weights" "$steps" "$SEAL" <<'PY'
import sys
rss, weights, steps, seal = int(sys.argv[1]) * 1024, int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
print(f"{seal}: peak RSS {rss / 2**30:.2f} GiB for a policy update of {steps} steps; the model directory holds "
      f"{weights / 2**30:.2f} GiB; peak minus weights {(rss - weights) / 2**30:.2f} GiB")
PY
