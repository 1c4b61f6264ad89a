#!/usr/bin/env bash
# A hostile tenant's worker can write its own tenants/<tenant>/ folder, so it can replace a
# stream's directory with a symlink to anywhere on the host. The api runs previews as root and
# makes the stream's directory the tenant's: it must refuse the symlink, not chown (or create
# anything in) the place it points to.
. "$(dirname "$0")/api_lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "not root: nothing is chowned"; exit 77; }
api_start --data-root "$TEST_TMP/data"
signup evil
TOKEN=$KEY
SID=$(create_id /v1/streams '{"name":"s","schema":{"fields":[{"name":"x","type":"BIGINT"}]}}')
dir="$TEST_TMP/data/tenants/$TENANT_ID/streams/$SID"
victim="$TEST_TMP/victim"
mkdir -p "$victim"; chmod 0755 "$victim"
rm -rf "$dir"; ln -s "$victim" "$dir"          # what the tenant's uid can do in its own folder
call POST /v1/preview '{"sql":"SELECT x FROM s","start":"earliest","timeout_ms":500}'
[ "$STATUS" != 200 ] || fail "a preview through a planted symlink ran: $RESP"
assert_eq "$(jq -r .error.code <<<"$RESP")" internal "the preview is refused"
assert_eq "$(stat -c '%u %a' "$victim")" "0 755" "the symlink's target keeps its owner and mode"
assert_eq "$(ls -A "$victim")" "" "nothing created in the symlink's target"
echo "ok: planted symlink refused ($STATUS)"
