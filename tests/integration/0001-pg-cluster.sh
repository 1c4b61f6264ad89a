#!/usr/bin/env bash
# The throwaway cluster answers, and the test's own database is empty.
. "$(dirname "$0")/lib.sh"
n=$(psql -tAq "$DATABASE_URL" -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
assert_eq "$n" 0 "fresh test database has no tables"
v=$(psql -tAq "$DATABASE_URL" -c "SHOW server_version_num")
[ "$v" -ge 150000 ] || fail "PostgreSQL 15 or newer expected, got $v"
