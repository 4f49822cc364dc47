# The body of every seal batch script in slurm/ (sourced by them; not a batch script itself).
#
# It launches `seal <DOMAIN> <COMMAND> --config CONFIG --out OUT` on every rank of the allocation, and makes the job
# survive preemption: seal checkpoints every ReSTEM round (OUT.ckpt/) and, started again with the same command,
# resumes after the last completed round. So a job submitted with --requeue that Slurm requeues (preemption,
# `scontrol requeue`, node failure) simply runs this script again and continues where it was. Before the time
# limit (--signal=B:USR1@SECONDS) the script stops seal and requeues the job itself.
#
# Variables (set them in the environment of sbatch, e.g. `CONFIG=jobs/x.toml sbatch slurm/one-node.sbatch`, or
# with sbatch --export=ALL,CONFIG=...):
#   SEAL_REPO     repository root; the job runs there, so relative paths in configs (../shared/...) work
#                 [$SLURM_SUBMIT_DIR: submit from the repository root]
#   SEAL_BIN      the seal binary                                   [$SEAL_REPO/.build/release/seal]
#   DOMAIN        seal subcommand: knowledge (arc once it lands)     [knowledge]
#   COMMAND       train (ReSTEM rounds, then the seal_round_N arm) or eval (the configured arms)   [train]
#   CONFIG        experiment config                                 [jobs/toyworld-smoke.toml if it exists,
#                                                                    else jobs/knowledge-tiny.toml]
#   OUT           HDF5 metrics file; checkpoints go to OUT.ckpt/. Keep it the same across requeues and
#                 resubmissions: that is what makes a run resume    [runs/<config name><suffix>.h5]
#   SEED          run seed (--seed); empty: the config's run.seed    []
#   SEAL_ARGS     more seal arguments, e.g. "--set sampling.samples=5 --set run.rounds=3"   []
#   LAUNCHER      mpirun (OpenMPI's, reads the Slurm allocation) or srun   [mpirun]
#   SRUN_MPI      srun's --mpi plugin (Debian's Slurm + OpenMPI: pmix)    [pmix]
#   MPIRUN_ARGS   extra mpirun flags. --bind-to none is always given (a rank's BLAS threads need all of its
#                 --cpus-per-task cores); in unprivileged containers add
#                 "--mca btl self,vader --mca btl_vader_single_copy_mechanism none"   []
#   MODULES       environment modules to load first, e.g. "openmpi/4.1 hdf5/1.10 openblas/0.3"   []
#   REQUEUE_ON_TIMEOUT  1: on the time-limit warning signal, stop seal and requeue the job   [1]
#   REPORT        1: after a successful run, write python3 -m analysis.report's tables and figures to
#                 OUT without .h5 + "-report/"                       [0]
# Threads: each rank runs SLURM_CPUS_PER_TASK BLAS threads (seal reads it when run.threads is 0, the default; do
# not put run.threads in SEAL_ARGS, a different value on a resubmission would count as a different config).
# Set by the array script: OUT_SUFFIX (appended to the default OUT name) and SWEEP_ARGS (appended to SEAL_ARGS).

set -euo pipefail

seal_log() { echo "[seal-slurm $(date -u +%H:%M:%S)] $*"; }
seal_die() { echo "[seal-slurm] error: $*" >&2; exit 2; }

SEAL_REPO=${SEAL_REPO:-${SLURM_SUBMIT_DIR:-$PWD}}
cd "$SEAL_REPO" || seal_die "SEAL_REPO=$SEAL_REPO is not a folder"
[ -f Package.swift ] && [ -d jobs ] || seal_die "$SEAL_REPO is not the seal repository (submit from its root or set SEAL_REPO)"

if [ -n "${MODULES:-}" ]; then
  command -v module >/dev/null 2>&1 || seal_die "MODULES is set but the module command is missing"
  # shellcheck disable=SC2086
  module load $MODULES
fi

SEAL_BIN=${SEAL_BIN:-$SEAL_REPO/.build/release/seal}
[ -x "$SEAL_BIN" ] || seal_die "no seal binary at $SEAL_BIN (build it: swift build -c release --product seal)"
DOMAIN=${DOMAIN:-knowledge}
COMMAND=${COMMAND:-train}
if [ -z "${CONFIG:-}" ]; then
  if [ -f jobs/toyworld-smoke.toml ]; then CONFIG=jobs/toyworld-smoke.toml; else CONFIG=jobs/knowledge-tiny.toml; fi
fi
[ -f "$CONFIG" ] || seal_die "CONFIG=$CONFIG does not exist (relative to $SEAL_REPO)"
name=$(basename "$CONFIG" .toml)
OUT=${OUT:-runs/$name${OUT_SUFFIX:-}.h5}
mkdir -p "$(dirname "$OUT")"
LAUNCHER=${LAUNCHER:-mpirun}
REQUEUE_ON_TIMEOUT=${REQUEUE_ON_TIMEOUT:-1}

