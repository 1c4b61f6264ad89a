#!/usr/bin/env bash
# Temporal and lookup joins of pipelines created through the api, run by the controlplane with
# the real worker:
#  1. an event-time temporal join of a payment stream against an upsert stream (a PRIMARY KEY
#     and a WATERMARK), each payment with the rate valid at its time, as the test computes it;
#  2. a lookup join against a PostgreSQL table of the test's own cluster (it checks passwords),
#     reached through a postgres connection of the tenant that the SQL names as the table (its
#     stream's schema gives the columns, a secret the password): LEFT JOIN ... FOR SYSTEM_TIME
#     AS OF a PROCTIME() column; every order enriched as the test computes it;
#  3. 422s at their position for an unknown connection, a connection that is not a postgres
#     one, a postgres connection read as a stream or written, and a temporal join against a
#     stream without a primary key;
#  4. the lookup join as a pipeline of task_count 2 over a 2-partition stream (an INT key against
#     the table's BIGINT, NULL keys), one task SIGKILLed: its output equals the one task's of 2;
#     a STRING key is a 422 at the ON's "=".
#  5. what a pipeline reads as lookup tables (pipeline_lookups) stays true to its SQL: no stream
#     takes such a connection's name, no stream a temporal join reads leaves its name to a
#     postgres connection, and the table's stream's schema changes are checked against the
#     pipeline.
. "$(dirname "$0")/api_lib.sh"
logtool="$TOOLS/logtool"
cd "$TEST_TMP"
export PGTZ=UTC

# the lookup's cluster starts while the api and the controlplane do and the temporal join runs
# (initdb is the slow part)
bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
trap 'wait "${PW_JOB:-}" 2>/dev/null; as_pg "$bindir/pg_ctl" -D "$TEST_TMP/pgpw/data" -m immediate -w stop >/dev/null 2>&1
  t_cleanup' EXIT
(pw_cluster_up && echo "$port" > pw.port && trap - EXIT) > pw_up.log 2>&1 &
PW_JOB=$!
live_start lookup lookup-corp --sync-ms 200 --backoff-initial-ms 100 --crash-limit 2
echo "api and controlplane up at ${SECONDS}s"
stream() { ID=$(create_id /v1/streams "$1"); }
pipeline() { ID=$(create_id /v1/pipelines "$(jq -cn --arg n "$1" --arg s "$2" '{name: $n, sql: $s}')"); }
is_state() { call GET "/v1/$1/$2"; [ "$(jq -r .actual_state <<<"$RESP")" = "$3" ]; }
sql422() { # NAME SQL MESSAGE: creating the pipeline is a 422 whose message holds MESSAGE
  call POST /v1/pipelines "$(jq -cn --arg n "$1" --arg s "$2" '{name: $n, sql: $s}')"
  expect 422 invalid_sql
  assert_contains "$(jq -r .error.message <<<"$RESP")" "$3" "$1"
  echo "$1: $(jq -r .error.message <<<"$RESP")"
}
out_lines() { "$logtool" cat "$TEST_TMP/data/tenants/$TENANT_ID/streams/$1" | jq -r "$2" | LC_ALL=C sort; }

