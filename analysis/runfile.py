"""Reading one seal metrics file into pandas tables, tolerating old and damaged files.

The layout is documented in docs/METRICS.md (schema_version 1). Files met in practice are not always complete:
a run killed by the scheduler stays `status = "running"` and may hold a round group without `completed = 1`; a
file written before a field existed lacks it; a file of another schema version may have renamed things. This
module reads every field by name, and for anything missing or inconsistent it records a warning (and emits a
``MetricsWarning``) and carries on with what is there. Only a file that is not HDF5, or HDF5 without any sign of
being a seal run, is an error (``MetricsFileError``), because there is nothing to report on.
"""

from __future__ import annotations

import json
import math
import os
import re
import warnings
from dataclasses import dataclass, field

import h5py
import numpy as np
import pandas as pd

#: The schema version whose layout this reader knows (docs/METRICS.md).
SCHEMA_VERSION = 1

#: Columns of /rounds/round_NNN/samples and whether they are text (see docs/METRICS.md).
SAMPLE_COLUMNS = {
    "context_id": "str", "sample_index": "int", "rank": "int", "reward": "float", "baseline_score": "float",
    "adapted_score": "float", "inner_loss": "float", "tokens": "int", "seconds": "float", "self_edit": "str",
    "status": "str", "kept": "int",
}
#: Columns of /evals/<arm>.
EVAL_COLUMNS = {"context_id": "str", "question": "str", "gold": "str", "prediction": "str", "correct": "int"}

_ROUND_NAME = re.compile(r"^round_(\d+)$")


class MetricsFileError(Exception):
    """A file that cannot be read as a seal run at all (the message names the file)."""


class MetricsWarning(UserWarning):
    """Something in a metrics file was missing or inconsistent; the report carries on without it."""


@dataclass
class Arm:
    """One eval arm: its accuracy as the run computed it, and its rows."""
    name: str
    accuracy: float
    n_answers: int            # rows (a self-edit arm has one row per question per sampled self-edit)
    n_questions: int          # distinct (context_id, question) pairs
    n_contexts: int
    seconds: float            # NaN when the run did not record it
    records: pd.DataFrame
    attrs: dict


@dataclass
class Run:
    path: str
    attrs: dict                       # root attributes, decoded to Python values
    config: dict                      # the resolved config (nested as the run wrote it); {} if unreadable
    schema_version: int | None
    status: str                       # "finished", "running" (killed or still running), or "unknown"
    samples: pd.DataFrame             # completed rounds' samples, with a `round` column
    sft: pd.DataFrame                 # round, step, loss
    rounds: pd.DataFrame              # one row per completed round: its attributes (index: round)
    arms: dict[str, Arm]
    warnings: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return os.path.splitext(os.path.basename(self.path))[0]

    @property
    def seed(self):
        return self.attrs.get("seed")

    @property
    def flat_config(self) -> dict:
        return flatten(self.config)

    @property
    def domain(self) -> str:
        """"arc" or "knowledge", from the config keys (ARC runs have `arc.*` keys)."""
        keys = self.flat_config
        dom = str(keys.get("domain", keys.get("run.domain", ""))).lower()
        if dom in ("arc", "knowledge"):
            return dom
        if any(k.startswith("arc.") for k in keys):
            return "arc"
        return "knowledge"


def flatten(d, prefix: str = "") -> dict:
    """{"a": {"b": 1}} -> {"a.b": 1} (keys that are already dotted stay as they are)."""
    out = {}
    if not isinstance(d, dict):
        return out
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _py(v):
    """An HDF5 attribute value as a plain Python value."""
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, np.ndarray):
        if v.shape == () or v.size == 1:
            return _py(v.reshape(-1)[0])
        return [_py(x) for x in v.tolist()]
    if isinstance(v, np.generic):
        return v.item()
    return v


def _column(ds: h5py.Dataset):
    """A 1-D dataset as a numpy array; strings decoded to str."""
    if ds.ndim != 1:
        raise ValueError(f"has shape {ds.shape}, expected 1-D")
    if h5py.check_string_dtype(ds.dtype) is not None:
        return np.array(ds.asstr()[()], dtype=object)
    a = ds[()]
    if a.dtype.kind == "S":
        return np.array([x.decode("utf-8", "replace") for x in a], dtype=object)
    return a


