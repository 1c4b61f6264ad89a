#!/usr/bin/env bash
# bench/api.sh — API requests per second and p99 latency over HTTPS on loopback, measured with
# wrk next to a baseline from the same run: GET /healthz (TLS + HTTP only) vs an authenticated
# GET /v1/pipelines (credential cache + tenant scope + query) and POST /v1/pipelines (quota,
# SQL check, insert with audit and NOTIFY, commit), each printed as a ratio of the baseline.
# Starts its own PostgreSQL under var/ and removes it afterwards.
#
# Environment: BENCH_SECONDS (default 5), BENCH_THREADS (2), BENCH_CONNECTIONS (32).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/bench_api_lib.sh
. scripts/bench_api_lib.sh
secs=${BENCH_SECONDS:-5} threads=${BENCH_THREADS:-2} conns=${BENCH_CONNECTIONS:-32}
command -v wrk >/dev/null || { echo "bench/api.sh: wrk is not installed (apt-get install wrk)"; exit 1; }
bench_api_start api

key=$(curl -sS --cacert "$dir/tls/cert.pem" -H 'Content-Type: application/json' \
  -d '{"tenant":"bench","email":"bench@example.com","password":"bench password"}' "$url/v1/signup" | jq -r .api_key.key)
# Lift the plan's limits so the benchmark measures the server, not the quota.
psql -X -q "$db" -c "INSERT INTO plans (name, max_streams, max_connections, max_pipelines, max_tasks, max_secrets, max_api_keys, rate_per_second, rate_burst) VALUES ('unlimited', 1000000, 1000000, 1000000, 1000000, 1000000, 1000000, 1e9, 1e9)" \
  -c "UPDATE tenants SET plan = 'unlimited'"
# The streams the pipelines read and write (pipeline SQL is planned against them).
for stream in bids out; do
  curl -sSf -o /dev/null --cacert "$dir/tls/cert.pem" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    -d "{\"name\":\"$stream\",\"schema\":{\"fields\":[{\"name\":\"price\",\"type\":\"BIGINT\"}]}}" "$url/v1/streams" ||
    { echo "bench/api.sh: creating stream $stream failed"; exit 1; }
done
for i in $(seq 1 20); do   # a realistic first page to list
  curl -sS -o /dev/null --cacert "$dir/tls/cert.pem" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    -d "{\"name\":\"seed$i\",\"sql\":\"INSERT INTO out SELECT * FROM bids\"}" "$url/v1/pipelines" -f ||
    { echo "bench/api.sh: creating pipeline seed$i failed"; exit 1; }
done

cat > "$dir/post.lua" <<LUA
local n = 0
local prefix = ""
function setup(thread) thread:set("tid", tostring(math.random(1, 1e9))) end
function init(args) prefix = "b" .. tid .. "x" end
function request()
  n = n + 1
  local body = '{"name":"' .. prefix .. n .. '","sql":"INSERT INTO out SELECT price FROM bids WHERE price > 10"}'
  return wrk.format("POST", "/v1/pipelines", {["Authorization"] = "Bearer $key", ["Content-Type"] = "application/json"}, body)
end
LUA

# Each run's requests per second and p99 latency (wrk --latency), as "RPS P99".
figures() { awk '/^Requests\/sec:/ {rps = $2} $1 == "99%" {p99 = $2} END {print rps, p99}'; }
run() { wrk --latency -t"$threads" -c"$conns" -d"${secs}s" "$@" 2>&1 | tee -a "$dir/wrk.log" | figures; }
echo "wrk: $threads threads, $conns connections, ${secs}s each, HTTPS on loopback"
read -r base base_p99 < <(run "$url/healthz")
read -r list list_p99 < <(run -H "Authorization: Bearer $key" "$url/v1/pipelines?limit=20")
read -r post post_p99 < <(run -s "$dir/post.lua" "$url/v1/pipelines")
errors=$(grep -c 'Non-2xx' "$dir/wrk.log" || true)
ratio() { awk -v a="$1" -v b="$base" 'BEGIN {printf "%.2fx of baseline", a / b}'; }
printf '%-36s %10s req/s   p99 %8s   %s\n' "GET /healthz" "$base" "$base_p99" "baseline"
printf '%-36s %10s req/s   p99 %8s   %s\n' "GET /v1/pipelines (authenticated)" "$list" "$list_p99" "$(ratio "$list")"
printf '%-36s %10s req/s   p99 %8s   %s\n' "POST /v1/pipelines (authenticated)" "$post" "$post_p99" "$(ratio "$post")"
[ "$errors" -eq 0 ] || { echo "non-2xx responses during the run: the figures above are not valid"; grep -B2 -A2 'Non-2xx' "$dir/wrk.log"; exit 1; }