# ---- 1. event-time temporal join against an upsert stream (while the lookup's cluster starts) --
wm() { echo "\"watermark\":{\"field\":\"$1\",\"delay_ms\":0}"; }
stream "{\"name\":\"rates\",\"schema\":{\"fields\":[{\"name\":\"currency\",\"type\":\"STRING\"},
  {\"name\":\"rate\",\"type\":\"BIGINT\"},{\"name\":\"rt\",\"type\":\"TIMESTAMP(3)\"}],\"primary_key\":[\"currency\"],$(wm rt)}}"
stream "{\"name\":\"rates_nokey\",\"schema\":{\"fields\":[{\"name\":\"currency\",\"type\":\"STRING\"},
  {\"name\":\"rate\",\"type\":\"BIGINT\"},{\"name\":\"rt\",\"type\":\"TIMESTAMP(3)\"}],$(wm rt)}}"
stream "{\"name\":\"payments\",\"schema\":{\"fields\":[{\"name\":\"id\",\"type\":\"BIGINT\"},
  {\"name\":\"currency\",\"type\":\"STRING\"},{\"name\":\"amount\",\"type\":\"BIGINT\"},
  {\"name\":\"pt\",\"type\":\"TIMESTAMP(3)\"}],$(wm pt)}}"
stream '{"name":"converted","schema":{"fields":[{"name":"id","type":"BIGINT"},{"name":"currency","type":"STRING"},
  {"name":"rate","type":"BIGINT"},{"name":"amount","type":"BIGINT"}]}}'; CONVERTED=$ID
temporal_sql='INSERT INTO converted SELECT p.id, p.currency, r.rate, p.amount
FROM payments AS p JOIN rates FOR SYSTEM_TIME AS OF p.pt AS r ON p.currency = r.currency'
sql422 temporal-no-key "${temporal_sql/rates FOR/rates_nokey FOR}" 'PRIMARY KEY'
pipeline convert "$temporal_sql"; P2=$ID
call POST "/v1/pipelines/$P2/activate"; expect 200
RF=$(create_id /v1/connections '{"name":"rate-feed","connector":"http","type":"source","stream":"rates"}')
PF=$(create_id /v1/connections '{"name":"pay-feed","connector":"http","type":"source","stream":"payments"}')
for c in "$RF" "$PF"; do call POST "/v1/connections/$c/activate"; expect 200; done

wait_for 20 is_state pipelines "$P2" running || fail "the temporal join pipeline is not running: $RESP"
ts='function ts(ms) { return sprintf("2024-01-01 %02d:%02d:%02d.%03d", int(ms / 3600000), int(ms / 60000) % 60, int(ms / 1000) % 60, ms % 1000) }'
# 300 versions of 7 currencies every 100 ms (C0..C6); 500 payments every 70 ms of 8 (C7 has no rate)
awk "$ts"' BEGIN { for (i = 0; i < 300; i++) printf "{\"currency\":\"C%d\",\"rate\":%d,\"rt\":\"%s\"}\n", i * 3 % 7, 1000 + i, ts(i * 100) }' > rates.ndjson
awk "$ts"' BEGIN { for (j = 0; j < 500; j++) printf "{\"id\":%d,\"currency\":\"C%d\",\"amount\":%d,\"pt\":\"%s\"}\n", j, j % 8, j % 13, ts(j * 70 + 35) }' > payments.ndjson
# a last row of each, an hour later, moves the watermark past every payment above
echo "{\"currency\":\"Z\",\"rate\":0,\"rt\":\"$(awk "$ts"' BEGIN { print ts(3600000) }')\"}" >> rates.ndjson
echo "{\"id\":-1,\"currency\":\"Z\",\"amount\":0,\"pt\":\"$(awk "$ts"' BEGIN { print ts(3600000) }')\"}" >> payments.ndjson
call POST "/v1/connections/$RF/events" "{\"events\":[$(paste -sd, rates.ndjson)]}"; expect 200
call POST "/v1/connections/$PF/events" "{\"events\":[$(paste -sd, payments.ndjson)]}"; expect 200
# want: each payment with the latest version of its currency at or before its time
awk 'BEGIN { for (j = 0; j < 500; j++) { t = j * 70 + 35; c = j % 8; best = -1
    for (i = 0; i < 300 && i * 100 <= t; i++) if (i * 3 % 7 == c) best = i
    if (best >= 0) printf "%d|C%d|%d|%d\n", j, c, 1000 + best, j % 13 } }' | LC_ALL=C sort > converted.want
want_n=$(wc -l < converted.want)
[ "$want_n" -gt 300 ] || fail "too few payments to join ($want_n)"
all_converted() { [ "$(out_lines "$CONVERTED" 'select(.id >= 0) | .id' | wc -l)" -ge "$want_n" ]; }
wait_for 20 all_converted || fail "the temporal join wrote $(out_lines "$CONVERTED" .id | wc -l) of $want_n rows:
  $(sql "SELECT state, last_error FROM tasks WHERE resource_id = '$P2'")"
