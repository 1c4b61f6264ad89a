#!/usr/bin/env bash
# The postgres-cdc source against a PostgreSQL of the test's own (scram passwords, started with
# wal_level = replica, then restarted with wal_level = logical):
#   1. wal_level = replica: a connection ends `failed` saying wal_level must be logical;
#   2. `sluiced run`: the rows present before the run (the snapshot), then INSERT/UPDATE/DELETE
#      while the run is SIGKILLed and restarted, and while the server restarts: the upsert
#      stream's final table (its changelog applied by key) equals the table's, the row kinds are
#      +I, +U, -D (and -U under REPLICA IDENTITY FULL), and nothing is written twice;
#   3. a connection through the api and the controlplane (egress to this server): its stream is
#      the table, also after its worker is SIGKILLed, and the slot is confirmed as it goes;
#   4. a wrong password's last_error; options checked at create (422);
#   5. the connection check: reachable, authenticated, the table present (or not).
. "$(dirname "$0")/api_lib.sh"
. "$(dirname "$0")/broker_lib.sh"
BROKER=postgres-cdc
logtool="$TOOLS/logtool"
cd "$TEST_TMP"
export PGTZ=UTC

pw_cluster_up # wal_level = replica (the default)
ADMIN="postgresql://sinker:s3cret-pw@127.0.0.1:$port/postgres"
sql_on "$ADMIN" "CREATE DATABASE shop" || fail "create database"
URL="postgresql://sinker@127.0.0.1:$port/shop"
DB="postgresql://sinker:s3cret-pw@127.0.0.1:$port/shop"
q() { sql_on "$DB" "$1"; }
q 'CREATE TABLE orders (id bigint PRIMARY KEY, item text, qty int, price float8, updated timestamptz)'
q 'CREATE TABLE audit (id bigint PRIMARY KEY, note text)'
q 'ALTER TABLE audit REPLICA IDENTITY FULL'
# pg_restart: the server stops (fast) and starts again with the same options
pg_restart() {
  as_pg "$bindir/pg_ctl" -D "$pw/data" -l "$pw/server.log" -m fast -w -t 60 restart >/dev/null ||
    { tail "$pw/server.log"; fail "pg_ctl restart"; }
}

live_start cdc cdc-corp --sync-ms 200 --backoff-initial-ms 100
call POST /v1/secrets '{"name":"cdc-pw","value":"s3cret-pw"}'; expect 201
call POST /v1/secrets '{"name":"cdc-bad","value":"not-the-password"}'; expect 201
ORDERS=$(create_id /v1/streams '{"name":"orders","schema":{"fields":[{"name":"id","type":"BIGINT"},
  {"name":"item","type":"STRING"},{"name":"qty","type":"BIGINT"},{"name":"price","type":"DOUBLE"},
  {"name":"updated","type":"STRING"}],"primary_key":["id"]}}')
# cdc NAME SLOT [SECRET [STREAM]] → a postgres-cdc source connection into orders, activated
cdc() {
  connection "{\"name\":\"$1\",\"connector\":\"postgres-cdc\",\"type\":\"source\",\"stream\":\"${4:-orders}\",
    \"properties\":{\"url\":\"$URL\",\"table\":\"orders\",\"slot.name\":\"$2\",\"publication.name\":\"api_pub\"},
    \"secret_refs\":{\"password\":\"${3:-cdc-pw}\"}}"
}

# 1. options checked at create; wal_level = replica is a clear failure
call POST /v1/connections '{"name":"c","connector":"postgres-cdc","type":"source","stream":"orders","properties":{"url":"postgresql://x@h/db"}}'
expect 422 invalid_connection
assert_eq "$(jq -r .error.message <<<"$RESP")" 'a postgres-cdc connection needs the property "table"' "message"
call POST /v1/connections '{"name":"c","connector":"postgres-cdc","type":"sink","stream":"orders","properties":{"url":"postgresql://x@h/db","table":"t"}}'
assert_eq "$(jq -r .error.message <<<"$RESP")" 'connector postgres-cdc can only be a source, not "sink"' "a sink refused"
REPLICA=$(cdc replica replica_slot)
failed_with "$REPLICA" "has wal_level = replica; logical replication needs wal_level = logical"
call DELETE "/v1/connections/$REPLICA"

