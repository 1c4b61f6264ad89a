#!/usr/bin/env bash
# The edges of a request (issue 8): a control byte in the URL, %-escaped (%00, %01, %0a, %1F,
# %7f) or in the query, is a 400 in the JSON error shape and acts on nothing (DELETE
# /v1/streams/<id>%00.json used to delete <id>); an oversized request head gets the JSON shape
# too, not libmicrohttpd's HTML page: a 70 KB id is a 414, a 100 KB header and 500 small
# headers are 431s; heads within the limits still work.
. "$(dirname "$0")/api_lib.sh"
api_start --data-root "$TEST_TMP/data"
signup edge-corp
TOKEN=$KEY

# expect_json STATUS CODE: the last answer is STATUS with error code CODE, as application/json.
expect_json() {
  expect "$1" "$2"
  assert_contains "$(header Content-Type)" "application/json" "content type of the $1"
  [ -n "$(header X-Request-Id)" ] || fail "no X-Request-Id on the $1"
}

S=$(create_id /v1/streams '{"name":"keep","schema":{"fields":[{"name":"a","type":"INT"}]}}')

# Control bytes, %-escaped, in the path: 400, and the stream is still there.
for esc in %00 %01 %0a %0D %1F %7f; do
  call DELETE "/v1/streams/$S$esc.json"; expect_json 400 invalid_request
  assert_contains "$(jq -r .error.message <<<"$RESP")" "control character" "the 400 says why ($esc)"
  assert_eq "$(jq -r .error.details.field <<<"$RESP")" path "details name the path ($esc)"
  call GET "/v1/streams/$S"; expect 200
done
call DELETE "/v1/streams/$S%00"; expect_json 400 invalid_request
call PATCH "/v1/streams/$S%00x" '{"description":"changed"}'; expect_json 400 invalid_request
call GET "/v1/streams/$S"; expect 200
assert_eq "$(jq -r .description <<<"$RESP")" null "a PATCH with %00 changed nothing"
# ... and in the query string; also before authentication.
call GET "/v1/streams?name=keep%00x"; expect_json 400 invalid_request
TOKEN= call GET "/healthz%00"; expect_json 400 invalid_request
# Other escapes still decode as before: %20 and %41 are not control bytes.
call GET "/v1/streams/%41$S"; expect 404 not_found
call GET "/v1/streams?name=ke%65p"; expect 200
assert_eq "$(jq -r '.items[0].id' <<<"$RESP")" "$S" "an ordinary escape in the query"
assert_eq "$(sql "SELECT count(*) FROM streams WHERE id = '$S'")" 1 "the stream survived every attempt"

# A 70 KB id: 414 uri_too_long, as JSON.
long=$(head -c 70000 /dev/zero | tr '\0' a)
call DELETE "/v1/streams/$long"; expect_json 414 uri_too_long
assert_eq "$(jq -r .error.details.limit <<<"$RESP")" 8192 "the URL limit in details"
# Just under the limit it reaches the route (a 404 for an id that is no id).
call GET "/v1/streams/$(head -c 8000 /dev/zero | tr '\0' a)"; expect 404 not_found

# A 100 KB header: 431 headers_too_large, as JSON.
call GET /v1/me "" -H "X-Big: $(head -c 102400 /dev/zero | tr '\0' b)"; expect_json 431 headers_too_large
assert_eq "$(jq -r .error.details.limit <<<"$RESP")" 32768 "the header bytes limit in details"
# 500 small headers: 431, as JSON.
many=()
for i in $(seq 1 500); do many+=(-H "X-H$i: v$i"); done
call GET /v1/me "" "${many[@]}"; expect_json 431 headers_too_large
assert_eq "$(jq -r '.error.details.count >= 500 and .error.details.limit == 100' <<<"$RESP")" true \
  "the header count and limit in details"
# 80 headers of 300 bytes each (24 KB) are within both limits.
some=()
for i in $(seq 1 80); do some+=(-H "X-H$i: $(head -c 300 /dev/zero | tr '\0' c)"); done
call GET /v1/me "" "${some[@]}"; expect 200
# A body is not read when the head is refused: the 431 comes at once.
call POST /v1/streams '{"name":"no","schema":{"fields":[{"name":"a","type":"INT"}]}}' "${many[@]}"
expect_json 431 headers_too_large
assert_eq "$(sql "SELECT count(*) FROM streams WHERE name = 'no'")" 0 "a refused head creates nothing"

# Past even the connection memory (512 KiB) libmicrohttpd answers itself (documented); the
# api lives on.
code=$(curl -sS --cacert "$CACERT" -o /dev/null -w '%{http_code}' -H "X-Huge: $(head -c 700000 /dev/zero | tr '\0' d)" \
  "$API/healthz" || true)
[ "$code" != 200 ] || fail "a 700 KB header was accepted"
call GET /v1/me; expect 200
echo "ok"
