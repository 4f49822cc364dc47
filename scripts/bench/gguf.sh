#!/usr/bin/env bash
# seal beside llama.cpp (llama-cpp-python, built from source by scripts/bench/llamacpp-venv.sh) on the same GGUF
# file, the same thread count and the same token ids, in one run:
#   pp       prompt processing of 512 tokens (logits of the last position only, as llama-bench's pp test)
#            seal: bench forward --model --logits last; llama.cpp: one llama_decode with n_batch = n_ubatch = 512
#   single   single-stream greedy decode, 128 new tokens after a 64-token prompt (rate after the first token)
#   batched  8 prompts x 5 samples x 128 new tokens, temperature 1, top-p 0.95, EOS never ending a completion
#            seal: bench generate (every completion decoded together); llama.cpp: the low-level batch API with one
#            sequence per completion ('parallel', as llama.cpp's llama-batched example), and 40 create_completion
#            calls one after another ('sequential', what a user of the high-level API gets)
# Ratios are seal / llama.cpp in tokens per second (above 1: seal faster). The memory-bandwidth bound of one
# decode stream is bandwidth / weight bytes read per token, bandwidth measured by seal in the same run: seal reads
# its float32 weights (it dequantizes the GGUF at load), llama.cpp reads the GGUF's quantized bytes (Q4_1: 4.5 bits).
#
# Usage: scripts/bench/gguf.sh [THREADS] [GGUF]
#   THREADS  default: all cores (nproc); GGUF default: SmolLM2-135M-Instruct Q4_1 (fetched by scripts/get-model.sh)
# Sizes (for a quick check that it runs; the defaults are the benchmark): BENCH_PP_TOKENS (512), BENCH_PROMPTS (8),
# BENCH_SAMPLES (5), BENCH_PROMPT_TOKENS (64), BENCH_NEW_TOKENS (128), BENCH_REPEATS (3).
# LLAMACPP_PY: the Python with llama_cpp (default: .venv-llamacpp, made by scripts/bench/llamacpp-venv.sh when
# missing). LLAMACPP_BATCHED: parallel, sequential or both (default). LLAMACPP_ARGS: more llamacpp_bench.py options
# (e.g. --flash-attn off, --kv-unified, --extra-bufts on). llama.cpp's log goes to BENCH_LOG.
set -euo pipefail
cd "$(dirname "$0")/../.."
THREADS=${1:-$(nproc)}
GGUF=${2:-models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf}
PP=${BENCH_PP_TOKENS:-512} PROMPTS=${BENCH_PROMPTS:-8} SAMPLES=${BENCH_SAMPLES:-5}
PROMPT_TOKENS=${BENCH_PROMPT_TOKENS:-64} NEW=${BENCH_NEW_TOKENS:-128} REPEATS=${BENCH_REPEATS:-3}
LOG=${BENCH_LOG:-/tmp/seal-bench-llamacpp.log}
SEAL=.build/release/seal

if [ ! -f "$GGUF" ]; then
  if [ -z "${2:-}" ]; then
    scripts/get-model.sh smollm2-135m-instruct >/dev/null
  else
    echo "gguf.sh: no such file: $GGUF" >&2; exit 1
  fi
fi
[ -x "$SEAL" ] || { echo "gguf.sh: $SEAL is missing: build it first (swift build -c release, or make build)" >&2; exit 1; }
PY=${LLAMACPP_PY:-}
if [ -z "$PY" ]; then
  PY=$(scripts/bench/llamacpp-venv.sh | tail -n 1)
fi

echo "gguf.sh: seal bench forward ($PP tokens) ..." >&2
seal_fwd=$("$SEAL" bench forward --model "$GGUF" --tokens "$PP" --logits last --repeats "$REPEATS" --threads "$THREADS")
echo "gguf.sh: seal bench generate ($PROMPTS x $SAMPLES x $NEW) ..." >&2
seal_gen=$("$SEAL" bench generate --model "$GGUF" --prompts "$PROMPTS" --samples "$SAMPLES" \
  --prompt-tokens "$PROMPT_TOKENS" --new-tokens "$NEW" --threads "$THREADS")
