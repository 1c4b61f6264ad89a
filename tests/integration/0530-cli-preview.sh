#!/usr/bin/env bash
# `sluice preview` against the real api (POST /v1/preview): the CLI asks for new records
# (start=latest), so records are appended to the stream's embedded log while it waits; then its
# table and JSON output, --sql-file, and the exit codes of bad SQL and an unknown stream.
source "$(dirname "$0")/api_lib.sh" # api_start, create_id, signup
source "$(dirname "$0")/cli_lib.sh" # cli_env, run, expect_exit

cli_env
logtool=$TOOLS/logtool
[ -x "$logtool" ] || fail "missing $logtool (make build)"

DATA=$TEST_TMP/data
api_start --threads 2 --data-root "$DATA"
signup acme
export SLUICE_API_URL=$API SLUICE_API_KEY=$KEY SLUICE_CA_FILE=$CACERT
STREAM_DIR=$DATA/tenants/$TENANT_ID/streams/$(TOKEN=$KEY create_id /v1/streams '{"name":"bids","schema":{"fields":[
  {"name":"auction","type":"BIGINT"},{"name":"price","type":"BIGINT"}]}}')

# Appends bids (auction 1000 + n, price n) every 50 ms while the command in "$@" runs.
with_traffic() {
  "$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err" &
  local pid=$! n=0
  while kill -0 "$pid" 2>/dev/null; do
    n=$((n + 1))
    echo "{\"auction\":$((1000 + n)),\"price\":$n}" | "$logtool" append "$STREAM_DIR"
    sleep 0.05
  done
  set +e
  wait "$pid"
  rc=$?
  set -e
  out=$(cat "$TEST_TMP/out")
  err=$(cat "$TEST_TMP/err")
}

with_traffic "$S" preview --sql 'SELECT auction, price * 10 AS tenfold FROM bids WHERE price > 0' --limit 3
expect_exit 0 "preview"
assert_eq "$(wc -l <<<"$out")" 4 "preview prints a header and --limit rows"
grep -Eq '^AUCTION +TENFOLD$' <<<"$out" || fail "preview header: [$out]"
while read -r a t; do
  [ "$t" = "$(( (a - 1000) * 10 ))" ] || fail "preview row [$a $t] is not auction, price * 10"
done < <(tail -n 3 <<<"$out")

printf 'SELECT auction\nFROM bids\nWHERE auction > 1000\n' >"$TEST_TMP/q.sql"
with_traffic "$S" preview --sql-file "$TEST_TMP/q.sql" --limit 2 -o json
expect_exit 0 "preview -o json from a file"
assert_eq "$(jq -c '[(.rows | length), .truncated]' <<<"$out")" '[2,true]' "JSON answer"

# --start earliest reads what the stream already holds, with no new traffic.
run "$S" preview --sql 'SELECT auction FROM bids' --limit 2 --start earliest -o json --timeout 5s
expect_exit 0 "preview --start earliest"
assert_eq "$(jq -c '[.rows[].auction]' <<<"$out")" '[1001,1002]' "earliest rows are the first appended"
# an updating query: each row with its kind first (the changelog of the aggregate)
run "$S" preview --sql 'SELECT MOD(auction, 2) AS parity, COUNT(*) AS n FROM bids GROUP BY MOD(auction, 2)' \
  --limit 4 --start earliest --timeout 5s
expect_exit 0 "preview of an updating query"
assert_eq "$(awk '{ $1 = $1; print }' <<<"$out" | tr '\n' '|')" "OP PARITY N|+I 1 1|+I 0 1|-U 1 1|+U 1 2|" \
  "the table shows each row's kind"
run "$S" preview --sql 'SELECT MOD(auction, 2) AS parity, COUNT(*) AS n FROM bids GROUP BY MOD(auction, 2)' \
  --limit 4 --start earliest --timeout 5s -o json
assert_eq "$(jq -c '[.updating, .ops]' <<<"$out")" '[true,["+I","+I","-U","+U"]]' "JSON: updating and ops"
run "$S" preview --sql 'SELECT auction FROM bids' --start sideways
expect_exit 1 "preview with a bad --start"
assert_contains "$err" 'start' "bad --start names the field"

# A long call timeout still asks the api for a preview it accepts (at most 30 s).
with_traffic "$S" preview --sql 'SELECT auction FROM bids' --limit 1 --timeout 2m
expect_exit 0 "preview with a long --timeout"

run "$S" preview --sql $'SELECT auction,\n  prise FROM bids'
expect_exit 1 "preview with invalid SQL"
assert_contains "$err" 'column "prise" not found' "invalid SQL message"
assert_contains "$err" '(line 2, column 3)' "invalid SQL position"
run "$S" preview --sql 'SELECT * FROM nosuch'
expect_exit 1 "preview of an unknown stream"
assert_contains "$err" 'nosuch' "unknown stream message"
echo ok
