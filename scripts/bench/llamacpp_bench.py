#!/usr/bin/env python3
"""llama.cpp (through llama-cpp-python) on a GGUF file, the same three measures as `seal bench forward --model` and
`seal bench generate --model` on the same file, with the same token ids, thread count and sampling settings.
Prints one JSON object on the last line (progress and llama.cpp's own log go to stderr).

  pp        prompt processing: one llama_decode of --pp-tokens tokens (n_batch = n_ubatch = that many, logits of
            the last token only, as llama-bench's pp test), best of --repeats after a warm-up, the KV cache cleared
            before each; wall clock, and llama.cpp's perf counters (t_p_eval_ms) beside it.
  single    single-stream greedy decode: a --prompt-tokens prompt decoded in one batch, then --new-tokens greedy
            tokens; the rate is (new - 1) tokens over the time after the first one (sampling + 1-token decodes),
            as seal's bench generate measures it.
  batched   --prompts x --samples completions of --new-tokens each (temperature 1, top-p 0.95, EOS never ends one,
            as seal's bench generate runs them), timed from the first prompt token to the last new token. Two ways:
            'parallel' (the low-level batch API, what llama.cpp's own llama-batched / llama-parallel examples do):
            every prompt decoded once in one batch into sequence p*samples, its KV cells copied to the other
            samples' sequences (llama_memory_seq_cp), then one llama_decode per step with one token of each of the
            prompts*samples sequences; and 'sequential' (what a Python user of the high-level API gets): that many
            create_completion calls one after another (llama-cpp-python reuses the cached prompt prefix between
            samples of one prompt).

Extra buffer types (AMX tiles, CPU weight repacking): --extra-bufts; by default a child process first tries a small
decode with them and they are turned off when it crashes (llama.cpp's AMX path segfaults on this Q4_1 model in some
VMs with AMX); the JSON says which ("extra_bufts", "extra_bufts_probe").

Threads: n_threads (used for 1-token decodes) and n_threads_batch (used for batches of several tokens) are both
--threads. Flash attention: --flash-attn (default auto, llama.cpp's own default); the high-level Llama class of the
sequential run knows only on and off (its default is off), so there auto means on.
"""
import argparse, ctypes, json, sys, time

import llama_cpp as L

ap = argparse.ArgumentParser()
ap.add_argument("--gguf", required=True)
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--pp-tokens", type=int, default=512)
ap.add_argument("--repeats", type=int, default=3)
ap.add_argument("--prompts", type=int, default=8)
ap.add_argument("--samples", type=int, default=5)
ap.add_argument("--prompt-tokens", type=int, default=64)
ap.add_argument("--new-tokens", type=int, default=128)
ap.add_argument("--batched", choices=["parallel", "sequential", "both"], default="both")
ap.add_argument("--flash-attn", choices=["auto", "on", "off"], default="auto")
ap.add_argument("--kv-unified", action="store_true",
                help="one KV buffer for all sequences of the batched run (default: one stream per sequence)")
ap.add_argument("--extra-bufts", choices=["probe", "on", "off"], default="probe",
                help="llama.cpp's extra weight buffer types (AMX, CPU repack): probe = on unless a small decode with "
                     "them crashes in a child process (llama.cpp's AMX path segfaults on this model in some VMs)")
ap.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
ap.add_argument("--seed", type=int, default=1)
ap.add_argument("--quiet", action="store_true", help="drop llama.cpp's log")
a = ap.parse_args()

if a.quiet:
    _silent = L.llama_log_callback(lambda level, text, user: None)
    L.llama_log_set(_silent, ctypes.c_void_p())

probe_note = None
if a.extra_bufts == "probe" and not a.probe:
    import subprocess
    r = subprocess.run([sys.executable, __file__, "--gguf", a.gguf, "--threads", str(a.threads), "--probe", "--quiet"],
                       capture_output=True, text=True)
    extra_bufts = r.returncode == 0
    probe_note = "ok" if extra_bufts else (f"killed by signal {-r.returncode}" if r.returncode < 0 else f"exit {r.returncode}")
else:
    extra_bufts = a.extra_bufts != "off"

# The high-level Llama class (sequential run) builds its model params from this function: the same setting there.
_default_model_params = L.llama_cpp.llama_model_default_params


def model_params():
    p = _default_model_params()
    p.use_extra_bufts = extra_bufts
    return p


L.llama_cpp.llama_model_default_params = model_params

FA = {"auto": L.LLAMA_FLASH_ATTN_TYPE_AUTO, "on": L.LLAMA_FLASH_ATTN_TYPE_ENABLED, "off": L.LLAMA_FLASH_ATTN_TYPE_DISABLED}
L.llama_backend_init()
mparams = model_params()
mparams.n_gpu_layers = 0
model = L.llama_model_load_from_file(a.gguf.encode(), mparams)
if not model:
    sys.exit(f"llamacpp_bench: llama.cpp could not load {a.gguf}")
