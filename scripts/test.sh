#!/usr/bin/env bash
# make test: every test, against a throwaway PostgreSQL that is removed afterwards, pass or fail.
#
#   scripts/test.sh            unit (plain + ASan/UBSan), then integration tests
#   scripts/test.sh unit       unit tests only (and the layering check, scripts/check-layering.sh)
#   scripts/test.sh integration integration tests only
#   TESTS=0003 scripts/test.sh integration tests whose file name contains 0003 (and units);
#                             TESTS='0003 0010' those that contain any of the words
#
# SLUICED and SLUICE_CLI name the binaries under test (default: the release build);
# make test-san sets them to the sanitizer build and TEST_SAN=1, which fails a test when an
# ASan, LSan or UBSan report is in its output or in a file under its $TEST_TMP (the api's and the
# controlplane's logs), even from a process whose exit status the test does not look at.
# A unit test is a Check program (tests/unit/*_test.c). An integration test is an executable
# script tests/integration/NNNN-name.sh: exit 0 passes, 77 skips, anything else fails. Each gets
# its own empty database ($DATABASE_URL) in the shared throwaway cluster, and $TEST_TMP.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build=${BUILD:-build}
what=${1:-all}
SLUICED=${SLUICED:-$build/rel/sluiced} SLUICE_CLI=${SLUICE_CLI:-$build/rel/sluice}
[[ $SLUICED == /* ]] || SLUICED=$root/$SLUICED
[[ $SLUICE_CLI == /* ]] || SLUICE_CLI=$root/$SLUICE_CLI
export SLUICED SLUICE_CLI SLUICE_ROOT="$root"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
san_reports=${TEST_SAN:-0}

passed=0 failed=0 skipped=0
failures=()
logdir="$root/$build/test-logs"
rm -rf "$logdir"; mkdir -p "$logdir"

pgdir=""
cleanup() {
  [ -n "$pgdir" ] && scripts/pg.sh destroy "$pgdir" >/dev/null 2>&1
  [ -n "$pgdir" ] && rm -rf "$pgdir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

run_unit() {
  local bin=$1 name out
  name=${bin#"$root/$build/"}
  out="$logdir/${name//\//_}.log"
  if timeout 300 "$bin" >"$out" 2>&1; then
    local n; n=$(grep -oE 'Checks: [0-9]+' "$out" | awk '{s+=$2} END {print s+0}')
    passed=$((passed + (n > 0 ? n : 1)))
    printf 'ok    %-50s %s checks\n' "$name" "$n"
  else
    local n f; n=$(grep -oE 'Checks: [0-9]+' "$out" | awk '{s+=$2} END {print s+0}')
    f=$(grep -oE '(Failures|Errors): [0-9]+' "$out" | awk '{s+=$2} END {print s+0}')
    [ "$f" -gt 0 ] || f=1
    passed=$((passed + n - f)); [ $passed -lt 0 ] && passed=0
    failed=$((failed + f)); failures+=("$name")
    printf 'FAIL  %-50s (log: %s)\n' "$name" "$out"; tail -n 30 "$out" | sed 's/^/      /'
  fi
}

if [ "$what" = all ] || [ "$what" = unit ]; then
  echo "== unit tests (plain and ASan/UBSan, side by side)"
  # the two builds' unit tests run at once, each list in its own subshell, which leaves its
  # printed lines, its counts and its failures in files read back here
  for kind in rel san; do
    (
      passed=0 failed=0 failures=()
      for bin in $build/$kind/tests/unit/*_test; do
        [ -x "$bin" ] && run_unit "$root/$bin"
      done
      echo "$passed $failed ${failures[*]}" >"$logdir/unit-$kind.counts"
    ) >"$logdir/unit-$kind.out" 2>&1 &
  done
  wait
  for kind in rel san; do
    cat "$logdir/unit-$kind.out"
    read -r p f rest <"$logdir/unit-$kind.counts" || { p=0 f=1 rest="unit-$kind"; }
    passed=$((passed + p)) failed=$((failed + f))
    for n in $rest; do failures+=("$n"); done
  done
  # Who may include and call whom (issue 14): a broken rule fails the run like a failed test.
  if BUILD=$build scripts/check-layering.sh >"$logdir/check-layering.log" 2>&1; then
    passed=$((passed + 1)); printf 'ok    %-50s\n' "scripts/check-layering.sh"
  else
    failed=$((failed + 1)); failures+=("check-layering")
    printf 'FAIL  %-50s (log: %s)\n' "scripts/check-layering.sh" "$logdir/check-layering.log"
    grep -v '^ok' "$logdir/check-layering.log" | sed 's/^/      /'
  fi
fi

# run_integration T NAME LANE: one integration test (in the background), its result in
# $logdir/NAME.rc as "exit-status seconds". Each test has its own database, $TEST_TMP and
# lane: the lane's share of free_port's range (tests/integration/lib.sh), so that two tests
# running at once never pick the same port.
run_integration() {
  local t=$1 name=$2 lane=$3 db rc start reports found
  db="t_${name//[^a-zA-Z0-9]/_}"
  psql -q "$base_url" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null 2>&1
  export DATABASE_URL="${base_url%/sluice}/$db" TEST_LANE=$lane TEST_LANES=$jobs
  export TEST_TMP="$root/$build/test-tmp/$name"
  rm -rf "$TEST_TMP"; mkdir -p "$TEST_TMP"
  start=$(date +%s)
  timeout --kill-after=10 "${TEST_TIMEOUT:-300}" bash "$t" >"$logdir/$name.log" 2>&1
  rc=$?
  if [ "$san_reports" = 1 ] && reports=$(grep -rlsIE 'ERROR: (Address|Leak)Sanitizer|runtime error: ' \
       "$logdir/$name.log" "$TEST_TMP"); then
    found=$(for f in $reports; do
      echo "sanitizer report in $f:"; grep -hE -A12 'ERROR: (Address|Leak)Sanitizer|runtime error: ' "$f" | head -n 40
    done)
    echo "$found" >>"$logdir/$name.log"
    if [ $rc -eq 0 ] || [ $rc -eq 77 ]; then rc=1; fi
  fi
  echo "$rc $(( $(date +%s) - start ))" >"$logdir/$name.rc"
}

# report_integration NAME: counts and prints the result run_integration left.
report_integration() {
  local name=$1 rc secs
  read -r rc secs <"$logdir/$name.rc" 2>/dev/null || { rc=1; secs=?; }
  if [ "$rc" -eq 0 ]; then
    passed=$((passed + 1)); printf 'ok    %-50s %ss\n' "$name" "$secs"
  elif [ "$rc" -eq 77 ]; then
    skipped=$((skipped + 1)); printf 'skip  %-50s %s\n' "$name" "$(tail -n 1 "$logdir/$name.log")"
  else
    failed=$((failed + 1)); failures+=("$name")
    printf 'FAIL  %-50s exit %s after %ss (log: %s)\n' "$name" "$rc" "$secs" "$logdir/$name.log"
    tail -n 40 "$logdir/$name.log" | sed 's/^/      /'
  fi
}

# TEST_JOBS integration tests run at once (default 2: most of a test's time is spent waiting on
# the processes it started). A test whose file has the line "# test: alone" (timing-sensitive
# kill rounds, CPU-heavy fuzzing or browsing) runs with no other test beside it.
declare -A running=() lanes=()
reap_one() { # waits for one running test and reports it
  local pid
  wait -n -p pid "${!running[@]}" || true
  [ -n "${pid:-}" ] && [ -n "${running[$pid]:-}" ] || return 0
  report_integration "${running[$pid]}"
  unset "lanes[${running[$pid]}]" "running[$pid]"
}
free_lane() {
  local l used
  for ((l = 0; l < jobs; l++)); do
    used=false
    for n in "${!lanes[@]}"; do [ "${lanes[$n]}" = "$l" ] && used=true; done
    $used || { echo "$l"; return; }
  done
  echo 0
}

if [ "$what" = all ] || [ "$what" = integration ]; then
  jobs=${TEST_JOBS:-2}
  echo "== integration tests ($SLUICED, $jobs at a time)"
  pgdir=$(mktemp -d "$root/var/test-pg.XXXXXX" 2>/dev/null || { mkdir -p "$root/var"; mktemp -d "$root/var/test-pg.XXXXXX"; })
  if ! base_url=$(PG_FSYNC=off scripts/pg.sh start "$pgdir"); then
    echo "FAIL  could not start the test PostgreSQL"; failed=$((failed + 1))
  else
    export PG_ADMIN_URL="$base_url" PG_DIR="$pgdir"
    for t in tests/integration/[0-9]*.sh; do
      [ -f "$t" ] || continue
      if [ -n "${TESTS:-}" ]; then # any of its words: TESTS='0010 0018'
        wanted=false
        for pattern in $TESTS; do [[ "$t" == *"$pattern"* ]] && wanted=true; done
        $wanted || continue
      fi
      name=$(basename "$t" .sh)
      alone=false; grep -q '^# test: alone' "$t" && alone=true
      # an alone test starts once every running test has ended, and ends before the next starts
      while [ ${#running[@]} -ge "$($alone && echo 1 || echo "$jobs")" ]; do reap_one; done
      lane=$(free_lane)
      run_integration "$t" "$name" "$lane" &
      running[$!]=$name; lanes[$name]=$lane
      if $alone; then reap_one; fi
    done
    while [ ${#running[@]} -gt 0 ]; do reap_one; done
  fi
fi

echo
[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]}"
if [ $skipped -gt 0 ]; then echo "$passed passed, $failed failed, $skipped skipped"; else echo "$passed passed, $failed failed"; fi
[ $failed -eq 0 ]