# Threads per rank. Without --cpus-per-task Slurm sets no SLURM_CPUS_PER_TASK and seal would start one thread per
# core of the node in every rank; share the node's CPUs among the ranks on it instead.
if [ -z "${SLURM_CPUS_PER_TASK:-}" ]; then
  per_node=${SLURM_NTASKS_PER_NODE:-${SLURM_TASKS_PER_NODE%%(*}}
  per_node=${per_node%%,*}
  cpus=${SLURM_CPUS_ON_NODE:-$(nproc)}
  export SLURM_CPUS_PER_TASK=$(( cpus / ${per_node:-1} > 0 ? cpus / ${per_node:-1} : 1 ))
  seal_log "no --cpus-per-task: using $SLURM_CPUS_PER_TASK threads per rank ($cpus CPUs, ${per_node:-1} ranks on this node)"
fi
export OPENBLAS_NUM_THREADS=$SLURM_CPUS_PER_TASK OMP_NUM_THREADS=$SLURM_CPUS_PER_TASK

args=("$DOMAIN" "$COMMAND" --config "$CONFIG" --out "$OUT")
[ -n "${SEED:-}" ] && args+=(--seed "$SEED")
# shellcheck disable=SC2206
extra=(${SEAL_ARGS:-} ${SWEEP_ARGS:-})
if [ "${SLURM_RESTART_COUNT:-0}" -gt 0 ]; then
  # A requeued job must resume, not start over.
  kept=()
  for a in "${extra[@]}"; do
    if [ "$a" = --overwrite ]; then seal_log "requeued: ignoring --overwrite so that the run resumes"; else kept+=("$a"); fi
  done
  extra=("${kept[@]}")
fi
args+=("${extra[@]}")

case "$LAUNCHER" in
  srun)
    launch=(srun --mpi="${SRUN_MPI:-pmix}" --cpus-per-task="$SLURM_CPUS_PER_TASK" --kill-on-bad-exit=1 "$SEAL_BIN" "${args[@]}") ;;
  mpirun)
    flags=(--bind-to none)
    [ "$(id -u)" -eq 0 ] && flags+=(--allow-run-as-root)
    # shellcheck disable=SC2206
    flags+=(${MPIRUN_ARGS:-})
    launch=(mpirun "${flags[@]}" -np "${SLURM_NTASKS:-1}" "$SEAL_BIN" "${args[@]}") ;;
  *) seal_die "LAUNCHER=$LAUNCHER: use mpirun or srun" ;;
esac

seal_log "job ${SLURM_JOB_ID:-?}${SLURM_ARRAY_TASK_ID:+ (array task $SLURM_ARRAY_TASK_ID)} restart ${SLURM_RESTART_COUNT:-0}:" \
  "${SLURM_NTASKS:-1} ranks on ${SLURM_JOB_NUM_NODES:-1} node(s) [${SLURM_JOB_NODELIST:-$(hostname)}]," \
  "$SLURM_CPUS_PER_TASK threads per rank"
[ -e "$OUT" ] && seal_log "$OUT exists: seal resumes it after its last completed round"
seal_log "${launch[*]}"

# seal runs in the background so that this shell can act on signals while it waits.
child=""
stopping=""
on_term() {  # preemption / scancel / scontrol requeue: Slurm signals every process of the job; pass it on and wait
  stopping=term
  seal_log "SIGTERM: stopping seal (it resumes from its last completed round when the job runs again)"
  [ -n "$child" ] && kill -TERM "$child" 2>/dev/null || true
}
on_timeout() {  # --signal=B:USR1@N: the time limit is near
  stopping=timeout
  seal_log "time limit near: stopping seal"
  [ -n "$child" ] && kill -TERM "$child" 2>/dev/null || true
}
trap on_term TERM
trap on_timeout USR1

"${launch[@]}" &
child=$!
rc=0
# wait returns early (status > 128) when a trapped signal arrives: go on waiting until seal has really exited, then
# collect its own status if the last wait was cut short just as it exited (127: already collected).
while kill -0 "$child" 2>/dev/null; do
  wait "$child" && rc=0 || rc=$?
done
wait "$child" 2>/dev/null && rc=0 || { r=$?; [ "$r" -ne 127 ] && rc=$r; }
trap - TERM USR1

if [ "$stopping" = timeout ] && [ "$REQUEUE_ON_TIMEOUT" = 1 ] && [ -n "${SLURM_JOB_ID:-}" ]; then
  seal_log "requeueing job $SLURM_JOB_ID to continue"
  scontrol requeue "$SLURM_JOB_ID" || seal_log "scontrol requeue failed (was the job submitted with --requeue?)"
  exit "$rc"
fi
if [ -n "$stopping" ]; then
  # Stopped by a signal: whatever seal's status (a graceful stop may be 0), the run is not finished.
  seal_log "seal stopped (status $rc, $stopping); the run resumes when the job runs again"
  exit $(( rc != 0 ? rc : 143 ))
fi
if [ "$rc" -ne 0 ]; then
  seal_log "seal exited with status $rc"
  exit "$rc"
fi
seal_log "done: $OUT"
if [ "${REPORT:-0}" = 1 ]; then
  /usr/bin/python3 -m analysis.report "$OUT" --out "${OUT%.h5}-report" || seal_log "analysis.report failed (the run itself is fine)"
fi
