#!/usr/bin/env bash
# The filesystem connector through the api and the controlplane (real sandboxed worker):
#  - a CSV source connection without source.monitor-interval is a batch job: it copies the
#    tenant's files into its stream and reaches `completed`; its count and sum are awk's; a
#    pipeline over that stream completes after it
#  - a JSON sink connection writes that stream into committed part files in the tenant's
#    directory (no hidden file left once they are there)
#  - a hostile tenant's paths: "..", absolute paths outside its files directory, a symlink there
#    leading out are a 422 at create naming properties.path; a symlink planted after the create
#    is refused by the worker (last_error says so) and nothing from behind it is read
. "$(dirname "$0")/api_lib.sh"
live_start fs fs-corp
FILES="$TEST_TMP/data/tenants/$TENANT_ID/files"
mkdir -p "$FILES/in" "$TEST_TMP/secret"
for f in 1 2; do
  awk -v f=$f 'BEGIN { for (i = 1; i <= 250; i++) printf "%d,\"n, %d\",%d\n", f * 1000 + i, i, (f * 1000 + i) % 97 }' \
    > "$FILES/in/part$f.csv"
done
want="500 $(cat "$FILES"/in/*.csv | awk -F, '{ s += $NF } END { print s }')"
# behind the symlink planted later: rows that must never be read
printf '9001,"secret",1\n9002,"secret",2\n' > "$TEST_TMP/secret/data.csv"
chmod -R a+rX "$FILES" "$TEST_TMP/secret"

schema='{"fields":[{"name":"id","type":"BIGINT"},{"name":"name","type":"STRING"},{"name":"amount","type":"BIGINT"}]}'
stream() { ID=$(create_id /v1/streams "{\"name\":\"$1\",\"schema\":$schema}"); }
connection() { # connection NAME TYPE STREAM PROPERTIES: sets ID
  ID=$(create_id /v1/connections "{\"name\":\"$1\",\"connector\":\"filesystem\",\"type\":\"$2\",\"stream\":\"$3\",\"properties\":$4}")
}
state() { call GET "/v1/connections/$1"; [ "$(jq -r .actual_state <<<"$RESP")" = "$2" ]; }

# ---- refusals at create ----------------------------------------------------------------------
stream rows; ROWS=$ID
stream spare; SPARE=$ID
ln -s /etc "$FILES/etc-link"
refused() { # refused PATH WHAT: a 422 naming properties.path
  call POST /v1/connections "{\"name\":\"bad\",\"connector\":\"filesystem\",\"type\":\"source\",\"stream\":\"spare\",\"properties\":{\"path\":\"$1\",\"format\":\"csv\"}}"
  expect 422
  assert_eq "$(jq -r .error.details.field <<<"$RESP")" properties.path "the refused field ($1)"
  assert_contains "$(jq -r .error.message <<<"$RESP")" "$2" "why $1 is refused"
}
refused "../../other-tenant/files" 'may not contain ".."'
refused "in/../../x" 'may not contain ".."'
refused "file://../x" 'may not contain ".."'
refused "/etc" "outside the tenant's files directory"
refused "file:///etc/passwd" "outside the tenant's files directory"
refused "$TEST_TMP/data/tenants" "outside the tenant's files directory"
refused "etc-link" "leads outside the tenant's files directory"
refused "etc-link/passwd" "leads outside the tenant's files directory"
call POST /v1/connections '{"name":"bad","connector":"filesystem","type":"source","stream":"spare","properties":{"format":"csv"}}'
expect 422
assert_eq "$(jq -r .error.details.field <<<"$RESP")" properties.path "a missing path"
call POST /v1/connections '{"name":"bad","connector":"filesystem","type":"source","stream":"spare","properties":{"path":"in","format":"csv","__root":"/"}}'
expect 422
assert_eq "$(jq -r .error.details.field <<<"$RESP")" properties.__root "a tenant cannot set the worker's root"
call POST /v1/connections '{"name":"bad","connector":"filesystem","type":"sink","stream":"spare","properties":{"path":"o","format":"csv","sink.rolling-policy.file-size":"huge"}}'
expect 422
assert_eq "$(jq -r .error.details.field <<<"$RESP")" "properties.sink.rolling-policy.file-size" "an ill-typed size"
rm "$FILES/etc-link"