as_pg sh -c "echo 'wal_level = logical' >>'$pw/data/postgresql.conf'"
pg_restart
assert_eq "$(q 'SHOW wal_level')" logical "wal_level after the restart"

# the workload: rows 1..200 before anything reads them; then rounds of changes
q "INSERT INTO orders SELECT g, 'item-' || g, g % 7, g * 1.5, '2026-01-02 03:04:05.678+00'::timestamptz + g * interval '1 minute'
   FROM generate_series(1, 200) g"
q "INSERT INTO audit SELECT g, 'note ' || g FROM generate_series(1, 20) g"
# round N: inserts, updates (one changing its key), deletes, each statement its own transaction
round() {
  local b=$(( $1 * 1000 ))
  q "INSERT INTO orders SELECT $b + g, 'new-' || g, g, g * 0.25, now() FROM generate_series(1, 50) g" &&
    q "UPDATE orders SET qty = qty + 100, item = item || '+' WHERE id % 9 = $(( $1 % 9 ))" &&
    q "UPDATE orders SET id = id + 500000 WHERE id = (SELECT min(id) FROM orders WHERE id < 500000 AND id > $b)" &&
    q "DELETE FROM orders WHERE id % 11 = $(( $1 % 11 )) AND id < 100000" &&
    q "UPDATE audit SET note = note || '!' WHERE id = $(( $1 % 20 + 1 ))" &&
    q "DELETE FROM audit WHERE id = $(( $1 + 99 ))" && q "INSERT INTO audit VALUES ($(( $1 + 100 )), 'r$1')"
}
# the table as lines "id|item|qty|price"
want_orders() { q "SELECT id || '|' || item || '|' || qty || '|' || price FROM orders ORDER BY id"; }
# a changelog (logtool changelog) applied by key FIELD: the final rows as JSON lines
final_rows() {
  jq -cnR --arg k "$1" 'reduce (inputs | capture("^(?<op>\\S+) (?<row>.*)$") | .row |= fromjson) as $r ({};
    ($r.row[$k] | tostring) as $key |
    if $r.op == "+I" or $r.op == "+U" then .[$key] = $r.row elif $r.op == "-D" then del(.[$key]) else . end)
    | .[]'
}
got_orders() { # STREAM_DIR
  "$logtool" changelog "$1" | final_rows id | jq -r '"\(.id)|\(.item)|\(.qty)|\(.price)"' | sort -n
}

# 2. sluiced run: snapshot, changes, a SIGKILL and a server restart
cat >run.sql <<EOF
CREATE TABLE orders (id BIGINT, item STRING, qty BIGINT, price DOUBLE, updated TIMESTAMP(3),
  PRIMARY KEY (id) NOT ENFORCED) WITH ('connector' = 'postgres-cdc', 'url' = '$URL',
  'password' = 's3cret-pw', 'table' = 'orders', 'slot.name' = 'run_slot', 'publication.name' = 'run_pub');
CREATE TABLE audit (id BIGINT, note STRING, PRIMARY KEY (id) NOT ENFORCED) WITH ('connector' = 'postgres-cdc',
  'url' = '$URL', 'password' = 's3cret-pw', 'table' = 'public.audit', 'slot.name' = 'audit_slot',
  'publication.name' = 'audit_pub');
CREATE TABLE mirror (id BIGINT, item STRING, qty BIGINT, price DOUBLE, updated TIMESTAMP(3),
  PRIMARY KEY (id) NOT ENFORCED);
