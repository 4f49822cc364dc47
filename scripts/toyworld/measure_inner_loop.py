#!/usr/bin/env python3
"""Measures what one LoRA inner loop does for a toy-world model, passage by passage, with seal's own commands.

    python3 scripts/toyworld/measure_inner_loop.py --model models/toyworld \
        --passages models/toyworld/world/new_eval.json --count 20 [--arms base,passage,self_edit]

Arms (the toy-world knowledge job's, here one passage at a time and without ReSTEM):
  base       the model as it is (`seal toyworld eval`)
  passage    a fresh LoRA adapter trained on "{title}\\n{context}" (`seal finetune`), then the questions
  self_edit  the model's own implications self-edit for the passage (`seal generate`, temperature 1, top-p 0.95),
             split into lines as the knowledge domain splits it, each "{title}\\n{line}", plus the passage; then
             a fresh adapter trained on those rows, then the questions
  oracle     as self_edit, with a perfect self-edit instead: every fact of the passage restated once, by full name,
             in the toy world's plainest template (a toy-world passage's questions come in attribute order); an
             upper bound for what a self-edit that restates the facts can do with this inner loop
Questions are asked without the passage (the knowledge domain's prompt and grader). Prints a table: arm, accuracy,
questions, seconds; --json writes one object.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IMPLICATIONS = ("Let's read the following passage and produce a list of implications derived directly or indirectly "
                "from the content.\n\nPassage:\n{title}\n{context}\n\nImplications:\n")

ORACLE = ["was born on", "was born in", "attended", "majored in", "works for", "works in", "enjoys"]


def sequences(self_edit, title, context):
    """KnowledgePrompts.sequences with split_lines: one row per non-empty line (a preamble before "1." dropped)."""
    segs = []
    for part in self_edit.split("---"):
        part = part.strip()
        if not part:
            continue
        lines = [l.strip() for l in part.split("\n") if l.strip()]
        if len(lines) > 1 and lines[1].startswith("1.") and not lines[0].startswith("1."):
            lines = lines[1:]
        segs += lines
    return [f"{title}\n{s}" for s in segs] + [f"{title}\n{context}"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--passages", required=True)
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--skip", type=int, default=0)
    ap.add_argument("--arms", default="base,passage,self_edit")
    ap.add_argument("--seal", default=os.path.join(ROOT, ".build", "release", "seal"))
    ap.add_argument("--lora-rank", type=int, default=32)
    ap.add_argument("--lora-alpha", type=float, default=64)
    ap.add_argument("--lora-targets", default="q_proj,v_proj")
    ap.add_argument("--epochs", type=float, default=10)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    ps = json.load(open(a.passages))[a.skip:a.skip + a.count]
    arms = a.arms.split(",")
    threads = ["--threads", str(a.threads)] if a.threads > 0 else []

    def seal(*args):
        r = subprocess.run([a.seal, *args, *threads], capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"seal {' '.join(args)} failed: {r.stderr}")
        return r.stdout

    results = {arm: [0, 0, 0.0] for arm in arms}
    with tempfile.TemporaryDirectory() as tmp:
        if "base" in arms:
            t = time.time()
            out = json.loads(seal("toyworld", "eval", "--model", a.model, "--passages", a.passages, "--skip", str(a.skip),
                                  "--count", str(len(ps)), "--json"))
            results["base"] = [out["correct"], out["questions"], time.time() - t]
        for i, p in enumerate(ps):
            one = os.path.join(tmp, "one.json")
            json.dump([p], open(one, "w"))
            for arm in arms:
                if arm == "base":
                    continue
                t = time.time()
                rows = [f"{p['title']}\n{p['context']}"]
                if arm == "self_edit":
                    g = json.loads(seal("generate", "--model", a.model, "--prompt", IMPLICATIONS.format(**p), "--temperature", "1",
                                        "--top-p", "0.95", "--max-new-tokens", "192", "--seed", str(a.seed + i), "--json").splitlines()[0])
                    rows = sequences(g["text"], p["title"], p["context"])
                    if a.verbose:
                        print(f"--- self-edit for {p['title']}:\n{g['text']}")
                elif arm == "oracle":
                    lines = "\n".join(f"{j + 1}. {p['title']} {ORACLE[j]} {q['answer']}." for j, q in enumerate(p["questions"]))
                    rows = sequences(lines, p["title"], p["context"])
                elif arm != "passage":
                    sys.exit(f"unknown arm {arm}")
                data = os.path.join(tmp, "rows.jsonl")
                with open(data, "w") as f:
                    for r in rows:
                        f.write(json.dumps({"text": r}) + "\n")
                adapter = os.path.join(tmp, "adapter")
                seal("finetune", "--model", a.model, "--data", data, "--out", adapter, "--lora-rank", str(a.lora_rank),
                     "--lora-alpha", str(a.lora_alpha), "--lora-targets", a.lora_targets, "--epochs", str(a.epochs),
                     "--lr", str(a.lr), "--batch-size", "1", "--loss-on", "all", "--seed", str(a.seed))
                out = json.loads(seal("toyworld", "eval", "--model", a.model, "--adapter", adapter, "--passages", one, "--json"))
                results[arm][0] += out["correct"]
                results[arm][1] += out["questions"]
                results[arm][2] += time.time() - t
            if a.verbose:
                print(i, {k: f"{v[0]}/{v[1]}" for k, v in results.items()}, flush=True)
    if a.json:
        print(json.dumps({k: {"accuracy": v[0] / max(1, v[1]), "correct": v[0], "questions": v[1], "seconds": v[2]} for k, v in results.items()}))
        return
    print(f"{'arm':<10} {'accuracy':>8} {'questions':>9} {'seconds':>8}")
    for k, (c, n, s) in results.items():
        print(f"{k:<10} {c / max(1, n):8.3f} {n:9d} {s:8.1f}")


if __name__ == "__main__":
    main()
