#!/usr/bin/env bash
# Flink's published Nexmark q15-q19 (the updating queries: unbounded GROUP BY, deduplication,
# Top-N), their INSERT statements as published (read from bench/nexmark/ by nexmark_query), and a
# running OVER aggregate, under `sluiced run --bounded` over a datagen bid
# stream; the sinks are embedded-log upsert streams with the PRIMARY KEY Flink's upsert sinks
# would need. The final table each changelog leaves must equal exactly what DuckDB (an
# independent engine, tests/oracle) computes over the same bids, which a first run copies into
# a stream and logtool dumps. Ties in Top-N and deduplication are broken by arrival order, as
# Flink's operators do (DuckDB gets each record's position as column seq).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nexmark_lib.sh"
events=4000
bid_ddl=$(nexmark_bid_ddl 0 "$events")

# the input: the same datagen records, copied into a stream and dumped as NDJSON
nexmark_copy_bids "$events"

# run QUERY: SINK_DDL (the file q$1.sink), the published INSERT (q$1.insert), the oracle's
# query (q$1.duckdb); compares the final tables
check() { # N KEYS
  local n=$1 keys=$2
  { echo "$bid_ddl"; cat "q$n.sink"; cat "q$n.insert"; } > "q$n.sql"
  "$SLUICED" run --bounded --data-dir "d$n" "q$n.sql" 2> "q$n.err" || fail "q$n run: $(cat "q$n.err")"
  grep -q "completed: $events records in" "q$n.err" || fail "q$n did not read every bid: $(cat "q$n.err")"
  "$logtool" changelog "d$n/streams/nexmark_q$n" > "q$n.changelog"
  node "$oracle/final_table.mjs" "$keys" < "q$n.changelog" > "q$n.got" || fail "q$n: reading the changelog"
  node "$oracle/duckdb_query.mjs" bid "$bid_columns" bids.ndjson "q$n.duckdb" > "q$n.want" || fail "q$n: DuckDB failed"
  [ -s "q$n.want" ] || fail "q$n: DuckDB gave no row"
  cmp -s "q$n.want" "q$n.got" || { diff "q$n.want" "q$n.got" | head -5; fail "q$n: the final table differs from DuckDB's"; }
  echo "q$n: $(wc -l < "q$n.got") rows from $(wc -l < "q$n.changelog") changes, equal to DuckDB's"
}

# q15 and q16 count bids, bidders and auctions, in all and per price rank (Flink's rank1-3):
# their twelve aggregates in DuckDB.
rank_counts() {
  local col
  for col in '*' 'DISTINCT bidder' 'DISTINCT auction'; do
    printf '  count(%s), count(%s) FILTER (WHERE price < 10000), count(%s) FILTER (WHERE price >= 10000 AND price < 1000000),\n' \
      "$col" "$col" "$col"
    printf '  count(%s) FILTER (WHERE price >= 1000000),\n' "$col"
  done | sed '$ s/,$//'
}

# ---- q15 ----
cat > q15.sink <<'SQL'
CREATE TABLE nexmark_q15 (`day` VARCHAR, total_bids BIGINT, rank1_bids BIGINT, rank2_bids BIGINT, rank3_bids BIGINT,
  total_bidders BIGINT, rank1_bidders BIGINT, rank2_bidders BIGINT, rank3_bidders BIGINT, total_auctions BIGINT,
  rank1_auctions BIGINT, rank2_auctions BIGINT, rank3_auctions BIGINT, PRIMARY KEY (`day`) NOT ENFORCED);
SQL
nexmark_query 15 > q15.insert
cat > q15.duckdb <<SQL
SELECT strftime(dateTime, '%Y-%m-%d') AS day,
$(rank_counts)
FROM bid GROUP BY strftime(dateTime, '%Y-%m-%d')
SQL
check 15 day

# ---- q16 ----
cat > q16.sink <<'SQL'
CREATE TABLE nexmark_q16 (channel VARCHAR, `day` VARCHAR, `minute` VARCHAR, total_bids BIGINT, rank1_bids BIGINT,
  rank2_bids BIGINT, rank3_bids BIGINT, total_bidders BIGINT, rank1_bidders BIGINT, rank2_bidders BIGINT,
  rank3_bidders BIGINT, total_auctions BIGINT, rank1_auctions BIGINT, rank2_auctions BIGINT, rank3_auctions BIGINT,
  PRIMARY KEY (channel, `day`) NOT ENFORCED);