CREATE TABLE audit_copy (id BIGINT, note STRING, PRIMARY KEY (id) NOT ENFORCED);
INSERT INTO mirror SELECT * FROM orders;
INSERT INTO audit_copy SELECT * FROM audit;
EOF
run_start() { "$SLUICED" run run.sql --data-dir run --checkpoint-ms 100 2>>run.err & RUN=$!; T_PIDS+=("$RUN"); }
same_as_table() { want_orders >want.txt; got_orders "$1" >got.txt; cmp -s want.txt got.txt; }
run_start
wait_for 30 same_as_table run/streams/mirror || fail "the snapshot: $(diff want.txt got.txt | head -5) $(tail -5 run.err)"
assert_eq "$(wc -l <got.txt)" 200 "the snapshot's rows"
run_lsn0=$(q "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'run_slot'")
# (sed -n 1p reads to the end: head would close the pipe on logtool, and pipefail fail it)
assert_eq "$("$logtool" changelog run/streams/mirror | sed -n 1p)" \
  '+I {"id":1,"item":"item-1","qty":1,"price":1.5,"updated":"2026-01-02 03:05:05.678"}' "the first row as the pipeline wrote it"
for r in 1 2 3; do round $r || fail "round $r"; done
wait_for 30 same_as_table run/streams/mirror || fail "after 3 rounds: $(diff want.txt got.txt | head -5) $(tail -5 run.err)"
ops=$("$logtool" changelog run/streams/mirror | cut -c1-2 | sort -u | tr '\n' ' ')
assert_eq "$ops" "+I +U -D " "row kinds of a REPLICA IDENTITY DEFAULT table"
assert_eq "$("$logtool" changelog run/streams/audit_copy | cut -c1-2 | sort -u | tr '\n' ' ')" "+I +U -D -U " \
  "row kinds of a REPLICA IDENTITY FULL table"
# SIGKILL mid-workload: the rounds go on while it is down; the rerun resumes from the slot
round 4 & W=$!
sleep 0.3
kill -9 "$RUN"; wait "$RUN" 2>/dev/null || true
wait "$W" || fail "round 4"
end_before=$("$logtool" end run/streams/mirror)
round 5 || fail "round 5"
run_start
wait_for 30 same_as_table run/streams/mirror || fail "after a SIGKILL: $(diff want.txt got.txt | head -5) $(tail -5 run.err)"
# the server restarts mid-run: the reader reconnects without failing
round 6 || fail "round 6"
pg_restart
round 7 || fail "round 7"
wait_for 40 same_as_table run/streams/mirror || fail "after the server restarted: $(diff want.txt got.txt | head -5) $(tail -5 run.err)"
kill -0 "$RUN" 2>/dev/null || fail "sluiced run exited: $(tail -5 run.err)"
# nothing twice: the changelog has one record per change, so no +I of a key follows its +I
dups=$("$logtool" changelog run/streams/mirror | final_rows id >/dev/null; "$logtool" changelog run/streams/mirror |
  jq -rR 'capture("^(?<op>\\S+) (?<row>.*)$") | select(.op == "+I") | .row | fromjson | .id' | sort | uniq -d | wc -l)
assert_eq "$dups" 0 "keys inserted twice (a replayed change) after a SIGKILL and a server restart"
[ "$("$logtool" end run/streams/mirror)" -gt "$end_before" ] || fail "nothing written after the restart"
want_audit() { q "SELECT id || '|' || note FROM audit ORDER BY id"; }
audit_same() {
  want_audit >wa.txt
  "$logtool" changelog run/streams/audit_copy | final_rows id | jq -r '"\(.id)|\(.note)"' | sort -n >ga.txt
  cmp -s wa.txt ga.txt
}
wait_for 20 audit_same || fail "audit_copy differs: $(diff wa.txt ga.txt | head -5)"
kill "$RUN"; wait "$RUN" 2>/dev/null || true
# the slot was confirmed along the way: its confirmed_flush_lsn moved past where it was made
assert_eq "$(q "SELECT confirmed_flush_lsn > '$run_lsn0' FROM pg_replication_slots WHERE slot_name = 'run_slot'")" t \
  "run_slot confirmed past $run_lsn0"
