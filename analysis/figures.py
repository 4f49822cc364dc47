"""The paper's figures from metrics files, as PNGs (matplotlib, Agg backend: no display needed).

- accuracy over ReSTEM rounds (the paper's Figure 4): the learning curve, one panel per experiment: held-out
  accuracy of the self-edits of the policy after 0, 1, 2, ... rounds (arm `self_edit` is round 0, `seal_round_N`
  round N) with 95 % bootstrap intervals, beside base, passage and self_edit; and the training reward of every
  round;
- the forgetting heatmap (Figure 6), for runs with continual-learning arms `continual_step_N`;
- reward distributions per round; SFT loss per round; time per phase and per rank of each run.
Every function returns the path it wrote, or None when the runs hold nothing to draw.
"""

from __future__ import annotations

import math
import os
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import MaxNLocator, PercentFormatter  # noqa: E402

from . import stats  # noqa: E402
from .tables import describe_arm  # noqa: E402

_SEAL_ROUND = re.compile(r"^seal_round_(\d+)$")
_CONTINUAL = re.compile(r"^continual_(?:seq(\d+)_)?step_(\d+)$")
#: Arms that are round 0 of the accuracy-over-rounds curve (the untrained policy's own self-edits).
ROUND0_ARMS = ("self_edit", "self_edits", "ttt_self_edit", "ttt_untrained")
#: Arms drawn as horizontal reference lines in the accuracy-over-rounds figure.
BASELINE_ARMS = ("base", "passage", "context", "synthetic", "icl", "oracle_ttt", "oracle")

DPI = 150
BASELINE_COLORS = ["0.35", "#55A868", "#55A868", "#8172B3", "0.35", "#C44E52", "#C44E52"]
#: Line styles of the reference lines, by their place in BASELINE_ARMS (the round-0 arm's line is solid, in the
#: colour of the curve).
REF_STYLES = ["--", ":", ":", "-.", "--", (0, (5, 1, 1, 1)), (0, (5, 1, 1, 1))]
COLORS = plt.rcParams["axes.prop_cycle"].by_key()["color"]
PHASES = [("seconds_sampling", "sampling"), ("seconds_inner", "inner loops"), ("seconds_sft", "SFT update"),
          ("seconds_comm", "communication")]
PHASE_COLORS = {"sampling": "#4C72B0", "inner loops": "#DD8452", "SFT update": "#55A868", "communication": "#C44E52",
                "other (HDF5, checkpoint, …)": "#8C8C8C", "evaluation": "#8172B3"}


def _style():
    plt.rcParams.update({
        "figure.dpi": DPI, "savefig.dpi": DPI, "font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9,
        "legend.fontsize": 8, "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True,
        "grid.alpha": 0.3, "grid.linewidth": 0.6,
    })


def _short(label: str, n: int = 40) -> str:
    return label if len(label) <= n else label[: n - 1] + "…"


def _save(fig, path: str) -> str:
    fig.savefig(path, bbox_inches="tight", facecolor="white")
    plt.close(fig)
    return path


def _pct_axis(ax, values):
    """A percent y axis from 0 to a bit above the largest value (at least 10 %); a sliver below 0 keeps lines at
    0 % visible above the axis."""
    top = max([v for v in values if not math.isnan(v)] + [0.0])
    top = min(1.0, max(0.1, top * 1.15 + 0.02)) if top <= 1 else top * 1.1
    ax.set_ylim(-0.015 * top, top)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))


def _time_unit(seconds: float):
    """(divisor, unit) that keeps a time axis readable."""
    if seconds >= 2 * 3600:
        return 3600.0, "h"
    if seconds >= 600:
        return 60.0, "min"
    return 1.0, "s"


def _fmt_time(v: float, unit: str) -> str:
    return f"{v:.1f} {unit}" if v < 10 else f"{v:.0f} {unit}"


