"""The paper's tables from metrics files: Table 2 (knowledge incorporation) and Table 1 (ARC), plus a summary
of the runs and of their rounds.

Runs are grouped into *experiments*: files whose resolved configs are equal once `run.seed` and `run.threads`
are removed (a seed sweep is one experiment). An experiment's accuracy is the mean over its runs; with two or more
runs the sample standard deviation is given too.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .runfile import Run

#: Config keys that do not change what an experiment measures.
IGNORED_KEYS = {"run.seed", "run.threads"}

_SEAL_ROUND = re.compile(r"^seal_round_(\d+)$")
_CONTINUAL = re.compile(r"^continual_(?:seq(\d+)_)?step_(\d+)$")

#: Knowledge arms in the order of the paper's Table 2, with what each row means.
KNOWLEDGE_ARMS = {
    "base": "Base model (no adaptation)",
    "passage": "Train on passage",
    "context": "Train on passage",
    "synthetic": "Train on passage + synthetic data (file)",
    "self_edit": "Train on passage + self-edits (no RL)",
    "self_edits": "Train on passage + self-edits (no RL)",
}
#: ARC arms in the order of the paper's Table 1.
ARC_ARMS = {
    "icl": "ICL (no test-time training)",
    "ttt_self_edit": "TTT + self-edits (no RL)",
    "ttt_untrained": "TTT + self-edits (no RL)",
    "self_edit": "TTT + self-edits (no RL)",
    "oracle_ttt": "Oracle TTT",
    "oracle": "Oracle TTT",
}


@dataclass
class Experiment:
    label: str
    runs: list


def experiment_key(run: Run) -> str:
    cfg = {k: v for k, v in run.flat_config.items() if k not in IGNORED_KEYS}
    return json.dumps(cfg, sort_keys=True, default=str) if cfg else f"file:{run.path}"


def group_runs(runs: list) -> list:
    """Runs -> experiments, in the order their first file was given; labels are unique."""
    groups: dict[str, list] = {}
    for r in runs:
        groups.setdefault(experiment_key(r), []).append(r)
    out = []
    used = set()
    for members in groups.values():
        names = [r.name for r in members]
        label = names[0] if len(names) == 1 else (os.path.commonprefix(names).rstrip("-_.") or names[0])
        base, i = label, 2
        while label in used:
            label, i = f"{base}#{i}", i + 1
        used.add(label)
        out.append(Experiment(label=label, runs=members))
    return out


def arm_order(arm: str, domain: str) -> tuple:
    known = list((ARC_ARMS if domain == "arc" else KNOWLEDGE_ARMS).keys())
    if arm in known:
        return (0, known.index(arm), arm)
    m = _SEAL_ROUND.match(arm)
    if m:
        return (1, int(m.group(1)), arm)
    if _CONTINUAL.match(arm):
        return (3, int(_CONTINUAL.match(arm).group(1) or 0), int(_CONTINUAL.match(arm).group(2)), arm)
    return (2, 0, arm)


def describe_arm(arm: str, domain: str) -> str:
    known = ARC_ARMS if domain == "arc" else KNOWLEDGE_ARMS
    if arm in known:
        return known[arm]
    m = _SEAL_ROUND.match(arm)
    if m:
        return f"SEAL (after ReSTEM round {m.group(1)})"
    return arm


def arm_table(experiments: list, domain: str) -> pd.DataFrame:
    """One row per (experiment, arm) of the runs of `domain`: accuracy (mean over runs), its spread, questions,
    answers, seconds. Continual-learning arms (continual_step_N) belong to the forgetting figure, not here."""
    rows = []
    for e in experiments:
        runs = [r for r in e.runs if r.domain == domain]
        if not runs:
            continue
        arms = sorted({a for r in runs for a in r.arms if not _CONTINUAL.match(a)}, key=lambda a: arm_order(a, domain))
        for a in arms:
            have = [r.arms[a] for r in runs if a in r.arms]
            acc = np.array([x.accuracy for x in have], dtype=float)
            qs = sorted({x.n_questions for x in have})
            rows.append({
                "experiment": e.label,
                "arm": a,
                "method": describe_arm(a, domain),
                "accuracy": float(acc.mean()),
                "accuracy_std": float(acc.std(ddof=1)) if len(acc) > 1 else math.nan,
                "runs": len(have),
                "questions": qs[0] if len(qs) == 1 else f"{qs[0]}-{qs[-1]}",
                "tasks" if domain == "arc" else "contexts": _one_or_range([x.n_contexts for x in have]),
                "answers": _one_or_range([x.n_answers for x in have]),
                "seconds": float(np.nanmean([x.seconds for x in have])) if any(not math.isnan(x.seconds) for x in have) else math.nan,
            })
    return pd.DataFrame(rows)


def _one_or_range(values):
    v = sorted(set(values))
    return v[0] if len(v) == 1 else f"{v[0]}-{v[-1]}"


def runs_table(runs: list) -> pd.DataFrame:
    rows = []
    for r in runs:
        done = sorted(r.rounds.index.tolist()) if len(r.rounds) else []
        rows.append({
            "file": r.path, "domain": r.domain, "status": r.status, "schema_version": r.schema_version,
            "seed": r.seed, "world_size": r.attrs.get("world_size"), "model": r.attrs.get("model"),
            "rounds_completed": len(done), "rounds_configured": r.flat_config.get("run.rounds"),
            "arms": len(r.arms), "resumes": r.attrs.get("resumes"), "created": r.attrs.get("created"),
            "finished": r.attrs.get("finished"), "warnings": len(r.warnings),
        })
    return pd.DataFrame(rows)


def rounds_table(experiments: list) -> pd.DataFrame:
    """One row per (run, completed round): self-edit counts, rewards, SFT, and the phase times of rank 0."""
    rows = []
    for e in experiments:
        for r in e.runs:
            for rnd in sorted(r.rounds.index.tolist()) if len(r.rounds) else []:
                s = r.samples[r.samples["round"] == rnd]
                reward = pd.to_numeric(s["reward"], errors="coerce")
                best = s.assign(reward=reward).groupby("context_id")["reward"].max() if len(s) else pd.Series(dtype=float)
                kept = pd.to_numeric(s["kept"], errors="coerce")
                sft = r.sft[r.sft["round"] == rnd]
                attrs = r.rounds.loc[rnd]
                row = {
                    "experiment": e.label, "file": r.name, "seed": r.seed, "round": int(rnd),
                    "self_edits": len(s), "contexts": int(s["context_id"].nunique()),
                    "mean_reward": float(reward.mean()) if len(s) else math.nan,
                    "mean_best_reward": float(best.mean()) if len(best) else math.nan,
                    "kept": int(kept.sum()) if kept.notna().any() else math.nan,
                    "sft_steps": len(sft), "final_sft_loss": float(sft["loss"].iloc[-1]) if len(sft) else math.nan,
                }
                for k in ("seconds_sampling", "seconds_inner", "seconds_sft", "seconds_comm", "seconds_total"):
                    v = attrs.get(k, math.nan) if hasattr(attrs, "get") else math.nan
                    row[k] = float(v) if v is not None and not (isinstance(v, float) and math.isnan(v)) else math.nan
                rows.append(row)
    return pd.DataFrame(rows)


def _fmt(v, kind: str = "") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if kind == "pct":
        return f"{100 * v:.1f}"
    if kind == "sec":
        return f"{v:.1f}" if v < 1000 else f"{v:.0f}"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def to_markdown(df: pd.DataFrame, columns: list, headers: list, kinds: dict | None = None) -> str:
    """A GitHub Markdown table (pandas' to_markdown needs tabulate, which Debian's pandas does not pull in)."""
    kinds = kinds or {}
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for _, row in df.iterrows():
        cells = [_fmt(row.get(c), kinds.get(c, "")).replace("|", "\\|") for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def arm_markdown(df: pd.DataFrame, domain: str) -> str:
    if df.empty:
        return ""
    metric = "success (%)" if domain == "arc" else "accuracy (%)"
    unit = "tasks" if domain == "arc" else "contexts"
    multi_exp = df["experiment"].nunique() > 1
    multi_run = (df["runs"] > 1).any()
    cols = (["experiment"] if multi_exp else []) + ["arm", "method", "accuracy"]
    heads = (["experiment"] if multi_exp else []) + ["arm", "method", metric]
    if multi_run:
        cols += ["accuracy_std", "runs"]
        heads += ["± std (pp)", "runs"]
    cols += ["questions", unit, "answers", "seconds"]
    heads += ["questions", unit, "answers", "seconds"]
    return to_markdown(df, cols, heads, {"accuracy": "pct", "accuracy_std": "pct", "seconds": "sec"})