# ---- a bounded CSV source: a batch job that completes -------------------------------------------
connection files-in source rows '{"path":"in","format":"csv"}'; IN=$ID
call POST "/v1/connections/$IN/activate"; expect 200
wait_for 60 state "$IN" completed || fail "the bounded file source did not complete: $RESP
$(sql "SELECT state, last_error FROM tasks")"
call GET "/v1/streams/$ROWS/records?offset=0&limit=1000"; expect 200
assert_eq "$(jq -r '"\(.items | length) \([.items[].value.amount] | add)"' <<<"$RESP")" "$want" "rows copied (count, sum)"
assert_eq "$(jq -r '[.items[].value.name] | map(select(. == "n, 7")) | length' <<<"$RESP")" 2 "quoted names"

# a pipeline over the completed stream is bounded too: it completes
stream doubled; DOUBLED=$ID
PIPE=$(create_id /v1/pipelines '{"name":"double","sql":"INSERT INTO doubled SELECT id, name, amount * 2 AS amount FROM rows"}')
call POST "/v1/pipelines/$PIPE/activate"; expect 200
pstate() { call GET "/v1/pipelines/$1"; [ "$(jq -r .actual_state <<<"$RESP")" = "$2" ]; }
wait_for 60 pstate "$PIPE" completed || fail "the pipeline over the file source's stream did not complete: $RESP"
call GET "/v1/streams/$DOUBLED/records?offset=0&limit=1000"; expect 200
read -r n sum <<<"$want"
assert_eq "$(jq -r '"\(.items | length) \([.items[].value.amount] | add)"' <<<"$RESP")" "$n $((sum * 2))" "the pipeline's rows"

# ---- a JSON sink into the tenant's directory -----------------------------------------------------
connection files-out sink rows '{"path":"out","format":"json"}'; OUT=$ID
call POST "/v1/connections/$OUT/activate"; expect 200
written() { [ "$(find "$FILES/out" -name 'part-*' -type f -print0 2>/dev/null | xargs -0 -r cat | wc -l)" -ge 500 ]; }
wait_for 60 written || fail "the sink wrote $(find "$FILES/out" -name 'part-*' -type f -print0 2>/dev/null | xargs -0 -r cat | wc -l) of 500 rows: $(sql "SELECT state, last_error FROM tasks")"
got=$(find "$FILES/out" -name 'part-*' -type f -print0 | xargs -0 cat | jq -s -r '"\(length) \(map(.amount) | add)"')
assert_eq "$got" "$want" "rows in the sink's part files (count, sum)"
call POST "/v1/connections/$OUT/deactivate"; expect 200
wait_for 30 state "$OUT" stopped || fail "the sink did not stop: $RESP"
assert_eq "$(find "$FILES/out" -name '.*' -type f | wc -l)" 0 "no hidden part file once stopped"

# ---- a symlink planted after the create is not followed -------------------------------------------
connection files-later source spare '{"path":"later","format":"csv"}'; LATER=$ID
ln -s "$TEST_TMP/secret" "$FILES/later"
call POST "/v1/connections/$LATER/activate"; expect 200
wait_for 90 state "$LATER" failed || fail "the connection through a planted symlink did not fail: $RESP"
assert_contains "$(jq -r .last_error <<<"$RESP")" "leads outside the tenant's files directory: refused" "last_error"
call GET "/v1/streams/$SPARE/records?offset=0&limit=10"; expect 200
assert_eq "$(jq -r '.items | length' <<<"$RESP")" 0 "nothing read from behind the symlink"
echo ok
