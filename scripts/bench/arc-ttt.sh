#!/usr/bin/env bash
# ARC inner-loop cost: seconds per TTT inner loop (one epoch over a task's TTT rows, at most 250) for a
# Llama-3.2-1B-shaped model with SEAL's TTT LoRA (r 128, alpha 16 on q, v, gate, up, down), on this machine.
# The rows are the real ones: SEAL's 11 training tasks under the Oracle TTT configuration (every augmentation
# family), tokenized with Llama-3's tokenizer (`seal arc data`). One LoRA step on a sequence of the mean row length
# is timed (`seal bench train`, random weights of the 1B shape, 7.5 GB peak), and the inner loop is that time per
# token times the task's tokens (a step's work is linear in its tokens at these lengths; batch 2 packs two rows).
# The timed step has loss on every token (train_using_all_tokens); with loss on the outputs only the LM head runs
# at the answer positions alone, about 18 % less work at this shape.
# Beside it, the same step in transformers + PEFT (scripts/bench/torch_train.py, same shape, rank, targets, tokens and
# threads; ORACLE_PY picks the Python, default the venv of scripts/oracle-venv.sh; TORCH=0 skips it).
# Usage: scripts/bench/arc-ttt.sh [THREADS]
set -euo pipefail
cd "$(dirname "$0")/../.."
THREADS=${1:-$(nproc)}
SEAL=.build/release/seal
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
cp ../shared/models/configs/llama-3.2-1b-instruct.json "$DIR/config.json"
for f in tokenizer.json tokenizer_config.json special_tokens_map.json; do ln -s "$PWD/../shared/models/llama3-tokenizer/$f" "$DIR/$f"; done
for t in 44f52bb0 4be741c5 5582e5ca 5614dbcf 5bd6f4ac 6150a2bd 67e8384a 6d0aefbc 6e02f1e3 8be77c9e 8d5021e8; do
  $SEAL arc data --config jobs/arc-seal.toml --set model.path="$DIR" --task $t 2>/dev/null \
    | python3 -c "import sys, json; n = [json.loads(l)['tokens'] for l in sys.stdin]; print('$t', len(n), sum(n))"
done > "$DIR/tokens.txt"
MEAN=$(python3 -c "import sys; r = [l.split() for l in open('$DIR/tokens.txt')]; print(round(sum(int(x[2]) for x in r) / sum(int(x[1]) for x in r)))")
s=$($SEAL bench train --config "$DIR/config.json" --tokens "$MEAN" --rank 128 --alpha 16 \
      --targets q_proj,v_proj,gate_proj,up_proj,down_proj --repeats 1 --threads "$THREADS")
t='{}'
if [ "${TORCH:-1}" != 0 ]; then
  t=$(${ORACLE_PY:-.venv/bin/python} scripts/bench/torch_train.py --config "$DIR/config.json" --tokens "$MEAN" --rank 128 \
        --alpha 16 --targets q_proj,v_proj,gate_proj,up_proj,down_proj --repeats 1 --threads "$THREADS" \
        2>>"${BENCH_LOG:-/tmp/seal-bench-torch.log}" | tail -n 1) || { echo "the PyTorch side failed: see ${BENCH_LOG:-/tmp/seal-bench-torch.log}" >&2; exit 1; }
fi
python3 - "$s" "$DIR/tokens.txt" "$t" <<'PY'
import json, sys
s = json.loads(sys.argv[1])
t = json.loads(sys.argv[3])
rows = [l.split() for l in open(sys.argv[2])]
per_token = s["seconds"] / s["tokens"]
print(f"LoRA step on {s['tokens']} tokens (mean TTT row), {s['threads']} threads: {s['seconds']:.1f} s "
      f"({s['tokens_per_second']:.1f} tok/s); matrix work {100*s['gemm_fraction_of_ceiling']:.0f}% of the "
      f"{s['sgemm_ceiling_gflops']:.0f} GFLOP/s ceiling; peak RSS {s['peak_rss_bytes']/2**30:.1f} GiB")
if t:
    print(f"  the same step in PyTorch {t['torch']} + PEFT: {t['seconds']:.1f} s, peak RSS {t['peak_rss_bytes']/2**30:.1f} GiB "
          f"-> seal {t['seconds']/s['seconds']:.2f}x")
total = 0.0
for task, n, tokens in rows:
    sec = int(tokens) * per_token
    total += sec
    print(f"  {task}: {n} rows, {tokens} tokens -> {sec/3600:.2f} h per epoch")
print(f"mean over the 11 tasks: {total/len(rows)/3600:.2f} h per TTT inner loop (one epoch)")
print(json.dumps({"bench": "arc-ttt", "step": s, "torch_step": t, "tasks": {t: [int(n), int(k)] for t, n, k in rows},
                  "seconds_per_inner_loop_mean": total / len(rows)}))
PY
