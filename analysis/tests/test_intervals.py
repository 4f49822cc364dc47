"""The report's 95 % intervals (analysis.stats): an arm's bootstrap over (run, context) units, the paired bootstrap
of SEAL rounds against the untrained self-edits, and the learning-curve figure that draws them. Cases whose answer
is known by construction (a constant shift, identical arms, contexts that answer all-or-nothing), against the
normal approximation, and on seal's files edited with h5py."""

import json

import h5py
import numpy as np
import pandas as pd
import pytest

from analysis import figures, stats, tables
from analysis.runfile import load_run

from .test_report import _add_arm, assert_png, report


def unit_frame(rows):
    """[(run, context_id, correct, answers)] -> a units DataFrame as stats.arm_units gives it."""
    return pd.DataFrame(rows, columns=stats.UNIT_COLUMNS).astype({"correct": float, "answers": float})


# ---------------------------------------------------------------------------------------------------------------
# The bootstrap itself, on constructed units.

def test_accuracy_interval_contains_the_pooled_estimate():
    rng = np.random.default_rng(1)
    for n in (2, 3, 7, 40, 300):
        answers = rng.integers(1, 12, n)
        correct = rng.binomial(answers, rng.uniform(0, 1, n))
        est, lo, hi = stats.accuracy_interval(correct, answers)
        assert est == pytest.approx(correct.sum() / answers.sum(), abs=1e-15)
        assert 0 <= lo <= est <= hi <= 1, (n, lo, est, hi)
        assert lo < hi  # the units differ: the interval is not degenerate


def test_accuracy_interval_width_matches_the_normal_approximation():
    """400 units of one answer each, 30 % correct: the percentile interval is close to ±1.96 standard errors."""
    correct = np.zeros(400)
    correct[:120] = 1
    est, lo, hi = stats.accuracy_interval(correct, np.ones(400))
    se = np.sqrt(0.3 * 0.7 / 400)
    assert est == pytest.approx(0.3, abs=1e-15)
    assert (hi - lo) / 2 == pytest.approx(1.96 * se, rel=0.05)  # the resampled accuracies lie on a 1/400 grid
    assert (est - lo) == pytest.approx(hi - est, rel=0.15)


def test_the_unit_is_the_context_not_the_answer():
    """20 contexts of 10 answers each, every context all right or all wrong: the 200 answers carry the information
    of 20 draws, and the interval is as wide as 20 draws give (not the sqrt(10) narrower one of 200)."""
    correct = np.array([10.0] * 6 + [0.0] * 14)
    est, lo, hi = stats.accuracy_interval(correct, np.full(20, 10.0))
    se_contexts = np.sqrt(0.3 * 0.7 / 20)
    assert (hi - lo) / 2 == pytest.approx(1.96 * se_contexts, rel=0.15)  # on a 1/20 grid
    assert (hi - lo) / 2 > 2 * 1.96 * np.sqrt(0.3 * 0.7 / 200)


def test_reproducible_and_seeded():
    rng = np.random.default_rng(2)
    answers = rng.integers(1, 9, 50)
    correct = rng.binomial(answers, 0.4)
    a = stats.accuracy_interval(correct, answers)
    assert stats.accuracy_interval(correct, answers) == a  # bit for bit
    other = stats.accuracy_interval(correct, answers, seed=stats.SEED + 1)
    assert other[0] == a[0] and other[1:] != a[1:]  # the fixed seed is what makes it reproducible
    d = rng.normal(0.02, 0.1, 50)
    assert stats.mean_interval(d) == stats.mean_interval(d)


def test_resamples_in_chunks_give_the_same_distribution(monkeypatch):
    """Many units are drawn in chunks (memory bound); the chunk size changes the stream, not the interval."""
    rng = np.random.default_rng(3)
    answers = rng.integers(1, 6, 500)
    correct = rng.binomial(answers, 0.25)
    whole = stats.accuracy_interval(correct, answers)
    monkeypatch.setattr(stats, "_CHUNK_CELLS", 500 * 7)  # 7 resamples per chunk
    chunked = stats.accuracy_interval(correct, answers)
    assert chunked[0] == whole[0]
    np.testing.assert_allclose(chunked[1:], whole[1:], atol=0.002)


