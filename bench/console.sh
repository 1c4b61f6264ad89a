#!/usr/bin/env bash
# bench/console.sh — how long each page of the web console takes to load on loopback in
# Debian's headless chromium (from navigation to the page's content drawn, after the API calls
# it makes), next to a baseline from the same run: navigating to a static document of the same
# server (/openapi.json, no script). Median and worst of BENCH_LOADS (default 10) loads a page.
# Starts its own PostgreSQL under var/ and removes it afterwards. The goal is under 300 ms.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/bench_api_lib.sh
. scripts/bench_api_lib.sh
command -v chromium >/dev/null || { echo "bench/console.sh: chromium is not installed (make deps)"; exit 1; }
bench_api_start console --web-dir "$root/${BUILD:-build}/web"
NODE_EXTRA_CA_CERTS="$dir/tls/cert.pem" node "$root/web/test/bench.mjs" "$url" "${BENCH_LOADS:-10}"
