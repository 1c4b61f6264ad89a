# api_lib.sh — sourced by the api integration tests (0010-0099): migrates $DATABASE_URL, starts
# the real `sluiced api` over HTTPS on a free port, and calls it with curl.
#
#   api_start [FLAGS...]        migrate, start the api (pid in API_PID), wait for /readyz
#   call METHOD PATH [BODY] [CURL ARGS...]
#                               sets STATUS and RESP; response headers via header NAME.
#                               Sends Authorization: Bearer $TOKEN when TOKEN is set.
#   header NAME                 a header of the last response
#   expect STATUS [ERROR CODE]  the last call answered STATUS (and that error code), else fail
#   create_id PATH BODY [CURL ARGS...]
#                               POSTs BODY to PATH, fails the test (with the response) unless it
#                               answers 201, prints the new resource's id: ID=$(create_id ...)
#                               (a subshell: STATUS and RESP are not set afterwards)
#   sql QUERY                   (lib.sh) psql as the migrating (owner) user, unaligned tuples only
#   signup TENANT               signs up TENANT; sets KEY (its API key) and TENANT_ID
#   controlplane_start NODE [FLAGS...]
#                               a controlplane (node NODE) on the real worker, over the data root
#                               $TEST_TMP/data; log in $TEST_TMP/cp.log, killed at the end.
#                               FLAGS add to or override the defaults (later flags win)
#   live_start NODE TENANT [CONTROLPLANE FLAGS...]
#                               api_start --data-root $TEST_TMP/data, controlplane_start, signup
#                               TENANT and TOKEN=$KEY: what a test through the api and the real
#                               worker starts with
#   BID_FIELDS                  the fields of the bids datagen (kind bid) writes, as a JSON array
# shellcheck disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

api_start() {
  "$SLUICED" migrate --database-url "$DATABASE_URL" >"$TEST_TMP/migrate.log" 2>&1 \
    || { cat "$TEST_TMP/migrate.log"; fail "migrate failed"; }
  API_PORT=$(free_port)
  export SLUICE_MASTER_KEY=${SLUICE_MASTER_KEY:-$(openssl rand -hex 32)}
  bg "$SLUICED" api --database-url "$DATABASE_URL" --port "$API_PORT" --tls-dir "$TEST_TMP/tls" "$@" \
    >"$TEST_TMP/api.log" 2>&1
  API_PID=$!
  API="https://127.0.0.1:$API_PORT"
  CACERT="$TEST_TMP/tls/cert.pem"
  wait_for 15 curl -sf --cacert "$CACERT" "$API/readyz" \
    || { cat "$TEST_TMP/api.log"; fail "the api did not become ready"; }
}

call() {
  local method=$1 path=$2 body=${3-}
  shift $(( $# < 3 ? $# : 3 ))
  local args=(-sS --cacert "$CACERT" -X "$method" -o "$TEST_TMP/resp.body" -D "$TEST_TMP/resp.headers"
              -w '%{http_code}')
  [ -n "${TOKEN:-}" ] && args+=(-H "Authorization: Bearer $TOKEN")
  if [ -n "$body" ]; then
    [[ "$*" == *Content-Type* ]] || args+=(-H 'Content-Type: application/json')
    args+=(--data-binary "$body")
  fi
  STATUS=$(curl "${args[@]}" "$@" "$API$path")
  RESP=$(cat "$TEST_TMP/resp.body")
}

header() { grep -i "^$1:" "$TEST_TMP/resp.headers" | head -n 1 | cut -d' ' -f2- | tr -d '\r'; }

# expect STATUS [ERROR CODE]: the last call answered STATUS (and that error code).
expect() {
  assert_eq "$STATUS" "$1" "status of the last call (body: $RESP)"
  if [ -n "${2-}" ]; then assert_eq "$(jq -r .error.code <<<"$RESP")" "$2" "error code (body: $RESP)"; fi
}

create_id() {
  call POST "$@"
  expect 201
  jq -r .id <<<"$RESP"
}

signup() {
  local saved=${TOKEN-}
  TOKEN=
  call POST /v1/signup "{\"tenant\":\"$1\",\"email\":\"owner@$1.example\",\"password\":\"correct horse\"}"
  expect 201
  KEY=$(jq -r .api_key.key <<<"$RESP")
  TENANT_ID=$(jq -r .tenant.id <<<"$RESP")
  TOKEN=$saved
}

controlplane_start() {
  local node=$1; shift
  bg "$SLUICED" controlplane --database-url "$DATABASE_URL" --node-id "$node" --data-root "$TEST_TMP/data" \
    --sync-ms 250 --resync-ms 1000 --cgroup-parent "sluice-test-$$" "$@" >"$TEST_TMP/cp.log" 2>&1
}

live_start() {
  local node=$1 tenant=$2; shift 2
  api_start --data-root "$TEST_TMP/data"
  controlplane_start "$node" "$@"
  signup "$tenant"
  TOKEN=$KEY
}

BID_FIELDS='[{"name":"auction","type":"BIGINT"},{"name":"bidder","type":"BIGINT"},{"name":"price","type":"BIGINT"},'\
'{"name":"channel","type":"STRING"},{"name":"url","type":"STRING"},{"name":"date_time","type":"TIMESTAMP(3)"},'\
'{"name":"extra","type":"STRING"}]'
