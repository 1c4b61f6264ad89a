# nexmark_lib.sh — sourced by the Nexmark integration tests (0170-0178) after lib.sh: the DuckDB
# oracle's check, the published queries' statements, the datagen bid table and the copy of its
# records the oracle reads.
oracle="$SLUICE_ROOT/tests/oracle"
[ -d "$oracle/node_modules/@duckdb/node-api" ] || { echo "tests/oracle/node_modules missing: run make deps"; exit 77; }
command -v node >/dev/null || { echo "node not installed"; exit 77; }
cd "$TEST_TMP"
. "$SLUICE_ROOT/tests/integration/nexmark_queries.sh" # nexmark_query: the published statements
logtool="$SLUICE_ROOT/${BUILD:-build}/rel/tests/tools/logtool"
bid_columns='auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR, dateTime TIMESTAMP, extra VARCHAR'
# nexmark_bid_ddl RATE EVENTS: the datagen bid table of EVENTS records at RATE a second (0: at once)
nexmark_bid_ddl() {
  echo "CREATE TABLE bid (auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING, \`dateTime\` TIMESTAMP(3),
  extra STRING, WATERMARK FOR \`dateTime\` AS \`dateTime\` - INTERVAL '4' SECOND)
  WITH ('connector' = 'datagen', 'kind' = 'bid', 'events' = '$2', 'rate' = '$1');"
}
# nexmark_copy_bids EVENTS: copies the EVENTS datagen bids into a stream and dumps them as
# NDJSON to bids.ndjson, checking that every one came
nexmark_copy_bids() {
  { nexmark_bid_ddl 0 "$1"
    echo 'CREATE TABLE bids_copy (auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING, `dateTime` TIMESTAMP(3), extra STRING);'
    echo 'INSERT INTO bids_copy SELECT * FROM bid;'; } > copy.sql
  "$SLUICED" run --bounded --data-dir copy copy.sql 2> copy.err || fail "copy run: $(cat copy.err)"
  "$logtool" cat copy/streams/bids_copy > bids.ndjson
  assert_eq "$(wc -l < bids.ndjson)" "$1" "bids copied"
}
