"""Bootstrap intervals for the report's tables: an arm's accuracy, and the paired difference of two arms.

The resampling unit is a *(run, context)* pair: one passage (knowledge) or task (ARC) as one run evaluated it.
Questions of one context are not independent draws (they ask about the same passage, and a self-edit arm asks
each of them once per sampled self-edit), so the context, not the answer, is what is resampled. A run is named by
its seed (`run.seed`), so the train and eval files of one seed describe the same contexts and pair up; a file
without a seed is a run of its own. The answers of one arm for one unit are pooled (several files of one seed
holding the same arm add up).

- ``arm_interval``: resample units with replacement; the arm's accuracy over a resample is its correct answers
  divided by its answers; the 2.5 and 97.5 percentiles of 10,000 resamples.
- ``paired_interval``: over the units present in both arms, each unit's accuracy in arm A minus its accuracy in
  arm B; resample those units (both arms together) and take the mean difference; the same percentiles.

Every interval is drawn from ``numpy.random.default_rng(SEED)``, so the report gives the same numbers every time.
One unit gives a degenerate interval (lo = hi = the estimate); no unit gives NaN.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

#: Resamples per interval.
RESAMPLES = 10_000
#: The numpy seed of every interval (the report is reproducible).
SEED = 20250101
#: Two-sided level of the percentile intervals.
LEVEL = 0.95
#: Upper bound on resample-by-unit index matrices held at once (the resamples are drawn in chunks).
_CHUNK_CELLS = 4_000_000

UNIT_COLUMNS = ["run", "context_id", "correct", "answers"]


def run_key(run) -> str:
    """The run part of a unit: "seed <s>" when the file records its seed, else the file path."""
    seed = run.seed
    if seed is None:
        seed = run.flat_config.get("run.seed")
    return f"seed {seed}" if seed is not None else f"file {run.path}"


def units(records: pd.DataFrame, run: str) -> pd.DataFrame:
    """One arm's rows of one run -> one row per context: run, context_id, correct (answers judged correct),
    answers (rows with a readable verdict). Rows whose `correct` is missing or not a number are left out."""
    if len(records) == 0 or "correct" not in records or "context_id" not in records:
        return pd.DataFrame({c: pd.Series(dtype=object if c in ("run", "context_id") else float) for c in UNIT_COLUMNS})
    t = pd.DataFrame({"context_id": records["context_id"].astype(str),
                      "correct": pd.to_numeric(records["correct"], errors="coerce")}).dropna(subset=["correct"])
    g = t.groupby("context_id", sort=True)["correct"].agg(["sum", "count"]).reset_index()
    return pd.DataFrame({"run": run, "context_id": g["context_id"], "correct": g["sum"].astype(float),
                         "answers": g["count"].astype(float)})[UNIT_COLUMNS]


def arm_units(runs: list, arm: str) -> pd.DataFrame:
    """The units of `arm` over `runs` (one experiment): per (run, context) its correct answers and answers, files of
    one seed pooled."""
    parts = [units(r.arms[arm].records, run_key(r)) for r in runs if arm in r.arms]
    parts = [p for p in parts if len(p)]
    if not parts:
        return units(pd.DataFrame(), "")
    t = pd.concat(parts, ignore_index=True)
    return t.groupby(["run", "context_id"], sort=True)[["correct", "answers"]].sum().reset_index()


def _resample_indices(n: int, resamples: int, rng: np.random.Generator):
    """Yields index matrices (chunk, n) of unit draws with replacement, `resamples` rows in all."""
    step = max(1, _CHUNK_CELLS // max(1, n))
    done = 0
    while done < resamples:
        m = min(step, resamples - done)
        yield rng.integers(0, n, size=(m, n))
        done += m


def _percentiles(stats: np.ndarray, level: float) -> tuple:
    lo, hi = np.quantile(stats, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(lo), float(hi)


def accuracy_interval(correct, answers, resamples: int = RESAMPLES, seed: int = SEED,
                      level: float = LEVEL) -> tuple:
    """(estimate, lo, hi): the pooled accuracy sum(correct) / sum(answers) over units, and its percentile
    bootstrap interval (units resampled with replacement). NaNs when there is no unit."""
    c = np.asarray(correct, dtype=float)
    a = np.asarray(answers, dtype=float)
    if len(c) != len(a):
        raise ValueError(f"correct has {len(c)} units, answers {len(a)}")
    if len(c) == 0 or a.sum() <= 0:
        return math.nan, math.nan, math.nan
    est = float(c.sum() / a.sum())
    rng = np.random.default_rng(seed)
    stats = np.concatenate([c[idx].sum(axis=1) / a[idx].sum(axis=1)
                            for idx in _resample_indices(len(c), resamples, rng)])
    lo, hi = _percentiles(stats, level)
    return est, lo, hi


def mean_interval(values, resamples: int = RESAMPLES, seed: int = SEED, level: float = LEVEL) -> tuple:
    """(mean, lo, hi): the mean of per-unit values and its percentile bootstrap interval. NaNs when empty."""
    d = np.asarray(values, dtype=float)
    if len(d) == 0:
        return math.nan, math.nan, math.nan
    est = float(d.mean())
    rng = np.random.default_rng(seed)
    stats = np.concatenate([d[idx].mean(axis=1) for idx in _resample_indices(len(d), resamples, rng)])
    lo, hi = _percentiles(stats, level)
    return est, lo, hi


def arm_interval(runs: list, arm: str, **kw) -> dict:
    """An arm's bootstrap over its (run, context) units: {"units", "accuracy_pooled", "accuracy_lo",
    "accuracy_hi"}."""
    u = arm_units(runs, arm)
    est, lo, hi = accuracy_interval(u["correct"], u["answers"], **kw)
    return {"units": len(u), "accuracy_pooled": est, "accuracy_lo": lo, "accuracy_hi": hi}


def paired_units(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Units present in both arms (inner join on run and context): each one's accuracy in A and in B, and A − B."""
    j = a.merge(b, on=["run", "context_id"], suffixes=("_a", "_b"))
    j["accuracy_a"] = j["correct_a"] / j["answers_a"]
    j["accuracy_b"] = j["correct_b"] / j["answers_b"]
    j["diff"] = j["accuracy_a"] - j["accuracy_b"]
    return j


def paired_interval(a: pd.DataFrame, b: pd.DataFrame, **kw) -> dict:
    """The paired bootstrap of arm A against arm B from their units: {"paired_units", "arm_accuracy",
    "reference_accuracy" (means of the per-unit accuracies over the paired units), "diff", "diff_lo", "diff_hi"
    (mean of A − B per unit and its interval), "excludes_zero"}. All fractions, not points."""
    j = paired_units(a, b)
    diff, lo, hi = mean_interval(j["diff"].to_numpy(), **kw)
    return {"paired_units": len(j),
            "arm_accuracy": float(j["accuracy_a"].mean()) if len(j) else math.nan,
            "reference_accuracy": float(j["accuracy_b"].mean()) if len(j) else math.nan,
            "diff": diff, "diff_lo": lo, "diff_hi": hi,
            "excludes_zero": bool(len(j) > 0 and (lo > 0 or hi < 0))}