def test_degenerate_and_empty():
    assert stats.accuracy_interval([2], [5]) == (0.4, 0.4, 0.4)
    assert stats.accuracy_interval([3, 3], [3, 3]) == (1.0, 1.0, 1.0)
    assert all(np.isnan(stats.accuracy_interval([], [])))
    assert stats.mean_interval([0.25]) == (0.25, 0.25, 0.25)
    assert all(np.isnan(stats.mean_interval([])))
    with pytest.raises(ValueError):
        stats.accuracy_interval([1, 2], [3])


def test_paired_one_answer_better_everywhere_excludes_zero():
    """Every unit of A has one more correct answer than B: each difference is 1/answers > 0, so every resample's
    mean is > 0 and the interval lies above 0."""
    rng = np.random.default_rng(4)
    n = 30
    answers = rng.integers(2, 8, n).astype(float)
    b_correct = np.floor(rng.uniform(0, 1, n) * (answers - 1))
    ctx = [f"p{i}" for i in range(n)]
    a = unit_frame([("seed 0", c, k + 1, q) for c, k, q in zip(ctx, b_correct, answers)])
    b = unit_frame([("seed 0", c, k, q) for c, k, q in zip(ctx, b_correct, answers)])
    p = stats.paired_interval(a, b)
    assert p["paired_units"] == n
    assert p["diff"] == pytest.approx(np.mean(1 / answers), abs=1e-15)
    assert 0 < np.min(1 / answers) <= p["diff_lo"] <= p["diff"] <= p["diff_hi"] <= np.max(1 / answers)
    assert p["excludes_zero"] is True
    assert p["arm_accuracy"] - p["reference_accuracy"] == pytest.approx(p["diff"], abs=1e-15)
    flipped = stats.paired_interval(b, a)
    assert flipped["diff"] == pytest.approx(-p["diff"], abs=1e-15) and flipped["excludes_zero"] is True
    assert flipped["diff_hi"] < 0


def test_paired_identical_arms_is_exactly_zero():
    rng = np.random.default_rng(5)
    answers = rng.integers(1, 8, 25).astype(float)
    correct = rng.binomial(answers.astype(int), 0.5).astype(float)
    a = unit_frame([("seed 1", f"p{i}", k, q) for i, (k, q) in enumerate(zip(correct, answers))])
    p = stats.paired_interval(a, a.copy())
    assert (p["diff"], p["diff_lo"], p["diff_hi"]) == (0.0, 0.0, 0.0)
    assert p["excludes_zero"] is False and p["paired_units"] == 25


def test_paired_noise_around_zero_contains_zero():
    """A and B differ at random per unit with no shift: the interval straddles 0."""
    rng = np.random.default_rng(6)
    n = 60
    ka, kb = rng.binomial(4, 0.5, n), rng.binomial(4, 0.5, n)
    a = unit_frame([("seed 0", f"p{i}", k, 4) for i, k in enumerate(ka)])
    b = unit_frame([("seed 0", f"p{i}", k, 4) for i, k in enumerate(kb)])
    p = stats.paired_interval(a, b)
    assert p["diff_lo"] < 0 < p["diff_hi"] and p["excludes_zero"] is False
    assert p["diff"] == pytest.approx(np.mean((ka - kb) / 4), abs=1e-15)


def test_paired_uses_only_common_units():
    """Units are (run, context): the same context in another seed is another unit, and units in one arm only are
    left out."""
    a = unit_frame([("seed 0", "p1", 1, 1), ("seed 0", "p2", 1, 1), ("seed 1", "p1", 0, 1), ("seed 0", "p9", 1, 1)])
    b = unit_frame([("seed 0", "p1", 0, 1), ("seed 0", "p2", 0, 1), ("seed 1", "p1", 0, 1), ("seed 2", "p1", 0, 1)])
    p = stats.paired_interval(a, b)
    assert p["paired_units"] == 3 and p["diff"] == pytest.approx(2 / 3, abs=1e-15)
    none = stats.paired_interval(a, unit_frame([("seed 5", "p1", 0, 1)]))
    assert none["paired_units"] == 0 and np.isnan(none["diff"]) and none["excludes_zero"] is False


