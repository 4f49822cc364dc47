#!/usr/bin/env python3
"""Loads an adapter written by `seal finetune` into PEFT and prints the per-token NLL of a text, for comparison
with `seal score --adapter` (the adapter round trip seal -> PEFT). Usage:
    .venv/bin/python scripts/check_adapter_in_peft.py MODEL_DIR ADAPTER_DIR TEXT_FILE
"""
import json, sys
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
from peft import PeftModel

model_dir, adapter_dir, text_file = sys.argv[1:4]
tok = AutoTokenizer.from_pretrained(model_dir)
base = AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32, attn_implementation="eager")
model = PeftModel.from_pretrained(base, adapter_dir).eval()
ids = tok(open(text_file).read())["input_ids"]
with torch.no_grad():
    logits = model(torch.tensor([ids])).logits[0].double()
nll = (torch.logsumexp(logits[:-1], -1) - logits[:-1].gather(1, torch.tensor(ids[1:])[:, None])[:, 0]).tolist()
print(json.dumps({"token_ids": ids, "token_nll": nll, "mean_nll": sum(nll) / len(nll)}))
