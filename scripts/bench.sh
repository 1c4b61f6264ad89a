#!/usr/bin/env bash
# make bench: every bench/*.sh in order; each prints its figures next to a baseline measured in
# the same run. Benchmarks report; they never fail on a speed target.
set -uo pipefail
cd "$(dirname "$0")/.."
export SLUICED="$PWD/${BUILD:-build}/rel/sluiced" SLUICE_ROOT="$PWD"
rc=0
for b in bench/*.sh; do
  [ -f "$b" ] || continue
  echo "== $(basename "$b" .sh)"
  bash "$b" || { echo "bench $(basename "$b") failed"; rc=1; }
  echo
done
exit $rc
