# bench_api_lib.sh — sourced by the benchmarks that need a live api (bench/api.sh,
# bench/console.sh): a throwaway PostgreSQL under var/ (fsync off), migrated, and `sluiced api`
# over HTTPS on a free loopback port, all removed when the benchmark exits.
#
#   bench_api_start NAME [API FLAGS...]   sets dir, db, url, cacert and api_pid
# shellcheck shell=bash
root=$(pwd)
sluiced=${SLUICED:-$root/${BUILD:-build}/rel/sluiced}
api_pid=""
bench_api_cleanup() {
  [ -n "$api_pid" ] && kill "$api_pid" 2>/dev/null && wait "$api_pid" 2>/dev/null
  scripts/pg.sh destroy "$dir/pg" >/dev/null 2>&1 || true
  rm -rf "$dir"
}

bench_api_start() {
  local name=$1; shift
  mkdir -p var
  dir=$(mktemp -d "$root/var/bench-$name.XXXXXX")
  trap bench_api_cleanup EXIT
  db=$(PG_FSYNC=off scripts/pg.sh start "$dir/pg")
  "$sluiced" migrate --database-url "$db" 2>/dev/null
  local port
  port=$(for _ in $(seq 1 100); do p=$((20000 + RANDOM % 12000)); (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo $p; break; }; done)
  SLUICE_MASTER_KEY=$(openssl rand -hex 32) SLUICE_LOG_LEVEL=warn \
    "$sluiced" api --database-url "$db" --port "$port" --tls-dir "$dir/tls" "$@" >"$dir/api.log" 2>&1 &
  api_pid=$!
  url="https://127.0.0.1:$port"
  cacert="$dir/tls/cert.pem"
  for _ in $(seq 1 100); do curl -sf --cacert "$cacert" "$url/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
}