out_lines "$CONVERTED" 'select(.id >= 0) | [.id, .currency, .rate, .amount] | map(tostring) | join("|")' > converted.got
cmp -s converted.want converted.got || { diff converted.want converted.got | head -5; fail "the converted payments differ"; }
echo "temporal join: $want_n payments, each with the rate valid at its time (at ${SECONDS}s)"

# ---- 2. lookup join against PostgreSQL through a postgres connection ---------------------------
wait "$PW_JOB" || { cat pw_up.log; fail "the lookup's cluster did not start"; }
port=$(cat pw.port)
PWURL="postgresql://sinker@127.0.0.1:$port/postgres"
PGPASSWORD=s3cret-pw psql -X -q "$PWURL" -c "CREATE ROLE crm LOGIN PASSWORD 'crm-pw'" \
  -c "CREATE DATABASE crm OWNER crm" || fail "create the lookup database"
CRM="postgresql://crm@127.0.0.1:$port/crm"
# customers 0..199 but those = 3 (mod 7), whose orders find no row
PGPASSWORD=crm-pw psql -X -q -v ON_ERROR_STOP=1 "$CRM" -c "CREATE TABLE customers (id bigint PRIMARY KEY, name text,
  tier text, since date); INSERT INTO customers SELECT k, 'n' || k, (ARRAY['gold','silver','bronze'])[k % 3 + 1],
  date '2024-01-01' + k::int FROM generate_series(0, 199) k WHERE k % 7 <> 3" || fail "create the lookup table"

echo "lookup cluster up at ${SECONDS}s"
stream '{"name":"orders","schema":{"fields":[{"name":"id","type":"BIGINT"},{"name":"customer","type":"BIGINT"},
  {"name":"amount","type":"BIGINT"}]}}'; ORDERS=$ID
stream '{"name":"customers","schema":{"fields":[{"name":"id","type":"BIGINT"},{"name":"name","type":"STRING"},
  {"name":"tier","type":"STRING"},{"name":"since","type":"DATE"}]}}'
stream '{"name":"enriched","schema":{"fields":[{"name":"id","type":"BIGINT"},{"name":"customer","type":"BIGINT"},
  {"name":"name","type":"STRING"},{"name":"tier","type":"STRING"},{"name":"since","type":"DATE"},
  {"name":"amount","type":"BIGINT"}]}}'; ENRICHED=$ID
call POST /v1/secrets '{"name":"crm-password","value":"crm-pw"}'; expect 201
# the table's connection: never activated (no sink task), it only says where the table is
CRMC=$(create_id /v1/connections "{\"name\":\"crm_customers\",\"connector\":\"postgres\",\"type\":\"sink\",
  \"stream\":\"customers\",\"properties\":{\"url\":\"$CRM\",\"table\":\"customers\",
  \"lookup.cache.max-rows\":\"100\",\"lookup.cache.ttl\":\"10 min\"},\"secret_refs\":{\"password\":\"crm-password\"}}")
FEED=$(create_id /v1/connections '{"name":"order-feed","connector":"http","type":"source","stream":"orders"}')
call POST "/v1/connections/$FEED/activate"; expect 200

lookup_sql='INSERT INTO enriched
SELECT o.id, o.customer, c.name, c.tier, c.since, o.amount
FROM (SELECT *, PROCTIME() AS p FROM orders) AS o
LEFT JOIN crm_customers FOR SYSTEM_TIME AS OF o.p AS c ON o.customer = c.id'
sql422 unknown-connection "${lookup_sql/crm_customers/crm_nowhere}" 'stream "crm_nowhere" not found'
sql422 http-connection "${lookup_sql/crm_customers/\`order-feed\`}" \
  'connection "order-feed" is a http connection: a lookup join reads the table of a postgres connection'