echo "gguf.sh: llama.cpp ..." >&2
# shellcheck disable=SC2086
llama_json=$("$PY" scripts/bench/llamacpp_bench.py --gguf "$GGUF" --threads "$THREADS" --pp-tokens "$PP" \
  --repeats "$REPEATS" --prompts "$PROMPTS" --samples "$SAMPLES" --prompt-tokens "$PROMPT_TOKENS" \
  --new-tokens "$NEW" --batched "${LLAMACPP_BATCHED:-both}" ${LLAMACPP_ARGS:-} 2>>"$LOG" | tail -n 1) \
  || { echo "gguf.sh: the llama.cpp side failed: see $LOG" >&2; exit 1; }

python3 - "$seal_fwd" "$seal_gen" "$llama_json" <<'PY'
import json, sys
f, g, l = (json.loads(x) for x in sys.argv[1:4])
bw = g["memory_bandwidth_gbs"] * 1e9
seal_bytes, ll_bytes = g["weight_bytes_f32"], l["model_size_bytes"]
seal_bound, ll_bound = bw / seal_bytes, bw / ll_bytes
S = g["prompts"] * g["samples"]
def r(a, b): return f"{a / b:.2f}x" if a and b else "-"
print(f"seal beside llama.cpp {l['llama_cpp_python']} (llama-cpp-python) on {f['model']}, threads {g['threads']} "
      f"(llama.cpp n_threads = n_threads_batch = {l['n_threads']}; flash attention {l['flash_attn']}; "
      f"extra buffer types {'on' if l['extra_bufts'] else 'off'}"
      + (f", probe: {l['extra_bufts_probe']}" if l.get('extra_bufts_probe') else "") + ")")
print(f"  weights read per token: seal {seal_bytes / 1e6:.0f} MB (float32), llama.cpp {ll_bytes / 1e6:.0f} MB "
      f"({8 * ll_bytes / l['model_parameters']:.2f} bits per parameter); bandwidth {bw / 1e9:.1f} GB/s measured by seal")
print(f"  pp {f['tokens']:>4}   seal {f['tokens_per_second']:8.1f} tok/s   llama.cpp {l['pp_tokens_per_second']:8.1f} tok/s"
      f"   seal/llama.cpp {r(f['tokens_per_second'], l['pp_tokens_per_second'])}"
      f"   (seal's matrix work at {100 * f['gemm_fraction_of_ceiling']:.0f}% of its sgemm ceiling, "
      f"{f['sgemm_ceiling_gflops']:.0f} GFLOP/s)")
sd, ld = g["single_decode_tokens_per_second"], l["single_decode_tokens_per_second"]
print(f"  single     seal {sd:8.2f} tok/s   llama.cpp {ld:8.2f} tok/s   seal/llama.cpp {r(sd, ld)}")
print(f"  bound      seal {seal_bound:8.2f} tok/s   llama.cpp {ll_bound:8.2f} tok/s   (bandwidth / weight bytes)"
      f"   fraction of own bound: seal {100 * sd / seal_bound:.0f}%, llama.cpp {100 * ld / ll_bound:.0f}%")
sb = g["batched_tokens_per_second"]
for mode in ("parallel", "sequential"):
    k = f"{mode}_batched_tokens_per_second"
    if k in l:
        how = "one sequence per completion, one llama_decode per step" if mode == "parallel" else "create_completion one after another"
        print(f"  batched    seal {sb:8.1f} tok/s   llama.cpp {l[k]:8.1f} tok/s ({mode}: {how})   seal/llama.cpp {r(sb, l[k])}")
print(f"  batched    {S} sequences per step: weights read once per step bound seal {S * seal_bound:.0f} tok/s, "
      f"llama.cpp {S * ll_bound:.0f} tok/s (a loose bound: compute, not bandwidth, limits a step of {S})")
print(json.dumps({"seal_forward": f, "seal_generate": g, "llamacpp": l}))
PY
