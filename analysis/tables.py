"""The paper's tables from metrics files: Table 2 (knowledge incorporation) and Table 1 (ARC), plus a summary
of the runs and of their rounds.

Runs are grouped into *experiments*: files whose resolved configs are equal once `run.seed` and `run.threads`
are removed (a seed sweep is one experiment). An experiment's accuracy is the mean over its runs; with two or more
runs the sample standard deviation is given too. Every arm has a 95 % bootstrap interval over its (run, context)
units, and each SEAL round is set against the untrained self-edits (and the passage) with a paired bootstrap
interval (analysis.stats).
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import stats
from .runfile import Run

#: Config keys that do not change what an experiment measures.
IGNORED_KEYS = {"run.seed", "run.threads"}

_SEAL_ROUND = re.compile(r"^seal_round_(\d+)$")
#: Arms of passages the starting policy knew, asked unadapted after N rounds (eval.retention): what it forgot.
_RETENTION = re.compile(r"^retention_round_(\d+)$")
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
#: Arms each SEAL round is paired against, in this order (those an experiment has): the untrained policy's own
#: self-edits first, then the passage (knowledge) or in-context learning (ARC).
KNOWLEDGE_REFERENCES = ("self_edit", "self_edits", "passage", "context")
ARC_REFERENCES = ("ttt_self_edit", "ttt_untrained", "self_edit", "icl")


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
    m = _RETENTION.match(arm)
    if m:
        return (2, int(m.group(1)), arm)
    if _CONTINUAL.match(arm):
        return (4, int(_CONTINUAL.match(arm).group(1) or 0), int(_CONTINUAL.match(arm).group(2)), arm)
    return (3, 0, arm)


def describe_arm(arm: str, domain: str) -> str:
    known = ARC_ARMS if domain == "arc" else KNOWLEDGE_ARMS
    if arm in known:
        return known[arm]
    m = _SEAL_ROUND.match(arm)
    if m:
        return f"SEAL (after ReSTEM round {m.group(1)})"
    m = _RETENTION.match(arm)
    if m:
        return f"Retention: known passages, unadapted policy after round {m.group(1)}"
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
            ci = stats.arm_interval(runs, a)
            rows.append({
                "experiment": e.label,
                "arm": a,
                "method": describe_arm(a, domain),
                "accuracy": float(acc.mean()),
                "accuracy_lo": ci["accuracy_lo"],
                "accuracy_hi": ci["accuracy_hi"],
                "accuracy_std": float(acc.std(ddof=1)) if len(acc) > 1 else math.nan,
                "runs": len(have),
                "questions": qs[0] if len(qs) == 1 else f"{qs[0]}-{qs[-1]}",
                "tasks" if domain == "arc" else "contexts": _one_or_range([x.n_contexts for x in have]),
                "answers": _one_or_range([x.n_answers for x in have]),
                "seconds": float(np.nanmean([x.seconds for x in have])) if any(not math.isnan(x.seconds) for x in have) else math.nan,
                "units": ci["units"],
                "accuracy_pooled": ci["accuracy_pooled"],
                "coverage": _mean_attr(have, "self_edit_coverage"),
            })
    return pd.DataFrame(rows)


def _mean_attr(arms, key: str) -> float:
    """The mean over runs of an arm attribute (NaN where no run recorded it)."""
    vals = []
    for x in arms:
        try:
            v = float(x.attrs.get(key, math.nan))
        except (TypeError, ValueError):
            v = math.nan
        if not math.isnan(v):
            vals.append(v)
    return float(np.mean(vals)) if vals else math.nan


_ROUND0_ARMS = ("self_edit", "self_edits")


def mechanism_table(arm_df: pd.DataFrame) -> pd.DataFrame:
    """One row per (experiment, policy round r = 0, 1, ...): what the policy after r ReSTEM rounds writes and knows.
    *accuracy* of its self-edits on the held-out contexts (round 0: the self_edit arm; r: seal_round_r), the
    *coverage* of those self-edits (the share of the contexts' answers they state, when the domain measures it),
    and *retention* (retention_round_r: questions the starting policy answered, asked of the unadapted policy)."""
    if arm_df.empty:
        return pd.DataFrame()
    rows = []
    for exp, t in arm_df.groupby("experiment", sort=False):
        t = t.set_index("arm")
        per = {}
        for a in t.index:
            m = _SEAL_ROUND.match(str(a))
            r = 0 if a in _ROUND0_ARMS else int(m.group(1)) if m else None
            if r is not None:
                per.setdefault(r, {})["arm"] = a
            m = re.match(r"^retention_round_(\d+)$", str(a))
            if m:
                per.setdefault(int(m.group(1)), {})["retention_arm"] = a
        for r in sorted(per):
            a, ra = per[r].get("arm"), per[r].get("retention_arm")
            rows.append({
                "experiment": exp, "round": r, "arm": a or "—",
                "accuracy": float(t.loc[a, "accuracy"]) if a else math.nan,
                "accuracy_lo": float(t.loc[a, "accuracy_lo"]) if a else math.nan,
                "accuracy_hi": float(t.loc[a, "accuracy_hi"]) if a else math.nan,
                "coverage": float(t.loc[a, "coverage"]) if a and "coverage" in t.columns else math.nan,
                "retention": float(t.loc[ra, "accuracy"]) if ra else math.nan,
                "retention_lo": float(t.loc[ra, "accuracy_lo"]) if ra else math.nan,
                "retention_hi": float(t.loc[ra, "accuracy_hi"]) if ra else math.nan,
            })
    return pd.DataFrame(rows)


def mechanism_markdown(df: pd.DataFrame) -> str:
    if df.empty:
        return ""
    multi = df["experiment"].nunique() > 1
    df = df.assign(ci=[_interval(lo, hi, 100) for lo, hi in zip(df["accuracy_lo"], df["accuracy_hi"])],
                   rci=[_interval(lo, hi, 100) for lo, hi in zip(df["retention_lo"], df["retention_hi"])])
    cols = (["experiment"] if multi else []) + ["round", "arm", "accuracy", "ci", "coverage", "retention", "rci"]
    heads = (["experiment"] if multi else []) + ["policy after round", "arm", "accuracy (%)", "95 % CI",
                                                 "self-edit coverage (%)", "retention (%)", "95 % CI"]
    return to_markdown(df, cols, heads, {"accuracy": "pct", "coverage": "pct", "retention": "pct"})


def seal_rounds(arms) -> list:
    """The SEAL round arms (seal_round_N) among `arms`, by N."""
    return sorted((a for a in arms if _SEAL_ROUND.match(a)), key=lambda a: int(_SEAL_ROUND.match(a).group(1)))


def paired_table(experiments: list, domain: str) -> pd.DataFrame:
    """One row per (experiment, SEAL round, reference arm) of the runs of `domain`: the units present in both arms,
    the mean per-unit accuracy of each over those units, the mean difference (round − reference) and its paired
    bootstrap interval, all in percentage points, and whether the interval excludes 0. A reference the
    experiment lacks gives no row; arms without a common unit give a row with 0 paired units and no numbers."""
    refs = ARC_REFERENCES if domain == "arc" else KNOWLEDGE_REFERENCES
    rows = []
    for e in experiments:
        runs = [r for r in e.runs if r.domain == domain]
        present = {a for r in runs for a in r.arms}
        for a in seal_rounds(present):
            ua = stats.arm_units(runs, a)
            for b in (x for x in refs if x in present):
                p = stats.paired_interval(ua, stats.arm_units(runs, b))
                rows.append({
                    "experiment": e.label, "arm": a, "reference": b, "paired_units": p["paired_units"],
                    "arm_accuracy_pp": 100 * p["arm_accuracy"], "reference_accuracy_pp": 100 * p["reference_accuracy"],
                    "diff_pp": 100 * p["diff"], "diff_lo_pp": 100 * p["diff_lo"], "diff_hi_pp": 100 * p["diff_hi"],
                    "excludes_zero": p["excludes_zero"],
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
                for k in ("mean_coverage", "mean_kept_coverage", "seconds_sampling", "seconds_inner", "seconds_sft",
                          "seconds_comm", "seconds_total"):
                    v = attrs.get(k, math.nan) if hasattr(attrs, "get") else math.nan
                    row[k] = float(v) if v is not None and not (isinstance(v, float) and math.isnan(v)) else math.nan
                rows.append(row)
    return pd.DataFrame(rows)


def _fmt(v, kind: str = "") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if kind == "pct":
        return f"{100 * v:.1f}"
    if kind == "pp":
        return f"{v:.1f}"
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
    cols.insert(cols.index("accuracy") + 1, "ci")
    heads.insert(heads.index(metric) + 1, "95 % CI")
    df = df.assign(ci=[_interval(lo, hi, 100) for lo, hi in zip(df["accuracy_lo"], df["accuracy_hi"])])
    return to_markdown(df, cols, heads, {"accuracy": "pct", "accuracy_std": "pct", "seconds": "sec"})


def _interval(lo, hi, scale: float = 1.0) -> str:
    """"[lo, hi]" with one decimal after scaling; "—" when the interval is unknown."""
    if lo is None or hi is None or pd.isna(lo) or pd.isna(hi):
        return "—"
    return f"[{scale * lo:.1f}, {scale * hi:.1f}]"


def paired_markdown(df: pd.DataFrame) -> str:
    """The paired table in points: Δ = SEAL round − reference over the units both arms have."""
    if df.empty:
        return ""
    multi_exp = df["experiment"].nunique() > 1
    df = df.assign(ci=[_interval(lo, hi) for lo, hi in zip(df["diff_lo_pp"], df["diff_hi_pp"])],
                   diff=[f"{v:+.1f}" if not pd.isna(v) else "—" for v in df["diff_pp"]],
                   excludes=["yes" if x else ("—" if n == 0 else "no")
                             for x, n in zip(df["excludes_zero"], df["paired_units"])])
    cols = (["experiment"] if multi_exp else []) + ["arm", "reference", "paired_units", "arm_accuracy_pp",
                                                    "reference_accuracy_pp", "diff", "ci", "excludes"]
    heads = (["experiment"] if multi_exp else []) + ["arm", "vs", "paired units", "arm (%)", "vs (%)", "Δ (pp)",
                                                     "95 % CI (pp)", "excludes 0"]
    return to_markdown(df, cols, heads, {"arm_accuracy_pp": "pp", "reference_accuracy_pp": "pp"})