sql422 connection-as-stream 'INSERT INTO orders SELECT id, id, id FROM crm_customers' \
  '"crm_customers" is a postgres connection: a pipeline reads its table only in a lookup join'
sql422 connection-as-sink 'INSERT INTO crm_customers SELECT customer, '"'x', 'y'"', CAST(NULL AS DATE) FROM orders' \
  'output stream "crm_customers" not found: that name is a postgres connection'
# another tenant with the same streams cannot name this tenant's connection as its lookup table:
# to it the name is nothing (the same answer as a name no tenant uses), and nothing is recorded
saved_token=$TOKEN saved_tenant=$TENANT_ID; signup intruder; TOKEN=$KEY INTRUDER=$KEY
stream '{"name":"orders","schema":{"fields":[{"name":"id","type":"BIGINT"},{"name":"customer","type":"BIGINT"},
  {"name":"amount","type":"BIGINT"}]}}'
stream '{"name":"enriched","schema":{"fields":[{"name":"id","type":"BIGINT"},{"name":"customer","type":"BIGINT"},
  {"name":"name","type":"STRING"},{"name":"tier","type":"STRING"},{"name":"since","type":"DATE"},
  {"name":"amount","type":"BIGINT"}]}}'
sql422 other-tenant "$lookup_sql" 'stream "crm_customers" not found'
call DELETE "/v1/connections/$CRMC"; expect 404 not_found
TOKEN=$saved_token TENANT_ID=$saved_tenant
assert_eq "$(sql "SELECT count(*) FROM pipeline_lookups")" 0 "no lookup recorded by a refused pipeline"
# a preview reads streams only: its lookup join is a 422 at the table, saying so
call POST /v1/preview "$(jq -cn --arg s "${lookup_sql#INSERT INTO enriched$'\n'}" '{sql: $s, limit: 5}')"
expect 422 invalid_sql
assert_contains "$(jq -r .error.message <<<"$RESP")" \
  '"crm_customers" is a postgres connection: a preview reads streams only, and does not run a lookup join' \
  "a preview of a lookup join"
assert_eq "$(jq -c '[.error.details.line, .error.details.column]' <<<"$RESP")" "[3,11]" "the preview's error position"
call POST /v1/pipelines/explain "$(jq -cn --arg s "$lookup_sql" '{sql: $s}')"; expect 200
assert_contains "$(jq -r .plan <<<"$RESP")" "crm_customers" "EXPLAIN shows the lookup join's table"
pipeline enrich "$lookup_sql"; P1=$ID
call POST "/v1/pipelines/$P1/activate"; expect 200

wait_for 20 is_state pipelines "$P1" running || fail "the lookup pipeline is not running: $RESP"

# 700 orders in two requests; customers 200..229 do not exist
awk 'BEGIN { for (j = 0; j < 700; j++) printf "{\"id\":%d,\"customer\":%d,\"amount\":%d}\n", j, j * 13 % 230, j % 11 }' \
  > orders.ndjson
for part in "1,350p" "351,700p"; do
  call POST "/v1/connections/$FEED/events" "{\"events\":[$(sed -n "$part" orders.ndjson | paste -sd,)]}"; expect 200
done
# since: 2024-01-01 + k days (2024 is a leap year)
awk 'function day(k,  m) { for (m = 1; k >= len[m]; m++) k -= len[m]; return sprintf("2024-%02d-%02d", m, k + 1) }
  BEGIN { split("gold silver bronze", tier, " "); split("31 29 31 30 31 30 31 31 30 31 30 31", len, " ")
  for (j = 0; j < 700; j++) { k = j * 13 % 230; hit = k < 200 && k % 7 != 3
    since = hit ? day(k) : "null"
    printf "%d|%d|%s|%s|%s|%d\n", j, k, hit ? "n" k : "null", hit ? tier[k % 3 + 1] : "null", since, j % 11 } }' \
  | LC_ALL=C sort > enriched.want
all_out() { [ "$(out_lines "$ENRICHED" .id | wc -l)" -ge 700 ]; }
wait_for 20 all_out || fail "the lookup join wrote $(out_lines "$ENRICHED" .id | wc -l) of 700 rows:
  $(sql "SELECT state, last_error FROM tasks WHERE resource_id = '$P1'")"
out_lines "$ENRICHED" '[.id, .customer, .name, .tier, .since, .amount] | map(tostring) | join("|")' > enriched.got
cmp -s enriched.want enriched.got || { diff enriched.want enriched.got | head -5; fail "the enriched orders differ"; }
grep -q '|null|null|null|' enriched.got || fail "no order went without a customer"
echo "lookup join: $(wc -l < enriched.got) orders enriched as computed (at ${SECONDS}s)"
pid=$(task_pid "$P1")
[ -n "$pid" ] || fail "no running task of the lookup pipeline: $(sql "SELECT state, last_error FROM tasks WHERE resource_id = '$P1'")"
assert_eq "$(readlink "/proc/$pid/exe")" "$FULL_WORKER" "a lookup join runs on the full sluiced binary"
no_secret_in_proc "$pid" crm-pw
# a schema change of its input that would break the lookup join's pipeline is refused
call PATCH "/v1/streams/$ORDERS" '{"schema":{"fields":[{"name":"id","type":"BIGINT"},{"name":"customer","type":"BIGINT"}]}}'
expect 409 conflict
assert_eq "$(jq -r .error.details.pipeline <<<"$RESP")" enrich "the pipeline a schema change would break"
# so are deleting and renaming the connection whose table it reads; a postgres connection no
# pipeline reads is deleted and renamed, and an update keeping the name passes
call DELETE "/v1/connections/$CRMC"; expect 409 conflict
assert_eq "$(jq -r .error.details.used_by <<<"$RESP")" 'pipeline "enrich" (lookup join)' "the lookup table's pipeline"
call PATCH "/v1/connections/$CRMC" '{"name":"crm_renamed"}'; expect 409 conflict
assert_eq "$(jq -r '[.error.details.field, .error.details.pipeline] | join(" ")' <<<"$RESP")" "name enrich" \
  "the rename the pipeline would not survive"
assert_contains "$(jq -r .error.message <<<"$RESP")" 'reads connection "crm_customers" as a lookup join' "its message"
call PATCH "/v1/connections/$CRMC" '{"name":"crm_customers","description":"the CRM"}'; expect 200
# what a pipeline reads as lookup tables is recorded at its create and update (pipeline_lookups):
# a second, stopped pipeline reads crm_spare; while it does, crm_spare keeps its name, connector,
# table and stream; once that pipeline reads crm_customers instead, crm_spare is free
SPARE=$(create_id /v1/connections "{\"name\":\"crm_spare\",\"connector\":\"postgres\",\"type\":\"sink\",
  \"stream\":\"customers\",\"properties\":{\"url\":\"$CRM\",\"table\":\"customers\"}}")
pipeline enrich-spare "${lookup_sql/crm_customers FOR/crm_spare FOR}"; P3=$ID
assert_eq "$(sql "SELECT count(*) FROM pipeline_lookups WHERE pipeline_id = '$P3' AND connection_id = '$SPARE'")" 1 \
  "the lookup a create records"
call DELETE "/v1/connections/$SPARE"; expect 409 conflict
assert_eq "$(jq -r .error.details.used_by <<<"$RESP")" 'pipeline "enrich-spare" (lookup join)' "the spare's pipeline"
refused() { # BODY FIELD: the spare's update BODY is a 409 naming FIELD and the pipeline
  call PATCH "/v1/connections/$SPARE" "$1"; expect 409 conflict
  assert_eq "$(jq -r '[.error.details.field, .error.details.pipeline] | join(" ")' <<<"$RESP")" "$2 enrich-spare" \
    "the change of $2 the pipeline would not survive"
}
refused '{"name":"crm_spare2"}' name
refused '{"connector":"http"}' connector
refused "{\"properties\":{\"url\":\"$CRM\",\"table\":\"suppliers\"}}" properties.table
refused '{"stream":"orders"}' stream
assert_contains "$(jq -r .error.message <<<"$RESP")" "before changing the connection's stream" "the stream's message"
call PATCH "/v1/connections/$SPARE" "{\"properties\":{\"url\":\"$CRM\",\"table\":\"customers\"}}"; expect 200
call PATCH "/v1/pipelines/$P3" "$(jq -cn --arg s "$lookup_sql" '{sql: $s}')"; expect 200
assert_eq "$(sql "SELECT string_agg(connection_id::text, ' ') FROM pipeline_lookups WHERE pipeline_id = '$P3'")" \
  "$CRMC" "the lookup an update records"
call PATCH "/v1/connections/$SPARE" "{\"properties\":{\"url\":\"$CRM\",\"table\":\"suppliers\"}}"; expect 200
call PATCH "/v1/connections/$SPARE" '{"name":"crm_spare2","connector":"postgres","stream":"orders"}'; expect 200
call DELETE "/v1/connections/$SPARE"; expect 204
call DELETE "/v1/pipelines/$P3"; expect 204
assert_eq "$(sql "SELECT count(*) FROM pipeline_lookups WHERE pipeline_id = '$P3'")" 0 "a deleted pipeline's lookups"
# the recorded lookups stay true to the SQL: a stream may not take the name of a connection a
# pipeline reads as a lookup join's table (a name finds a stream first, so the SQL would read the
# stream instead), at create or rename, in any case of letters; and a schema change of the
# table's stream is checked against that pipeline, whose SQL names the connection, not the stream
stream '{"name":"suppliers","schema":{"fields":[{"name":"id","type":"BIGINT"},{"name":"name","type":"STRING"},
  {"name":"tier","type":"STRING"},{"name":"since","type":"DATE"}]}}'; SUPPLIERS=$ID
