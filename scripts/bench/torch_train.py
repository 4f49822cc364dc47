#!/usr/bin/env python3
"""transformers + PEFT side of the training benchmark: one optimizer step (forward, backward, AdamW) on one
sequence of --tokens tokens, LoRA (r, alpha, targets) or full finetuning, same threads. Prints one JSON object
with the best step time and the peak resident memory."""
import argparse, json, resource, time
import torch
import transformers
from transformers import AutoConfig, AutoModelForCausalLM

ap = argparse.ArgumentParser()
ap.add_argument("--config", required=True)
ap.add_argument("--tokens", type=int, default=512)
ap.add_argument("--mode", default="lora")
ap.add_argument("--rank", type=int, default=32)
ap.add_argument("--alpha", type=float, default=64)
ap.add_argument("--targets", default="q_proj,v_proj")
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--repeats", type=int, default=2)
a = ap.parse_args()
torch.set_num_threads(a.threads)
cfg = AutoConfig.from_pretrained(a.config)
model = AutoModelForCausalLM.from_config(cfg, torch_dtype=torch.float32)
if a.mode == "lora":
    from peft import LoraConfig, get_peft_model
    model = get_peft_model(model, LoraConfig(r=a.rank, lora_alpha=a.alpha, lora_dropout=0.0,
                                             target_modules=a.targets.split(","), task_type="CAUSAL_LM"))
model.train()
params = [p for p in model.parameters() if p.requires_grad]
opt = torch.optim.AdamW(params, lr=1e-4)
ids = torch.tensor([[(i * 7919) % cfg.vocab_size for i in range(a.tokens)]])
def step():
    out = model(input_ids=ids, labels=ids)
    out.loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step(); opt.zero_grad()
step()
best = float("inf")
for _ in range(a.repeats):
    t = time.perf_counter(); step(); best = min(best, time.perf_counter() - t)
print(json.dumps({"bench": "torch_train", "mode": a.mode, "seconds": best, "tokens_per_second": a.tokens / best,
                  "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                  "threads": torch.get_num_threads(), "torch": torch.__version__, "transformers": transformers.__version__}))
