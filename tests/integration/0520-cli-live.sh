#!/usr/bin/env bash
# The CLI's control-plane commands against the real api and controlplane (datagen connection,
# real worker): apply the example, activate --wait, get, logs, logs -f, usage, deactivate --wait,
# delete; and activate --wait on a pipeline that crash-loops ends with its last_error.
source "$(dirname "$0")/api_lib.sh" # api_start: migrate and start the real api over HTTPS
source "$(dirname "$0")/cli_lib.sh"  # run, expect_exit

cli_live live ops@live.io

# The example, with the generator at 200 bids a second and without the webhook sink
# (example.com is not ours).
spec=$TEST_TMP/resources.yaml
awk 'BEGIN { RS = "---\n"; ORS = "" } NR == 1 || !/name: bids-webhook/ { print (NR > 1 ? "---\n" : "") $0 }' \
  "$SLUICE_ROOT/examples/resources.yaml" |
  sed 's/rate: "1000"/rate: "200"/' >"$spec"
grep -q 'rate: "200"' "$spec" || fail "the test copy of the example: $(cat "$spec")"
run "$S" apply -f "$spec"
expect_exit 0 "apply"
assert_eq "$(grep -c ' created$' <<<"$out")" 5 "apply creates everything: $out"

# ---- activate --wait -------------------------------------------------------------------------
run "$S" activate connection nexmark-source --wait --timeout 20s
expect_exit 0 "activate --wait the connection"
assert_eq "$out" "connection/nexmark-source running" "connection activate output"
run "$S" activate pipeline bids-usd --wait --timeout 20s
expect_exit 0 "activate --wait the pipeline"
assert_eq "$out" "pipeline/bids-usd running" "pipeline activate output"
run "$S" get pipeline bids-usd -o json
expect_exit 0 "get pipeline"
assert_eq "$(jq -r .actual_state <<<"$out")" running "actual_state after activate --wait"
run "$S" get pipeline bids-usd
expect_exit 0 "get pipeline as a table"
grep -Eq 'bids-usd .*running' <<<"$out" || fail "the table shows the state: [$out]"

# ---- the SDK's first program (README: examples/list_pipelines.c) ----------------------------
cc -std=c11 -Wall -Wextra -Werror -I"$SLUICE_ROOT/sdk" -o "$TEST_TMP/list_pipelines" \
  "$SLUICE_ROOT/examples/list_pipelines.c" "$SLUICE_ROOT/${BUILD:-build}/rel/libsluice.a" \
  $(pkg-config --libs jansson libcurl) -lpthread || fail "examples/list_pipelines.c does not build"
key=$(awk '$1 == "api_key" { print $3; exit }' "$HOME/.config/sluice/config")
run env SLUICE_API_URL="$API" SLUICE_API_KEY="$key" SLUICE_CA_FILE="$CACERT" "$TEST_TMP/list_pipelines"
expect_exit 0 "examples/list_pipelines"
assert_eq "$out" "bids-usd running running" "the example lists the pipeline with its states"
run env SLUICE_API_URL="$API" SLUICE_API_KEY=sk_wrong SLUICE_CA_FILE="$CACERT" "$TEST_TMP/list_pipelines"
expect_exit 1 "examples/list_pipelines with a wrong key"
assert_contains "$err" "[unauthenticated, request id req_" "the example names the error and the request"

# ---- logs ------------------------------------------------------------------------------------
run "$S" logs pipeline bids-usd
expect_exit 0 "logs"
assert_contains "$out" "info controlplane: task running on node cli" "the controlplane's lines"
grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[^ ]+ (debug|info|warn|error) ' <<<"$out" \
  || fail "log lines start with a time and a level: [$out]"
run "$S" logs connection nexmark-source
expect_exit 0 "logs of the connection"
assert_contains "$out" "task running on node cli" "the connection's lines"

run "$S" logs pipeline missing
expect_exit 3 "logs of a missing pipeline"
run "$S" logs stream bids
expect_exit 2 "logs of a stream"
assert_contains "$err" "only pipelines and connections have logs" "logs of a stream message"

# ---- usage (metering writes rows every few seconds) ------------------------------------------
usage_rows() { run "$S" usage -o json; [ "$rc" = 0 ] && [ "$(jq '[.items[] | select(.resource == "pipeline/bids-usd" and .records_out > 0)] | length' <<<"$out")" = 1 ]; }
wait_for 10 usage_rows || fail "no usage rows: rc $rc [$out] [$err]"
run "$S" usage
expect_exit 0 "usage as a table"
grep -Eq '^RESOURCE +RECORDS_IN +RECORDS_OUT ' <<<"$out" || fail "usage table header: [$out]"
grep -Eq '^pipeline/bids-usd +[0-9]+ ' <<<"$out" || fail "usage table names the pipeline: [$out]"
grep -Eq '^connection/nexmark-source +[0-9]+ ' <<<"$out" || fail "usage table names the connection: [$out]"
grep -q 'RESOURCE_ID' <<<"$out" && fail "usage table shows ids: [$out]"
awk 'NR > 1 { print $6 }' <<<"$out" | grep -Evq '^[0-9]+(\.[0-9]{1,3})?$' && fail "task seconds to the millisecond: [$out]"
run "$S" usage -o json
assert_eq "$(jq -r '.items[] | select(.resource == "pipeline/bids-usd") | .resource_kind' <<<"$out")" pipeline "usage json keeps the ids"
run "$S" usage --from 2026-01-01T00:00:00Z --to 2026-01-02T00:00:00Z --group-by day -o json
expect_exit 0 "usage of a past period"
assert_eq "$(jq -c '[.from, .to, .group_by, (.items | length)]' <<<"$out")" \
  '["2026-01-01T00:00:00.000000Z","2026-01-02T00:00:00.000000Z","day",0]' "usage passes --from, --to, --group-by"
