#!/usr/bin/env bash
# The per-tenant storage quota (plans.max_storage_bytes, issue 8) on HTTP ingest: the default
# plans have one; a tenant on a plan with a 4 KiB quota can write until its streams hold
# about that, then gets 507 storage_quota_exceeded naming the quota and the usage, and nothing
# is written (also when a single request would cross it); another tenant is not affected; a
# larger quota lets it write again.
. "$(dirname "$0")/api_lib.sh"
api_start --data-root "$TEST_TMP/data"
assert_eq "$(sql "SELECT string_agg(name || '=' || max_storage_bytes, ' ' ORDER BY name) FROM plans")" \
  "enterprise=10995116277760 free=1073741824 team=107374182400" "the default plans' quotas"
sql "INSERT INTO plans (name, max_streams, max_connections, max_pipelines, max_tasks, max_secrets, max_api_keys,
       rate_per_second, rate_burst, max_storage_bytes) VALUES ('tiny', 100, 100, 10, 10, 10, 10, 1000, 1000, 4096)" \
  >/dev/null
signup other-corp
OTHER=$KEY
signup small-corp
TOKEN=$KEY
T=$TENANT_ID
sql "UPDATE tenants SET plan = 'tiny' WHERE id = '$T'" >/dev/null

setup() { # setup TOKEN: a stream "s" of 2 partitions and an active http connection; sets S, C
  local saved=$TOKEN
  TOKEN=$1
  S=$(create_id /v1/streams '{"name":"s","partitions":2,"schema":{"fields":[{"name":"id","type":"BIGINT"},{"name":"pad","type":"STRING"}]}}')
  C=$(create_id /v1/connections '{"name":"in","connector":"http","type":"source","stream":"s"}')
  call POST "/v1/connections/$C/activate"; expect 200
  TOKEN=$saved
}
records() { # records STREAM: records in both partitions
  local n=0 p
  for p in 0 1; do
    call GET "/v1/streams/$1/records?partition=$p&limit=1"; expect 200
    n=$((n + $(jq -r .end_offset <<<"$RESP")))
  done
  echo "$n"
}
setup "$TOKEN"
SMALL_S=$S SMALL_C=$C

pad=$(head -c 900 /dev/zero | tr '\0' p)
event() { printf '{"events":[{"id":%d,"pad":"%s"}]}' "$1" "$pad"; } # about 920 bytes on disk
# A request that alone is larger than the quota: refused, nothing written.
big=$(jq -cn --arg p "$pad" '{events: [range(6) | {id: ., pad: $p}]}')
call POST "/v1/connections/$SMALL_C/events" "$big"; expect 507 storage_quota_exceeded
assert_eq "$(records "$SMALL_S")" 0 "a request over the quota wrote nothing"
assert_eq "$(jq -c '.error.details | {quota_bytes, used_bytes}' <<<"$RESP")" '{"quota_bytes":4096,"used_bytes":0}' \
  "details: quota and usage"
assert_contains "$(jq -r .error.message <<<"$RESP")" "4096" "the message names the quota"

# Four events fit (about 3.7 KB); the fifth would not.
for i in 1 2 3 4; do
  call POST "/v1/connections/$SMALL_C/events" "$(event "$i")"; expect 200
done
assert_eq "$(records "$SMALL_S")" 4 "four events written"
used=$(du -cb "$TEST_TMP/data/tenants/$T/streams"/*/*/*.log | tail -n 1 | cut -f1)
call POST "/v1/connections/$SMALL_C/events" "$(event 5)"; expect 507 storage_quota_exceeded
assert_eq "$(jq -r .error.details.used_bytes <<<"$RESP")" "$used" "usage is the segment files' size"
assert_contains "$(jq -r .error.message <<<"$RESP")" "$used bytes" "the message names the usage"
assert_eq "$(records "$SMALL_S")" 4 "a refused request wrote nothing"
# ... also after the cached measurement expires (2 s).
sleep 2.2
call POST "/v1/connections/$SMALL_C/events" "$(event 6)"; expect 507 storage_quota_exceeded
assert_eq "$(records "$SMALL_S")" 4 "still nothing written"

# Another tenant (free plan, 1 GiB) writes on.
setup "$OTHER"
TOKEN=$OTHER call POST "/v1/connections/$C/events" "$(event 1)"; expect 200

# A larger quota: writes again (after the cache expires).
sql "UPDATE plans SET max_storage_bytes = 1048576 WHERE name = 'tiny'" >/dev/null
call POST "/v1/connections/$SMALL_C/events" "$(event 7)"; expect 200
assert_eq "$(records "$SMALL_S")" 5 "written under the larger quota"
# No quota at all (NULL) is no limit.
sql "UPDATE plans SET max_storage_bytes = NULL WHERE name = 'tiny'" >/dev/null
call POST "/v1/connections/$SMALL_C/events" "$big"; expect 200
echo "ok"
