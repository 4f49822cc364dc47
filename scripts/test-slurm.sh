#!/usr/bin/env bash
# make test-slurm: the batch scripts in slurm/ on a real one-node Slurm (scripts/slurm-local.sh).
#  1. reference: slurm/multi-node.sbatch (one node, one rank, launched by srun); its HDF5 must be a finished run.
#     It runs 1 thread like the ranks of step 2: seal's numbers do not depend on the rank count, but the policy
#     update's float sums do depend on the BLAS thread count (~1e-7 relative), so a comparison needs equal threads.
#  2. preemption: slurm/one-node.sbatch (2 ranks x 1 thread, launched by mpirun); once round 0 is on disk the job is
#     requeued with `scontrol requeue` (Slurm sends SIGTERM, then runs the script again); the rerun must resume and
#     end with exactly the reference's numbers (per-sample rewards, self-edits, SFT losses, eval answers).
#  3. sweep: slurm/sweep.sbatch as a 2-task array (seeds 0 and 1); both runs finish, and analysis.report averages
#     them into one experiment.
# Variables: SEAL_BIN [.build/release/seal], CONFIG [jobs/toyworld-smoke.toml if present, else
# jobs/knowledge-tiny.toml], KEEP_SLURM=1 leaves the daemons running, TEST_SLURM_DIR [a new /tmp/seal-test-slurm.*].
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
START=$(date +%s)
PY=${PYTHON:-/usr/bin/python3}
export SEAL_BIN=${SEAL_BIN:-$REPO/.build/release/seal}
[ -x "$SEAL_BIN" ] || { echo "test-slurm: no seal binary at $SEAL_BIN (make build)" >&2; exit 1; }
if [ -z "${CONFIG:-}" ]; then
  if [ -f jobs/toyworld-smoke.toml ]; then CONFIG=jobs/toyworld-smoke.toml; else CONFIG=jobs/knowledge-tiny.toml; fi
fi
export CONFIG
# knowledge-tiny's 2 rounds take seconds: 3 rounds leave time to requeue the job after round 0.
ARGS=""
[ "$CONFIG" = jobs/knowledge-tiny.toml ] && ARGS="--set run.rounds=3"
W=${TEST_SLURM_DIR:-$(mktemp -d /tmp/seal-test-slurm.XXXXXX)}
mkdir -p "$W"
CPUS=$(nproc)
# Shared memory only, without CMA (unprivileged containers): the flags of the project's MPI tests.
export MPIRUN_ARGS="--mca btl self,vader --mca btl_vader_single_copy_mechanism none"
export SEAL_REPO=$REPO

scripts/slurm-local.sh start
eval "$(scripts/slurm-local.sh env)"
[ "${KEEP_SLURM:-0}" = 1 ] || trap 'scripts/slurm-local.sh stop' EXIT