run "$S" usage --group-by week
expect_exit 1 "usage grouped by an unknown field"
assert_contains "$err" "group_by must be resource, minute, hour, day or total" "the server's message"

# ---- preview as a table: DOUBLEs as numbers, and what a table does not show -------------------
run "$S" preview --sql 'SELECT auction, price FROM bids_usd' --start earliest --limit 5
expect_exit 0 "preview of the DOUBLE prices"
prices=$(awk 'NR > 1 { print $2 }' <<<"$out")
[ "$(wc -l <<<"$prices")" = 5 ] || fail "five rows: [$out]"
grep -Evq '^[0-9]+(\.[0-9]+)?$' <<<"$prices" && fail "DOUBLE cells are plain decimals (0.908 * price), no exponent: [$out]"
run "$S" preview --sql 'SELECT auction FROM bids WHERE price < 0' --start earliest --limit 5 --timeout 2s
expect_exit 0 "preview with no rows"
assert_contains "$err" "records read, none came out" "an empty preview says what it read"
run "$S" preview --sql 'SELECT auction,
  CAST(channel AS BIGINT) AS n FROM bids' --start earliest --limit 5 --timeout 2s
expect_exit 0 "preview whose rows all fail"
assert_contains "$err" "records skipped; the first: partition " "the skipped records are reported"
assert_contains "$err" "line 2, column 3: cannot cast" "at the line of the preview's own SQL"

# ---- a relative --ca-file is saved as an absolute path; an unreadable one is named -----------
(cd "$(dirname "$CACERT")" && "$S" login --profile rel --api-url "$API" --ca-file cert.pem --email ops@live.io \
  --password 'pass phrase 1' >/dev/null) || fail "login with a relative --ca-file"
grep -qx "ca_file = $(realpath "$CACERT")" "$HOME/.config/sluice/config" || fail "the profile keeps the CA file's absolute path: $(cat "$HOME/.config/sluice/config")"
run "$S" whoami --profile rel
expect_exit 0 "the profile works from another directory"
run env SLUICE_CA_FILE=no-such.pem "$S" whoami
expect_exit 1 "a CA file that does not exist"
assert_contains "$err" "cannot read the CA certificate file no-such.pem (No such file or directory, relative to the current directory)" "the CA file named"

# ---- logs -f while deactivate --wait ---------------------------------------------------------
# The backlog, then the deactivation's lines while following; --timeout ends it.
"$S" logs pipeline bids-usd -f --timeout 6s >"$TEST_TMP/follow.out" 2>"$TEST_TMP/follow.err" &
follower=$!
T_PIDS+=("$follower")
wait_for 5 grep -q 'task running on node cli' "$TEST_TMP/follow.out" \
  || fail "logs -f printed no backlog: $(cat "$TEST_TMP/follow.out" "$TEST_TMP/follow.err")"
run "$S" deactivate pipeline bids-usd --wait --timeout 20s
expect_exit 0 "deactivate --wait"
assert_eq "$out" "pipeline/bids-usd stopped" "deactivate output"
set +e; wait "$follower"; frc=$?; set -e
assert_eq "$frc" 0 "logs -f exits cleanly at its timeout (stderr: $(cat "$TEST_TMP/follow.err"))"
follow=$(cat "$TEST_TMP/follow.out")
assert_contains "$follow" "task stopped on node cli" "logs -f streamed the stop"
grep -q '^[{]' <<<"$follow" && fail "logs -f printed raw JSON: [$follow]"
grep -q 'reason' <<<"$follow" && fail "logs -f printed the end event: [$follow]"
run "$S" get pipeline bids-usd -o json
assert_eq "$(jq -r .actual_state <<<"$out")" stopped "actual_state after deactivate --wait"
run "$S" deactivate connection nexmark-source --wait --timeout 20s
expect_exit 0 "deactivate --wait the connection"

# ---- a pipeline that crash-loops: activate --wait fails with its last error ------------------
run "$S" activate connection nexmark-source --wait --timeout 20s
expect_exit 0 "activate the connection again"
printf 'INSERT INTO bids_usd SELECT auction, bidder, CAST(price / (price - price) AS DOUBLE) AS price, dateTime FROM bids\n' >"$TEST_TMP/q.sql"
run "$S" create pipeline --name crashy --sql-file "$TEST_TMP/q.sql"
expect_exit 0 "create a pipeline that divides by zero"
run "$S" logs pipeline crashy
expect_exit 0 "logs of a pipeline never started"
assert_eq "$out" "" "no lines"
assert_eq "$err" "no log lines for pipeline/crashy" "says that there are none"
run "$S" activate pipeline crashy --wait --timeout 20s
expect_exit 1 "activate --wait on a pipeline that crash-loops"
assert_contains "$err" "pipeline/crashy failed: " "the failure names the pipeline"
assert_contains "$err" "division by zero" "the failure gives the last error"

run "$S" delete pipeline bids-usd
expect_exit 0 "delete"
run "$S" get pipeline bids-usd
expect_exit 3 "get after delete"
echo ok
