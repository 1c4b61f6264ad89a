#!/usr/bin/env bash
# make run / make stop: a local Sluice — PostgreSQL under var/pg, migrations, the api (HTTPS)
# and the controlplane in the background. Idempotent: when already running it says so.
#
#   scripts/run.sh         start (or report) and print the URL, the CA certificate and a curl line
#   scripts/run.sh stop    stop the api, the controlplane and PostgreSQL
#
# Environment: SLUICE_API_PORT (default 8443), SLUICE_METRICS_PORT (the controlplane's Prometheus
# /metrics, default 9464), SLUICE_VAR_DIR (default ./var), SLUICE_MASTER_KEY
# (default: generated once into var/master.key, mode 0600), BUILD (default build).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
var=${SLUICE_VAR_DIR:-$root/var}
mkdir -p "$var"
var=$(cd "$var" && pwd)
sluiced="$root/${BUILD:-build}/rel/sluiced"
port=${SLUICE_API_PORT:-8443}
metrics_port=${SLUICE_METRICS_PORT:-9464}
mkdir -p "$var/log" "$var/run" "$var/data"
# Tenants' workers run as other uids on this host: var/ lets them pass through to data/ (whose
# tenants/ folder is 0711, each tenant's own 0700) but list nothing, and the logs, pid files, TLS
# key and master key are the platform's alone.
chmod 0711 "$var"
chmod 0700 "$var/log" "$var/run"

alive() { [ -f "$var/run/$1.pid" ] && kill -0 "$(cat "$var/run/$1.pid")" 2>/dev/null; }

# Stops the named processes together: SIGTERM to each (each stops gracefully: the api finishes
# its requests, the controlplane checkpoints and stops its workers), then up to 10 s for all of
# them, then SIGKILL to any left.
stop_all() {
  local name pid stopping=()
  for name in "$@"; do
    if alive "$name"; then
      pid=$(cat "$var/run/$name.pid")
      kill -TERM "$pid" 2>/dev/null || true
      stopping+=("$name:$pid")
    else
      rm -f "$var/run/$name.pid"
    fi
  done
  for _ in $(seq 1 100); do
    local left=0
    for name in "${stopping[@]}"; do kill -0 "${name#*:}" 2>/dev/null && left=1; done
    [ $left = 0 ] && break
    sleep 0.1
  done
  for name in "${stopping[@]}"; do
    kill -0 "${name#*:}" 2>/dev/null && kill -KILL "${name#*:}" 2>/dev/null || true
    rm -f "$var/run/${name%%:*}.pid"
    echo "stopped ${name%%:*}"
  done
}

banner() {
  local url=$1 cert="$var/tls/cert.pem" stop="make stop"
  [ -n "${SLUICE_VAR_DIR:-}" ] && stop="SLUICE_VAR_DIR=$var make stop"
  cat <<MSG

Sluice is running.
  console:      $url/   (sign up in the browser; the certificate is self-signed: $cert)
  API:          $url   (OpenAPI: $url/openapi.json)
  metrics:      http://127.0.0.1:$(cat "$var/run/metrics.port" 2>/dev/null)/metrics (controlplane, Prometheus)
  CA cert:      $cert
  logs:         $var/log/
  stop with:    $stop

Sign up (prints your API key once):
  curl --cacert $cert -H 'Content-Type: application/json' \\
    -d '{"tenant":"acme","email":"you@example.com","password":"change me please"}' $url/v1/signup
Then:
  curl --cacert $cert -H "Authorization: Bearer <api_key.key>" $url/v1/pipelines
Or with the CLI (it keeps the key in ~/.config/sluice/config; see README.md, Quick start):
  $root/${BUILD:-build}/rel/sluice signup --api-url $url --ca-file $cert \\
    --tenant acme --email you@example.com --password-stdin
MSG
}

if [ "${1:-start}" = stop ]; then
  stop_all api controlplane
  if [ -d "$var/pg/data" ] && scripts/pg.sh url "$var/pg" >/dev/null 2>&1; then
    scripts/pg.sh stop "$var/pg"
    echo "stopped PostgreSQL"
  elif [ -d "$var/pg/data" ]; then
    echo "PostgreSQL was not running"
  fi
  exit 0
fi
[ "${1:-start}" = start ] || { echo "usage: scripts/run.sh [start|stop]" >&2; exit 2; }
[ -x "$sluiced" ] || { echo "run.sh: $sluiced not built (run make build)" >&2; exit 1; }

