#!/usr/bin/env bash
# bench/api.sh — API requests per second and p99 latency over HTTPS on loopback, measured with
# wrk next to a baseline from the same run: GET /healthz (TLS + HTTP only) vs an authenticated
# GET /v1/pipelines (credential cache + tenant scope + query) and POST /v1/pipelines (quota,
# SQL check, insert with audit, commit), each printed as a ratio of the baseline.
# Starts its own PostgreSQL under var/ and removes it afterwards.
#
# The three are measured in turn, BENCH_ROUNDS times over (baseline, list, create; baseline,
# list, create; ...), every one with the same wrk threads and connections. On a shared machine
# the load of others swings from second to second; a round's ratios compare measurements taken
# seconds apart, and the summary is the median round's (each ratio and p99 its median over the
# rounds), so one disturbed measurement does not decide the figures.
#
# Environment: BENCH_SECONDS (default 2, per measurement), BENCH_ROUNDS (5), BENCH_THREADS (2),
# BENCH_CONNECTIONS (32).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/bench_api_lib.sh
. scripts/bench_api_lib.sh
secs=${BENCH_SECONDS:-2} rounds=${BENCH_ROUNDS:-5} threads=${BENCH_THREADS:-2} conns=${BENCH_CONNECTIONS:-32}
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
-- Names unique over threads (setup numbers them) and rounds (the round is the script's argument).
local n = 0
local prefix = ""
local threads = 0
function setup(thread) threads = threads + 1; thread:set("tid", tostring(threads)) end
function init(args) prefix = "b" .. tid .. "r" .. (args[1] or "0") .. "x" end
function request()
  n = n + 1
  local body = '{"name":"' .. prefix .. n .. '","sql":"INSERT INTO out SELECT price FROM bids WHERE price > 10"}'
  return wrk.format("POST", "/v1/pipelines", {["Authorization"] = "Bearer $key", ["Content-Type"] = "application/json"}, body)
end
LUA

# Each run's requests per second and p99 latency (wrk --latency), as "RPS P99" (P99 in ms).
figures() {
  awk '/^Requests\/sec:/ {rps = $2}
       $1 == "99%" {v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
                    p99 = u == "us" ? v / 1000 : u == "s" ? v * 1000 : v}
       END {print rps, p99}'
}
run() { wrk --latency -t"$threads" -c"$conns" -d"${secs}s" "$@" 2>&1 | tee -a "$dir/wrk.log" | figures; }
median() { sort -g | awk '{v[NR] = $1} END {print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
echo "wrk: $threads threads, $conns connections, ${secs}s each, $rounds rounds, HTTPS on loopback"
: >"$dir/rounds"
for r in $(seq 1 "$rounds"); do
  read -r base base_p99 < <(run "$url/healthz")
  read -r list list_p99 < <(run -H "Authorization: Bearer $key" "$url/v1/pipelines?limit=20")
  read -r post post_p99 < <(run -s "$dir/post.lua" "$url/v1/pipelines" "$r")
  awk -v r="$r" -v b="$base" -v bp="$base_p99" -v l="$list" -v lp="$list_p99" -v p="$post" -v pp="$post_p99" 'BEGIN {
    printf "round %d: healthz %.0f req/s (p99 %.1f ms), list %.0f (p99 %.1f ms) %.2fx, create %.0f (p99 %.1f ms) %.2fx\n",
      r, b, bp, l, lp, l / b, p, pp, p / b }'
  echo "$base $base_p99 $list $list_p99 $post $post_p99" >>"$dir/rounds"
done
errors=$(grep -c 'Non-2xx' "$dir/wrk.log" || true)
col() { awk -v c="$1" '{print $c}' "$dir/rounds" | median; }
ratio() { awk -v a="$1" -v b="$2" '{print $a / $b}' "$dir/rounds" | median; }
line() { printf '%-36s %10.0f req/s   p99 %8.1f ms   %s\n' "$1" "$2" "$3" "$4"; }
echo "median of $rounds rounds:"
line "GET /healthz" "$(col 1)" "$(col 2)" "baseline"
line "GET /v1/pipelines (authenticated)" "$(col 3)" "$(col 4)" "$(ratio 3 1 | awk '{printf "%.2fx of baseline (target 0.25x)", $1}')"
line "POST /v1/pipelines (authenticated)" "$(col 5)" "$(col 6)" "$(ratio 5 1 | awk '{printf "%.2fx of baseline (target 0.10x)", $1}')"
[ "$errors" -eq 0 ] || { echo "non-2xx responses during the run: the figures above are not valid"; grep -B2 -A2 'Non-2xx' "$dir/wrk.log"; exit 1; }