def reward_label(runs) -> str:
    """"reward", qualified by what it measures when the runs agree (knowledge.reward, reward.kind)."""
    parts = []
    for key in ("knowledge.reward", "reward.kind"):
        vals = {str(r.flat_config.get(key)) for r in runs if len(r.samples) and key in r.flat_config}
        if len(vals) == 1:
            parts.append(vals.pop().replace("_", " "))
    return "reward" + (f" ({', '.join(parts)})" if parts else "")


def learning_curve_points(table: pd.DataFrame, experiment: str) -> tuple:
    """From the arm table (tables.arm_table) of one experiment: (curve, references). `curve` is a list of (round,
    arm, accuracy, lo, hi) by round: the round-0 arm (the untrained policy's self-edits, the first of ROUND0_ARMS
    the experiment has) and every seal_round_N. `references` is a list of (arm, accuracy, lo, hi) for the
    BASELINE_ARMS it has and the round-0 arm, drawn as horizontal lines."""
    t = table[table["experiment"] == experiment].set_index("arm") if len(table) else pd.DataFrame()

    def point(a):
        return float(t.loc[a, "accuracy"]), float(t.loc[a, "accuracy_lo"]), float(t.loc[a, "accuracy_hi"])

    round0 = next((a for a in ROUND0_ARMS if a in t.index), None)
    curve = [(0, round0, *point(round0))] if round0 else []
    for a in t.index:
        m = _SEAL_ROUND.match(a)
        if m:
            curve.append((int(m.group(1)), a, *point(a)))
    curve.sort()
    refs = [(a, *point(a)) for a in BASELINE_ARMS if a in t.index]
    if round0:
        refs.append((round0, *point(round0)))
    return curve, refs


def retention_points(table: pd.DataFrame, experiment: str) -> list:
    """(round, accuracy, lo, hi) of the experiment's retention_round_N arms (passages the starting policy knew, asked
    unadapted after N rounds), by round; empty without them."""
    t = table[table["experiment"] == experiment].set_index("arm") if len(table) else pd.DataFrame()
    out = []
    for a in t.index:
        m = re.match(r"^retention_round_(\d+)$", str(a))
        if m:
            out.append((int(m.group(1)), float(t.loc[a, "accuracy"]), float(t.loc[a, "accuracy_lo"]), float(t.loc[a, "accuracy_hi"])))
    return sorted(out)


def _yerr(ys, los, his) -> np.ndarray:
    """Error-bar lengths below and above each point from its interval (0 where the interval is unknown; never
    negative, should a point lie outside its interval: an accuracy attribute that differs from the rows)."""
    below = [max(0.0, y - lo) if not math.isnan(lo) else 0.0 for y, lo in zip(ys, los)]
    above = [max(0.0, hi - y) if not math.isnan(hi) else 0.0 for y, hi in zip(ys, his)]
    return np.array([below, above])