OTHER=$(create_id /v1/connections "{\"name\":\"crm_other\",\"connector\":\"postgres\",\"type\":\"sink\",
  \"stream\":\"suppliers\",\"properties\":{\"url\":\"$CRM\",\"table\":\"customers\"}}")
pipeline enrich-other "${lookup_sql/crm_customers FOR/crm_other FOR}"; P4=$ID
name_taken() { # METHOD PATH BODY: a 409 naming enrich-other and crm_other
  call "$1" "$2" "$3"; expect 409 conflict
  assert_eq "$(jq -r '[.error.details.field, .error.details.pipeline, .error.details.connection] | join(" ")' <<<"$RESP")" \
    "name enrich-other crm_other" "a stream named as a lookup table: $3"
}
name_taken POST /v1/streams '{"name":"crm_other","schema":{"fields":[{"name":"id","type":"BIGINT"}]}}'
name_taken POST /v1/streams '{"name":"CRM_Other","schema":{"fields":[{"name":"id","type":"BIGINT"}]}}'
assert_contains "$(jq -r .error.message <<<"$RESP")" "a stream of that name would take its place" "its message"
name_taken PATCH "/v1/streams/$SUPPLIERS" '{"name":"crm_other"}'
# hostile: another tenant's stream of that name reads nothing of this tenant's (nor is it told of it)
TOKEN=$INTRUDER
call POST /v1/streams '{"name":"crm_other","schema":{"fields":[{"name":"id","type":"BIGINT"}]}}'; expect 201
TOKEN=$saved_token
call PATCH "/v1/streams/$SUPPLIERS" '{"name":"suppliers","description":"kept name"}'; expect 200
no_tier='{"schema":{"fields":[{"name":"id","type":"BIGINT"},{"name":"name","type":"STRING"},{"name":"since","type":"DATE"}]}}'
call PATCH "/v1/streams/$SUPPLIERS" "$no_tier"; expect 409 conflict
assert_eq "$(jq -r '[.error.details.pipeline, .error.details.stream_field] | join(" ")' <<<"$RESP")" "enrich-other tier" \
  "a schema change of a lookup table's stream that its pipeline would not survive"
