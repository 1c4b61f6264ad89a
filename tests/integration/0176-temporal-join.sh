#!/usr/bin/env bash
# Temporal joins under `sluiced run` (temporal.c), each result equal to what DuckDB (an
# independent engine, tests/oracle) computes over the same records:
#  1. event time: orders joined with the version of a versioned table (an upsert stream with a
#     PRIMARY KEY, a WATERMARK, updates and deletes) valid at each order's time, INNER and LEFT;
#  2. processing time: Nexmark q13 with its published INSERT unmodified (side_input an embedded
#     log: Flink's legacy filesystem DDL adapted), in an unbounded run: the table is read to its
#     end before the first bid, so every bid sees all of it;
#  3. q13 again, its side input a table of a PostgreSQL the test runs, through the postgres
#     connector: with a cache larger than the keys (one query per key), none (one per bid), a
#     small one and a 1 ms TTL (in between), and a missing table's error;
#  4. processing time against a datagen table (bounded by 'events').
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nexmark_lib.sh" # (it changes to $TEST_TMP)

# ---- 1. event time --------------------------------------------------------------------------
# awk: ms since 2024-01-01 00:00 as a timestamp
ts='function ts(ms) { return sprintf("2024-01-01 %02d:%02d:%02d.%03d", int(ms / 3600000), int(ms / 60000) % 60, int(ms / 1000) % 60, ms % 1000) }'
# rates: 2000 versions of 23 currencies, every 250 ms; every 13th ends its currency's versions (-D)
awk "$ts"' BEGIN { for (i = 0; i < 2000; i++) { c = "C" (i * 7 % 23); d = i % 13 == 12
  row = sprintf("{\"currency\":\"%s\",\"rate\":%d,\"rt\":\"%s\"}", c, i, ts(i * 250))
  print (d ? "-D" : "") row > "rates.log"
  printf "{\"currency\":\"%s\",\"rate\":%d,\"rt\":\"%s\",\"del\":%d}\n", c, i, ts(i * 250), d > "rates.ndjson" } }'
# orders: 6000, every 90 ms, of 25 currencies (C23 and C24 have no rate)
awk "$ts"' BEGIN { for (j = 0; j < 6000; j++)
  printf "{\"id\":%d,\"currency\":\"C%d\",\"amount\":%d,\"ot\":\"%s\"}\n", j, j * 5 % 25, j % 7, ts(j * 90 + 37) }' > orders.ndjson
mkdir -p ev/streams
"$logtool" append ev/streams/rates < rates.log
"$logtool" append ev/streams/orders < orders.ndjson
cat > event.sql <<'SQL'
CREATE TABLE orders (id BIGINT, currency STRING, amount BIGINT, ot TIMESTAMP(3),
  WATERMARK FOR ot AS ot - INTERVAL '1' SECOND);
CREATE TABLE rates (currency STRING, rate BIGINT, rt TIMESTAMP(3), PRIMARY KEY (currency) NOT ENFORCED,
  WATERMARK FOR rt AS rt - INTERVAL '1' SECOND);
CREATE TABLE enriched (id BIGINT, currency STRING, rate BIGINT, amount BIGINT);
CREATE TABLE enriched_left (id BIGINT, currency STRING, rate BIGINT, amount BIGINT);
INSERT INTO enriched SELECT o.id, o.currency, r.rate, o.amount
  FROM orders AS o JOIN rates FOR SYSTEM_TIME AS OF o.ot AS r ON o.currency = r.currency;
INSERT INTO enriched_left SELECT o.id, o.currency, r.rate, o.amount
  FROM orders AS o LEFT JOIN rates FOR SYSTEM_TIME AS OF o.ot AS r ON o.currency = r.currency;
SQL
"$SLUICED" run event.sql --data-dir ev --bounded 2> event.err || fail "event-time run: $(cat event.err)"
assert_eq "$(grep -c 'completed: 8000 records in' event.err)" 2 "both event-time pipelines read every record"
cat > event.duckdb <<'SQL'
WITH m AS (SELECT o.id, r.rate, r.del, ROW_NUMBER() OVER (PARTITION BY o.id ORDER BY r.rt DESC, r.seq DESC) AS rn
           FROM orders o JOIN rates r ON o.currency = r.currency AND r.rt <= o.ot)
SELECT o.id, o.currency, m.rate, o.amount FROM orders o JOIN m ON m.id = o.id AND m.rn = 1 AND m.del = 0
SQL
cat > event_left.duckdb <<'SQL'
WITH m AS (SELECT o.id, r.rate, r.del, ROW_NUMBER() OVER (PARTITION BY o.id ORDER BY r.rt DESC, r.seq DESC) AS rn
           FROM orders o JOIN rates r ON o.currency = r.currency AND r.rt <= o.ot)
SELECT o.id, o.currency, v.rate, o.amount FROM orders o
  LEFT JOIN (SELECT id, rate FROM m WHERE rn = 1 AND del = 0) v ON v.id = o.id