def _learning_curve_panel(ax, e, curve, refs, color, title, retention=()):
    """One experiment's panel: the SEAL curve with interval bars, the references as lines with shaded intervals.
    Returns the values that bound the y axis."""
    domain = e.runs[0].domain
    n_runs = len({stats.run_key(r) for r in e.runs})
    vals = []
    for arm, acc, lo, hi in refs:
        if arm in BASELINE_ARMS:
            k = BASELINE_ARMS.index(arm)
            c, ls = BASELINE_COLORS[k % len(BASELINE_COLORS)], REF_STYLES[k % len(REF_STYLES)]
            name = describe_arm(arm, domain)
        else:  # the round-0 arm: the curve's own starting level, in the curve's colour
            c, ls, name = color, "-", describe_arm(arm, domain)
        ax.axhline(acc, color=c, ls=ls, lw=1.0 if c == color else 1.3, alpha=0.7 if c == color else 1.0,
                   label=f"{name} ({100 * acc:.1f})")
        if not (math.isnan(lo) or math.isnan(hi)) and hi > lo:
            ax.axhspan(lo, hi, color=c, alpha=0.10, lw=0)
        vals += [acc, hi]
    if curve:
        xs = [c[0] for c in curve]
        ys = [c[2] for c in curve]
        ax.errorbar(xs, ys, yerr=_yerr(ys, [c[3] for c in curve], [c[4] for c in curve]), color=color, marker="o",
                    lw=2, ms=6, capsize=3, zorder=3, label="SEAL: self-edits of the policy after round x (bars and shading: 95 % CI)")
        for x, y in zip(xs, ys):
            ax.annotate(f"{100 * y:.1f}", (x, y), textcoords="offset points", xytext=(6, 5), ha="left",
                        fontsize=7, color=color)
        vals += ys + [c[4] for c in curve]
    ax.set_xlim(-0.3, max([c[0] for c in curve] + [1]) + 0.3)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    _pct_axis(ax, [v for v in vals if not math.isnan(v)])
    ax.set_xlabel("ReSTEM round of the policy that wrote the self-edits")
    ax.set_ylabel("held-out accuracy" if domain == "knowledge" else "success rate")
    ax.set_title(title + (f" ({n_runs} seeds pooled)" if n_runs > 1 else ""))
    handles, labels = ax.get_legend_handles_labels()
    if retention:
        # What the same policies still answer about passages they knew before training, on an axis of its own.
        rx = ax.twinx()
        xs, ys = [r[0] for r in retention], [r[1] for r in retention]
        rx.errorbar(xs, ys, yerr=_yerr(ys, [r[2] for r in retention], [r[3] for r in retention]), color="0.35", ls="--",
                    marker="s", ms=5, lw=1.3, capsize=3, label="retention: known passages, unadapted policy (right axis)")
        _pct_axis(rx, [v for r in retention for v in r[1:] if not math.isnan(v)])
        rx.set_ylabel("retention accuracy", color="0.35")
        h2, l2 = rx.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(0, -0.2), ncol=1, frameon=False)
    return vals


def accuracy_over_rounds(experiments: list, path: str, table: pd.DataFrame | None = None) -> str | None:
    """Figure 4: (a) the learning curve, one panel per experiment: accuracy of the self-edits of the policy after 0,
    1, 2, ... ReSTEM rounds with their 95 % bootstrap intervals as error bars, beside base, passage and self_edit
    (lines, their intervals shaded); seeds pooled as in the table; (b) the training reward by round. `table` is
    the report's arm table (tables.arm_table, both domains concatenated); computed here when not given."""
    from .tables import arm_table
    if table is None:
        parts = [arm_table(experiments, d) for d in ("knowledge", "arc")]
        parts = [t for t in parts if not t.empty]
        table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    panels = []
    for i, e in enumerate(experiments):
        curve, refs = learning_curve_points(table, e.label)
        if curve or refs:
            panels.append((e, curve, refs, COLORS[i % len(COLORS)]))
    rewards = []
    for i, e in enumerate(experiments):
        per_round = {}
        for r in e.runs:
            if len(r.samples) == 0:
                continue
            s = r.samples.assign(reward=pd.to_numeric(r.samples["reward"], errors="coerce"))
            for rnd, g in s.groupby("round"):
                best = g.groupby("context_id")["reward"].max().mean()
                per_round.setdefault(int(rnd), []).append((g["reward"].mean(), best))
        if per_round:
            xs = sorted(per_round)
            rewards.append((e.label, COLORS[i % len(COLORS)], xs, [np.mean([m for m, _ in per_round[x]]) for x in xs],
                            [np.mean([b for _, b in per_round[x]]) for x in xs]))
    if not panels and not rewards:
        return None
    _style()
    n = max(1, len(panels)) + 1
    ncols = min(3, n)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 5.0 * nrows), squeeze=False)
    flat = [ax for row in axes for ax in row]
    letters = "abcdefghijklmnopqrstuvwxyz"
    for k, (e, curve, refs, color) in enumerate(panels):
        what = "Learning curve" + (f": {_short(e.label, 32)}" if len(experiments) > 1 else "")
        _learning_curve_panel(flat[k], e, curve, refs, color, f"({letters[k % 26]}) {what}", retention_points(table, e.label))
    if not panels:
        ax = flat[0]
        ax.text(0.5, 0.5, "no eval arms in these runs", ha="center", va="center", transform=ax.transAxes, color="0.4")
        ax.set_title("(a) Learning curve")
        ax.set_xlabel("ReSTEM round of the policy that wrote the self-edits")
    bx = flat[max(1, len(panels))]
    for label, color, xs, mean, best in rewards:
        prefix = f"{_short(label, 28)}: " if len(experiments) > 1 else ""
        bx.plot(xs, mean, color=color, marker="o", lw=2, label=prefix + "mean reward of all self-edits")
        bx.plot(xs, best, color=color, marker="s", lw=1.3, ls="--", label=prefix + "mean of best per context (top-1)")
    if not rewards:
        bx.text(0.5, 0.5, "no completed rounds", ha="center", va="center", transform=bx.transAxes, color="0.4")
    xmax = max([max(r[2]) for r in rewards] + [1])
    bx.set_xlim(-0.3, xmax + 0.3)
    bx.xaxis.set_major_locator(MaxNLocator(integer=True))
    bx.set_xlabel("ReSTEM round (samples from the policy at its start)")
    bx.set_ylabel(reward_label([r for e in experiments for r in e.runs]))
    bx.set_title(f"({letters[max(1, len(panels)) % 26]}) Training reward per round")
    if rewards:
        bx.legend(loc="upper left", bbox_to_anchor=(0, -0.2), frameon=False)
    for ax in flat[max(1, len(panels)) + 1:]:
        ax.set_visible(False)
    fig.tight_layout()
    return _save(fig, path)