call PATCH "/v1/streams/$SUPPLIERS" '{"schema":{"fields":[{"name":"id","type":"BIGINT"},{"name":"name","type":"STRING"},
  {"name":"tier","type":"STRING"},{"name":"since","type":"DATE"},{"name":"region","type":"STRING"}]}}'; expect 200
# once no pipeline reads it, the name is free and the schema change passes
call DELETE "/v1/pipelines/$P4"; expect 204
call PATCH "/v1/streams/$SUPPLIERS" "$no_tier"; expect 200
call POST /v1/streams '{"name":"crm_other","schema":{"fields":[{"name":"id","type":"BIGINT"}]}}'; expect 201
# ... nor may a stream that a temporal join reads be deleted or renamed while a postgres connection
# has its name: the SQL would then read that connection's table as a lookup join's
stream "{\"name\":\"fx\",\"schema\":{\"fields\":[{\"name\":\"currency\",\"type\":\"STRING\"},
  {\"name\":\"rate\",\"type\":\"BIGINT\"},{\"name\":\"rt\",\"type\":\"TIMESTAMP(3)\"}],\"primary_key\":[\"currency\"],$(wm rt)}}"
FX=$ID
pipeline convert-fx "${temporal_sql/rates FOR/fx FOR}"
SHADOW=$(create_id /v1/connections "{\"name\":\"fx\",\"connector\":\"postgres\",\"type\":\"sink\",\"stream\":\"customers\",
  \"properties\":{\"url\":\"$CRM\",\"table\":\"customers\"}}")
call DELETE "/v1/streams/$FX"; expect 409 conflict
assert_eq "$(jq -r .error.details.used_by <<<"$RESP")" 'pipeline "convert-fx" (its SQL would read postgres connection "fx" instead)' \
  "deleting a stream a postgres connection's name would replace"
call PATCH "/v1/streams/$FX" '{"name":"fx_old"}'; expect 409 conflict
assert_eq "$(jq -r '[.error.details.field, .error.details.pipeline, .error.details.connection] | join(" ")' <<<"$RESP")" \
  "name convert-fx fx" "renaming a stream a postgres connection's name would replace"
call PATCH "/v1/connections/$SHADOW" '{"name":"fx_table"}'; expect 200
call PATCH "/v1/streams/$FX" '{"name":"fx_old"}'; expect 200

# ---- 4. the lookup join as two tasks over two partitions, one task SIGKILLed ------------------
# Each task reads its own partitions of the orders and looks up each row on its own (as Flink's
# lookup join at any parallelism): together they write what the one task above wrote. The
# orders' customer is an INT against the table's BIGINT id (integers are one type); a STRING key
# is a 422 at the ON's "="; a NULL key finds no row (LEFT: NULLs).
stream '{"name":"orders2","partitions":2,"schema":{"fields":[{"name":"id","type":"BIGINT"},
  {"name":"customer","type":"INT"},{"name":"amount","type":"BIGINT"},{"name":"ref","type":"STRING"}]}}'; ORDERS2=$ID
