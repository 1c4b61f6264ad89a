#!/usr/bin/env bash
# bench/console.sh — how long each page of the web console takes to load on loopback in
# Debian's headless chromium (from navigation to the page's content drawn, after the API calls
# it makes), next to a baseline from the same run: navigating to a static document of the same
# server (/openapi.json, no script). Median and worst of BENCH_LOADS (default 10) loads a page.
# Starts its own PostgreSQL under var/ and removes it afterwards. The goal is under 300 ms.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
sluiced=${SLUICED:-$root/${BUILD:-build}/rel/sluiced}
command -v chromium >/dev/null || { echo "bench/console.sh: chromium is not installed (make deps)"; exit 1; }
mkdir -p var
dir=$(mktemp -d "$root/var/bench-console.XXXXXX")
api_pid=""
cleanup() {
  [ -n "$api_pid" ] && kill "$api_pid" 2>/dev/null && wait "$api_pid" 2>/dev/null
  scripts/pg.sh destroy "$dir/pg" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
db=$(PG_FSYNC=off scripts/pg.sh start "$dir/pg")
"$sluiced" migrate --database-url "$db" 2>/dev/null
port=$(for _ in $(seq 1 100); do p=$((20000 + RANDOM % 12000)); (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo $p; break; }; done)
SLUICE_MASTER_KEY=$(openssl rand -hex 32) SLUICE_LOG_LEVEL=warn \
  "$sluiced" api --database-url "$db" --port "$port" --tls-dir "$dir/tls" --web-dir "$root/${BUILD:-build}/web" \
  >"$dir/api.log" 2>&1 &
api_pid=$!
url="https://127.0.0.1:$port"
for _ in $(seq 1 100); do curl -sf --cacert "$dir/tls/cert.pem" "$url/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
NODE_EXTRA_CA_CERTS="$dir/tls/cert.pem" node "$root/web/test/bench.mjs" "$url" "${BENCH_LOADS:-10}"