echo "sluiced run: $(wc -l <want.txt) rows as in the table after a SIGKILL and a server restart"

# 3. a connection through the api: snapshot, changes, SIGKILL of its worker. Its records are
# the changes one to one: the snapshot's rows, then per row inserted, updated or deleted one
# record, and two (-D, +U) per key change (one a round)
# changes: the rows inserted, updated and deleted in orders so far
changes() { q "SELECT n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_user_tables WHERE relname = 'orders'"; }
rows0=$(q 'SELECT count(*) FROM orders') changes0=$(changes)
SRC=$(cdc orders-cdc api_slot)
in_api() { same_as_table "$TEST_TMP/data/tenants/$TENANT_ID/streams/$ORDERS"; }
wait_for 30 in_api || fail "the connection's stream: $(diff want.txt got.txt | head -5) $(sql "SELECT state, last_error FROM tasks")"
wait_for 10 has_pid "$SRC" || fail "no running source task"
pid=$(task_pid "$SRC")
assert_eq "$(readlink "/proc/$pid/exe")" "$FULL_WORKER" "postgres-cdc connections run on the full sluiced binary"
no_secret_in_proc "$pid" "s3cret-pw"
round 8 || fail "round 8"
wait_for 30 in_api || fail "after round 8: $(diff want.txt got.txt | head -5)"
kill -9 "$pid"
round 9 || fail "round 9"
wait_restarted 20 "$SRC"
round 10 || fail "round 10"
wait_for 30 in_api || fail "after a SIGKILL of the worker: $(diff want.txt got.txt | head -5)"
slot_lsn() { q "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'api_slot'"; }
lsn0=$(slot_lsn)
round 11 || fail "round 11"
moved() { [ "$(q "SELECT confirmed_flush_lsn > '$lsn0' FROM pg_replication_slots WHERE slot_name = 'api_slot'")" = t ]; }
wait_for 20 moved || fail "api_slot's confirmed_flush_lsn stayed at $lsn0"
wait_for 30 in_api || fail "after round 11: $(diff want.txt got.txt | head -5)"
want_records=$(( rows0 + $(changes) - changes0 + 4 ))
api_end() { "$logtool" end "$TEST_TMP/data/tenants/$TENANT_ID/streams/$ORDERS"; }
assert_eq "$(api_end)" "$want_records" "records in the connection's stream: the changes once each after a SIGKILL"
echo "api: $(wc -l <want.txt) rows as in the table after a SIGKILL of the worker, $want_records records"

# 4. a wrong password
call POST /v1/streams '{"name":"spare","schema":{"fields":[{"name":"id","type":"BIGINT"}],"primary_key":["id"]}}'; expect 201
BADPW=$(cdc badpw bad_slot cdc-bad spare)
failed_with "$BADPW" 'password authentication failed for user "sinker"'
[[ "$(jq -r .last_error <<<"$RESP")" != *not-the-password* ]] || fail "last_error shows the password"

# 5. POST /v1/connections/{id}/check: reachable, authenticated, the table present
checked() { # ID REACHABLE AUTHENTICATED PRESENT [ERROR TEXT]
  call POST "/v1/connections/$1/check"; expect 200
  assert_eq "$(jq -c '[.reachable, .authenticated, .target_present]' <<<"$RESP")" "[$2,$3,$4]" "check of $1: $RESP"
  if [ -n "${5-}" ]; then assert_contains "$(jq -r .error <<<"$RESP")" "$5" "check error"; fi
}
checked "$SRC" true true true
checked "$BADPW" true false false 'password authentication failed for user "sinker"'
NOSUCH=$(create_id /v1/connections "{\"name\":\"nosuch\",\"connector\":\"postgres-cdc\",\"type\":\"source\",
  \"stream\":\"spare\",\"properties\":{\"url\":\"$URL\",\"table\":\"nosuch\"},\"secret_refs\":{\"password\":\"cdc-pw\"}}")
checked "$NOSUCH" true true false 'postgres-cdc: table "nosuch" does not exist in database "shop"'
echo ok
