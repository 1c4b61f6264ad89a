#!/usr/bin/env bash
# check-layering.sh — the dependency rules of the tree (issue 14), checked on the sources and on
# the built objects; run by scripts/test.sh with the unit tests.
#
#   1. No file under dataplane/ includes a header of controlplane/ or api/.
#   2. No file under common/ includes a header of api/, controlplane/, dataplane/ or sdk/.
#   3. No two .c files of dataplane/sql/ call each other's functions, and their calls form no
#      longer circle either: read from the symbols of $BUILD/rel/dataplane/sql/*.o (nm), so
#      build first. Prints who calls whom.
#
# Prints each violation; exits 0 when there is none, 1 when there is one, 2 when it cannot check.
set -uo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
build=${BUILD:-build}
bad=0

includes() { # includes DIR PATTERN RULE: #include "PATTERN..." lines in DIR's .c and .h files
  local hits
  hits=$(grep -rnE --include='*.c' --include='*.h' "^[[:space:]]*#[[:space:]]*include[[:space:]]*\"($2)/" "$1")
  if [ -n "$hits" ]; then
    echo "FAIL  $3:"; echo "$hits" | sed 's/^/      /'; bad=1
  else
    echo "ok    $3"
  fi
}
includes dataplane 'controlplane|api' "no dataplane/ file includes a controlplane/ or api/ header"
includes common 'api|controlplane|dataplane|sdk' "no common/ file includes an api/, controlplane/, dataplane/ or sdk/ header"

objdir=$build/rel/dataplane/sql
srcs=$(cd dataplane/sql && ls ./*.c | sed 's|^\./||')
for c in $srcs; do
  if [ ! -f "$objdir/${c%.c}.o" ]; then
    echo "FAIL  cannot check dataplane/sql calls: $objdir/${c%.c}.o is missing (make build first)"
    exit 2
  fi
done

# symbol -> the file that defines it; then one "caller callee" line per call between files.
defs=$(for c in $srcs; do nm -g --defined-only "$objdir/${c%.c}.o" | awk -v f="$c" 'NF == 3 { print $3, f }'; done)
edges=$(for c in $srcs; do
  nm -u "$objdir/${c%.c}.o" | awk '{ print $NF }' | sort -u |
    join - <(echo "$defs" | sort -k1,1) | awk -v f="$c" '$2 != f { print f, $2 }'
done | sort -u)

echo "      dataplane/sql calls (caller: callees):"
for c in $srcs; do
  printf '        %-12s %s\n' "$c:" "$(echo "$edges" | awk -v f="$c" '$1 == f { printf "%s ", $2 }')"
done

mutual=$(echo "$edges" | awk 'NF == 2 { seen[$1 " " $2] = 1 } END { for (e in seen) { split(e, p, " "); if (p[1] < p[2] && ((p[2] " " p[1]) in seen)) print p[1] " <-> " p[2] } }')
if [ -n "$mutual" ]; then
  echo "FAIL  .c files of dataplane/sql/ that call each other:"; echo "$mutual" | sed 's/^/      /'; bad=1
else
  echo "ok    no two .c files of dataplane/sql/ call each other"
fi
if loop=$(echo "$edges" | tsort 2>&1 >/dev/null) && [ -z "$loop" ]; then
  echo "ok    the calls between dataplane/sql/ files form no circle"
else
  echo "FAIL  the calls between dataplane/sql/ files form a circle:"; echo "$loop" | sed 's/^/      /'; bad=1
fi
exit $bad
