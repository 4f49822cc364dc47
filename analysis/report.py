"""python3 -m analysis.report RUN.h5 [RUN.h5 ...] --out DIR

Writes into DIR:
  report.md                     everything below in one page (tables inline, figures linked), plus the warnings
  table2_knowledge.{md,csv}     Table 2: knowledge-incorporation arms (accuracy with its 95 % bootstrap interval
                                over contexts, questions, seconds)
  table2_paired.{md,csv}        SEAL vs untrained self-edits: each seal_round_N minus self_edit (and passage), paired
                                bootstrap interval over the contexts both arms have, in points
  table1_arc.{md,csv}           Table 1: ARC arms (success rate with its interval, tasks, seconds)
  table1_paired.{md,csv}        the same pairing for ARC (against ttt_self_edit and icl)
  runs.{md,csv}                 one row per file: status, seed, ranks, rounds completed, resumes, ...
  rounds.csv                    one row per completed round: rewards, kept, SFT steps, phase seconds
  fig4_accuracy_over_rounds.png the learning curve: accuracy after 0, 1, 2, ... ReSTEM rounds with 95 % intervals
                                beside base, passage and self_edit, one panel per experiment; training reward
  fig6_forgetting_<exp>.png     continual-learning forgetting heatmap (runs with continual_step_N arms)
  rewards.png, sft_loss.png     reward of every self-edit per round; policy-update loss
  timing_<run>.png              time per phase (rank 0) and work per rank, per run
Files of several seeds of one config are averaged (mean, and std over runs); their contexts are pooled in the
intervals (analysis.stats: units are (seed, context) pairs, 10,000 resamples, a fixed seed). Exit status: 0 on
success (with warnings printed for damaged or old files), 2 when a file cannot be read as a seal run at all or
nothing could be read.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import traceback
import warnings

import pandas as pd

from . import figures, stats, tables
from .runfile import MetricsFileError, MetricsWarning, load_run


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "run"


def build_report(paths: list, out: str, quiet: bool = False) -> dict:
    """Reads `paths`, writes the report into `out`; returns {"runs", "warnings", "files"}. Raises MetricsFileError
    for a file that is not a seal run."""
    runs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetricsWarning)  # collected in Run.warnings and printed once below
        for p in paths:
            runs.append(load_run(p))
    all_warnings = [w for r in runs for w in r.warnings]
    if not quiet:
        for w in all_warnings:
            print(f"warning: {w}", file=sys.stderr)
    os.makedirs(out, exist_ok=True)
    exps = tables.group_runs(runs)
    written = []

    def write(name: str, text: str):
        path = os.path.join(out, name)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
        written.append(path)
        return path

    md = ["# seal report", "", f"{len(runs)} file(s), {len(exps)} experiment(s) "
          "(files whose configs differ only in `run.seed` / `run.threads` are one experiment; their numbers are "
          "averaged).", ""]

    rt = tables.runs_table(runs)
    rt.to_csv(os.path.join(out, "runs.csv"), index=False)
    written.append(os.path.join(out, "runs.csv"))
    runs_md = tables.to_markdown(rt, ["file", "status", "seed", "world_size", "rounds_completed", "rounds_configured",
                                      "arms", "resumes", "warnings"],
                                 ["file", "status", "seed", "ranks", "rounds done", "rounds configured", "eval arms",
                                  "resumes", "warnings"])
    write("runs.md", runs_md)

    arm_tables = []
    for domain, num, fname, title in (("knowledge", 2, "table2_knowledge", "Table 2: knowledge incorporation"),
                                      ("arc", 1, "table1_arc", "Table 1: few-shot ARC")):
        df = tables.arm_table(exps, domain)
        if df.empty:
            continue
        arm_tables.append(df)
        df.to_csv(os.path.join(out, fname + ".csv"), index=False)
        written.append(os.path.join(out, fname + ".csv"))
        text = tables.arm_markdown(df, domain)
        write(fname + ".md", text)
        unit = "context" if domain == "knowledge" else "task"
        md += [f"## {title}", "", text,
               ("*accuracy*: share of answers judged correct; *questions*: distinct questions; *answers*: rows "
                "(a self-edit arm asks every question once per sampled self-edit); *seconds*: wall-clock of the arm."
                if domain == "knowledge" else
                "*success*: share of tasks solved; *seconds*: wall-clock of the arm.")
               + f" *95 % CI*: percentile bootstrap over (seed, {unit}) pairs ({stats.RESAMPLES:,} resamples of the "
               f"{unit}s with replacement; accuracy = correct answers / answers over the resample).", ""]
        paired = tables.paired_table(exps, domain)
        if paired.empty:
            continue
        pname = f"table{num}_paired"
        paired.to_csv(os.path.join(out, pname + ".csv"), index=False)
        written.append(os.path.join(out, pname + ".csv"))
        ptext = tables.paired_markdown(paired)
        write(pname + ".md", ptext)
        md += ["## SEAL vs untrained self-edits" + (" (ARC)" if domain == "arc" else ""), "", ptext,
               f"Over the (seed, {unit}) pairs both arms have: each pair's accuracy in the SEAL round minus in the "
               f"reference arm; *Δ* is their mean in points (each {unit} weighs the same), *95 % CI* a paired "
               f"percentile bootstrap ({stats.RESAMPLES:,} resamples of the pairs, both arms together); *excludes 0*: "
               f"the interval lies wholly above or below 0.", ""]

    mech = tables.mechanism_table(pd.concat(arm_tables, ignore_index=True) if arm_tables else pd.DataFrame())
    if not mech.empty:
        mech.to_csv(os.path.join(out, "mechanism.csv"), index=False)
        written.append(os.path.join(out, "mechanism.csv"))
        mtext = tables.mechanism_markdown(mech)
        write("mechanism.md", mtext)
        md += ["## What each policy writes and knows", "", mtext,
               "Per policy (after 0, 1, ... ReSTEM rounds): the accuracy of its self-edits on the held-out contexts "
               "(as in Table 2), the *self-edit coverage* of those self-edits (the share of each context's questions "
               "whose gold answer the self-edit states, mean over self-edits; — when the domain has no such "
               "measure or the run predates it) and *retention* (questions the starting policy knew, asked of the "
               "unadapted policy: what the updates made it forget; — without `eval.retention`).", ""]

    rounds = tables.rounds_table(exps)
    if not rounds.empty:
        rounds.to_csv(os.path.join(out, "rounds.csv"), index=False)
        written.append(os.path.join(out, "rounds.csv"))
        md += ["## ReSTEM rounds", "",
               tables.to_markdown(rounds, ["file", "round", "self_edits", "contexts", "mean_reward", "mean_best_reward",
                                           "mean_coverage", "mean_kept_coverage", "kept", "sft_steps",
                                           "final_sft_loss", "seconds_total"],
                                  ["file", "round", "self-edits", "contexts", "mean reward", "mean top-1 reward",
                                   "coverage (all)", "coverage (kept)", "kept", "SFT steps", "last SFT loss",
                                   "seconds"],
                                  {"seconds_total": "sec"}), ""]

    figs = []
    p = figures.accuracy_over_rounds(exps, os.path.join(out, "fig4_accuracy_over_rounds.png"),
                                     table=pd.concat(arm_tables, ignore_index=True) if arm_tables else None)
    if p:
        figs.append(("Accuracy over ReSTEM rounds (Figure 4)", p))
    for p in figures.forgetting_heatmap(exps, lambda label: os.path.join(out, f"fig6_forgetting_{_safe(label)}.png")):
        figs.append(("Forgetting under continual self-edits (Figure 6)", p))
    p = figures.reward_distributions(exps, os.path.join(out, "rewards.png"))
    if p:
        figs.append(("Reward distributions", p))
    p = figures.sft_loss(exps, os.path.join(out, "sft_loss.png"))
    if p:
        figs.append(("Policy-update loss", p))
    used = set()
    for r in runs:
        name = _safe(r.name)
        while name in used:
            name += "_"
        used.add(name)
        p = figures.timing(r, os.path.join(out, f"timing_{name}.png"))
        if p:
            figs.append((f"Time per phase and rank: {r.name}", p))
    written += [p for _, p in figs]
    if figs:
        md += ["## Figures", ""]
        for title, p in figs:
            md += [f"### {title}", "", f"![{title}]({os.path.basename(p)})", ""]
    md += ["## Runs", "", runs_md, ""]
    if all_warnings:
        md += ["## Warnings", ""] + [f"- {w}" for w in all_warnings] + [""]
    write("report.md", "\n".join(md))
    return {"runs": runs, "warnings": all_warnings, "files": written}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m analysis.report",
                                 description="seal metrics files (HDF5) -> the paper's tables (Markdown, CSV) and "
                                             "figures (PNG).")
    ap.add_argument("runs", nargs="+", metavar="RUN.h5", help="metrics files written by seal")
    ap.add_argument("--out", required=True, metavar="DIR", help="output folder (created if missing)")
    ap.add_argument("--quiet", action="store_true", help="do not print warnings (they stay in report.md)")
    ap.add_argument("--debug", action="store_true", help="show Python tracebacks of internal errors")
    args = ap.parse_args(argv)
    try:
        res = build_report(args.runs, args.out, quiet=args.quiet)
    except MetricsFileError as e:
        print(f"analysis.report: error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # noqa: BLE001 - a bug here must still say which input and how to see the details
        if args.debug:
            traceback.print_exc()
        print(f"analysis.report: internal error on {', '.join(args.runs)}: {type(e).__name__}: {e} "
              f"(rerun with --debug for the traceback)", file=sys.stderr)
        return 1
    if not args.quiet:
        print(f"wrote {len(res['files'])} files to {args.out}"
              + (f" ({len(res['warnings'])} warnings)" if res["warnings"] else ""))
        for p in res["files"]:
            print(f"  {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
