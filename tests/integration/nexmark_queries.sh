# nexmark_queries.sh — sourced by the integration tests that run Flink's published Nexmark
# queries (through nexmark_lib.sh; 0218 through the api): a query's published statements, read
# from bench/nexmark/qN.sql (the one copy, which bench/nexmark.sh runs too), and what DuckDB
# (tests/oracle) computes for a query two tests check.

# nexmark_query N: what Flink's published qN.sql (bench/nexmark/, the one copy) runs after its
# sink's CREATE TABLE nexmark_qN: its views and its INSERT, as published (comment lines left out)
nexmark_query() {
  local file="$SLUICE_ROOT/bench/nexmark/q$1.sql"
  [ -f "$file" ] || fail "missing $file"
  awk -v sink="nexmark_q$1" '
    /^--/ { next }
    !after && $1 == "CREATE" && $2 == "TABLE" && $3 == sink { body = 1; next }
    body { if ($0 ~ /\);[[:space:]]*$/) { body = 0; after = 1 }; next }
    after && (started || NF) { started = 1; print }' "$file"
}
# nexmark_tables N: the CREATE TABLE statements of the published qN.sql without their WITH
# (...) options: its sink (and q13's side input) as embedded-log streams
nexmark_tables() {
  local file="$SLUICE_ROOT/bench/nexmark/q$1.sql"
  [ -f "$file" ] || fail "missing $file"
  grep -v '^--' "$file" |
    perl -0777 -ne 'print "$1;\n" while /(CREATE TABLE\s[^;]*?\))\s*WITH\s*\((?:[^()]|\([^()]*\))*\)\s*;/g'
}
# nexmark_count_char: q14's count_char (a Java UDF in Flink) as a Lua function, the one
# bench/nexmark.sh defines too
nexmark_count_char() {
  echo "CREATE FUNCTION count_char RETURNS BIGINT AS '$(cat "$SLUICE_ROOT/bench/nexmark/count_char.lua")' LANGUAGE LUA;"
}
# window start in DuckDB: the epoch-aligned 10-second bucket of a timestamp
bucket="make_timestamp(epoch_ms(dateTime) // 10000 * 10000 * 1000)"
# nexmark_q8_duckdb: q8 in DuckDB over the tables person and auction
nexmark_q8_duckdb() {
  cat <<SQL
SELECT P.id, P.name, strftime(P.starttime, '%Y-%m-%d %H:%M:%S.%g')
FROM (SELECT id, name, $bucket AS starttime FROM person GROUP BY id, name, $bucket) P
JOIN (SELECT seller, $bucket AS starttime FROM auction GROUP BY seller, $bucket) A
ON P.id = A.seller AND P.starttime = A.starttime
SQL
}