vocab = L.llama_model_get_vocab(model)
V = L.llama_vocab_n_tokens(vocab)
P, N = a.prompt_tokens, a.new_tokens


def log(msg):
    print(f"llamacpp_bench: {msg}", file=sys.stderr, flush=True)


def context(n_ctx, n_batch, n_seq=1, unified=False):
    c = L.llama_context_default_params()
    c.n_ctx, c.n_batch, c.n_ubatch, c.n_seq_max = n_ctx, n_batch, n_batch, n_seq
    c.n_threads = c.n_threads_batch = a.threads
    c.flash_attn_type = FA[a.flash_attn]
    c.kv_unified = unified
    c.no_perf = False
    ctx = L.llama_init_from_model(model, c)
    if not ctx:
        sys.exit(f"llamacpp_bench: llama_init_from_model failed (n_ctx {n_ctx}, n_batch {n_batch}, n_seq_max {n_seq})")
    return ctx


class Batch:
    def __init__(self, capacity, seqs_per_token=1):
        self.b = L.llama_batch_init(capacity, 0, seqs_per_token)

    def fill(self, items):
        """items: (token, position, sequence id, wants logits)."""
        b = self.b
        b.n_tokens = len(items)
        for i, (tok, pos, seq, out) in enumerate(items):
            b.token[i], b.pos[i], b.n_seq_id[i], b.logits[i] = tok, pos, 1, int(out)
            b.seq_id[i][0] = seq
        return b


def decode(ctx, batch):
    rc = L.llama_decode(ctx, batch)
    if rc != 0:
        sys.exit(f"llamacpp_bench: llama_decode returned {rc} (batch of {batch.n_tokens} tokens)")


def clear(ctx):
    L.llama_memory_clear(L.llama_get_memory(ctx), True)


def sampler(greedy):
    s = L.llama_sampler_chain_init(L.llama_sampler_chain_default_params())
    if greedy:
        L.llama_sampler_chain_add(s, L.llama_sampler_init_greedy())
    else:
        L.llama_sampler_chain_add(s, L.llama_sampler_init_top_p(0.95, 1))
        L.llama_sampler_chain_add(s, L.llama_sampler_init_temp(1.0))
        L.llama_sampler_chain_add(s, L.llama_sampler_init_dist(a.seed))
    return s


def prompt(p):
    return [(i * 7919 + p * 104729) % V for i in range(P)]


if a.probe:  # a prompt batch and a 1-token step with the extra buffer types; a crash here ends only the child
    c = context(n_ctx=256, n_batch=64)
    b = Batch(64)
    decode(c, b.fill([((i * 7919) % V, i, 0, i == 63) for i in range(64)]))
    decode(c, b.fill([(1, 64, 0, True)]))
    sys.exit(0)

out = {"bench": "llamacpp", "llama_cpp_python": L.__version__, "threads": a.threads, "n_threads": a.threads,
       "n_threads_batch": a.threads, "flash_attn": a.flash_attn, "extra_bufts": extra_bufts,
       "extra_bufts_probe": probe_note, "gguf": a.gguf, "vocab": V,
       "model_size_bytes": L.llama_model_size(model), "model_parameters": L.llama_model_n_params(model),
       "system_info": L.llama_print_system_info().decode(errors="replace").strip(),
       "pp_tokens": a.pp_tokens, "prompts": a.prompts, "samples": a.samples, "prompt_tokens": P, "new_tokens": N}

# --- prompt processing -------------------------------------------------------------------------------------------
T = a.pp_tokens
ctx = context(n_ctx=max(T, 256), n_batch=T)
batch = Batch(T)
items = [((i * 7919) % V, i, 0, i == T - 1) for i in range(T)]
decode(ctx, batch.fill(items))  # warm-up: page the weights in, size the compute buffers
best, best_perf = float("inf"), float("inf")
for _ in range(a.repeats):
    clear(ctx)
    before = L.llama_perf_context(ctx)
    t0 = time.perf_counter()
    decode(ctx, batch.fill(items))
    L.llama_synchronize(ctx)
    dt = time.perf_counter() - t0
    after = L.llama_perf_context(ctx)
    best = min(best, dt)
    if after.n_p_eval > before.n_p_eval:
        best_perf = min(best_perf, (after.t_p_eval_ms - before.t_p_eval_ms) / 1e3)
out.update({"pp_seconds": best, "pp_tokens_per_second": T / best,
            "pp_perf_seconds": best_perf if best_perf < float("inf") else None})
L.llama_batch_free(batch.b)
L.llama_free(ctx)
log(f"pp {T} tokens: {T / best:.1f} tok/s")