SQL
orders_cols='id BIGINT, currency VARCHAR, amount BIGINT, ot TIMESTAMP'
rates_cols='currency VARCHAR, rate BIGINT, rt TIMESTAMP, del BIGINT'
for q in event event_left; do
  sink=enriched; [ $q = event ] || sink=enriched_left
  "$logtool" changelog "ev/streams/$sink" | node "$oracle/final_table.mjs" - > $q.got || fail "$q: reading its output"
  node "$oracle/duckdb_query.mjs" orders "$orders_cols" orders.ndjson rates "$rates_cols" rates.ndjson $q.duckdb \
    > $q.want || fail "$q: DuckDB failed"
  cmp -s $q.want $q.got || { diff $q.want $q.got | head -5; fail "$q: the result differs from DuckDB's"; }
  echo "$q: $(wc -l < $q.got) rows, equal to DuckDB's"
done
[ "$(wc -l < event.got)" -gt 4000 ] || fail "too few joined orders ($(wc -l < event.got))"
[ "$(wc -l < event_left.got)" -eq 6000 ] || fail "the LEFT JOIN lost orders ($(wc -l < event_left.got))"
grep -q '",null,' event_left.got || fail "no order of the LEFT JOIN went without a version"

# ---- 2. q13 as published, its side input an embedded log ------------------------------------
bids=5520
nexmark_copy_bids $bids
# side_input: keys 0..9999 but those = 3 (mod 7), whose bids find no row
awk 'BEGIN { for (k = 0; k < 10000; k++) if (k % 7 != 3) printf "{\"key\":%d,\"value\":\"v%d\"}\n", k, k * 31 % 1000 }' \
  > side_input.ndjson
mkdir -p q13/streams
"$logtool" append q13/streams/side_input < side_input.ndjson
{ nexmark_bid_ddl 0 $bids
  nexmark_tables 13 # side_input and the sink as published, their WITH options dropped
  nexmark_query 13 # q13's INSERT as Flink publishes it
} > q13.sql
# unbounded: the datagen bids and the side input (read to its end as of the start) both end
"$SLUICED" run q13.sql --data-dir q13 2> q13.err || fail "q13 run: $(cat q13.err)"
grep -q "completed: $((bids + $(wc -l < side_input.ndjson))) records in" q13.err || fail "q13 did not read every record: $(cat q13.err)"
"$logtool" changelog q13/streams/nexmark_q13 | node "$oracle/final_table.mjs" - > q13.got || fail "q13: reading its output"
cat > q13.duckdb <<'SQL'
SELECT B.auction, B.bidder, B.price, strftime(B.dateTime, '%Y-%m-%d %H:%M:%S.%g'), S.value
  FROM bid B JOIN side_input S ON B.auction % 10000 = S.key
SQL
node "$oracle/duckdb_query.mjs" bid "$bid_columns" bids.ndjson side_input 'key BIGINT, value VARCHAR' side_input.ndjson \
  q13.duckdb > q13.want || fail "q13: DuckDB failed"
[ "$(wc -l < q13.want)" -gt 4000 ] || fail "q13: too few rows in DuckDB's result"
cmp -s q13.want q13.got || { diff q13.want q13.got | head -5; fail "q13: the result differs from DuckDB's"; }
echo "q13: $(wc -l < q13.got) rows, equal to DuckDB's"

# ---- 3. q13 again, its side input a PostgreSQL table (Flink's JDBC lookup source) -------------
export PGTZ=UTC
TARGET="${PG_ADMIN_URL%/*}/temporal_$$"
psql -X -q "$PG_ADMIN_URL" -c "CREATE DATABASE temporal_$$" || fail "create the lookup database"
sql_on "$TARGET" "CREATE TABLE side_input (key bigint PRIMARY KEY, value text);
  INSERT INTO side_input SELECT k, 'v' || (k * 31 % 1000) FROM generate_series(0, 9999) k WHERE k % 7 <> 3" \
  || fail "create the lookup table"
