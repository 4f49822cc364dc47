#!/usr/bin/env python3
"""transformers' generate on the same random-shaped model: batched sampling (prompts x samples x new tokens,
temperature 1, top-p 0.95, min_new_tokens = max_new_tokens so every sequence runs the full length) and a
single greedy stream. Prints one JSON object."""
import argparse, json, time
import torch
import transformers
from transformers import AutoConfig, AutoModelForCausalLM

ap = argparse.ArgumentParser()
ap.add_argument("--config", required=True)
ap.add_argument("--prompts", type=int, default=8)
ap.add_argument("--samples", type=int, default=5)
ap.add_argument("--prompt-tokens", type=int, default=64)
ap.add_argument("--new-tokens", type=int, default=128)
ap.add_argument("--threads", type=int, default=1)
a = ap.parse_args()
torch.set_num_threads(a.threads)
cfg = AutoConfig.from_pretrained(a.config)
model = AutoModelForCausalLM.from_config(cfg, torch_dtype=torch.float32).eval()
V = cfg.vocab_size
ids = torch.tensor([[(i * 7919 + p * 104729) % V for i in range(a.prompt_tokens)] for p in range(a.prompts)])
mask = torch.ones_like(ids)
with torch.no_grad():
    t = time.perf_counter()
    model.generate(ids, attention_mask=mask, do_sample=True, temperature=1.0, top_p=0.95, top_k=0,
                   num_return_sequences=a.samples, max_new_tokens=a.new_tokens, min_new_tokens=a.new_tokens,
                   pad_token_id=0)
    batched = time.perf_counter() - t
    one = ids[:1]
    t = time.perf_counter()
    model.generate(one, attention_mask=mask[:1], do_sample=False, max_new_tokens=1, min_new_tokens=1, pad_token_id=0)
    prefill = time.perf_counter() - t
    t = time.perf_counter()
    model.generate(one, attention_mask=mask[:1], do_sample=False, max_new_tokens=a.new_tokens,
                   min_new_tokens=a.new_tokens, pad_token_id=0)
    single = time.perf_counter() - t
print(json.dumps({"bench": "torch_generate", "batched_seconds": batched,
                  "batched_tokens_per_second": a.prompts * a.samples * a.new_tokens / batched,
                  "single_seconds": single, "single_decode_tokens_per_second": (a.new_tokens - 1) / (single - prefill),
                  "threads": torch.get_num_threads(), "torch": torch.__version__, "transformers": transformers.__version__}))