class _Reader:
    def __init__(self, path: str):
        self.path = path
        self.warnings: list[str] = []

    def warn(self, msg: str):
        text = f"{self.path}: {msg}"
        self.warnings.append(text)
        warnings.warn(text, MetricsWarning, stacklevel=4)

    def table(self, group: h5py.Group, columns: dict, where: str) -> pd.DataFrame | None:
        """Equal-length columns of a group -> DataFrame. Missing known columns become NaN/"" with a warning;
        unknown extra columns are kept; unequal lengths are cut to the shortest with a warning."""
        data = {}
        for name, item in group.items():
            if not isinstance(item, h5py.Dataset):
                continue
            try:
                data[name] = _column(item)
            except Exception as e:  # noqa: BLE001 - a damaged dataset is a warning, not a crash
                self.warn(f"{where}/{name} is unreadable ({e}); ignored")
        if not data:
            return None
        lengths = {k: len(v) for k, v in data.items()}
        n = min(lengths.values())
        if len(set(lengths.values())) > 1:
            detail = ", ".join(f"{k} {v}" for k, v in sorted(lengths.items()))
            self.warn(f"{where}: columns have different lengths ({detail}); using the first {n} rows")
            data = {k: v[:n] for k, v in data.items()}
        missing = [c for c in columns if c not in data]
        if missing:
            self.warn(f"{where}: missing column(s) {', '.join(missing)}")
            for c in missing:
                data[c] = np.full(n, "" if columns[c] == "str" else np.nan, dtype=object if columns[c] == "str" else float)
        return pd.DataFrame(data)


def load_run(path: str) -> Run:
    """Reads a metrics file. Raises MetricsFileError when it is not an HDF5 file or not a seal run; everything
    else that is wrong becomes a warning in `Run.warnings` (also emitted as MetricsWarning)."""
    if not os.path.exists(path):
        raise MetricsFileError(f"{path}: no such file")
    if os.path.isdir(path):
        raise MetricsFileError(f"{path}: is a directory, not an HDF5 metrics file")
    try:
        is_hdf5 = h5py.is_hdf5(path)
    except Exception as e:  # noqa: BLE001 - permissions and the like
        raise MetricsFileError(f"{path}: cannot be read ({e})") from None
    if not is_hdf5:
        raise MetricsFileError(f"{path}: not an HDF5 file (seal metrics files are HDF5; see docs/METRICS.md)")
    try:
        # locking=False: files of older seal versions were locked by a live writer; today's carry no lock.
        try:
            f = h5py.File(path, "r", locking=False)
        except TypeError:  # h5py < 3.5
            f = h5py.File(path, "r")
    except Exception as e:  # noqa: BLE001
        raise MetricsFileError(f"{path}: HDF5 file cannot be opened ({e})") from None
    with f:
        return _load(f, path)


def _load(f: h5py.File, path: str) -> Run:
    r = _Reader(path)
    attrs = {}
    for k in f.attrs:
        try:
            attrs[k] = _py(f.attrs[k])
        except Exception as e:  # noqa: BLE001
            r.warn(f"root attribute {k} is unreadable ({e})")
    has_groups = "rounds" in f or "evals" in f
    version = attrs.get("schema_version")
    if version is None:
        if not has_groups:
            raise MetricsFileError(f"{path}: not a seal metrics file (no schema_version attribute and no "
                                   f"/rounds or /evals group)")
        r.warn(f"no schema_version attribute (a file older than schema {SCHEMA_VERSION}?); reading what is there")
    else:
        try:
            version = int(version)
        except (TypeError, ValueError):
            r.warn(f"schema_version {version!r} is not an integer; reading what is there")
            version = None
        else:
            if version != SCHEMA_VERSION:
                r.warn(f"schema_version {version}, this reader knows {SCHEMA_VERSION}; fields are read by name and "
                       f"some may be missing or mean something else")

    config = {}
    if "config" in attrs:
        try:
            config = json.loads(attrs["config"])
            if not isinstance(config, dict):
                r.warn("config attribute is JSON but not an object; ignored")
                config = {}
        except (TypeError, ValueError) as e:
            r.warn(f"config attribute is not valid JSON ({e}); runs cannot be grouped by config")
    else:
        r.warn("no config attribute; runs cannot be grouped by config")

    status = attrs.get("status")
    if status is None:
        status = "unknown"
        r.warn("no status attribute; cannot tell whether the run finished")
    elif status != "finished":
        r.warn(f"status is {status!r}: the run was killed or is still running; reading its completed rounds and arms")

    samples, sft, rounds = _rounds(f, r, version)
    arms = _arms(f, r)
    if "_staging" in f:
        r.warn("holds /_staging: an eval arm was being written when the run stopped (ignored)")
    return Run(path=path, attrs=attrs, config=config, schema_version=version, status=status, samples=samples,
               sft=sft, rounds=rounds, arms=arms, warnings=r.warnings)


