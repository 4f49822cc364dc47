"""analysis.report on metrics files that seal wrote: its tables against h5py's own reading of the files, its
figures as real images, and damaged, old or wrong input."""

import contextlib
import io
import json
import os
import subprocess
import sys
import warnings

import h5py
import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from analysis import figures, tables
from analysis.report import main
from analysis.runfile import MetricsFileError, MetricsWarning, load_run

from .seal_runs import REPO


def cli(paths, out, *extra):
    """The CLI as a user runs it, in a new process; returns (exit status, stdout, stderr)."""
    p = subprocess.run([sys.executable, "-m", "analysis.report", *paths, "--out", str(out), *extra], cwd=REPO,
                       capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


def report(paths, out, *extra):
    """The CLI's main() in this process (saves a Python start per test); returns (exit status, stdout, stderr).
    An exception escaping main() fails the test, as a traceback would."""
    o, e = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(o), contextlib.redirect_stderr(e), warnings.catch_warnings():
        # MetricsWarnings are main()'s to print, and numpy's RuntimeWarnings (empty means, NaN casts) are sloppiness:
        # both fail the test if they escape.
        warnings.simplefilter("error", MetricsWarning)
        warnings.simplefilter("error", RuntimeWarning)
        try:
            rc = main([*map(str, paths), "--out", str(out), *extra])
        except SystemExit as x:  # argparse's usage errors
            rc = x.code
    return rc, o.getvalue(), e.getvalue()


def strings(ds):
    return [x.decode() if isinstance(x, bytes) else x for x in ds[()]]


def assert_png(path, min_w=400, min_h=250):
    assert os.path.exists(path), path
    with open(path, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    img = matplotlib.image.imread(path)
    h, w = img.shape[:2]
    assert w >= min_w and h >= min_h, f"{path} is {w}x{h}"
    # Something is drawn: many distinct colours, and not all white.
    flat = (img[..., :3] * 255).astype(np.uint8).reshape(-1, 3)
    assert len(np.unique(flat, axis=0)) > 20, f"{path} looks blank"
    assert (flat < 250).any(axis=1).mean() > 0.02, f"{path} is almost all white"


# ---------------------------------------------------------------------------------------------------------------
# Finished runs: the numbers in the tables are the numbers in the files.

@pytest.fixture(scope="module")
def finished(seal_files, tmp_path_factory):
    """The report on the finished train and eval runs (the CLI runs once for the tests that read it)."""
    out = tmp_path_factory.mktemp("report")
    rc, stdout, err = cli([seal_files["knowledge-tiny.h5"], seal_files["knowledge-tiny-eval.h5"]], out)
    return out, rc, stdout, err


def test_table2_equals_the_files(seal_files, finished):
    tmp_path, rc, out, err = finished
    train, evalf = seal_files["knowledge-tiny.h5"], seal_files["knowledge-tiny-eval.h5"]
    assert rc == 0, err
    assert "warning" not in err, err  # two clean, finished seal runs
    assert out.startswith("wrote ")
    t2 = pd.read_csv(tmp_path / "table2_knowledge.csv")
    expected = {}
    for path in (train, evalf):
        with h5py.File(path, "r") as f:
            for arm, g in f["evals"].items():
                correct = g["correct"][()]
                ctx, q = strings(g["context_id"]), strings(g["question"])
                expected[arm] = (float(g.attrs["accuracy"]), float(correct.mean()), len(set(zip(ctx, q))), len(correct),
                                 float(g.attrs["seconds"]))
    # train writes seal_round_2; eval writes base, passage, self_edit: one experiment (same config), four arms in
    # the paper's order.
    assert list(t2["arm"]) == ["base", "passage", "self_edit", "seal_round_2"]
    assert t2["experiment"].nunique() == 1
    for _, row in t2.iterrows():
        acc_attr, acc_mean, n_q, n_rows, secs = expected[row["arm"]]
        assert row["accuracy"] == pytest.approx(acc_attr, abs=1e-12)
        assert row["accuracy"] == pytest.approx(acc_mean, abs=1e-12)
        assert row["questions"] == n_q
        assert row["answers"] == n_rows
        assert row["seconds"] == pytest.approx(secs, rel=1e-9)
        assert row["runs"] == 1
    # knowledge-tiny has 3 samples per context: a self-edit arm asks each question 3 times.
    sa = t2.set_index("arm")
    assert sa.loc["self_edit", "answers"] == 3 * sa.loc["self_edit", "questions"]
    md = (tmp_path / "table2_knowledge.md").read_text()
    assert md.splitlines()[0].startswith("| arm | method | accuracy (%) | 95 % CI | questions")
    assert len(md.strip().splitlines()) == 2 + 4
    assert "Table 2" in (tmp_path / "report.md").read_text()
    assert not (tmp_path / "table1_arc.csv").exists()


def test_rounds_and_figures(seal_files, finished):
    tmp_path, rc, out, err = finished
    train = seal_files["knowledge-tiny.h5"]
    assert rc == 0, err
    rounds = pd.read_csv(tmp_path / "rounds.csv")
    with h5py.File(train, "r") as f:
        names = sorted(f["rounds"], key=lambda k: int(k[6:]))
        assert list(rounds["round"]) == [int(k[6:]) for k in names] == [0, 1]
        for (_, row), k in zip(rounds.iterrows(), names):
            g = f["rounds"][k]
            reward = g["samples/reward"][()]
            ctx = np.array(strings(g["samples/context_id"]))
            best = np.mean([reward[ctx == c].max() for c in np.unique(ctx)])
            assert row["self_edits"] == len(reward) == g.attrs["n_samples"]
            assert row["mean_reward"] == pytest.approx(reward.mean(), rel=1e-12)
            assert row["mean_reward"] == pytest.approx(g.attrs["mean_reward"], rel=1e-9)
            assert row["mean_best_reward"] == pytest.approx(best, rel=1e-12)
            assert row["kept"] == g["samples/kept"][()].sum() == g.attrs["n_kept"]
            assert row["sft_steps"] == len(g["sft/loss"])
            assert row["final_sft_loss"] == pytest.approx(g["sft/loss"][-1], rel=1e-12)
            assert row["seconds_total"] == pytest.approx(g.attrs["seconds_total"], rel=1e-12)
    for name in ("fig4_accuracy_over_rounds.png", "rewards.png", "sft_loss.png", "timing_knowledge-tiny.png",
                 "timing_knowledge-tiny-eval.png"):
        assert_png(tmp_path / name)
    assert not list(tmp_path.glob("fig6_*")), "no continual arms, no forgetting heatmap"
    text = (tmp_path / "report.md").read_text()
    for name in ("fig4_accuracy_over_rounds.png", "rewards.png", "timing_knowledge-tiny.png"):
        assert f"]({name})" in text
    runs = pd.read_csv(tmp_path / "runs.csv")
    assert list(runs["status"]) == ["finished", "finished"] and list(runs["world_size"]) == [2, 2]


def test_seeds_are_averaged(copy_of, tmp_path):
    """Two seeds of one config are one experiment: mean and sample std over the runs. The second seed is the
    first run relabelled with h5py (seed and run.seed), and as the tiny model answers nothing correctly its
    answers are re-marked to give a distinct accuracy."""
    a = copy_of("knowledge-tiny.h5")
    b = copy_of("knowledge-tiny.h5", "knowledge-tiny-seed1.h5")
    with h5py.File(b, "r+") as f:
        cfg = json.loads(f.attrs["config"])
        cfg["run.seed"] = 1
        f.attrs["config"] = json.dumps(cfg)
        f.attrs["seed"] = 1
        g = f["evals/seal_round_2"]
        c = np.zeros(len(g["correct"]), np.uint8)
        c[::4] = 1
        g["correct"][...] = c
        g.attrs["accuracy"] = c.mean()
        acc_b = float(c.mean())
    rc, out, err = report([a, b], tmp_path)
    assert rc == 0, err
    t2 = pd.read_csv(tmp_path / "table2_knowledge.csv").set_index("arm")
    with h5py.File(a, "r") as f:
        acc_a = float(f["evals/seal_round_2"].attrs["accuracy"])
    row = t2.loc["seal_round_2"]
    assert row["runs"] == 2
    assert row["accuracy"] == pytest.approx((acc_a + acc_b) / 2, abs=1e-12)
    assert row["accuracy_std"] == pytest.approx(np.std([acc_a, acc_b], ddof=1), abs=1e-12)
    assert "± std" in (tmp_path / "table2_knowledge.md").read_text()
    rounds = pd.read_csv(tmp_path / "rounds.csv")
    assert sorted(rounds["seed"].unique()) == [0, 1] and len(rounds) == 4


# ---------------------------------------------------------------------------------------------------------------
# Killed runs and old schemas: read with warnings, never a traceback.

def test_killed_run(seal_files, copy_of, tmp_path):
    """seal's own killed run (rank 0 SIGKILLed in round 1), then the rarer state of a kill between a round's two
    flushes (a round group without completed) and inside an eval write (/_staging), made with h5py."""
    killed = seal_files["knowledge-tiny-killed.h5"]
    with h5py.File(killed, "r") as f:
        assert f.attrs["status"] == "running" and list(f["rounds"]) == ["round_000"]
    rc, out, err = report([killed], tmp_path / "a")
    assert rc == 0, err
    assert "Traceback" not in err and "status is 'running'" in err
    rounds = pd.read_csv(tmp_path / "a" / "rounds.csv")
    assert list(rounds["round"]) == [0]
    assert_png(tmp_path / "a" / "rewards.png")

    p = copy_of("knowledge-tiny.h5", "cut.h5")
    with h5py.File(p, "r+") as f:
        del f["rounds/round_001"].attrs["completed"]
        del f.attrs["finished"]
        f.attrs["status"] = "running"
        f.create_group("_staging/passage")
    with pytest.warns(MetricsWarning) as rec:
        run = load_run(p)
    msgs = " ".join(str(w.message) for w in rec)
    assert "/rounds/round_001 has no completed = 1" in msgs and "/_staging" in msgs
    assert sorted(run.samples["round"].unique()) == [0]
    rc, out, err = report([p], tmp_path / "b")
    assert rc == 0 and "Traceback" not in err, err
    assert "round_001" in (tmp_path / "b" / "report.md").read_text()  # the warnings are in the report too


def test_old_schema_and_missing_fields(copy_of, tmp_path):
    p = copy_of("knowledge-tiny.h5", "old.h5")
    with h5py.File(p, "r+") as f:
        f.attrs["schema_version"] = 0
        del f.attrs["config"]
        del f.attrs["status"]
        s = f["rounds/round_000/samples"]
        del s["kept"], s["status"], s["self_edit"]
        reward = s["reward"][()]
        del s["reward"]
        s["reward"] = reward[:-2]  # a column shorter than the others
        del f["rounds/round_001/sft"]
        g = f["evals/seal_round_2"]
        del g.attrs["accuracy"], g.attrs["seconds"]
        c = np.zeros(len(g["correct"]), np.uint8)
        c[:5] = 1
        g["correct"][...] = c
        f["rounds/not_a_round"] = np.arange(3)
    rc, out, err = report([p], tmp_path)
    assert rc == 0, err
    assert "Traceback" not in err
    for needle in ("schema_version 0", "no config attribute", "missing column(s) self_edit, status, kept",
                   "different lengths", "round_001 has no sft group", "no accuracy attribute",
                   "no status attribute", "not_a_round"):
        assert needle in err, (needle, err)
    t2 = pd.read_csv(tmp_path / "table2_knowledge.csv").set_index("arm")
    assert t2.loc["seal_round_2", "accuracy"] == pytest.approx(5 / len(c))  # from the correct column
    assert np.isnan(t2.loc["seal_round_2", "seconds"])
    rounds = pd.read_csv(tmp_path / "rounds.csv").set_index("round")
    assert rounds.loc[0, "self_edits"] == len(reward) - 2
    assert rounds.loc[0, "mean_reward"] == pytest.approx(reward[:-2].mean(), rel=1e-12)
    assert np.isnan(rounds.loc[0, "kept"]) and rounds.loc[1, "sft_steps"] == 0
    for name in ("fig4_accuracy_over_rounds.png", "rewards.png", "timing_old.png"):
        assert_png(tmp_path / name)


def test_file_from_before_completed_markers(copy_of, tmp_path):
    p = copy_of("knowledge-tiny.h5", "ancient.h5")
    with h5py.File(p, "r+") as f:
        del f.attrs["schema_version"]
        for g in f["rounds"].values():
            del g.attrs["completed"]
    with pytest.warns(MetricsWarning, match="no schema_version"):
        run = load_run(p)
    assert sorted(run.samples["round"].unique()) == [0, 1]
    assert any("every round group is read as complete" in w for w in run.warnings)


# ---------------------------------------------------------------------------------------------------------------
# Not a seal run: a clear error and a non-zero exit.

@pytest.mark.parametrize("kind", ["text", "empty", "truncated", "foreign_hdf5", "missing", "directory"])
def test_not_a_metrics_file(seal_files, tmp_path, kind):
    p = tmp_path / f"{kind}.h5"
    if kind == "text":
        p.write_text("round,reward\n0,0.5\n")
    elif kind == "empty":
        p.write_bytes(b"")
    elif kind == "truncated":
        p.write_bytes(open(seal_files["knowledge-tiny.h5"], "rb").read()[:3000])
    elif kind == "foreign_hdf5":
        with h5py.File(p, "w") as f:
            f["x"] = np.arange(4)
            f.attrs["creator"] = "someone else"
    elif kind == "directory":
        p.mkdir()
    expected = {"text": "not an HDF5 file", "empty": "not an HDF5 file", "truncated": "", "missing": "no such file",
                "foreign_hdf5": "not a seal metrics file", "directory": "is a directory"}[kind]
    rc, out, err = report([seal_files["knowledge-tiny.h5"], str(p)], tmp_path / "out")
    assert rc == 2, (rc, out, err)
    assert "Traceback" not in err
    assert err.startswith("analysis.report: error: ") and str(p) in err and expected in err, err
    with pytest.raises(MetricsFileError):
        load_run(str(p))


def test_usage_errors(tmp_path):
    rc, out, err = report([], tmp_path)
    assert rc == 2 and "usage" in err and "Traceback" not in err


def test_cli_process_on_bad_and_killed_input(seal_files, tmp_path):
    """The real command in its own process: a non-HDF5 file is exit status 2 with one clear line; a killed run is
    exit status 0 with warnings; neither shows a traceback."""
    bad = tmp_path / "notes.h5"
    bad.write_text("not hdf5")
    rc, out, err = cli([str(bad)], tmp_path / "a")
    assert rc == 2 and err.strip() == f"analysis.report: error: {bad}: not an HDF5 file (seal metrics files are " \
                                      f"HDF5; see docs/METRICS.md)", err
    rc, out, err = cli([seal_files["knowledge-tiny-killed.h5"]], tmp_path / "b")
    assert rc == 0 and "warning:" in err and "Traceback" not in err, err


# ---------------------------------------------------------------------------------------------------------------
# Figure 6 and Table 1, from arms seal writes through its ordinary writeEval (continual_step_N; ARC configs).

def _add_arm(f, name, rows, accuracy=None):
    """An eval arm in seal's layout: rows of (context_id, question, correct)."""
    g = f.create_group(f"evals/{name}")
    s = h5py.string_dtype()
    g.create_dataset("context_id", data=[r[0] for r in rows], dtype=s)
    g.create_dataset("question", data=[r[1] for r in rows], dtype=s)
    g.create_dataset("gold", data=["g"] * len(rows), dtype=s)
    g.create_dataset("prediction", data=["p"] * len(rows), dtype=s)
    c = np.array([r[2] for r in rows], np.uint8)
    g["correct"] = c
    g.attrs["accuracy"] = float(c.mean()) if accuracy is None else accuracy
    g.attrs["n_questions"] = len(rows)
    g.attrs["n_correct"] = int(c.sum())
    g.attrs["seconds"] = 1.5


def test_forgetting_heatmap(copy_of, tmp_path):
    """Three passages incorporated in the order B, A, C; after each update every seen passage is re-asked. The
    matrix is indexed by (update, passage in incorporation order)."""
    p = copy_of("knowledge-tiny-eval.h5", "continual.h5")
    with h5py.File(p, "r+") as f:
        _add_arm(f, "continual_step_1", [("B", "b1", 1), ("B", "b2", 1)])
        _add_arm(f, "continual_step_2", [("B", "b1", 1), ("B", "b2", 0), ("A", "a1", 1), ("A", "a2", 1)])
        _add_arm(f, "continual_step_3", [("B", "b1", 0), ("B", "b2", 0), ("A", "a1", 1), ("A", "a2", 0),
                                         ("C", "c1", 1), ("C", "c2", 1)])
    run = load_run(p)
    m = figures.forgetting_matrix([run])
    nan = np.nan
    np.testing.assert_array_equal(m, np.array([[1.0, nan, nan], [0.5, 1.0, nan], [0.0, 0.5, 1.0]]))
    rc, out, err = report([p], tmp_path)
    assert rc == 0, err
    assert_png(tmp_path / "fig6_forgetting_continual.png", min_w=300, min_h=200)
    t2 = pd.read_csv(tmp_path / "table2_knowledge.csv")
    assert not t2["arm"].str.startswith("continual").any(), "continual arms belong to the heatmap, not Table 2"


def test_arc_runs_go_to_table1(copy_of, tmp_path):
    p = copy_of("knowledge-tiny.h5", "arc.h5")
    with h5py.File(p, "r+") as f:
        cfg = json.loads(f.attrs["config"])
        cfg = {k: v for k, v in cfg.items() if not k.startswith("knowledge.")}
        cfg["arc.tasks"] = "seal-eval"
        f.attrs["config"] = json.dumps(cfg)
        _add_arm(f, "icl", [("t1", "0", 0), ("t2", "0", 0)])
        _add_arm(f, "oracle_ttt", [("t1", "0", 1), ("t2", "0", 1)])
    rc, out, err = report([p], tmp_path)
    assert rc == 0, err
    t1 = pd.read_csv(tmp_path / "table1_arc.csv")
    assert list(t1["arm"]) == ["icl", "oracle_ttt", "seal_round_2"]
    assert list(t1["accuracy"])[:2] == [0.0, 1.0] and list(t1["tasks"])[:2] == [2, 2]
    assert "success (%)" in (tmp_path / "table1_arc.md").read_text()
    assert not (tmp_path / "table2_knowledge.csv").exists()


def test_group_labels_are_unique(copy_of):
    a = load_run(copy_of("knowledge-tiny.h5", "x.h5"))
    b = load_run(copy_of("knowledge-tiny-eval.h5", "y.h5"))
    with h5py.File(b.path, "r+") as f:
        f.attrs["config"] = json.dumps({"run.seed": 0, "other": 1})
    b = load_run(b.path)
    groups = tables.group_runs([a, b])
    assert [g.label for g in groups] == ["x", "y"]