def test_units_pool_files_of_one_seed_and_skip_unreadable_verdicts():
    t = pd.DataFrame({"context_id": ["a", "a", "b", "b", "b"], "correct": [1, 0, 1, np.nan, 1]})
    u = stats.units(t, "seed 0")
    assert u.to_dict("list") == {"run": ["seed 0", "seed 0"], "context_id": ["a", "b"], "correct": [1.0, 2.0],
                                 "answers": [2.0, 2.0]}
    assert len(stats.units(pd.DataFrame({"context_id": [], "correct": []}), "x")) == 0


# ---------------------------------------------------------------------------------------------------------------
# The report on seal's files with known eval rows.

def _runfile(copy_of, name, seed, arms, label="toy"):
    """A copy of seal's eval file with its arms replaced: arms = {arm: [(context_id, question, correct)]}; seed set
    in the attributes and the config (one experiment per `label`, seeds pooled)."""
    p = copy_of("knowledge-tiny-eval.h5", name)
    with h5py.File(p, "r+") as f:
        cfg = json.loads(f.attrs["config"])
        cfg["run.seed"] = seed
        cfg["knowledge.label"] = label  # another config key: another experiment
        f.attrs["config"] = json.dumps(cfg)
        f.attrs["seed"] = seed
        del f["evals"]
        f.create_group("evals")
        for arm, rows in arms.items():
            _add_arm(f, arm, rows)
    return p


def _rows(per_context, questions=4, samples=1):
    """{context: number correct of `questions`} -> rows, each question asked `samples` times (a self-edit arm)."""
    out = []
    for c, k in per_context.items():
        for s in range(samples):
            out += [(c, f"{c}-q{j}", int(j < k)) for j in range(questions)]
    return out


def _world(seed, shift=1):
    """Eight people; self_edit gets k of 4 right, seal_round_1 the same, seal_round_2 `shift` more (capped)."""
    rng = np.random.default_rng(100 + seed)
    k = {f"person{i}": int(x) for i, x in enumerate(rng.integers(0, 4, 8))}
    return {
        "base": _rows({c: 0 for c in k}),
        "passage": _rows({c: max(0, v - 1) for c, v in k.items()}),
        "self_edit": _rows(k, samples=3),
        "seal_round_1": _rows(k, samples=3),
        "seal_round_2": _rows({c: min(4, v + shift) for c, v in k.items()}, samples=3),
    }, k


def _units_from_h5(paths, arm):
    """(correct, answers) per (seed, context), read with h5py alone."""
    acc = {}
    for p in paths:
        with h5py.File(p, "r") as f:
            g = f["evals"][arm]
            seed = int(f.attrs["seed"])
            for c, v in zip(g["context_id"].asstr()[()], g["correct"][()]):
                k = acc.setdefault((seed, c), [0, 0])
                k[0] += int(v)
                k[1] += 1
    keys = sorted(acc)
    return np.array([acc[x][0] for x in keys], float), np.array([acc[x][1] for x in keys], float)


