#!/usr/bin/env bash
# sluiced migrate: applies every migration once, records it, is idempotent, rolls back a failing
# migration whole, and leaves row-level security forced on every tenant table.
source "$(dirname "$0")/lib.sh"

"$SLUICED" migrate --database-url "$DATABASE_URL" 2>"$TEST_TMP/first.log" || { cat "$TEST_TMP/first.log"; fail "migrate"; }
n=$(ls "$SLUICE_ROOT"/migrations/[0-9]*_*.sql | wc -l)
assert_eq "$(sql "SELECT count(*) FROM schema_migrations")" "$n" "every migration recorded"
SLUICE_DATABASE_URL=$DATABASE_URL "$SLUICED" migrate 2>"$TEST_TMP/second.log" || fail "second migrate"
assert_contains "$(cat "$TEST_TMP/second.log")" "0 migrations applied" "second run applies nothing"
assert_eq "$(sql "SELECT count(*) FROM schema_migrations")" "$n" "nothing recorded twice"

for t in tenants users api_keys sessions secrets streams connections pipelines tasks task_events usage \
         task_logs audit_log idempotency_keys pipeline_lookups; do
  assert_eq "$(sql "SELECT relrowsecurity::text || relforcerowsecurity::text FROM pg_class WHERE relname = '$t' AND relkind = 'r'")" truetrue "RLS enabled and forced on $t"
  assert_eq "$(sql "SELECT count(*) FROM pg_policies WHERE tablename = '$t' AND policyname = 'tenant_isolation'")" 1 "tenant policy on $t"
done
for col in desired_state actual_state task_count task_size generation observed_generation last_error; do
  for t in pipelines connections; do
    assert_eq "$(sql "SELECT count(*) FROM information_schema.columns WHERE table_name = '$t' AND column_name = '$col'")" 1 "$t.$col"
  done
done
assert_eq "$(sql "SELECT prosecdef FROM pg_proc WHERE proname = 'sluice_auth_lookup'")" t "auth lookup is SECURITY DEFINER"

# A failing migration is rolled back whole and not recorded; the good ones before it stay.
mkdir -p "$TEST_TMP/m"
cp "$SLUICE_ROOT"/migrations/*.sql "$TEST_TMP/m/"
cat > "$TEST_TMP/m/9000_good.sql" <<'SQL'
CREATE TABLE migrate_probe_good (x int);
SQL
cat > "$TEST_TMP/m/9001_bad.sql" <<'SQL'
CREATE TABLE migrate_probe_bad (x int);
SELECT no_such_function();
SQL
if "$SLUICED" migrate --database-url "$DATABASE_URL" --migrations-dir "$TEST_TMP/m" 2>"$TEST_TMP/bad.log"; then
  fail "a failing migration must fail the command"
fi
assert_contains "$(cat "$TEST_TMP/bad.log")" "9001_bad.sql" "error names the file"
assert_eq "$(sql "SELECT count(*) FROM pg_class WHERE relname = 'migrate_probe_good'")" 1 "good migration applied"
assert_eq "$(sql "SELECT count(*) FROM pg_class WHERE relname = 'migrate_probe_bad'")" 0 "bad migration rolled back"
assert_eq "$(sql "SELECT count(*) FROM schema_migrations WHERE version = 9001")" 0 "bad migration not recorded"

# Before migrations the api starts but is not ready, and says why.
psql -X -q "$PG_ADMIN_URL" -c "CREATE DATABASE ${DATABASE_URL##*/}_empty" >/dev/null
port=$(free_port)
SLUICE_MASTER_KEY=$(openssl rand -hex 32) bg "$SLUICED" api --database-url "${DATABASE_URL}_empty" --port "$port" \
  --tls-dir "$TEST_TMP/tls" >"$TEST_TMP/api.log" 2>&1
wait_for 10 curl -s --cacert "$TEST_TMP/tls/cert.pem" "https://127.0.0.1:$port/healthz" || fail "api did not start"
out=$(curl -s --cacert "$TEST_TMP/tls/cert.pem" -w ' %{http_code}' "https://127.0.0.1:$port/readyz")
assert_contains "$out" " 503" "not ready before migrations"
assert_contains "$out" "sluiced migrate" "readiness names the fix"
SLUICE_DATABASE_URL="${DATABASE_URL}_empty" "$SLUICED" migrate 2>/dev/null
wait_for 10 curl -sf --cacert "$TEST_TMP/tls/cert.pem" "https://127.0.0.1:$port/readyz" || fail "ready after migrations"

# Two databases of one cluster migrated at once: roles are the cluster's, so both may find
# sluice_app missing. In a cluster of its own, a transaction that created the role and has not
# committed makes the migration's CREATE ROLE wait on it; once it commits, the migration finds the
# role made and goes on (before, it failed on pg_authid's unique index).
pw_cluster_up
export PGPASSWORD=s3cret-pw
own="postgresql://sinker@127.0.0.1:$port"
psql -X -q "$own/postgres" -c "CREATE DATABASE racing" >/dev/null
coproc HOLD { psql -X -q -At "$own/postgres" 2>&1; }
echo "BEGIN; CREATE ROLE sluice_app NOLOGIN; SELECT 'held';" >&"${HOLD[1]}"
read -r -t 20 line <&"${HOLD[0]}" && [ "$(echo "$line" | tr -d ' ')" = held ] || fail "the role was not held: $line"
"$SLUICED" migrate --database-url "$own/racing" >"$TEST_TMP/race.log" 2>&1 & mig=$!
waiting() { [ "$(psql -X -At "$own/postgres" -c "SELECT count(*) FROM pg_locks WHERE NOT granted")" -gt 0 ]; }
wait_for 20 waiting || { cat "$TEST_TMP/race.log"; fail "the migration did not wait on the held role"; }
echo "COMMIT;" >&"${HOLD[1]}"
wait "$mig" || { cat "$TEST_TMP/race.log"; fail "a migration racing another database's CREATE ROLE failed"; }
assert_eq "$(psql -X -At "$own/racing" -c "SELECT count(*) FROM schema_migrations")" "$n" "every migration of the racing database"
exec {HOLD[1]}>&-
unset PGPASSWORD

# Configuration errors are clear.
out=$("$SLUICED" migrate 2>&1) && fail "migrate without a database must fail"
assert_contains "$out" "--database-url" "missing database explained"
out=$("$SLUICED" migrate --database-url "$DATABASE_URL" --bogus 1 2>&1) && fail "unknown flag must fail"
assert_contains "$out" 'unknown option "--bogus"' "unknown flag named"
out=$("$SLUICED" api --database-url "$DATABASE_URL" --port 99999 2>&1) && fail "bad port must fail"
assert_contains "$out" "port" "bad port named"
out=$(env -u SLUICE_MASTER_KEY "$SLUICED" api --database-url "$DATABASE_URL" --master-key-file "$TEST_TMP/none" --tls-dir "$TEST_TMP/tls" 2>&1) && fail "no master key must fail"
assert_contains "$out" "master key" "missing master key explained"
echo ok
