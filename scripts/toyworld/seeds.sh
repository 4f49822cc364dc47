#!/usr/bin/env bash
# The make-run job (jobs/toyworld.toml) over several seeds, then one report that averages them (mean ± std per arm):
# the spread the toy-world table is read against. Each seed changes the self-edits sampled, the LoRA inits and the
# ReSTEM data order; the model and the people are the same.
# Usage: scripts/toyworld/seeds.sh [SEEDS...]    (default: 0 1 2; RANKS=2; OUT=runs/seeds; extra seal args in SEAL_ARGS)
# A seed whose file exists resumes it (a finished one is kept); a file written by another configuration or seal
# version with new keys is an error, as for any run: pick a new OUT.
set -euo pipefail
cd "$(dirname "$0")/../.."
SEEDS=${*:-0 1 2}
RANKS=${RANKS:-2}
OUT=${OUT:-runs/seeds}
MPIRUN=${MPIRUN:-mpirun --allow-run-as-root --oversubscribe --bind-to none --mca btl self,vader --mca btl_vader_single_copy_mechanism none}
mkdir -p "$OUT"
for s in $SEEDS; do
  t0=$(date +%s)
  # shellcheck disable=SC2086
  $MPIRUN -np "$RANKS" .build/release/seal knowledge train --config jobs/toyworld.toml --out "$OUT/toyworld-seed$s.h5" \
    --quiet --set run.threads=1 --set run.seed="$s" ${SEAL_ARGS:-}
  echo "seed $s: $(( $(date +%s) - t0 )) s"
done
${PYTHON:-/usr/bin/python3} -m analysis.report "$OUT"/toyworld-seed*.h5 --out "$OUT/report" --quiet
cat "$OUT/report/table2_knowledge.md"