def test_table_intervals_pool_seeds(copy_of, tmp_path):
    paths = [_runfile(copy_of, f"toy-seed{s}.h5", s, _world(s)[0]) for s in (0, 1, 2)]
    rc, out, err = report(paths, tmp_path)
    assert rc == 0, err
    t2 = pd.read_csv(tmp_path / "table2_knowledge.csv").set_index("arm")
    assert list(t2.index) == ["base", "passage", "self_edit", "seal_round_1", "seal_round_2"]
    for arm, row in t2.iterrows():
        correct, answers = _units_from_h5(paths, arm)
        assert row["units"] == len(correct) == 24  # 3 seeds x 8 people
        est, lo, hi = stats.accuracy_interval(correct, answers)
        assert row["accuracy_pooled"] == pytest.approx(correct.sum() / answers.sum(), abs=1e-12)
        # Equal answers per seed: the pooled accuracy is the mean over runs that the table reports.
        assert row["accuracy"] == pytest.approx(row["accuracy_pooled"], abs=1e-12)
        assert (row["accuracy_lo"], row["accuracy_hi"]) == pytest.approx((lo, hi), abs=1e-12)
        assert row["accuracy_lo"] <= row["accuracy"] <= row["accuracy_hi"]
    assert t2.loc["base", "accuracy_lo"] == t2.loc["base", "accuracy_hi"] == 0.0  # nobody right: degenerate
    assert t2.loc["self_edit", "accuracy_lo"] < t2.loc["self_edit", "accuracy_hi"]
    md = (tmp_path / "table2_knowledge.md").read_text()
    assert md.splitlines()[0].startswith("| arm | method | accuracy (%) | 95 % CI | ± std (pp) | runs |")
    se = t2.loc["self_edit"]
    assert f"[{100 * se['accuracy_lo']:.1f}, {100 * se['accuracy_hi']:.1f}]" in md


def test_paired_table_on_files(copy_of, tmp_path):
    """seal_round_2 gets one more answer of four right for every person but those at 4/4; seal_round_1 equals
    self_edit; passage one fewer (floored at 0)."""
    worlds = {s: _world(s) for s in (0, 1, 2)}
    paths = [_runfile(copy_of, f"toy-seed{s}.h5", s, worlds[s][0]) for s in worlds]
    rc, out, err = report(paths, tmp_path)
    assert rc == 0, err
    pt = pd.read_csv(tmp_path / "table2_paired.csv")
    assert list(zip(pt["arm"], pt["reference"])) == [("seal_round_1", "self_edit"), ("seal_round_1", "passage"),
                                                     ("seal_round_2", "self_edit"), ("seal_round_2", "passage")]
    pt = pt.set_index(["arm", "reference"])
    ks = np.array([v for s in worlds for v in worlds[s][1].values()], float)
    assert (pt["paired_units"] == 24).all()
    same = pt.loc[("seal_round_1", "self_edit")]
    assert (same["diff_pp"], same["diff_lo_pp"], same["diff_hi_pp"]) == (0.0, 0.0, 0.0)
    assert not same["excludes_zero"]
    up = pt.loc[("seal_round_2", "self_edit")]
    gain = (np.minimum(4, ks + 1) - ks) / 4
    assert up["diff_pp"] == pytest.approx(100 * gain.mean(), abs=1e-9)
    assert up["arm_accuracy_pp"] - up["reference_accuracy_pp"] == pytest.approx(up["diff_pp"], abs=1e-9)
    assert 0 < up["diff_lo_pp"] <= up["diff_pp"] <= up["diff_hi_pp"] <= 25 and up["excludes_zero"]
    vs_passage = pt.loc[("seal_round_1", "passage")]
    assert vs_passage["diff_pp"] == pytest.approx(100 * ((ks - np.maximum(0, ks - 1)) / 4).mean(), abs=1e-9)
    md = (tmp_path / "table2_paired.md").read_text()
    assert md.splitlines()[0] == ("| arm | vs | paired units | arm (%) | vs (%) | Δ (pp) | 95 % CI (pp) | "
                                  "excludes 0 |")
    assert f"| seal_round_2 | self_edit | 24 | {up['arm_accuracy_pp']:.1f} |" in md
    text = (tmp_path / "report.md").read_text()
    assert "## SEAL vs untrained self-edits" in text and md.strip() in text


