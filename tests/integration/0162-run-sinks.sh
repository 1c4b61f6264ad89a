#!/usr/bin/env bash
# sluiced run with sink tables declared in the pipeline file: a `'connector' = 'postgres'` table
# is written into a table of a database on the test's PostgreSQL (every generated bid once,
# compared with the same pipeline's --print output), a `'connector' = 'webhook'` table posts
# every row to a local receiver (tests/tools/http_sink, through a few 503s); a postgres sink
# naming a missing table fails with the reason.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || { echo "jq not installed"; exit 77; }
command -v psql >/dev/null || { echo "psql not installed"; exit 77; }
receiver="$TOOLS/http_sink"
N=3000
cd "$TEST_TMP"
export PGTZ=UTC

TARGET="${PG_ADMIN_URL%/*}/run_sinks_$$"
psql -X -q "$PG_ADMIN_URL" -c "CREATE DATABASE run_sinks_$$" || fail "create target database"
tq() { sql_on "$TARGET" "$1"; }
tq 'CREATE TABLE bids (auction bigint, bidder bigint, price bigint, "dateTime" timestamptz, extra text)'

bg "$receiver" --out hook.out --fail-first 2 --retry-after 0 >hook.log
wait_for 5 test -s hook.log || fail "receiver did not start"
HOOK="http://127.0.0.1:$(head -n 1 hook.log)"

source_table="CREATE TABLE bid (
  auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING, dateTime TIMESTAMP(3), extra STRING
) WITH ('connector' = 'datagen', 'kind' = 'bid', 'events' = '$N', 'seed' = '7');"
select="SELECT auction, bidder, price, dateTime, extra FROM bid;"
cat >pg.sql <<SQL
$source_table
CREATE TABLE pg_out (auction BIGINT, bidder BIGINT, price BIGINT, dateTime TIMESTAMP(3), extra STRING)
  WITH ('connector' = 'postgres', 'url' = '$TARGET', 'table' = 'bids');
INSERT INTO pg_out $select
SQL
cat >hook.sql <<SQL
$source_table
CREATE TABLE hook_out (auction BIGINT, bidder BIGINT, price BIGINT, dateTime TIMESTAMP(3), extra STRING)
  WITH ('connector' = 'webhook', 'url' = '$HOOK/in', 'batch.size' = '250', 'retry.backoff_ms' = '20');
INSERT INTO hook_out $select
SQL

# the expected rows: the same pipeline printed
"$SLUICED" run pg.sql --data-dir print --bounded --print >want.out 2>print.err || fail "print run: $(cat print.err)"
assert_eq "$(wc -l <want.out)" "$N" "printed rows"
sed -i 's/^+I //' want.out
jq -r '[.auction, .bidder, .price, .dateTime, .extra] | @tsv' want.out | sort >want.tsv

"$SLUICED" run pg.sql --data-dir pgdata --bounded >pg.log 2>&1 || fail "postgres sink run failed: $(cat pg.log)"
grep -q "completed: $N records in" pg.log || fail "postgres run did not complete: $(cat pg.log)"
tq "SELECT auction, bidder, price, to_char(\"dateTime\", 'YYYY-MM-DD HH24:MI:SS.MS'), extra FROM bids" | tr '|' '\t' |
  sort >got.tsv
assert_eq "$(wc -l <got.tsv)" "$N" "rows in the table"
cmp -s want.tsv got.tsv || fail "table rows differ from the pipeline's output: $(diff want.tsv got.tsv | head -5)"

"$SLUICED" run hook.sql --data-dir hookdata --bounded >hookrun.log 2>&1 || fail "webhook sink run failed: $(cat hookrun.log)"
jq -c '.[]' hook.out | jq -r '[.auction, .bidder, .price, .dateTime, .extra] | @tsv' | sort >got-hook.tsv
assert_eq "$(wc -l <got-hook.tsv)" "$N" "records posted"
cmp -s want.tsv got-hook.tsv || fail "posted records differ: $(diff want.tsv got-hook.tsv | head -5)"
assert_eq "$(awk '$1 == 503' hook.log | wc -l)" 2 "requests answered 503 (retried)"
assert_eq "$(awk 'NR > 1 {print $2, $3, $5}' hook.log | sort -u)" "POST /in application/json" "method, path, type"

# a missing table: the run fails and says so
sed 's/'"'"'table'"'"' = '"'"'bids'"'"'/'"'"'table'"'"' = '"'"'nope'"'"'/' pg.sql >missing.sql
grep -q "'nope'" missing.sql || fail "could not make missing.sql"
if "$SLUICED" run missing.sql --data-dir missingdata --bounded >missing.log 2>&1; then
  fail "a sink into a missing table succeeded: $(cat missing.log)"
fi
assert_contains "$(cat missing.log)" "nope" "the error names the table"
echo ok
