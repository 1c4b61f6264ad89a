#!/usr/bin/env bash
# Installs the Debian packages Sluice needs, only those missing: one `apt-get update`, then one
# non-interactive `apt-get install -y`. Needs root (or sudo) only when something is missing.
set -euo pipefail
pkgs=(build-essential pkg-config git ca-certificates curl jq openssl procps iproute2
      postgresql postgresql-client libpq-dev libmicrohttpd-dev libjansson-dev libssl-dev
      librdkafka-dev check libsubunit-dev libcurl4-openssl-dev libseccomp-dev libyaml-dev libpcre2-dev
      nftables libnftables-dev chromium
      liblua5.4-dev librabbitmq-dev libmosquitto-dev libhiredis-dev
      rabbitmq-server mosquitto redis-server
      clang libclang-rt-14-dev wrk cppcheck clang-format docker-compose)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# the test oracle (tests/oracle: DuckDB for the integration tests' reference results), pinned by
# its package-lock.json, installed when missing
root="$(cd "$(dirname "$0")/.." && pwd)"
if [ ! -d "$root/tests/oracle/node_modules" ]; then
  echo "deps: npm ci in tests/oracle"
  (cd "$root/tests/oracle" && npm ci --no-audit --no-fund --loglevel=error)
fi
