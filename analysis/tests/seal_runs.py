"""Metrics files written by seal itself, for the analysis tests.

`generate(out_dir)` runs the seal binary on jobs/knowledge-tiny.toml (tinystories-656k and three SQuAD passages
from ../shared) under `mpirun -np 2`:
  knowledge-tiny.h5        `seal knowledge train` (2 ReSTEM rounds + arm seal_round_2), seed 0
  knowledge-tiny-eval.h5   `seal knowledge eval` (arms base, passage, self_edit), seed 0
  knowledge-tiny-killed.h5 the train run with rank 0 SIGKILLed in round 1 (SEAL_DEBUG_KILL_IN_ROUND=1)
The same files are committed under Tests/Fixtures/analysis (scripts/fixtures/make_analysis_fixtures.py) for
machines without a seal build; the tests prefer fresh ones.
"""

from __future__ import annotations

import os
import shutil
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(REPO, "Tests", "Fixtures", "analysis")
CONFIG = "jobs/knowledge-tiny.toml"
NAMES = ["knowledge-tiny.h5", "knowledge-tiny-eval.h5", "knowledge-tiny-killed.h5"]

#: The project's mpirun flags (Tests/SealCLITests MPIRunner, Makefile): root in containers, 2 ranks on any core
#: count, shared memory only.
MPIRUN = ["mpirun", "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "--mca", "btl", "self,vader",
          "--mca", "btl_vader_single_copy_mechanism", "none"]


def seal_binary() -> str | None:
    """$SEAL_BIN, else the release build of this checkout; None when neither exists."""
    for p in (os.environ.get("SEAL_BIN"), os.path.join(REPO, ".build", "release", "seal")):
        if p and os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    return None


def can_generate() -> tuple[bool, str]:
    seal = seal_binary()
    if not seal:
        return False, "no seal binary (set SEAL_BIN or build with `swift build -c release`)"
    if not shutil.which("mpirun"):
        return False, "no mpirun on PATH"
    if not os.path.isdir(os.path.join(REPO, "..", "shared", "models", "tinystories-656k")):
        return False, "../shared/models/tinystories-656k is missing"
    return True, seal


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMPI_", "PMIX_", "ORTE_", "OPAL_", "PRTE_"))}
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_rmaps_base_oversubscribe="1")
    return env


def _seal(seal: str, args: list, extra_mpi: list = (), expect_ok: bool = True, timeout: int = 300):
    cmd = MPIRUN + list(extra_mpi) + ["-np", "2", seal] + args + ["--set", "run.threads=1", "--quiet"]
    p = subprocess.run(cmd, cwd=REPO, env=_env(), capture_output=True, text=True, timeout=timeout)
    if expect_ok and p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    if not expect_ok and p.returncode == 0:
        raise RuntimeError(f"{' '.join(cmd)} was expected to be killed but exited 0")
    return p


def generate(out_dir: str, seal: str | None = None) -> dict:
    """Runs seal and returns {name: path} for NAMES."""
    seal = seal or seal_binary()
    os.makedirs(out_dir, exist_ok=True)
    paths = {n: os.path.join(out_dir, n) for n in NAMES}
    for n in NAMES:  # never resume an earlier file: start clean
        for p in (paths[n], paths[n] + ".ckpt"):
            if os.path.isdir(p):
                shutil.rmtree(p)
            elif os.path.exists(p):
                os.remove(p)
    _seal(seal, ["knowledge", "train", "--config", CONFIG, "--out", paths["knowledge-tiny.h5"]])
    _seal(seal, ["knowledge", "eval", "--config", CONFIG, "--out", paths["knowledge-tiny-eval.h5"]])
    _seal(seal, ["knowledge", "train", "--config", CONFIG, "--out", paths["knowledge-tiny-killed.h5"]],
          extra_mpi=["-x", "SEAL_DEBUG_KILL_IN_ROUND=1"], expect_ok=False)
    return paths


def committed() -> dict:
    return {n: os.path.join(FIXTURES, n) for n in NAMES}