SQL
nexmark_query 16 > q16.insert
cat > q16.duckdb <<SQL
SELECT channel, strftime(dateTime, '%Y-%m-%d') AS day, max(strftime(dateTime, '%H:%M')),
$(rank_counts)
FROM bid GROUP BY channel, strftime(dateTime, '%Y-%m-%d')
SQL
check 16 channel,day

# ---- q17 ----
cat > q17.sink <<'SQL'
CREATE TABLE nexmark_q17 (auction BIGINT, `day` VARCHAR, total_bids BIGINT, rank1_bids BIGINT, rank2_bids BIGINT,
  rank3_bids BIGINT, min_price BIGINT, max_price BIGINT, avg_price BIGINT, sum_price BIGINT,
  PRIMARY KEY (auction, `day`) NOT ENFORCED);
SQL
nexmark_query 17 > q17.insert
# Flink's AVG of a BIGINT is a BIGINT: the sum divided by the count as integers (prices are positive)
cat > q17.duckdb <<'SQL'
SELECT auction, strftime(dateTime, '%Y-%m-%d') AS day,
  count(*), count(*) FILTER (WHERE price < 10000), count(*) FILTER (WHERE price >= 10000 AND price < 1000000),
  count(*) FILTER (WHERE price >= 1000000), min(price), max(price), sum(price) // count(price), sum(price)
FROM bid GROUP BY auction, strftime(dateTime, '%Y-%m-%d')
SQL
check 17 auction,day

# ---- q18: deduplication, the last bid of each (bidder, auction) by event time ----
cat > q18.sink <<'SQL'
CREATE TABLE nexmark_q18 (auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR,
  `dateTime` TIMESTAMP(3), extra VARCHAR, PRIMARY KEY (bidder, auction) NOT ENFORCED);
SQL
nexmark_query 18 > q18.insert
cat > q18.duckdb <<'SQL'
SELECT auction, bidder, price, channel, url, strftime(dateTime, '%Y-%m-%d %H:%M:%S.%g'), extra
FROM bid
QUALIFY ROW_NUMBER() OVER (PARTITION BY bidder, auction ORDER BY dateTime DESC, seq DESC) = 1
SQL
check 18 bidder,auction

# ---- q19: Top-10 bids by price of each auction, with the rank ----
cat > q19.sink <<'SQL'
CREATE TABLE nexmark_q19 (auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR,
  `dateTime` TIMESTAMP(3), extra VARCHAR, rank_number BIGINT, PRIMARY KEY (auction, rank_number) NOT ENFORCED);
SQL
nexmark_query 19 > q19.insert
cat > q19.duckdb <<'SQL'
SELECT auction, bidder, price, channel, url, strftime(dateTime, '%Y-%m-%d %H:%M:%S.%g'), extra,
  ROW_NUMBER() OVER (PARTITION BY auction ORDER BY price DESC, seq ASC) AS rank_number
FROM bid
QUALIFY rank_number <= 10
SQL
check 19 auction,rank_number

# ---- running OVER aggregates (not a Nexmark query): append-only, every row once ----
cat > q90.sink <<'SQL'
CREATE TABLE nexmark_q90 (auction BIGINT, price BIGINT, `dateTime` TIMESTAMP(3), s BIGINT, m BIGINT, n BIGINT);
SQL
cat > q90.insert <<'SQL'
INSERT INTO nexmark_q90
SELECT auction, price, `dateTime`,
  SUM(price) OVER (PARTITION BY auction ORDER BY `dateTime` ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS s,
  MAX(price) OVER (PARTITION BY auction ORDER BY `dateTime` ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS m,
  COUNT(*) OVER (PARTITION BY auction ORDER BY `dateTime` ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS n
FROM bid WHERE price > 1000;
SQL
# rows of equal event time go in arrival order (seq), as over.c processes them
cat > q90.duckdb <<'SQL'
SELECT auction, price, strftime(dateTime, '%Y-%m-%d %H:%M:%S.%g'),
  SUM(price) OVER w, MAX(price) OVER w, COUNT(*) OVER w
FROM bid WHERE price > 1000
WINDOW w AS (PARTITION BY auction ORDER BY dateTime, seq ROWS BETWEEN 2 PRECEDING AND CURRENT ROW)
SQL
check 90 -
