#!/usr/bin/env bash
# `sluice preview` against a scripted stand-in for POST /v1/preview
# (tests/tools/sdk_fake_preview.c), which the real api does not serve yet; activate
# --wait, logs and usage run against the real api and controlplane in 0530.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cli_lib.sh"

cli_env
fake=$(dirname "$SLUICED")/tests/tools/sdk_fake_preview
[ -x "$fake" ] || fail "missing $fake (make build)"

bg "$fake" >"$TEST_TMP/port"
wait_for 10 test -s "$TEST_TMP/port" || fail "the fake server did not start"
export SLUICE_API_URL=http://127.0.0.1:$(head -n 1 "$TEST_TMP/port") SLUICE_API_KEY=sk_test

run "$S" preview --sql 'SELECT auction, price FROM bids' --limit 3
expect 0 "preview"
assert_eq "$(wc -l <<<"$out")" 4 "preview prints a header and --limit rows"
grep -Eq '^1002 +20$' <<<"$out" || fail "preview rows: [$out]"
run "$S" preview --sql 'SELECT bogus FROM bids'
expect 1 "preview with invalid SQL"
assert_contains "$err" 'column "bogus" not found (line 1, column 8)' "invalid SQL position"
run "$S" preview
expect 2 "preview without SQL"
echo ok