def test_report_is_reproducible(copy_of, tmp_path):
    paths = [_runfile(copy_of, f"toy-seed{s}.h5", s, _world(s)[0]) for s in (0, 1)]
    for d in ("a", "b"):
        rc, out, err = report(paths, tmp_path / d)
        assert rc == 0, err
    for name in ("table2_knowledge.csv", "table2_paired.csv", "table2_knowledge.md", "table2_paired.md"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_train_and_eval_files_of_one_seed_pair_up(seal_files, finished):
    """seal's own files: seal_round_2 (train file) and self_edit, passage (eval file) share seed 0 and its two
    contexts. The tiny model answers nothing right, so every difference is exactly 0."""
    tmp_path, rc, out, err = finished
    assert rc == 0, err
    pt = pd.read_csv(tmp_path / "table2_paired.csv")
    assert list(pt["reference"]) == ["self_edit", "passage"] and (pt["arm"] == "seal_round_2").all()
    with h5py.File(seal_files["knowledge-tiny-eval.h5"], "r") as f:
        n_ctx = len(set(f["evals/self_edit/context_id"].asstr()[()]))
    assert (pt["paired_units"] == n_ctx).all()
    assert (pt[["diff_pp", "diff_lo_pp", "diff_hi_pp"]] == 0).all().all() and not pt["excludes_zero"].any()
    t2 = pd.read_csv(tmp_path / "table2_knowledge.csv")
    assert ((t2["accuracy_lo"] <= t2["accuracy"]) & (t2["accuracy"] <= t2["accuracy_hi"])).all()


@pytest.fixture(scope="module")
def finished(seal_files, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    rc, stdout, err = report([seal_files["knowledge-tiny.h5"], seal_files["knowledge-tiny-eval.h5"]], out)
    return out, rc, stdout, err


def test_one_context_and_missing_arms(copy_of, tmp_path):
    """An arm with a single context has a degenerate interval; a SEAL round without a self_edit arm, or arms
    without a common unit, give no paired numbers; none of it is an error (or a numpy warning)."""
    p = _runfile(copy_of, "one.h5", 0, {"base": _rows({"solo": 1}), "seal_round_1": _rows({"solo": 3}, samples=2),
                                        "passage": _rows({"other": 2})})
    rc, out, err = report([p], tmp_path / "a")
    assert rc == 0, err
    t2 = pd.read_csv(tmp_path / "a" / "table2_knowledge.csv").set_index("arm")
    for arm, acc in (("base", 0.25), ("seal_round_1", 0.75), ("passage", 0.5)):
        assert t2.loc[arm, "units"] == 1
        assert t2.loc[arm, "accuracy_lo"] == t2.loc[arm, "accuracy"] == t2.loc[arm, "accuracy_hi"] == acc
    pt = pd.read_csv(tmp_path / "a" / "table2_paired.csv")
    assert list(pt["reference"]) == ["passage"]  # no self_edit arm: no row for it
    assert pt.loc[0, "paired_units"] == 0 and np.isnan(pt.loc[0, "diff_pp"]) and not pt.loc[0, "excludes_zero"]
    md = (tmp_path / "a" / "table2_paired.md").read_text()
    assert "| seal_round_1 | passage | 0 | — | — | — | — | — |" in md
    assert_png(tmp_path / "a" / "fig4_accuracy_over_rounds.png")

    q = _runfile(copy_of, "no-seal.h5", 0, {"base": _rows({"a": 0, "b": 1}), "self_edit": _rows({"a": 2, "b": 1})})
    rc, out, err = report([q], tmp_path / "b")
    assert rc == 0, err
    assert (tmp_path / "b" / "table2_knowledge.csv").exists()
    assert not (tmp_path / "b" / "table2_paired.csv").exists(), "no SEAL round: nothing to pair"
    assert "SEAL vs untrained" not in (tmp_path / "b" / "report.md").read_text()


def test_arm_without_verdicts_has_no_interval(copy_of, tmp_path):
    """An arm whose correct column is missing (its accuracy from the attribute) has no units and no interval."""
    p = _runfile(copy_of, "nocorrect.h5", 0, {"self_edit": _rows({"a": 1, "b": 2}), "seal_round_1": _rows({"a": 2})})
    with h5py.File(p, "r+") as f:
        del f["evals/seal_round_1/correct"]
        f["evals/seal_round_1"].attrs["accuracy"] = 0.5
    rc, out, err = report([p], tmp_path)
    assert rc == 0 and "missing column(s) correct" in err, err
    t2 = pd.read_csv(tmp_path / "table2_knowledge.csv").set_index("arm")
    assert t2.loc["seal_round_1", "accuracy"] == 0.5 and t2.loc["seal_round_1", "units"] == 0
    assert np.isnan(t2.loc["seal_round_1", "accuracy_lo"]) and np.isnan(t2.loc["seal_round_1", "accuracy_hi"])
    pt = pd.read_csv(tmp_path / "table2_paired.csv")
    assert pt.loc[0, "paired_units"] == 0


# ---------------------------------------------------------------------------------------------------------------
# The learning-curve figure.

def test_learning_curve_points_and_figure(copy_of, tmp_path):
    """Two experiments (one panel each, three and one seeds): the curve is self_edit at round 0 and seal_round_N at
    N with the table's numbers; the reference lines are base, passage and self_edit."""
    paths = [_runfile(copy_of, f"toy-seed{s}.h5", s, _world(s)[0]) for s in (0, 1, 2)]
    paths.append(_runfile(copy_of, "other.h5", 0, _world(7, shift=0)[0], label="other"))
    runs = [load_run(p) for p in paths]
    exps = tables.group_runs(runs)
    assert [len(e.runs) for e in exps] == [3, 1]
    table = tables.arm_table(exps, "knowledge")
    for e in exps:
        curve, refs = figures.learning_curve_points(table, e.label)
        t = table[table["experiment"] == e.label].set_index("arm")
        assert [(x, a) for x, a, *_ in curve] == [(0, "self_edit"), (1, "seal_round_1"), (2, "seal_round_2")]
        assert [a for a, *_ in refs] == ["base", "passage", "self_edit"]
        for _, a, acc, lo, hi in curve:
            assert (acc, lo, hi) == (t.loc[a, "accuracy"], t.loc[a, "accuracy_lo"], t.loc[a, "accuracy_hi"])
        err = figures._yerr([c[2] for c in curve], [c[3] for c in curve], [c[4] for c in curve])
        assert (err >= 0).all() and err.shape == (2, 3)
    # A point outside its interval (an accuracy attribute unlike its rows) or without one gives a bar of 0, not an
    # error from matplotlib.
    np.testing.assert_allclose(figures._yerr([0.5, 0.2], [0.6, np.nan], [0.7, np.nan]), [[0, 0], [0.2, 0]],
                               atol=1e-15)
    rc, out, err = report(paths, tmp_path)
    assert rc == 0, err
    # Three panels (two experiments and the reward), side by side: wider than the one-experiment figure.
    assert_png(tmp_path / "fig4_accuracy_over_rounds.png", min_w=1800, min_h=500)
    assert "fig4_accuracy_over_rounds.png" in (tmp_path / "report.md").read_text()


def test_arc_pairs_against_the_untrained_self_edits(copy_of, tmp_path):
    """ARC runs (config with arc.* keys) pair each SEAL round with ttt_self_edit and icl, in Table 1's pairing."""
    p = _runfile(copy_of, "arc.h5", 0, {"icl": _rows({"t1": 0, "t2": 0, "t3": 0}, questions=1),
                                        "ttt_self_edit": _rows({"t1": 1, "t2": 0, "t3": 0}, questions=1),
                                        "seal_round_1": _rows({"t1": 1, "t2": 1, "t3": 0}, questions=1)})
    with h5py.File(p, "r+") as f:
        cfg = {k: v for k, v in json.loads(f.attrs["config"]).items() if not k.startswith("knowledge.")}
        cfg["arc.tasks"] = "seal-eval"
        f.attrs["config"] = json.dumps(cfg)
    rc, out, err = report([p], tmp_path)
    assert rc == 0, err
    t1 = pd.read_csv(tmp_path / "table1_arc.csv").set_index("arm")
    assert t1.loc["seal_round_1", "accuracy"] == pytest.approx(2 / 3) and t1.loc["seal_round_1", "units"] == 3
    assert t1.loc["seal_round_1", "accuracy_lo"] <= 2 / 3 <= t1.loc["seal_round_1", "accuracy_hi"]
    pt = pd.read_csv(tmp_path / "table1_paired.csv").set_index("reference")
    assert list(pt.index) == ["ttt_self_edit", "icl"]
    assert pt.loc["ttt_self_edit", "diff_pp"] == pytest.approx(100 / 3)
    assert pt.loc["icl", "diff_pp"] == pytest.approx(200 / 3)
    assert "## SEAL vs untrained self-edits (ARC)" in (tmp_path / "report.md").read_text()
    assert not (tmp_path / "table2_paired.csv").exists()


def test_retention_arms_are_ordered_described_and_drawn():
    """eval.retention's arms (retention_round_N): after the SEAL rounds in Table 2, described as what they are, and
    taken by round for the learning-curve figure's right axis."""
    import pandas as pd
    from analysis import figures, tables
    arms = ["retention_round_2", "seal_round_1", "base", "retention_round_0", "self_edit", "retention_round_1", "seal_round_2"]
    ordered = sorted(arms, key=lambda a: tables.arm_order(a, "knowledge"))
    assert ordered == ["base", "self_edit", "seal_round_1", "seal_round_2", "retention_round_0", "retention_round_1", "retention_round_2"]
    assert "round 1" in tables.describe_arm("retention_round_1", "knowledge")
    table = pd.DataFrame([{"experiment": "e", "arm": a, "accuracy": 0.1 * i, "accuracy_lo": 0.1 * i - 0.01, "accuracy_hi": 0.1 * i + 0.01}
                          for i, a in enumerate(arms)] + [{"experiment": "other", "arm": "retention_round_0", "accuracy": 1.0,
                                                           "accuracy_lo": 1.0, "accuracy_hi": 1.0}])
    pts = figures.retention_points(table, "e")
    assert [p[0] for p in pts] == [0, 1, 2]
    assert [round(p[1], 6) for p in pts] == [0.3, 0.5, 0.0]
    assert figures.retention_points(table, "none") == []


def test_mechanism_table_takes_accuracy_coverage_and_retention_by_policy_round():
    """The mechanism table: per policy round (0 = self_edit, r = seal_round_r) its accuracy and self-edit coverage
    and the retention arm of the same round; a round with only one of them still gets a row."""
    import math
    import pandas as pd
    from analysis import tables
    rows = [("base", 0.02, math.nan), ("self_edit", 0.2, 0.35), ("seal_round_1", 0.25, 0.5), ("seal_round_2", 0.3, math.nan),
            ("retention_round_0", 0.9, math.nan), ("retention_round_1", 0.85, math.nan), ("retention_round_3", 0.8, math.nan)]
    df = pd.DataFrame([{"experiment": "e", "arm": a, "accuracy": acc, "accuracy_lo": acc - 0.01, "accuracy_hi": acc + 0.01,
                        "coverage": cov} for a, acc, cov in rows])
    m = tables.mechanism_table(df).set_index("round")
    assert list(m.index) == [0, 1, 2, 3]
    assert m.loc[0, "arm"] == "self_edit" and m.loc[0, "coverage"] == 0.35 and m.loc[0, "retention"] == 0.9
    assert m.loc[1, "accuracy"] == 0.25 and m.loc[1, "coverage"] == 0.5 and m.loc[1, "retention"] == 0.85
    assert math.isnan(m.loc[2, "retention"]) and math.isnan(m.loc[2, "coverage"])
    assert m.loc[3, "arm"] == "—" and math.isnan(m.loc[3, "accuracy"]) and m.loc[3, "retention"] == 0.8
    text = tables.mechanism_markdown(tables.mechanism_table(df))
    assert "self-edit coverage (%)" in text and "35.0" in text and "85.0" in text
    assert tables.mechanism_table(pd.DataFrame()).empty