stream '{"name":"enriched2","partitions":2,"schema":{"fields":[{"name":"id","type":"BIGINT"},
  {"name":"customer","type":"BIGINT"},{"name":"name","type":"STRING"},{"name":"tier","type":"STRING"},
  {"name":"since","type":"DATE"},{"name":"amount","type":"BIGINT"}]}}'; ENRICHED2=$ID
lookup2_sql=${lookup_sql/INTO enriched/INTO enriched2}
lookup2_sql=${lookup2_sql/FROM orders)/FROM orders2)}
sql422 string-key "${lookup2_sql/o.customer = c.id/o.ref = c.id}" 'join keys of different types: STRING = BIGINT; CAST one side'
assert_eq "$(jq -c '[.error.details.line, .error.details.column]' <<<"$RESP")" "[4,65]" "the string key's position"
call POST /v1/pipelines "$(jq -cn --arg s "$lookup2_sql" '{name: "enrich2", sql: $s, task_count: 2}')"; expect 201
P4=$(jq -r .id <<<"$RESP")
FEED2=$(create_id /v1/connections '{"name":"order-feed2","connector":"http","type":"source","stream":"orders2",
  "properties":{"partition.key":"id"}}')
for r in "pipelines/$P4" "connections/$FEED2"; do call POST "/v1/$r/activate"; expect 200; done
wait_for 20 is_state pipelines "$P4" running || fail "the two-task lookup pipeline is not running: $RESP"
assert_eq "$(sql "SELECT count(*) FROM tasks WHERE resource_id = '$P4' AND state = 'running'")" 2 "its running tasks"
# the same 700 orders, and 20 more whose customer is NULL
awk 'BEGIN { for (j = 700; j < 720; j++) printf "{\"id\":%d,\"customer\":null,\"amount\":%d}\n", j, j % 11 }' \
  >> orders.ndjson
