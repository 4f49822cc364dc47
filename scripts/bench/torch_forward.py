#!/usr/bin/env python3
"""PyTorch (transformers) side of the forward benchmark: the same random-shaped model, token count and threads.

    .venv/bin/python scripts/bench/torch_forward.py --config CONFIG.json --tokens 512 --threads 2
prints one JSON object: seconds (best of --repeats), tokens_per_second, torch version.
"""
import argparse, json, time
import torch
import transformers
from transformers import AutoConfig, AutoModelForCausalLM

ap = argparse.ArgumentParser()
ap.add_argument("--config", required=True)
ap.add_argument("--tokens", type=int, default=512)
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--repeats", type=int, default=3)
a = ap.parse_args()
torch.set_num_threads(a.threads)
cfg = AutoConfig.from_pretrained(a.config)
cfg.torch_dtype = torch.float32
model = AutoModelForCausalLM.from_config(cfg, torch_dtype=torch.float32)
model.eval()
ids = torch.tensor([[(i * 7919) % cfg.vocab_size for i in range(a.tokens)]])
best = float("inf")
with torch.no_grad():
    model(ids)  # warm-up
    for _ in range(a.repeats):
        t = time.perf_counter()
        model(ids)
        best = min(best, time.perf_counter() - t)
print(json.dumps({"bench": "torch_forward", "seconds": best, "tokens_per_second": a.tokens / best,
                  "threads": torch.get_num_threads(), "torch": torch.__version__,
                  "transformers": transformers.__version__,
                  "parameters": sum(p.numel() for p in model.parameters())}))