if alive api; then
  echo "Sluice is already running (api pid $(cat "$var/run/api.pid"))."
  banner "https://localhost:$(cat "$var/run/api.port")"
  exit 0
fi

# The ports first, so that a busy one leaves nothing started behind (PostgreSQL included).
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "run.sh: port $port is in use (another make run?); set SLUICE_API_PORT to another port" >&2
  exit 1
fi
if (exec 3<>"/dev/tcp/127.0.0.1/$metrics_port") 2>/dev/null; then
  echo "run.sh: port $metrics_port (the controlplane's metrics) is in use; set SLUICE_METRICS_PORT to another port" >&2
  exit 1
fi

db_url=$(scripts/pg.sh start "$var/pg")
echo "PostgreSQL: $(sed 's#://\([^:/]*\):[^@]*@#://\1:***@#' <<<"$db_url") (data in $var/pg; the password is in $var/pg/password)"
if [ -z "${SLUICE_MASTER_KEY:-}" ] && [ ! -s "$var/master.key" ]; then
  (umask 077 && openssl rand -hex 32 > "$var/master.key")
  echo "generated the secrets master key: $var/master.key"
fi
# The URL holds the database password: it goes through the environment, never argv (which every
# user of the host can read in ps).
SLUICE_DATABASE_URL=$db_url "$sluiced" migrate >>"$var/log/migrate.log" 2>&1 \
  || { tail -n 20 "$var/log/migrate.log" >&2; echo "run.sh: migrations failed" >&2; exit 1; }
# The api logs in as a role of its own that is only a member of sluice_app (no superuser, no
# owner rights, row-level security on every table), with its own password.
if [ ! -s "$var/pg/api.password" ]; then
  (umask 077 && openssl rand -hex 24 > "$var/pg/api.password")
fi
api_password=$(cat "$var/pg/api.password")
psql -X -q -v ON_ERROR_STOP=1 "$db_url" >>"$var/log/migrate.log" 2>&1 <<SQL \
  || { tail -n 20 "$var/log/migrate.log" >&2; echo "run.sh: creating the api's role failed" >&2; exit 1; }
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sluice_api') THEN
    CREATE ROLE sluice_api LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
END \$\$;
ALTER ROLE sluice_api PASSWORD '$api_password';
GRANT sluice_app TO sluice_api;
SQL
api_db_url=$(sed "s#://[^@]*@#://sluice_api:$api_password@#" <<<"$db_url")

echo "$metrics_port" > "$var/run/metrics.port"

cd "$var"
SLUICE_DATABASE_URL=$api_db_url SLUICE_MASTER_KEY_FILE="$var/master.key" SLUICE_TLS_DIR="$var/tls" \
  SLUICE_WEB_DIR="$root/${BUILD:-build}/web" \
  nohup "$sluiced" api --port "$port" --data-root "$var/data" >>"$var/log/api.log" 2>&1 </dev/null &
echo $! > "$var/run/api.pid"
echo "$port" > "$var/run/api.port"
SLUICE_DATABASE_URL=$db_url SLUICE_MASTER_KEY_FILE="$var/master.key" nohup "$sluiced" controlplane --data-root "$var/data" --metrics-port "$metrics_port" --api-ports "$port" \
  >>"$var/log/controlplane.log" 2>&1 </dev/null &
cp_pid=$!
cd "$root"

url="https://localhost:$port"
ready=0
for _ in $(seq 1 100); do
  if [ -f "$var/tls/cert.pem" ] && curl -sf --cacert "$var/tls/cert.pem" "$url/readyz" >/dev/null 2>&1; then ready=1; break; fi
  alive api || break
  sleep 0.1
done
if [ $ready -ne 1 ]; then
  tail -n 20 "$var/log/api.log" >&2
  echo "run.sh: the api did not become ready (log: $var/log/api.log)" >&2
  exit 1
fi

sleep 0.3
if kill -0 "$cp_pid" 2>/dev/null; then
  echo "$cp_pid" > "$var/run/controlplane.pid"
else
  set +e; wait "$cp_pid"; rc=$?; set -e
  tail -n 20 "$var/log/controlplane.log" >&2
  echo "run.sh: the controlplane exited with status $rc (log: $var/log/controlplane.log)" >&2
  exit 1
fi
banner "$url"
