#!/usr/bin/env bash
# The platform database is the platform's alone: no trust authentication anywhere, a password
# (SCRAM) over TCP, and a socket that tenant uids cannot even reach. Acts as a hostile tenant
# would on the same host: a worker uid (200000 up), with and without guessed credentials.
. "$(dirname "$0")/lib.sh"
[ -n "${PG_DIR:-}" ] || fail "PG_DIR not set by scripts/test.sh"
port=$(cat "$PG_DIR/port")
sock="$PG_DIR/sock"
no_pw_url="postgresql://postgres@127.0.0.1:$port/sluice"

# The platform's credentials work.
assert_eq "$(psql -X -tAq "$DATABASE_URL" -c 'SELECT 1')" 1 "the URL from pg.sh connects"
assert_eq "$(psql -X -tAq "$DATABASE_URL" -c "SELECT count(*) FROM pg_hba_file_rules WHERE auth_method = 'trust'")" 0 \
  "no trust rule in pg_hba.conf"
assert_eq "$(psql -X -tAq "$DATABASE_URL" -c "SELECT rolpassword LIKE 'SCRAM-SHA-256%' FROM pg_authid WHERE rolname = current_user")" t \
  "the superuser's password is stored as a SCRAM verifier"

# refused CMD...: the command fails and says why on stderr (kept in $out).
refused() {
  if out=$("$@" 2>&1 </dev/null); then fail "succeeded, should be refused: $* -> $out"; fi
}
# Over TCP without a password, and with a wrong one.
refused env -u PGPASSWORD PGPASSFILE=/nonexistent psql -X -w "$no_pw_url" -c 'SELECT 1'
assert_contains "$out" "no password supplied" "TCP without a password"
refused env PGPASSWORD=guess psql -X -w "$no_pw_url" -c 'SELECT 1'
assert_contains "$out" "password authentication failed" "TCP with a wrong password"

# The credentials are files only the platform user reads.
for f in password url; do
  assert_eq "$(stat -c '%a %U' "$PG_DIR/$f")" "600 $(id -un)" "mode and owner of $f"
done
assert_eq "$(stat -c '%a' "$sock")" 700 "socket directory mode"
assert_eq "$(stat -c '%a' "$PG_DIR")" 700 "cluster directory mode"

if [ "$(id -u)" -ne 0 ]; then echo "not root: skipping the tenant-uid checks"; exit 0; fi
tenant() { setpriv --reuid=200001 --regid=200001 --clear-groups "$@"; }
# A tenant uid through the socket, as the superuser: the directory is closed to it.
refused tenant env PGPASSFILE=/nonexistent psql -X -w -h "$sock" -p "$port" -U postgres -d sluice -c 'SELECT 1'
assert_contains "$out" "Permission denied" "tenant uid on the socket"
# A tenant uid reading the password file, or the socket directory.
refused tenant cat "$PG_DIR/password"
refused tenant ls "$sock"
# A tenant uid over TCP, as any role, without the password.
for role in postgres sluice_app; do
  refused tenant env PGPASSFILE=/nonexistent psql -X -w "postgresql://$role@127.0.0.1:$port/sluice" -c 'SELECT 1'
done
# Root is not the cluster owner: peer authentication on the socket refuses it too.
if [ "$(stat -c %U "$PG_DIR/data")" = postgres ]; then
  refused env PGPASSFILE=/nonexistent psql -X -w -h "$sock" -p "$port" -U postgres -d sluice -c 'SELECT 1'
  assert_contains "$out" "Peer authentication failed" "root as postgres on the socket"
fi
echo "ok: platform database closed to tenants"
