# nexmark_queries.sh — sourced by the integration tests that run Flink's published Nexmark
# queries (0171 under sluiced run, 0213 through the api): a query's published INSERT and what
# DuckDB (tests/oracle) computes for it, shared so both tests run the same text.

# window start in DuckDB: the epoch-aligned 10-second bucket of a timestamp
bucket="make_timestamp(epoch_ms(dateTime) // 10000 * 10000 * 1000)"
# nexmark_q8_insert: q8's INSERT as Flink publishes it
nexmark_q8_insert() {
  cat <<'SQL'
INSERT INTO nexmark_q8
SELECT P.id, P.name, P.starttime
FROM (
  SELECT id, name,
        window_start AS starttime,
        window_end AS endtime
  FROM TABLE(
            TUMBLE(TABLE person, DESCRIPTOR(`dateTime`), INTERVAL '10' SECOND))
  GROUP BY id, name, window_start, window_end
) P
JOIN (
  SELECT seller,
        window_start AS starttime,
        window_end AS endtime
  FROM TABLE(
        TUMBLE(TABLE auction, DESCRIPTOR(`dateTime`), INTERVAL '10' SECOND))
  GROUP BY seller, window_start, window_end
) A
ON P.id = A.seller AND P.starttime = A.starttime AND P.endtime = A.endtime;
SQL
}
# nexmark_q8_duckdb: q8 in DuckDB over the tables person and auction
nexmark_q8_duckdb() {
  cat <<SQL
SELECT P.id, P.name, strftime(P.starttime, '%Y-%m-%d %H:%M:%S.%g')
FROM (SELECT id, name, $bucket AS starttime FROM person GROUP BY id, name, $bucket) P
JOIN (SELECT seller, $bucket AS starttime FROM auction GROUP BY seller, $bucket) A
ON P.id = A.seller AND P.starttime = A.starttime
SQL
}
