#!/usr/bin/env bash
# A real, one-node Slurm on this machine, for tests of the batch scripts in slurm/ (make test-slurm).
#
#   scripts/slurm-local.sh start    install Debian's slurm-wlm and munge if missing, write a slurm.conf for this
#                                   host, start munged, slurmctld and slurmd, wait until the node is idle
#   scripts/slurm-local.sh stop     stop the three daemons (state stays in $SLURM_LOCAL_DIR; `clean` removes it)
#   scripts/slurm-local.sh status   print the daemons' state and sinfo
#   scripts/slurm-local.sh env      print `export SLURM_CONF=...` (eval it to use sbatch/squeue by hand)
#
# Nothing is written under /etc: the config, munge key, sockets, logs and state all live in $SLURM_LOCAL_DIR, and
# clients find the config through SLURM_CONF (this script prints it; test-slurm.sh sets it). The daemons listen on
# private ports so that they cannot collide with a site Slurm or another copy on the same machine.
#
# Variables (all optional):
#   SLURM_LOCAL_DIR   where everything lives                          [/tmp/seal-slurm-local-$(id -u)]
#   SLURM_LOCAL_PORT  slurmctld port; slurmd uses the next one         [16817]
#   SLURM_LOCAL_CPUS  CPUs the node offers                             [what `slurmd -C` finds]
#   SLURM_LOCAL_MEM   memory the node offers in MB                     [what `slurmd -C` finds, minus 5 %]
#
# Root and non-root. As root (containers, CI) everything runs as root. As another user, apt-get and slurmd run
# through sudo (slurmd must be root to start job steps as their owner), while munged and slurmctld run as that user
# (SlurmUser = that user), with the key and state owned by them; the user needs sudo rights for those two commands.
set -euo pipefail

DIR=${SLURM_LOCAL_DIR:-/tmp/seal-slurm-local-$(id -u)}
PORT=${SLURM_LOCAL_PORT:-16817}
ME=$(id -un)
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
CONF=$DIR/etc/slurm.conf
SOCKET=$DIR/munge/munge.socket
export SLURM_CONF=$CONF

log() { echo "slurm-local: $*"; }
die() { echo "slurm-local: error: $*" >&2; exit 1; }

install_packages() {
  local missing=()
  for p in slurm-wlm munge; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null \
    || die "slurmctld, slurmd or munged not found after installing slurm-wlm and munge"
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

write_config() {
  mkdir -p "$DIR"/{etc,munge,state,spool,log,run}
  chmod 755 "$DIR/munge"   # munged wants its socket directory searchable by all; the key itself is 0400
  local host node cpus mem
  host=$(hostname -s)
  node=$(slurmd -C | head -1)
  cpus=${SLURM_LOCAL_CPUS:-$(sed -n 's/.* CPUs=\([0-9]*\).*/\1/p' <<<"$node")}
  mem=${SLURM_LOCAL_MEM:-$(( $(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$node") * 95 / 100 ))}
  local topo
  topo=$(grep -o 'Boards=[0-9]* SocketsPerBoard=[0-9]* CoresPerSocket=[0-9]* ThreadsPerCore=[0-9]*' <<<"$node" || true)
  [ -n "${SLURM_LOCAL_CPUS:-}" ] && topo=""   # a CPU count of one's own choosing cannot keep the real topology
  cat >"$CONF" <<EOF
# Written by scripts/slurm-local.sh: a one-node cluster on $host for tests.
ClusterName=seal-local
SlurmctldHost=$host(127.0.0.1)
SlurmUser=$ME
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCKET
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups (containers rarely delegate them): processes are tracked by parentage, tasks are not pinned.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
MpiDefault=none
ReturnToService=2
# Requeue: a requeued job gets SIGTERM (seal's resume point is its last completed round), then SIGKILL after KillWait.
JobRequeue=1
KillWait=30
MinJobAge=600
SchedulerParameters=defer_batch
SlurmctldTimeout=30
SlurmdTimeout=60
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus $topo RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
  # The plugin stack config is optional but Slurm warns when the file it names is missing.
  : >"$DIR/etc/plugstack.conf"
  echo "PlugStackConfig=$DIR/etc/plugstack.conf" >>"$CONF"
}

start_munge() {
  if pid_alive "$DIR/munge/munged.pid"; then return; fi
  if [ ! -s "$DIR/munge/munge.key" ]; then
    # A fresh key for this private cluster (munge's own key in /etc/munge belongs to the munge user).
    dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1 count=1024 status=none
    chmod 400 "$DIR/munge/munge.key"
  fi
  munged --socket="$SOCKET" --key-file="$DIR/munge/munge.key" --pid-file="$DIR/munge/munged.pid" \
    --log-file="$DIR/log/munged.log" --seed-file="$DIR/munge/munged.seed" \
    || die "munged did not start (see $DIR/log/munged.log)"
  for _ in $(seq 50); do [ -S "$SOCKET" ] && return; sleep 0.1; done
  die "munged socket $SOCKET did not appear (see $DIR/log/munged.log)"
}

wait_idle() {
  local host state=""
  host=$(hostname -s)
  for _ in $(seq 120); do
    state=$(sinfo -h -n "$host" -o '%t' 2>/dev/null | head -1 || true)
    case "$state" in idle|mix|alloc) return 0 ;; esac
    sleep 0.5
  done
  die "node $host is '${state:-unknown}', not idle, after 60 s (see $DIR/log/slurmctld.log and slurmd.log)"
}

start() {
  install_packages
  if pid_alive "$DIR/run/slurmctld.pid" && pid_alive "$DIR/run/slurmd.pid" && pid_alive "$DIR/munge/munged.pid"; then
    log "already running ($CONF)"
    wait_idle
    return
  fi
  stop_daemons quiet
  write_config
  start_munge
  # -c: clear old job state, so a previous test's jobs do not come back.
  slurmctld -c -f "$CONF" || die "slurmctld did not start (see $DIR/log/slurmctld.log)"
  $SUDO env SLURM_CONF="$CONF" slurmd -f "$CONF" || die "slurmd did not start (see $DIR/log/slurmd.log)"
  wait_idle
  log "running: $(sinfo -h -o '%P %D node(s) %c CPUs %m MB %t')"
  log "use it with: export SLURM_CONF=$CONF"
}

stop_one() {  # pidfile name [sudo]
  local pf=$1 name=$2 sudo=${3:-}
  if pid_alive "$pf"; then
    local pid
    pid=$(cat "$pf")
    $sudo kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then $sudo kill -9 "$pid" 2>/dev/null || true; fi
    [ "${4:-}" = quiet ] || log "stopped $name"
  fi
}

stop_daemons() {
  stop_one "$DIR/run/slurmd.pid" slurmd "$SUDO" "${1:-}"
  stop_one "$DIR/run/slurmctld.pid" slurmctld "" "${1:-}"
  stop_one "$DIR/munge/munged.pid" munged "" "${1:-}"
}

case "${1:-}" in
  start) start ;;
  stop) stop_daemons ;;
  clean) stop_daemons; rm -rf "$DIR"; log "removed $DIR" ;;
  status)
    for d in run/slurmctld run/slurmd munge/munged; do
      if pid_alive "$DIR/$d.pid"; then echo "$(basename $d): running (pid $(cat "$DIR/$d.pid"))"; else echo "$(basename $d): stopped"; fi
    done
    pid_alive "$DIR/run/slurmctld.pid" && sinfo || true ;;
  env) echo "export SLURM_CONF=$CONF" ;;
  *) echo "usage: $0 start|stop|status|env|clean" >&2; exit 2 ;;
esac