def forgetting_matrix(runs: list) -> np.ndarray | None:
    """Accuracy on the j-th incorporated passage after the i-th update, averaged over runs (NaN above the diagonal
    of what was seen): from arms `continual_step_<i>`, passages ordered by their first appearance."""
    mats = []
    for r in runs:
        # One matrix per sequence: arms continual_seq<s>_step_<i> (or continual_step_<i>, a single sequence).
        by_seq: dict = {}
        for a in r.arms:
            m = _CONTINUAL.match(a)
            if m:
                by_seq.setdefault(int(m.group(1) or 0), []).append((int(m.group(2)), a))
        for seq in sorted(by_seq):
            steps = sorted(by_seq[seq])
            order: list = []
            for _, a in steps:
                for c in r.arms[a].records["context_id"].tolist():
                    if c not in order:
                        order.append(c)
            pos = {c: j for j, c in enumerate(order)}
            m = np.full((len(steps), len(order)), np.nan)
            for i, (_, a) in enumerate(steps):
                t = r.arms[a].records
                if len(t) == 0:
                    continue
                acc = t.assign(correct=pd.to_numeric(t["correct"], errors="coerce")).groupby("context_id")["correct"].mean()
                for c, v in acc.items():
                    m[i, pos[c]] = v
            mats.append(m)
    if not mats:
        return None
    rows = max(m.shape[0] for m in mats)
    cols = max(m.shape[1] for m in mats)
    stack = np.full((len(mats), rows, cols), np.nan)
    for k, m in enumerate(mats):
        stack[k, : m.shape[0], : m.shape[1]] = m
    with np.errstate(all="ignore"):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmean(stack, axis=0)


def forgetting_steps(runs: list) -> list:
    """The update counts the rows of `forgetting_matrix` stand for (0 = before any update, when a run has it)."""
    steps = set()
    for r in runs:
        for a in r.arms:
            m = _CONTINUAL.match(a)
            if m:
                steps.add(int(m.group(2)))
    return sorted(steps)


