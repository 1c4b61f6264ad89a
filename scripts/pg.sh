#!/usr/bin/env bash
# Local PostgreSQL for development and tests, owned by the project.
#
#   scripts/pg.sh start DIR   initdb DIR (once) and start it on a free loopback port; idempotent.
#                             Prints the connection URL of the `sluice` database on stdout; it
#                             holds the superuser's password, so keep it out of argv and logs.
#   scripts/pg.sh stop DIR    stop it (fast shutdown); idempotent.
#   scripts/pg.sh url DIR     print the URL of a running cluster.
#   scripts/pg.sh destroy DIR stop and remove DIR.
#
# PostgreSQL refuses to run as root, so when root the cluster belongs to the `postgres` user and
# every server command runs through `runuser -u postgres`.
#
# The database is the platform's alone (tenants' workers run as other uids on the same host):
#   - TCP (127.0.0.1 only) takes scram-sha-256 passwords, never trust. The superuser's password
#     is generated once into DIR/password, and the URL with it into DIR/url, both mode 0600 and
#     owned by the user who ran this script (root under make run), never by a tenant.
#   - The Unix socket lives in DIR/sock (mode 0700, the cluster owner's) and takes peer
#     authentication for the cluster owner only; DIR itself is 0700 too.
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

url() { echo "postgresql://$(pg_user):$(cat "$dir/password")@127.0.0.1:$(cat "$dir/port")/sluice"; }
running() { [ -f "$dir/data/postmaster.pid" ] && as_pg "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; }

case "$cmd" in
start)
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$dir"
    # postgres must be able to reach DIR through its parents.
    p=$dir; while [ "$p" != / ]; do p=$(dirname "$p"); chmod o+x "$p" 2>/dev/null || true; done
  fi
  chmod 0700 "$dir"
  if [ ! -s "$dir/password" ]; then
    (umask 077 && openssl rand -hex 24 > "$dir/password.new" && mv "$dir/password.new" "$dir/password")
  fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_pg "$bindir/initdb" -D "$dir/data" -U "$(pg_user)" --auth-local=peer --auth-host=scram-sha-256 -E UTF8 \
      --no-locale >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  fi
  # Written on every start, so a cluster made by an older pg.sh (trust) is closed too.
  printf '%s\n' "# pg.sh: peer for the cluster owner on the socket, passwords over TCP, nothing else" \
    "local all $(pg_user) peer" "host all all 127.0.0.1/32 scram-sha-256" "host all all ::1/128 scram-sha-256" \
    > "$dir/data/pg_hba.conf"
  mkdir -p "$dir/sock"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir/data/pg_hba.conf" "$dir/sock"; fi
  chmod 0700 "$dir/sock"
  # A port found free can be taken before the server binds it: try a few.
  tries=0
  while ! running; do
    port=$(free_port); echo "$port" > "$dir/port"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$dir/port"
    as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir/sock -c unix_socket_permissions=0700 -c password_encryption=scram-sha-256 -c fsync=${PG_FSYNC:-on} -c max_connections=${PG_MAX_CONNECTIONS:-200}" \
      start >/dev/null && break
    tries=$((tries + 1))
    if [ $tries -ge 5 ] || ! grep -q 'Address already in use' "$dir/server.log"; then
      tail -n 20 "$dir/server.log" >&2; exit 1
    fi
  done
  port=$(cat "$dir/port")
  # The owner sets its password over the socket (peer), on every start (idempotent, and a start
  # cut short before this point is mended); on stdin, not argv. The server stores a SCRAM verifier.
  echo "ALTER ROLE \"$(pg_user)\" PASSWORD '$(cat "$dir/password")'" |
    as_pg "$bindir/psql" -X -q -h "$dir/sock" -p "$port" -U "$(pg_user)" -d postgres -v ON_ERROR_STOP=1 >/dev/null
  if ! as_pg "$bindir/psql" -X -h "$dir/sock" -p "$port" -U "$(pg_user)" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='sluice'" | grep -q 1; then
    as_pg "$bindir/createdb" -h "$dir/sock" -p "$port" -U "$(pg_user)" sluice
  fi
  (umask 077 && url > "$dir/url")
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
