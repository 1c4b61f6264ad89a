#!/usr/bin/env bash
# bench/console.sh — how long the web console's pages take to load on loopback in Debian's
# headless chromium, from following a page's link to its content drawn (after the API calls it
# makes), and a full load of the console itself (index.html and its modules), beside a baseline
# from the same run: a full load of a static document of the same server (/openapi.json, no
# script). Median and worst of BENCH_LOADS (default 10) loads. Starts its own PostgreSQL under
# var/ and removes it afterwards. The goal is under 300 ms for every page.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/bench_api_lib.sh
. scripts/bench_api_lib.sh
command -v chromium >/dev/null || { echo "bench/console.sh: chromium is not installed (make deps)"; exit 1; }
bench_api_start console --web-dir "$root/${BUILD:-build}/web"
NODE_EXTRA_CA_CERTS="$dir/tls/cert.pem" node "$root/web/test/bench.mjs" "$url" "${BENCH_LOADS:-10}"