def forgetting_heatmap(experiments: list, path_for) -> list:
    """Figure 6, one PNG per experiment that has continual arms. `path_for(label)` gives the file name."""
    out = []
    for e in experiments:
        m = forgetting_matrix(e.runs)
        if m is None:
            continue
        _style()
        n_steps, n_ctx = m.shape
        w = min(12, 2.5 + 0.45 * n_ctx)
        h = min(10, 1.8 + 0.4 * n_steps)
        fig, ax = plt.subplots(figsize=(w, h))
        masked = np.ma.masked_invalid(m)
        cmap = plt.get_cmap("viridis").copy()
        cmap.set_bad("white")
        im = ax.imshow(masked, cmap=cmap, vmin=0, vmax=1, aspect="auto", interpolation="nearest")
        if n_ctx * n_steps <= 400:
            for i in range(n_steps):
                for j in range(n_ctx):
                    if not np.isnan(m[i, j]):
                        ax.text(j, i, f"{100 * m[i, j]:.0f}", ha="center", va="center", fontsize=7,
                                color="white" if m[i, j] < 0.6 else "black")
        ax.set_xticks(range(n_ctx))
        ax.set_xticklabels([str(j + 1) for j in range(n_ctx)], fontsize=7)
        ax.set_yticks(range(n_steps))
        steps = forgetting_steps(e.runs)
        labels = [str(x) for x in steps] if len(steps) == n_steps else [str(i + 1) for i in range(n_steps)]
        ax.set_yticklabels(labels, fontsize=7)
        ax.set_xlabel("passage (in the order it was incorporated)")
        ax.set_ylabel("self-edit updates applied" if labels[0] == "0" else "after self-edit update")
        ax.grid(False)
        nr = sum(1 for r in e.runs if any(_CONTINUAL.match(a) for a in r.arms))
        ax.set_title(f"Forgetting: accuracy on earlier passages — {_short(e.label)}" + (f" (mean of {nr} runs)" if nr > 1 else ""))
        cb = fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02)
        cb.ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        cb.set_label("accuracy")
        fig.tight_layout()
        out.append(_save(fig, path_for(e.label)))
    return out