pg_q13() { # pg_q13 NAME OPTIONS: q13 over the PostgreSQL side input with those WITH options
  { nexmark_bid_ddl 0 $bids
    echo "CREATE TABLE side_input (key BIGINT, \`value\` VARCHAR)
      WITH ('connector' = 'postgres', 'url' = '$TARGET', 'table' = '$3'$2);"
    sed -n '/^CREATE TABLE nexmark_q13/,$p' q13.sql; } > "$1.sql"
}
scans() { sql_on "$TARGET" "SELECT idx_scan FROM pg_stat_user_tables WHERE relname = 'side_input'"; }
# settled BEFORE: the index scans once the statistics (which come late) are past BEFORE and still
settled() {
  local a b
  for _ in $(seq 1 40); do
    a=$(scans); sleep 0.5; b=$(scans)
    [ "$a" -gt "$1" ] && [ "$a" = "$b" ] && { echo "$a"; return 0; }
  done
  fail "the lookups' index scans did not settle (at $b, before $1)"
}
pg_q13 pgq13 ", 'lookup.cache.max-rows' = '400', 'lookup.cache.ttl' = '10 min'" side_input
"$SLUICED" run pgq13.sql --data-dir pgq13 --bounded 2> pgq13.err || fail "q13 over postgres: $(cat pgq13.err)"
grep -q "completed: $bids records in" pgq13.err || fail "q13 over postgres did not read every bid: $(cat pgq13.err)"
"$logtool" changelog pgq13/streams/nexmark_q13 | node "$oracle/final_table.mjs" - > pgq13.got || fail "reading its output"
cmp -s q13.want pgq13.got || { diff q13.want pgq13.got | head -5; fail "q13 over postgres differs from DuckDB's"; }
# a cache larger than the keys: one query per key
n=$(settled 0)
keys=$(node -e 'const s = new Set(); for (const l of require("fs").readFileSync("bids.ndjson", "utf8").split("\n"))
  if (l) s.add(JSON.parse(l).auction % 10000); console.log(s.size)')
assert_eq "$n" "$keys" "queries with a cache larger than the keys (one per key)"
echo "q13 over postgres: $(wc -l < pgq13.got) rows, equal to DuckDB's, $keys queries for $bids bids"
for cache in 0 20 ttl; do
  before=$(scans)
  opts=", 'lookup.cache.max-rows' = '$cache'"
  [ $cache != ttl ] || opts=", 'lookup.cache.max-rows' = '400', 'lookup.cache.ttl' = '1 ms'"
  pg_q13 "pgq13_$cache" "$opts" side_input
  "$SLUICED" run "pgq13_$cache.sql" --data-dir "pgq13_$cache" --bounded 2> "pgq13_$cache.err" ||
    fail "q13 over postgres, cache $cache: $(cat "pgq13_$cache.err")"
  "$logtool" changelog "pgq13_$cache/streams/nexmark_q13" | node "$oracle/final_table.mjs" - > "pgq13_$cache.got"
  cmp -s q13.want "pgq13_$cache.got" || fail "q13 over postgres with cache $cache differs from DuckDB's"
  n=$(( $(settled "$before") - before ))
  if [ "$cache" = 0 ]; then
    assert_eq "$n" "$bids" "queries without a cache (one per bid)"
  else
    # LRU: keys pushed out (20 rows) or expired (1 ms) are queried again
    [ "$n" -gt "$keys" ] && { [ "$n" -lt "$bids" ] || [ $cache = ttl ]; } ||
      fail "a cache ($cache) made $n queries for $keys keys, $bids bids"
  fi
  echo "cache $cache: $n queries"
done
pg_q13 pgmissing "" no_such_table
"$SLUICED" run pgmissing.sql --data-dir pgmissing --bounded 2> pgmissing.err && fail "a missing lookup table ran"
assert_contains "$(cat pgmissing.err)" 'postgres table "no_such_table" does not exist' "a missing lookup table"

# ---- 4. a lookup into a datagen table -------------------------------------------------------
people=120
{ nexmark_bid_ddl 0 $bids
  cat <<SQL
CREATE TABLE person (id BIGINT, name STRING, emailAddress STRING, creditCard STRING, city STRING, state STRING,
  \`dateTime\` TIMESTAMP(3), extra STRING)
  WITH ('connector' = 'datagen', 'kind' = 'person', 'events' = '$people', 'rate' = '0');
CREATE TABLE bid_person (auction BIGINT, bidder BIGINT, name STRING, state STRING);
INSERT INTO bid_person SELECT B.auction, B.bidder, P.name, P.state
  FROM (SELECT *, PROCTIME() AS pt FROM bid) B LEFT JOIN person FOR SYSTEM_TIME AS OF B.pt AS P ON B.bidder = P.id;
CREATE TABLE person_copy (id BIGINT, name STRING, state STRING);
INSERT INTO person_copy SELECT id, name, state FROM person;
SQL
} > lookup.sql
"$SLUICED" run lookup.sql --data-dir dg --bounded 2> lookup.err || fail "datagen lookup run: $(cat lookup.err)"
"$logtool" cat dg/streams/person_copy > person.ndjson
assert_eq "$(wc -l < person.ndjson)" $people "persons copied"
"$logtool" changelog dg/streams/bid_person | node "$oracle/final_table.mjs" - > lookup.got || fail "lookup: reading its output"
cat > lookup.duckdb <<'SQL'
SELECT B.auction, B.bidder, P.name, P.state FROM bid B LEFT JOIN person P ON B.bidder = P.id
SQL
node "$oracle/duckdb_query.mjs" bid "$bid_columns" bids.ndjson person 'id BIGINT, name VARCHAR, state VARCHAR' \
  person.ndjson lookup.duckdb > lookup.want || fail "lookup: DuckDB failed"
cmp -s lookup.want lookup.got || { diff lookup.want lookup.got | head -5; fail "lookup: the result differs from DuckDB's"; }
grep -qv ',null,null\]' lookup.got || fail "lookup: no bid found its person"
echo "datagen lookup: $(wc -l < lookup.got) rows, equal to DuckDB's"
echo "ok"
