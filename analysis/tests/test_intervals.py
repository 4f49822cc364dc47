"""The report's 95 % intervals (analysis.stats): an arm's bootstrap over (run, context) units, the paired bootstrap
of SEAL rounds against the untrained self-edits, and the learning-curve figure that draws them. Cases whose answer
is known by construction (a constant shift, identical arms, contexts that answer all-or-nothing), against the
normal approximation, and on seal's files edited with h5py."""

import numpy as np
import pandas as pd
import pytest

from analysis import stats


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
