#!/usr/bin/env python3
"""PyTorch side of the inner-loop benchmark (scripts/bench/inner-loop.sh): one SEAL knowledge inner loop with
transformers + PEFT, the way SEAL's TTT_server runs it but without its padding to 2048 tokens (seal does not pad
either, so both sides train on the same tokens): the self-edit's training sequences (SEAL's rule, restated in
scripts/fixtures/make_self_edit_fixtures.py), LoRA r/alpha on q_proj,v_proj, dropout 0, AdamW (Trainer's
defaults: betas 0.9/0.999, eps 1e-8, no weight decay), linear decay without warmup, gradient clipping at 1.0,
batch 1, shuffled each epoch; then greedy answers (HF generate, all questions in one left-padded batch, at most
--max-new-tokens) to the passage's questions with SEAL's no-passage question prompt. Prints one JSON line."""
import argparse, json, os, random, resource, sys, time
import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer
from peft import LoraConfig, get_peft_model

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "fixtures"))
from make_self_edit_fixtures import sequences  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--model", required=True)
ap.add_argument("--data", required=True, help="a SEAL synthetic-data file (title, context, questions, completions)")
ap.add_argument("--passage", type=int, default=0)
ap.add_argument("--completion", type=int, default=0)
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--epochs", type=int, default=10)
ap.add_argument("--lr", type=float, default=1e-3)
ap.add_argument("--rank", type=int, default=32)
ap.add_argument("--alpha", type=float, default=64)
ap.add_argument("--max-new-tokens", type=int, default=64)
ap.add_argument("--split-lines", type=int, default=1)
a = ap.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)

entry = json.load(open(a.data, encoding="utf-8"))[a.passage]
seqs = sequences(entry["completions"][a.completion], entry["title"], entry["context"], bool(a.split_lines))
tok = AutoTokenizer.from_pretrained(a.model)
rows = [torch.tensor([tok(s)["input_ids"]]) for s in seqs]

t0 = time.perf_counter()
model = AutoModelForCausalLM.from_pretrained(a.model, torch_dtype=torch.float32)
load_seconds = time.perf_counter() - t0
model = get_peft_model(model, LoraConfig(r=a.rank, lora_alpha=a.alpha, lora_dropout=0.0,
                                         target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
params = [p for p in model.parameters() if p.requires_grad]
opt = torch.optim.AdamW(params, lr=a.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
total_steps = a.epochs * len(rows)
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: max(0.0, (total_steps - s) / total_steps))
rng = random.Random(0)

t0 = time.perf_counter()
model.train()
losses = []
for _ in range(a.epochs):
    order = list(range(len(rows)))
    rng.shuffle(order)
    for i in order:
        out = model(input_ids=rows[i], labels=rows[i])
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step(); sched.step(); opt.zero_grad()
        losses.append(out.loss.item())
train_seconds = time.perf_counter() - t0

prompts = [f"Let's answer a question directly and concisely.\nQuestion: Topic: {entry['title']}\n{q['question']}\nAnswer:"
           for q in entry["questions"]]
tok.padding_side = "left"
if tok.pad_token is None:
    tok.pad_token = tok.eos_token
batch = tok(prompts, return_tensors="pt", padding=True)
model.eval()
t0 = time.perf_counter()
with torch.no_grad():
    gen = model.generate(**batch, do_sample=False, max_new_tokens=a.max_new_tokens, pad_token_id=tok.pad_token_id)
generate_seconds = time.perf_counter() - t0
new_tokens = int((gen[:, batch["input_ids"].shape[1]:] != tok.pad_token_id).sum())

print(json.dumps({"bench": "torch_inner_loop", "sequences": len(rows), "tokens_per_epoch": sum(r.shape[1] for r in rows),
                  "steps": total_steps, "questions": len(prompts), "new_tokens": new_tokens,
                  "load_seconds": load_seconds, "train_seconds": train_seconds, "generate_seconds": generate_seconds,
                  "inner_loop_seconds": train_seconds + generate_seconds, "first_loss": losses[0], "last_loss": losses[-1],
                  "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                  "threads": torch.get_num_threads(), "torch": torch.__version__, "transformers": transformers.__version__}))
