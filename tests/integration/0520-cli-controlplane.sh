#!/usr/bin/env bash
# The CLI's control-plane commands (activate --wait, logs [-f], usage, preview) against a
# scripted stand-in for those endpoints (tests/tools/sdk_fake_controlplane.c), until the real
# control plane serves them: the CLI side of the contract is what is tested here.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cli_lib.sh"

S=$SLUICE_CLI
fake=$(dirname "$SLUICED")/tests/tools/sdk_fake_controlplane
[ -x "$fake" ] || fail "missing $fake (make build)"
export HOME=$TEST_TMP/home
mkdir -p "$HOME"
unset XDG_CONFIG_HOME SLUICE_CA_FILE SLUICE_PROFILE

bg "$fake" >"$TEST_TMP/port"
wait_for 10 test -s "$TEST_TMP/port" || fail "the fake server did not start"
export SLUICE_API_URL=http://127.0.0.1:$(head -n 1 "$TEST_TMP/port") SLUICE_API_KEY=sk_test

run "$S" activate pipeline good --wait --timeout 20s
expect 0 "activate --wait until running"
assert_eq "$out" "pipeline/good running" "activate --wait output"

run "$S" activate pipeline broken --wait --timeout 20s
expect 1 "activate --wait on a pipeline that fails"
assert_contains "$err" "pipeline/broken failed: sink unreachable: connection refused" "failure names last_error"

run "$S" logs pipeline good -f
expect 0 "logs -f (event stream)"
assert_eq "$out" "$(printf '%s\n' '2026-11-25T00:00:00Z info task 0 started' \
  '2026-11-25T00:00:01Z info read 1000 records' '2026-11-25T00:00:02Z warn slow sink')" "followed lines"
run "$S" logs pipeline good
expect 0 "logs (JSON)"
assert_eq "$(wc -l <<<"$out")" 2 "logged lines"
run "$S" logs pipeline missing
expect 3 "logs of a missing pipeline"
run "$S" logs stream good
expect 2 "logs of a stream"
assert_contains "$err" "only pipelines and connections have logs" "logs of a stream message"

run "$S" usage --from 2026-11-01T00:00:00Z --to 2026-12-01T00:00:00Z -o json
expect 0 "usage"
assert_eq "$(jq -r .from <<<"$out")" 2026-11-01T00:00:00Z "usage passes --from"
assert_eq "$(jq -r .to <<<"$out")" 2026-12-01T00:00:00Z "usage passes --to"
run "$S" usage
grep -Eq '^RESOURCE +TASK_HOURS +RECORDS_IN$' <<<"$out" || fail "usage table header: [$out]"
grep -Eq '^pipeline/good +1.5 +1000$' <<<"$out" || fail "usage table row: [$out]"

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