def reward_distributions(experiments: list, path: str) -> str | None:
    """Per experiment: the reward of every self-edit of every round (box + points; kept ones highlighted)."""
    exps = [e for e in experiments if any(len(r.samples) for r in e.runs)]
    if not exps:
        return None
    _style()
    n = len(exps)
    ncols = min(3, n)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols, 3.4 * nrows), squeeze=False)
    rng = np.random.default_rng(0)
    for k, e in enumerate(exps):
        ax = axes[k // ncols][k % ncols]
        s = pd.concat([r.samples for r in e.runs if len(r.samples)], ignore_index=True)
        s = s.assign(reward=pd.to_numeric(s["reward"], errors="coerce"),
                     kept=pd.to_numeric(s["kept"], errors="coerce").fillna(0).astype(bool))
        rounds = sorted(s["round"].unique())
        data = [s.loc[s["round"] == x, "reward"].dropna().to_numpy() for x in rounds]
        ax.boxplot(data, positions=rounds, widths=0.5, showfliers=False, medianprops={"color": "black"},
                   boxprops={"color": "0.5"}, whiskerprops={"color": "0.5"}, capprops={"color": "0.5"})
        for x in rounds:
            g = s[s["round"] == x]
            jit = rng.uniform(-0.18, 0.18, len(g))
            ax.scatter(x + jit[~g["kept"].to_numpy()], g.loc[~g["kept"], "reward"], s=12, color="#4C72B0",
                       alpha=0.55, lw=0, label="not kept" if x == rounds[0] else None)
            ax.scatter(x + jit[g["kept"].to_numpy()], g.loc[g["kept"], "reward"], s=22, color="#DD8452",
                       edgecolor="black", lw=0.4, label="kept for SFT" if x == rounds[0] else None)
            ax.plot([x - 0.3, x + 0.3], [g["reward"].mean()] * 2, color="#C44E52", lw=1.5,
                    label="mean" if x == rounds[0] else None)
        ax.set_xticks(rounds)
        ax.set_xticklabels([str(x) for x in rounds])
        ax.set_xlim(min(rounds) - 0.6, max(rounds) + 0.6)
        ax.set_xlabel("ReSTEM round")
        ax.set_ylabel(reward_label(e.runs))
        nruns = sum(1 for r in e.runs if len(r.samples))
        ax.set_title(f"{_short(e.label)}: {len(s)} self-edits" + (f", {nruns} runs" if nruns > 1 else ""))
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=3, frameon=False)
    for k in range(n, nrows * ncols):
        axes[k // ncols][k % ncols].set_visible(False)
    fig.suptitle("Reward of each sampled self-edit", y=1.0)
    fig.tight_layout()
    return _save(fig, path)


def sft_loss(experiments: list, path: str) -> str | None:
    """SFT (policy update) loss by optimizer step, one line per round and run."""
    exps = [e for e in experiments if any(len(r.sft) for r in e.runs)]
    if not exps:
        return None
    _style()
    n = len(exps)
    ncols = min(3, n)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols, 3.2 * nrows), squeeze=False)
    for k, e in enumerate(exps):
        ax = axes[k // ncols][k % ncols]
        cmap = plt.get_cmap("viridis")
        rounds = sorted({int(x) for r in e.runs for x in r.sft["round"].unique()})
        n_sft_runs = sum(1 for r in e.runs if len(r.sft))
        labelled = set()
        for r in e.runs:
            for rnd in rounds:
                g = r.sft[r.sft["round"] == rnd]
                if len(g) == 0:
                    continue
                c = cmap(rounds.index(rnd) / max(1, len(rounds) - 1) * 0.85)
                lab = f"round {rnd}" if rnd not in labelled else None
                labelled.add(rnd)
                ax.plot(g["step"], g["loss"], color=c, marker="o" if len(g) <= 20 else None, ms=3, lw=1.4,
                        alpha=0.9 if n_sft_runs == 1 else 0.6, label=lab)
        ax.set_xlabel("SFT step")
        ax.set_ylabel("loss")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(_short(e.label))
        ax.legend(frameon=False)
    for k in range(n, nrows * ncols):
        axes[k // ncols][k % ncols].set_visible(False)
    fig.suptitle("Policy update (ReSTEM SFT) loss", y=1.0)
    fig.tight_layout()
    return _save(fig, path)


def timing(run, path: str) -> str | None:
    """One run: (a) wall-clock time of each phase per round (rank 0) and per eval arm; (b) per round, the seconds
    of self-edit work each rank did (sum of its samples' `seconds`): the load balance."""
    from .tables import arm_order
    has_rounds = len(run.rounds) > 0
    arms = []
    continual = [x.seconds for a, x in run.arms.items() if _CONTINUAL.match(a) and not math.isnan(x.seconds)]
    for a in sorted(run.arms, key=lambda a: arm_order(a, run.domain)):
        if not _CONTINUAL.match(a) and not math.isnan(run.arms[a].seconds):
            arms.append((f"eval {a}", run.arms[a].seconds))
    if continual:
        arms.append((f"eval continual ({len(continual)} steps)", float(sum(continual))))
    if not has_rounds and not arms:
        return None
    _style()
    have_rank = bool(has_rounds and len(run.samples) and pd.to_numeric(run.samples["rank"], errors="coerce").notna().any())
    labels = []
    stacks = {name: [] for _, name in PHASES}
    stacks["other (HDF5, checkpoint, …)"] = []
    stacks["evaluation"] = []
    for rnd in sorted(run.rounds.index.tolist()) if has_rounds else []:
        a = run.rounds.loc[rnd]
        labels.append(f"round {rnd}")
        vals = {}
        for key, name in PHASES:
            v = a.get(key, math.nan)
            vals[name] = float(v) if v is not None and not pd.isna(v) else 0.0
        total = a.get("seconds_total", math.nan)
        other = float(total) - sum(vals.values()) if total is not None and not pd.isna(total) else 0.0
        for name in vals:
            stacks[name].append(vals[name])
        stacks["other (HDF5, checkpoint, …)"].append(max(0.0, other))
        stacks["evaluation"].append(0.0)
    for label, sec in arms:
        labels.append(label)
        for name in stacks:
            stacks[name].append(sec if name == "evaluation" else 0.0)
    totals = np.sum([np.array(v, dtype=float) for v in stacks.values()], axis=0)
    div, unit = _time_unit(float(totals.max()) if len(totals) else 0.0)
    wa = max(4.5, 0.5 * len(labels) + 1.5)
    fig, axes = plt.subplots(1, 2 if have_rank else 1, figsize=(wa + (5.0 if have_rank else 0), 4.2), squeeze=False,
                             gridspec_kw={"width_ratios": [wa, 5.0] if have_rank else [1]})
    ax = axes[0][0]
    x = np.arange(len(labels))
    bottom = np.zeros(len(labels))
    for name, vals in stacks.items():
        v = np.array(vals, dtype=float) / div
        if v.sum() <= 0:
            continue
        ax.bar(x, v, bottom=bottom, color=PHASE_COLORS[name], label=name, width=0.7)
        bottom += v
    for xi, tot in zip(x, bottom):
        ax.text(xi, tot, _fmt_time(tot, unit), ha="center", va="bottom", fontsize=7)
    rot = len(labels) > 3
    ax.set_xticks(x)
    ax.set_xticklabels(labels, rotation=35 if rot else 0, ha="right" if rot else "center")
    ax.set_ylabel(f"wall-clock time on rank 0 ({unit})")
    ax.set_ylim(0, max(bottom.max() * 1.12, 1e-3))
    ax.set_title(f"(a) Time per phase — {_short(run.name)}, {run.attrs.get('world_size', '?')} ranks")
    ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.32 if rot else -0.12), ncol=3)
    if have_rank:
        bx = axes[0][1]
        s = run.samples.assign(seconds=pd.to_numeric(run.samples["seconds"], errors="coerce"),
                               rank=pd.to_numeric(run.samples["rank"], errors="coerce"))
        per = s.groupby(["round", "rank"])["seconds"].sum().unstack(fill_value=0.0)
        ws = run.attrs.get("world_size")
        if isinstance(ws, (int, np.integer)) and 0 < ws <= 4096:
            for rk in range(int(ws)):  # a rank that got no context did no work: show it as 0
                if rk not in per.columns:
                    per[rk] = 0.0
            per = per[sorted(per.columns)]
        rounds, ranks = per.index.tolist(), per.columns.tolist()
        rdiv, runit = _time_unit(float(per.to_numpy().max()) if per.size else 0.0)
        per = per / rdiv
        if len(ranks) <= 8:
            w = 0.8 / len(ranks)
            for j, rk in enumerate(ranks):
                bx.bar(np.arange(len(rounds)) + (j - (len(ranks) - 1) / 2) * w, per[rk].to_numpy(), width=w,
                       label=f"rank {int(rk)}", color=COLORS[j % len(COLORS)])
            bx.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=min(4, len(ranks)))
        else:
            bx.boxplot([per.loc[r].to_numpy() for r in rounds], positions=np.arange(len(rounds)), widths=0.5)
        top = float(per.to_numpy().max()) if per.size else 0.0
        for i, rnd in enumerate(rounds):
            row = per.loc[rnd].to_numpy()
            if row.mean() > 0:
                bx.text(i, top * 1.04, f"max/mean {row.max() / row.mean():.2f}", ha="center", fontsize=7)
        bx.set_xticks(np.arange(len(rounds)))
        bx.set_xticklabels([f"round {r}" for r in rounds])
        bx.set_ylim(0, max(top * 1.15, 1e-3))
        bx.set_ylabel(f"self-edit work per rank ({runit})")
        bx.set_title("(b) Work per rank: sum of its samples' seconds")
    fig.tight_layout()
    return _save(fig, path)
