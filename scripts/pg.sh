#!/usr/bin/env bash
# Local PostgreSQL for development and tests, owned by the project.
#
#   scripts/pg.sh start DIR   initdb DIR (once) and start it on a free loopback port; idempotent.
#                             Prints the connection URL of the `sluice` database on stdout.
#   scripts/pg.sh stop DIR    stop it (fast shutdown); idempotent.
#   scripts/pg.sh url DIR     print the URL of a running cluster.
#   scripts/pg.sh destroy DIR stop and remove DIR.
#
# PostgreSQL refuses to run as root, so when root the cluster belongs to the `postgres` user and
# every server command runs through `runuser -u postgres`.
set -euo pipefail
cmd=${1:?usage: pg.sh start|stop|url|destroy DIR}
dir=${2:?usage: pg.sh start|stop|url|destroy DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$bindir/initdb" ] || { echo "pg.sh: PostgreSQL server binaries not found (run make deps)" >&2; exit 1; }

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
pg_user() { if [ "$(id -u)" -eq 0 ]; then echo postgres; else id -un; fi; }

# Ports are drawn from 20000-31999, below Linux's ephemeral range (32768-60999) that outgoing
# connections use.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 12000))
    port_free "$p" && { echo "$p"; return 0; }
  done
  echo "pg.sh: no free port found" >&2; return 1
}

url() { echo "postgresql://$(pg_user)@127.0.0.1:$(cat "$dir/port")/sluice"; }
running() { [ -f "$dir/data/postmaster.pid" ] && as_pg "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; }

case "$cmd" in
start)
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$dir"
    # postgres must be able to reach DIR through its parents.
    p=$dir; while [ "$p" != / ]; do p=$(dirname "$p"); chmod o+x "$p" 2>/dev/null || true; done
  fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_pg "$bindir/initdb" -D "$dir/data" -U "$(pg_user)" --auth=trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
  fi
  # A port found free can be taken before the server binds it: try a few.
  tries=0
  while ! running; do
    port=$(free_port); echo "$port" > "$dir/port"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$dir/port"
    as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c fsync=${PG_FSYNC:-on} -c max_connections=${PG_MAX_CONNECTIONS:-200}" \
      start >/dev/null && break
    tries=$((tries + 1))
    if [ $tries -ge 5 ] || ! grep -q 'Address already in use' "$dir/server.log"; then
      tail -n 20 "$dir/server.log" >&2; exit 1
    fi
  done
  port=$(cat "$dir/port")
  if ! as_pg "$bindir/psql" -h 127.0.0.1 -p "$port" -U "$(pg_user)" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='sluice'" | grep -q 1; then
    as_pg "$bindir/createdb" -h 127.0.0.1 -p "$port" -U "$(pg_user)" sluice
  fi
  url
  ;;
stop)
  if running; then as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null; fi
  ;;
url)
  running || { echo "pg.sh: not running in $dir" >&2; exit 1; }
  url
  ;;
destroy)
  if running; then as_pg "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null || true; fi
  rm -rf "$dir"
  ;;
*) echo "usage: pg.sh start|stop|url|destroy DIR" >&2; exit 2 ;;
esac
