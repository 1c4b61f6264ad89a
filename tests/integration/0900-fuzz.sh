#!/usr/bin/env bash
# A short libFuzzer run of every harness in tests/fuzz/ (seeded from tests/fuzz/corpus/NAME/).
# FUZZ_SECONDS sets the time per harness (default 10, so that `make test` stays under its 20
# minutes). FUZZ_SEED fixes libFuzzer's seed (default
# 1, so a failure in CI replays here with the same inputs; FUZZ_SEED=0 picks a random one).
# Longer runs: `make fuzz`.
. "$(dirname "$0")/lib.sh"
fuzzdir="$SLUICE_ROOT/${BUILD:-build}/fuzz"
ran=0
for f in "$fuzzdir"/*_fuzz; do
  [ -x "$f" ] || continue
  name=$(basename "$f")
  corpus="$TEST_TMP/$name"; mkdir -p "$corpus"
  seeds="$SLUICE_ROOT/tests/fuzz/corpus/${name%_fuzz}"
  [ -d "$seeds" ] && cp "$seeds"/* "$corpus"/ 2>/dev/null || true
  echo "fuzzing $name for ${FUZZ_SECONDS:-10}s, seed ${FUZZ_SEED:-1}"
  (cd "$TEST_TMP" && ASAN_OPTIONS=detect_leaks=1 "$f" -seed="${FUZZ_SEED:-1}" -max_total_time="${FUZZ_SECONDS:-10}" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 "$corpus") \
    || fail "$name found a crash (see the log above)"
  ran=$((ran + 1))
done
[ $ran -gt 0 ] || { echo "no fuzz harnesses built yet"; exit 77; }
