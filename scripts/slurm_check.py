#!/usr/bin/env python3
"""Checks of seal metrics files for scripts/test-slurm.sh (h5py only; no seal code).

  slurm_check.py finished RUN.h5 [--seed S] [--resumed]   a finished run: every configured round complete, the
                                                         seal_round_N arm written; --resumed: it was resumed
  slurm_check.py same A.h5 B.h5                          the same numbers: per-sample rewards, scores, losses,
                                                         self-edits, kept flags, SFT losses, eval answers
  slurm_check.py round-done RUN.h5 N                      exit 0 once round N is complete (for polling a live run)
"""
import json
import sys

import h5py
import numpy as np


def open_(path):
    return h5py.File(path, "r", locking=False)


def text(v):
    return v.decode() if isinstance(v, bytes) else v


def numbers(path):
    """Everything that must not depend on rank count, interruption or timing."""
    out = {}
    with open_(path) as f:
        for r in sorted(f["rounds"], key=lambda k: int(k[6:])):
            g = f["rounds"][r]
            s = g["samples"]
            out[r] = {k: [text(x) for x in s[k][()].tolist()] for k in
                      ("context_id", "sample_index", "reward", "baseline_score", "adapted_score", "inner_loss",
                       "tokens", "self_edit", "status", "kept")}
            out[r]["sft_loss"] = g["sft/loss"][()].tolist()
        for a in sorted(f["evals"]):
            g = f["evals"][a]
            out["eval:" + a] = {"accuracy": float(g.attrs["accuracy"]),
                                "prediction": [text(x) for x in g["prediction"][()].tolist()],
                                "correct": g["correct"][()].tolist()}
    return out


def finished(path, seed=None, resumed=False):
    problems = []
    with open_(path) as f:
        cfg = json.loads(f.attrs["config"])
        rounds = int(cfg["run.rounds"])
        if text(f.attrs["status"]) != "finished":
            problems.append(f"status is {text(f.attrs['status'])!r}, not 'finished'")
        done = sorted(int(k[6:]) for k in f["rounds"] if f["rounds"][k].attrs.get("completed") == 1)
        if done != list(range(rounds)):
            problems.append(f"completed rounds {done}, expected 0..{rounds - 1}")
        for k in f["rounds"]:
            n = f["rounds"][k].attrs.get("n_samples", -1)
            if n <= 0 or len(f["rounds"][k]["samples/reward"]) != n:
                problems.append(f"{k}: n_samples {n}, {len(f['rounds'][k]['samples/reward'])} rows")
            if not np.isfinite(f["rounds"][k]["samples/reward"][()]).all():
                problems.append(f"{k}: non-finite rewards")
        arm = f"seal_round_{rounds}"
        if cfg.get("eval.after_train", True) and rounds > 0 and arm not in f["evals"]:
            problems.append(f"no eval arm {arm} (arms: {list(f['evals'])})")
        if seed is not None and int(f.attrs["seed"]) != seed:
            problems.append(f"seed {int(f.attrs['seed'])}, expected {seed}")
        resumes = int(f.attrs.get("resumes", 0))
        if resumes < (1 if resumed else 0) or (not resumed and resumes != 0):
            problems.append(f"resumes = {resumes} ({'expected >= 1' if resumed else 'expected 0'})")
        summary = (f"{path}: {text(f.attrs['status'])}, {len(done)} rounds, world_size {int(f.attrs['world_size'])}, "
                   f"resumes {resumes}, arms {sorted(f['evals'])}")
    return problems, summary


def main(argv):
    if len(argv) >= 2 and argv[0] == "finished":
        seed = int(argv[argv.index("--seed") + 1]) if "--seed" in argv else None
        problems, summary = finished(argv[1], seed, "--resumed" in argv)
        print(summary)
        for p in problems:
            print(f"FAIL {argv[1]}: {p}")
        return 1 if problems else 0
    if len(argv) == 3 and argv[0] == "same":
        a, b = numbers(argv[1]), numbers(argv[2])
        if a == b:
            n = sum(len(v["reward"]) for k, v in a.items() if k.startswith("round_"))
            print(f"same numbers: {len(a)} groups, {n} samples ({argv[1]} == {argv[2]})")
            return 0
        for k in sorted(set(a) | set(b)):
            if a.get(k) != b.get(k):
                diff = [c for c in set(a.get(k, {})) | set(b.get(k, {})) if a.get(k, {}).get(c) != b.get(k, {}).get(c)]
                print(f"FAIL: {k} differs in {sorted(diff)}")
        return 1
    if len(argv) == 3 and argv[0] == "round-done":
        try:
            with open_(argv[1]) as f:
                g = f["rounds"].get(f"round_{int(argv[2]):03d}")
                return 0 if g is not None and g.attrs.get("completed") == 1 else 1
        except (OSError, KeyError):
            return 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