# --- single-stream greedy decode ---------------------------------------------------------------------------------
ctx = context(n_ctx=-(-(P + N) // 256) * 256, n_batch=max(P, 1))
batch = Batch(max(P, 1))
greedy = sampler(greedy=True)
ids = prompt(0)
single_warm = True
for attempt in range(2):  # the first run warms up, the second is timed
    clear(ctx)
    L.llama_sampler_reset(greedy)
    before = L.llama_perf_context(ctx)
    t0 = time.perf_counter()
    decode(ctx, batch.fill([(t, i, 0, i == P - 1) for i, t in enumerate(ids)]))
    tok = L.llama_sampler_sample(greedy, ctx, P - 1)
    t1 = time.perf_counter()
    for k in range(1, N):
        decode(ctx, batch.fill([(tok, P + k - 1, 0, True)]))
        tok = L.llama_sampler_sample(greedy, ctx, 0)
    t2 = time.perf_counter()
after = L.llama_perf_context(ctx)
out.update({"single_prefill_seconds": t1 - t0, "single_seconds": t2 - t0,
            "single_decode_tokens_per_second": (N - 1) / (t2 - t1) if N > 1 else None,
            "single_perf_eval_seconds": (after.t_eval_ms - before.t_eval_ms) / 1e3,
            "single_perf_n_eval": after.n_eval - before.n_eval})
L.llama_sampler_free(greedy)
L.llama_batch_free(batch.b)
L.llama_free(ctx)
log(f"single stream: {out['single_decode_tokens_per_second']} tok/s")

# --- batched sampling, low-level batch API -----------------------------------------------------------------------
S = a.prompts * a.samples
if a.batched in ("parallel", "both"):
    per_seq = -(-(P + N) // 256) * 256
    n_ctx = a.prompts * P + S * N + 256 if a.kv_unified else S * per_seq
    cap = max(a.prompts * P, S)
    ctx = context(n_ctx=n_ctx, n_batch=cap, n_seq=S, unified=a.kv_unified)
    batch = Batch(cap)
    smpl = sampler(greedy=False)
    mem = L.llama_get_memory(ctx)
    made = 0
    for attempt in range(2):  # warm-up, then timed
        clear(ctx)
        L.llama_sampler_reset(smpl)
        t0 = time.perf_counter()
        items = []
        for p in range(a.prompts):
            items += [(t, i, p * a.samples, i == P - 1) for i, t in enumerate(prompt(p))]
        decode(ctx, batch.fill(items))
        toks = [0] * S
        for p in range(a.prompts):
            for s in range(1, a.samples):
                L.llama_memory_seq_cp(mem, p * a.samples, p * a.samples + s, -1, -1)
            for s in range(a.samples):  # each sample draws its first token from the prompt's logits
                toks[p * a.samples + s] = L.llama_sampler_sample(smpl, ctx, p * P + P - 1)
        made = S
        for k in range(1, N):
            decode(ctx, batch.fill([(toks[q], P + k - 1, q, True) for q in range(S)]))
            for q in range(S):
                toks[q] = L.llama_sampler_sample(smpl, ctx, q)
            made += S
        dt = time.perf_counter() - t0
    out.update({"batched_mode": "parallel", "kv_unified": a.kv_unified, "batched_seconds": dt,
                "batched_tokens_per_second": made / dt, "parallel_batched_seconds": dt,
                "parallel_batched_tokens_per_second": made / dt, "parallel_n_ctx": L.llama_n_ctx(ctx)})
    L.llama_sampler_free(smpl)
    L.llama_batch_free(batch.b)
    L.llama_free(ctx)
    log(f"batched (parallel sequences): {made / dt:.1f} tok/s")

# --- batched sampling, high-level API, one completion after another ----------------------------------------------
if a.batched in ("sequential", "both"):
    llm = L.Llama(model_path=a.gguf, n_ctx=-(-(P + N) // 256) * 256, n_batch=512, n_ubatch=512,
                  n_threads=a.threads, n_threads_batch=a.threads, seed=a.seed, verbose=not a.quiet,
                  flash_attn=a.flash_attn != "off")
    llm.create_completion(prompt(0), max_tokens=2, temperature=1.0)  # warm-up
    # Every end-of-generation token banned (EOS and any other EOG, e.g. <|endoftext|>), so each runs the full length.
    ban = {t: float("-inf") for t in range(V) if L.llama_vocab_is_eog(vocab, t)}
    made = 0
    t0 = time.perf_counter()
    for p in range(a.prompts):
        for s in range(a.samples):
            r = llm.create_completion(prompt(p), max_tokens=N, temperature=1.0, top_p=0.95, top_k=0, min_p=0.0,
                                      repeat_penalty=1.0, logit_bias=ban, seed=a.seed + p * a.samples + s)
            made += r["usage"]["completion_tokens"]
    dt = time.perf_counter() - t0
    out.update({"sequential_batched_seconds": dt, "sequential_batched_tokens_per_second": made / dt,
                "sequential_tokens_made": made, "sequential_banned_eog_tokens": sorted(ban)})
    if a.batched == "sequential":
        out.update({"batched_mode": "sequential", "batched_seconds": dt, "batched_tokens_per_second": made / dt})
    log(f"batched (sequential create_completion): {made / dt:.1f} tok/s")
    llm.close()

L.llama_model_free(model)
print(json.dumps(out))
