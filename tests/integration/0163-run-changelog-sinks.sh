#!/usr/bin/env bash
# A changelog through `sluiced run`: a source log holding +I, +U, -U and -D rows (the log's
# row-kind prefixes, written raw by logtool) goes through a filter and projection, which keep
# each row's kind, into (1) --print ("-D {...}"), (2) an upsert stream (PRIMARY KEY ... NOT
# ENFORCED: the kinds are stored) and (3) a PostgreSQL table through a postgres sink whose
# stream has a primary key: upserts by key (INSERT ... ON CONFLICT DO UPDATE) and deletes by
# key. The table ends as the changelog's final state, computed here by awk. Without a key the
# postgres sink refuses an update (append-only).
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || { echo "jq not installed"; exit 77; }
command -v psql >/dev/null || { echo "psql not installed"; exit 77; }
logtool="$SLUICE_ROOT/${BUILD:-build}/rel/tests/tools/logtool"
cd "$TEST_TMP"
export PGTZ=UTC
TARGET="${PG_ADMIN_URL%/*}/run_changelog_$$"
psql -X -q "$PG_ADMIN_URL" -c "CREATE DATABASE run_changelog_$$" || fail "create target database"
tq() { psql -X -q -tA -v ON_ERROR_STOP=1 "$TARGET" -c "$1"; }
tq 'CREATE TABLE latest (id bigint PRIMARY KEY, v bigint, name text)'
tq 'CREATE TABLE plain (id bigint, v bigint, name text)'

# 2000 changes over 50 keys: +I the first time, then -U/+U pairs, and now and then -D (a later
# +I brings the key back); rows with id 13 are filtered out
awk 'BEGIN { srand(11); for (i = 1; i <= 2000; i++) { k = int(rand() * 50);
  row = sprintf("{\"id\":%d,\"v\":%d,\"name\":\"n%d\"}", k, i, i);
  if (!(k in live)) { print "+I" row; live[k] = row }
  else if (rand() < 0.15) { print "-D" live[k]; delete live[k] }
  else { print "-U" live[k]; print "+U" row; live[k] = row } } }' > changes
mkdir -p d/streams
sed 's/^+I//' changes | "$logtool" append d/streams/src   # +I rows are stored as plain JSON
cat > up.sql <<SQL
CREATE TABLE src (id BIGINT, v BIGINT, name STRING);
CREATE TABLE latest (id BIGINT, v BIGINT, name STRING, PRIMARY KEY (id) NOT ENFORCED)
  WITH ('connector' = 'postgres', 'url' = '$TARGET', 'table' = 'latest');
CREATE TABLE upserts (id BIGINT, v BIGINT, name STRING, PRIMARY KEY (id) NOT ENFORCED);
INSERT INTO latest SELECT id, v, name FROM src WHERE id <> 13;
INSERT INTO upserts SELECT id, v, name FROM src WHERE id <> 13;
SQL
"$SLUICED" run up.sql --data-dir d --bounded > run.log 2>&1 || fail "run failed: $(cat run.log)"

# the final state: per key the last +I/+U row, unless a -D came after it
grep -v '"id":13,' changes | awk '{ kind = substr($0, 1, 2); row = substr($0, 3);
  match(row, /"id":[0-9]+/); k = substr(row, RSTART + 5, RLENGTH - 5);
  if (kind == "+I" || kind == "+U") state[k] = row; else if (kind == "-D") delete state[k] }
  END { for (k in state) print state[k] }' | jq -r '"\(.id)|\(.v)|\(.name)"' | sort > want.table
[ "$(wc -l < want.table)" -gt 20 ] || fail "too few live keys: $(wc -l < want.table)"
[ "$(wc -l < want.table)" -lt 49 ] || fail "no key ends deleted"
tq 'SELECT id, v, name FROM latest' | sort > got.table
cmp -s want.table got.table || fail "postgres table differs from the changelog's state: $(diff want.table got.table | head -5)"

# the upsert stream stores the kinds as they came (the log's changelog), 13 filtered out
grep -v '"id":13,' changes > want.changelog
"$logtool" changelog d/streams/upserts | sed 's/^\(..\) /\1/' > got.changelog
cmp -s want.changelog got.changelog || fail "upsert stream's changelog differs: $(diff want.changelog got.changelog | head -5)"

# --print shows the kinds
cat > print.sql <<'SQL'
CREATE TABLE src (id BIGINT, v BIGINT, name STRING);
CREATE TABLE out (id BIGINT, v BIGINT) WITH ('connector' = 'print');
INSERT INTO out SELECT id, v FROM src;
SQL
"$SLUICED" run print.sql --data-dir d --bounded > print.out 2> print.err || fail "print run: $(cat print.err)"
assert_eq "$(cut -c1-3 print.out | sort | uniq -c | awk '{print $2}' | tr '\n' ' ')" "+I +U -D -U " "printed kinds"
assert_eq "$(grep -c '^-D {"id":' print.out)" "$(grep -c '^-D' changes)" "each delete printed as -D {...}"

# an append-only postgres sink (no key) cannot take updates
cat > plain.sql <<SQL
CREATE TABLE src (id BIGINT, v BIGINT, name STRING);
CREATE TABLE plain (id BIGINT, v BIGINT, name STRING)
  WITH ('connector' = 'postgres', 'url' = '$TARGET', 'table' = 'plain');
INSERT INTO plain SELECT id, v, name FROM src;
SQL
if "$SLUICED" run plain.sql --data-dir d --bounded > plain.log 2>&1; then fail "append-only sink took updates"; fi
grep -Eq 'postgres table "plain": a -[UD] row needs a key to apply' plain.log || fail "no clear error: $(cat plain.log)"
echo ok