fail() {
  echo "test-slurm: FAIL: $*" >&2
  for f in "$W"/*.out; do [ -f "$f" ] && { echo "--- $f" >&2; tail -n 40 "$f" >&2; }; done
  exit 1
}
state() { scontrol show job "$1" -o 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2; }
wait_done() {  # job id, timeout seconds -> waits until the job (or every task of an array) has ended
  local id=$1 limit=$2 t0 s
  t0=$(date +%s)
  while true; do
    s=$(scontrol show job "$id" -o 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2 | sort -u | tr '\n' ' ')
    case "$s" in
      "") fail "job $id vanished" ;;
      *PENDING*|*RUNNING*|*COMPLETING*|*CONFIGURING*|*REQUEUE*|*SUSPENDED*) ;;
      *) echo "$s"; return 0 ;;
    esac
    [ $(( $(date +%s) - t0 )) -lt "$limit" ] || fail "job $id still '$s' after $limit s"
    sleep 1
  done
}
step() { echo "test-slurm: [$(( $(date +%s) - START )) s] $*"; }

step "config $CONFIG ${ARGS:+($ARGS)}, $CPUS CPUs, work in $W"

# 1. Reference run, uninterrupted.
id=$(OUT=$W/ref.h5 SEAL_ARGS="$ARGS" LAUNCHER=srun sbatch --parsable --nodes=1 --ntasks-per-node=1 \
     --cpus-per-task=1 --output="$W/%x-%j.out" slurm/multi-node.sbatch)
step "reference: job $id (multi-node.sbatch: 1 node x 1 rank x 1 thread, srun)"
s=$(wait_done "$id" 900)
[ "$s" = "COMPLETED " ] || fail "reference job $id ended $s"
grep -q "1 threads per rank" "$W"/seal-mn-"$id".out || fail "the reference job did not run 1 thread per rank"
"$PY" scripts/slurm_check.py finished "$W/ref.h5" || fail "reference HDF5"

# 2. The same job on 2 ranks, requeued in the middle.
[ "$CPUS" -ge 2 ] || fail "the preemption test needs 2 CPUs for its 2 ranks"
id=$(OUT=$W/pre.h5 SEAL_ARGS="$ARGS" sbatch --parsable --ntasks=2 --cpus-per-task=1 --output="$W/%x-%j.out" \
     slurm/one-node.sbatch)
step "preemption: job $id (one-node.sbatch: 2 ranks x 1 thread, mpirun)"
t0=$(date +%s)
until "$PY" scripts/slurm_check.py round-done "$W/pre.h5" 0; do
  [ "$(state "$id")" = RUNNING ] || [ "$(state "$id")" = PENDING ] || fail "job $id is $(state "$id") before round 0 ended"
  [ $(( $(date +%s) - t0 )) -lt 600 ] || fail "round 0 not complete after 600 s"
  sleep 0.3
done
[ "$(state "$id")" = RUNNING ] || fail "job $id finished before it could be requeued (the job is too short)"
scontrol requeue "$id"
step "round 0 on disk: scontrol requeue $id"
# Slurm holds a requeued batch job for about two minutes (BeginTime). Let it start sooner, but only once the old
# instance is gone (node idle again) and a little later: Slurm revokes the job's old credential at the requeue, and a
# start within the same second fails with "Job credential revoked".
for _ in $(seq 120); do
  [ "$(state "$id")" = PENDING ] && [ "$(sinfo -h -n "$(hostname -s)" -o %t)" = idle ] && break
  sleep 0.5
done
sleep 3
scontrol update JobId="$id" StartTime=now || true
s=$(wait_done "$id" 900)
[ "$s" = "COMPLETED " ] || fail "requeued job $id ended $s"
log=$W/seal-$id.out
grep -q "DUE TO JOB REQUEUE" "$log" || fail "no requeue in $log"
grep -q "restart 1:" "$log" || fail "the job did not run a second time ($log)"
grep -q "resuming $W/pre.h5 after round" "$log" || fail "seal did not resume ($log)"
"$PY" scripts/slurm_check.py finished "$W/pre.h5" --resumed || fail "requeued HDF5"
"$PY" scripts/slurm_check.py same "$W/ref.h5" "$W/pre.h5" || fail "the requeued run's numbers differ from the uninterrupted run's"
step "requeued job resumed ($(grep -o 'resuming .* after round [0-9]*' "$log")) and matches the reference"

# 3. A 2-task array sweep over seeds.
id=$(SWEEP_SEEDS="0 1" OUT_DIR=$W/sweep SEAL_ARGS="--set run.rounds=1" sbatch --parsable --array=0-1 --ntasks=1 \
     --cpus-per-task=1 --output="$W/%x-%A_%a.out" slurm/sweep.sbatch)
step "sweep: array job $id (sweep.sbatch, seeds 0 1)"
s=$(wait_done "$id" 900)
[ "$s" = "COMPLETED " ] || fail "sweep $id ended $s"
name=$(basename "$CONFIG" .toml)
for seed in 0 1; do
  "$PY" scripts/slurm_check.py finished "$W/sweep/$name-seed$seed.h5" --seed "$seed" || fail "sweep seed $seed"
done
"$PY" -m analysis.report "$W"/sweep/*.h5 --out "$W/report" --quiet || fail "analysis.report on the sweep"
"$PY" - "$W/report/table2_knowledge.csv" <<'EOF' || fail "the sweep's report"
import sys, pandas as pd
t = pd.read_csv(sys.argv[1])
row = t[t.arm == "seal_round_1"]
assert len(row) == 1 and int(row.runs.iloc[0]) == 2, t
print(f"report: seal_round_1 averaged over {int(row.runs.iloc[0])} seeds")
EOF
step "PASS"
# The files of a passing test are of no further use (a failing one keeps them for a look).
[ -n "${TEST_SLURM_DIR:-}" ] || rm -rf "$W"