def _rounds(f: h5py.File, r: _Reader, version):
    empty_samples = pd.DataFrame({c: pd.Series(dtype=object if t == "str" else float)
                                  for c, t in SAMPLE_COLUMNS.items()}).assign(round=pd.Series(dtype=int))
    empty_sft = pd.DataFrame({"round": pd.Series(dtype=int), "step": pd.Series(dtype=int),
                              "loss": pd.Series(dtype=float)})
    if "rounds" not in f or not isinstance(f["rounds"], h5py.Group):
        r.warn("no /rounds group")
        return empty_samples, empty_sft, pd.DataFrame()
    groups = []
    for name, g in f["rounds"].items():
        m = _ROUND_NAME.match(name)
        if not m or not isinstance(g, h5py.Group):
            r.warn(f"/rounds/{name} is not a round group; ignored")
            continue
        groups.append((int(m.group(1)), name, g))
    groups.sort()
    # A file from before the `completed` marker has none on any round: take its rounds as they are.
    marker_known = version == SCHEMA_VERSION or any("completed" in g.attrs for _, _, g in groups)
    if groups and not marker_known:
        r.warn("no round has a `completed` attribute (older schema); every round group is read as complete")
    samples, sft, rows = [], [], []
    for idx, name, g in groups:
        where = f"/rounds/{name}"
        if marker_known and _py(g.attrs.get("completed", 0)) != 1:
            r.warn(f"{where} has no completed = 1: a round cut short when the run stopped; skipped")
            continue
        row = {"round": idx}
        for k in g.attrs:
            try:
                row[k] = _py(g.attrs[k])
            except Exception as e:  # noqa: BLE001
                r.warn(f"{where} attribute {k} is unreadable ({e})")
        row["round"] = idx
        if "samples" in g and isinstance(g["samples"], h5py.Group):
            t = r.table(g["samples"], SAMPLE_COLUMNS, where + "/samples")
            if t is not None:
                samples.append(t.assign(round=idx))
            else:
                r.warn(f"{where}/samples is empty")
        else:
            r.warn(f"{where} has no samples group")
        if "sft" in g and isinstance(g["sft"], h5py.Group):
            t = r.table(g["sft"], {"step": "int", "loss": "float"}, where + "/sft")
            if t is not None:
                sft.append(t[["step", "loss"]].assign(round=idx))
        else:
            r.warn(f"{where} has no sft group")
        rows.append(row)
    samples_df = pd.concat(samples, ignore_index=True) if samples else empty_samples
    for c in ("reward", "baseline_score", "adapted_score", "inner_loss", "seconds"):
        samples_df[c] = pd.to_numeric(samples_df[c], errors="coerce")
    sft_df = pd.concat(sft, ignore_index=True) if sft else empty_sft
    rounds_df = pd.DataFrame(rows).set_index("round", drop=False) if rows else pd.DataFrame()
    return samples_df, sft_df, rounds_df


def _arms(f: h5py.File, r: _Reader) -> dict:
    arms = {}
    if "evals" not in f or not isinstance(f["evals"], h5py.Group):
        r.warn("no /evals group")
        return arms
    for name, g in f["evals"].items():
        where = f"/evals/{name}"
        if not isinstance(g, h5py.Group):
            r.warn(f"{where} is not a group; ignored")
            continue
        attrs = {}
        for k in g.attrs:
            try:
                attrs[k] = _py(g.attrs[k])
            except Exception as e:  # noqa: BLE001
                r.warn(f"{where} attribute {k} is unreadable ({e})")
        t = r.table(g, EVAL_COLUMNS, where)
        if t is None:
            t = pd.DataFrame({c: pd.Series(dtype=object if k == "str" else float) for c, k in EVAL_COLUMNS.items()})
        correct = pd.to_numeric(t["correct"], errors="coerce")
        computed = float(correct.mean()) if correct.notna().any() else math.nan
        acc = attrs.get("accuracy")
        try:
            acc = float(acc) if acc is not None else math.nan
        except (TypeError, ValueError):
            r.warn(f"{where}: accuracy attribute {acc!r} is not a number")
            acc = math.nan
        if math.isnan(acc):
            if math.isnan(computed):
                r.warn(f"{where}: no accuracy attribute and no correct column; arm skipped")
                continue
            r.warn(f"{where}: no accuracy attribute; using the mean of its correct column")
            acc = computed
        elif not math.isnan(computed) and abs(acc - computed) > 1e-9:
            r.warn(f"{where}: accuracy attribute {acc:.6g} differs from the mean of correct {computed:.6g}; "
                   f"reporting the attribute")
        n_answers = attrs.get("n_questions")
        if n_answers is None:
            n_answers = len(t)
        elif int(n_answers) != len(t) and len(t) > 0:
            r.warn(f"{where}: n_questions {n_answers} but {len(t)} rows")
        pairs = t[["context_id", "question"]].drop_duplicates()
        n_q = len(pairs) if len(t) else int(n_answers)
        seconds = attrs.get("seconds", math.nan)
        try:
            seconds = float(seconds)
        except (TypeError, ValueError):
            seconds = math.nan
        arms[name] = Arm(name=name, accuracy=acc, n_answers=int(n_answers), n_questions=int(n_q),
                         n_contexts=int(t["context_id"].nunique()) if len(t) else 0, seconds=seconds,
                         records=t, attrs=attrs)
    return arms