streams="$TEST_TMP/data/tenants/$TENANT_ID/streams"
partition() { # partition STREAM_ID N: its records (logtool reads a directory's partition 0)
  mkdir -p "p-$1-$2" && ln -sfn "$streams/$1/$2" "p-$1-$2/0" && "$logtool" cat "p-$1-$2"
}
enriched2() { { partition "$ENRICHED2" 0; partition "$ENRICHED2" 1; } | jq -r "$1" | LC_ALL=C sort; }
enriched2_has() { [ "$(partition "$ENRICHED2" "$1" | wc -l)" -ge "$2" ]; }
call POST "/v1/connections/$FEED2/events" "{\"events\":[$(sed -n 1,360p orders.ndjson | paste -sd,)]}"; expect 200
wait_for 20 enriched2_has 1 1 || fail "task 1 wrote nothing: $(sql "SELECT task_index, state, last_error FROM tasks
  WHERE resource_id = '$P4'")"
task1() { sql "SELECT $1 FROM tasks WHERE resource_id = '$P4' AND task_index = 1"; }
restarts=$(task1 restarts) pid=$(task1 pid)
kill -9 "$pid" || fail "no task 1 to kill"
back() { [ "$(task1 "state || ' ' || restarts")" = "running $((restarts + 1))" ]; }
wait_for 20 back || fail "task 1 not restarted after SIGKILL: $(task1 "state || ' ' || coalesce(last_error, '')")"
call POST "/v1/connections/$FEED2/events" "{\"events\":[$(sed -n 361,720p orders.ndjson | paste -sd,)]}"; expect 200
all_out2() { [ "$(enriched2 .id | wc -l)" -ge 720 ]; }
wait_for 20 all_out2 || fail "the two tasks wrote $(enriched2 .id | wc -l) of 720 rows:
  $(sql "SELECT task_index, state, last_error FROM tasks WHERE resource_id = '$P4'")"
for n in 0 1; do
  [ "$(partition "$ORDERS2" $n | wc -l)" -gt 100 ] || fail "orders2 partition $n holds too few orders"
  enriched2_has $n 100 || fail "task $n wrote too few rows"
done
enriched2 'select(.customer != null) | [.id, .customer, .name, .tier, .since, .amount] | map(tostring) | join("|")' \
  > enriched2.got
cmp -s enriched.got enriched2.got || { diff enriched.got enriched2.got | head -5; fail "two tasks differ from one"; }
assert_eq "$(enriched2 'select(.customer == null) | [.id, .name, .tier, .since] | map(tostring) | join("|")' |
  sort -n | sed -n '1p;$p' | paste -sd' ')" "700|null|null|null 719|null|null|null" "NULL keys padded with NULLs"
assert_eq "$(enriched2 'select(.customer == null) | .id' | wc -l)" 20 "a row per NULL key"
echo "two tasks: $(wc -l < enriched2.got) orders as one task enriched them, task 1 SIGKILLed once (at ${SECONDS}s)"

echo ok
