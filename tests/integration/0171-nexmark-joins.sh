#!/usr/bin/env bash
# Flink's published Nexmark join queries (q3, q20, q4), their INSERT statements unmodified, and a
# LEFT JOIN, under `sluiced run --bounded` over three datagen streams (person, auction, bid: a
# pipeline that reads two of them); the sinks are embedded-log streams (an upsert stream with
# the PRIMARY KEY Flink's upsert sink would need where the result is updating). The final table
# each changelog leaves must equal exactly what DuckDB (an independent engine, tests/oracle)
# computes over the same records, which a first run copies into streams and logtool dumps.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nexmark_lib.sh" # (it changes to $TEST_TMP)
people=120 # the generator's blocks: one person, three auctions and 46 bids each
person_ddl="CREATE TABLE person (id BIGINT, name STRING, emailAddress STRING, creditCard STRING, city STRING, state STRING,
  \`dateTime\` TIMESTAMP(3), extra STRING, WATERMARK FOR \`dateTime\` AS \`dateTime\` - INTERVAL '4' SECOND)
  WITH ('connector' = 'datagen', 'kind' = 'person', 'events' = '$people', 'rate' = '0');"
auction_ddl="CREATE TABLE auction (id BIGINT, itemName STRING, description STRING, initialBid BIGINT, reserve BIGINT,
  \`dateTime\` TIMESTAMP(3), expires TIMESTAMP(3), seller BIGINT, category BIGINT, extra STRING,
  WATERMARK FOR \`dateTime\` AS \`dateTime\` - INTERVAL '4' SECOND)
  WITH ('connector' = 'datagen', 'kind' = 'auction', 'events' = '$((people * 3))', 'rate' = '0');"
bid_ddl=$(nexmark_bid_ddl 0 "$((people * 46))")
person_columns='id BIGINT, name VARCHAR, emailAddress VARCHAR, creditCard VARCHAR, city VARCHAR, state VARCHAR, dateTime TIMESTAMP, extra VARCHAR'
auction_columns='id BIGINT, itemName VARCHAR, description VARCHAR, initialBid BIGINT, reserve BIGINT, dateTime TIMESTAMP, expires TIMESTAMP, seller BIGINT, category BIGINT, extra VARCHAR'

# the input: the same datagen records, copied into streams and dumped as NDJSON
for t in person auction bid; do
  ddl_var="${t}_ddl"
  cols_var="${t}_columns"
  copy_cols=$(echo "${!cols_var}" | sed -e 's/VARCHAR/STRING/g' -e 's/TIMESTAMP/TIMESTAMP(3)/g' -e 's/dateTime/`dateTime`/')
  { echo "${!ddl_var}"
    echo "CREATE TABLE ${t}_copy ($copy_cols);"
    echo "INSERT INTO ${t}_copy SELECT * FROM $t;"; } > "copy_$t.sql"
  "$SLUICED" run --bounded --data-dir copy "copy_$t.sql" 2> "copy_$t.err" || fail "copy of $t: $(cat "copy_$t.err")"
  "$logtool" cat "copy/streams/${t}_copy" > "$t.ndjson"
done
assert_eq "$(wc -l < person.ndjson)" "$people" "persons copied"
assert_eq "$(wc -l < bid.ndjson)" "$((people * 46))" "bids copied"

# check N KEYS INPUTS...: runs the sink DDL (qN.sink) and the published INSERT (qN.insert) over
# the INPUTS' datagen tables; compares the final table with DuckDB's (qN.duckdb) over them
check() {
  local n=$1 keys=$2 records=0; shift 2
  local oracle_args=()
  { for t in "$@"; do v="${t}_ddl"; echo "${!v}"; done; cat "q$n.sink"; cat "q$n.insert"; } > "q$n.sql"
  for t in "$@"; do
    v="${t}_columns"
    oracle_args+=("$t" "${!v}" "$t.ndjson")
    records=$((records + $(wc -l < "$t.ndjson")))
  done
  "$SLUICED" run --bounded --data-dir "d$n" "q$n.sql" 2> "q$n.err" || fail "q$n run: $(cat "q$n.err")"
  grep -q "completed: $records records in" "q$n.err" || fail "q$n did not read every record: $(cat "q$n.err")"
  "$logtool" changelog "d$n/streams/nexmark_q$n" > "q$n.changelog"
  node "$oracle/final_table.mjs" "$keys" < "q$n.changelog" > "q$n.got" || fail "q$n: reading the changelog"
  node "$oracle/duckdb_query.mjs" "${oracle_args[@]}" "q$n.duckdb" > "q$n.want" || fail "q$n: DuckDB failed"
  [ -s "q$n.want" ] || fail "q$n: DuckDB gave no row"
  cmp -s "q$n.want" "q$n.got" || { diff "q$n.want" "q$n.got" | head -5; fail "q$n: the final table differs from DuckDB's"; }
  echo "q$n: $(wc -l < "q$n.got") rows from $(wc -l < "q$n.changelog") changes, equal to DuckDB's"
}

# ---- q3: persons selling in category 10, an inner join of append-only streams ----
cat > q3.sink <<'SQL'
CREATE TABLE nexmark_q3 (name VARCHAR, city VARCHAR, state VARCHAR, id BIGINT);
SQL
nexmark_query 3 > q3.insert
cat > q3.duckdb <<'SQL'
SELECT P.name, P.city, P.state, A.id FROM auction A JOIN person P ON A.seller = P.id
WHERE A.category = 10 AND (P.state = 'OR' OR P.state = 'ID' OR P.state = 'CA')
SQL
check 3 - person auction

# ---- q20: bids joined with their auction's details ----
cat > q20.sink <<'SQL'
CREATE TABLE nexmark_q20 (auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR,
  bid_dateTime TIMESTAMP(3), bid_extra VARCHAR, itemName VARCHAR, description VARCHAR, initialBid BIGINT,
  reserve BIGINT, auction_dateTime TIMESTAMP(3), expires TIMESTAMP(3), seller BIGINT, category BIGINT,
  auction_extra VARCHAR);
SQL
nexmark_query 20 > q20.insert
cat > q20.duckdb <<'SQL'
SELECT auction, bidder, price, channel, url, strftime(B.dateTime, '%Y-%m-%d %H:%M:%S.%g'), B.extra,
  itemName, description, initialBid, reserve, strftime(A.dateTime, '%Y-%m-%d %H:%M:%S.%g'),
  strftime(expires, '%Y-%m-%d %H:%M:%S.%g'), seller, category, A.extra
FROM bid B JOIN auction A ON B.auction = A.id WHERE A.category = 10
SQL
check 20 - bid auction

# ---- q4: the average closing price per category: a comma join bounded by each auction's
# lifetime, then two GROUP BYs (an updating result) ----
cat > q4.sink <<'SQL'
CREATE TABLE nexmark_q4 (id BIGINT, final BIGINT, PRIMARY KEY (id) NOT ENFORCED);
SQL
nexmark_query 4 > q4.insert
# Flink's AVG of a BIGINT is a BIGINT: the sum divided by the count as integers (prices are positive)
cat > q4.duckdb <<'SQL'
SELECT category, sum(final) // count(final) FROM (
  SELECT MAX(B.price) AS final, A.category FROM auction A, bid B
  WHERE A.id = B.auction AND B.dateTime BETWEEN A.dateTime AND A.expires
  GROUP BY A.id, A.category) Q
GROUP BY category
SQL
check 4 id auction bid

# ---- a LEFT JOIN (not a Nexmark query): every person, with their auctions or NULLs; the
# padded rows are retracted as auctions arrive ----
cat > q91.sink <<'SQL'
CREATE TABLE nexmark_q91 (person_id BIGINT, name VARCHAR, auction_id BIGINT, category BIGINT,
  PRIMARY KEY (person_id, auction_id) NOT ENFORCED);
SQL
cat > q91.insert <<'SQL'
INSERT INTO nexmark_q91
SELECT P.id, P.name, A.id, A.category
FROM person P LEFT JOIN auction A ON P.id = A.seller AND A.category = 10;
SQL
cat > q91.duckdb <<'SQL'
SELECT P.id, P.name, A.id, A.category FROM person P LEFT JOIN auction A ON P.id = A.seller AND A.category = 10
SQL
check 91 person_id,auction_id person auction


# ---- q7: the highest bid of each 10-second window: a join of bids with a windowed aggregate
# over them (one stream read twice) ----
cat > q7.sink <<'SQL'
CREATE TABLE nexmark_q7 (auction BIGINT, bidder BIGINT, price BIGINT, `dateTime` TIMESTAMP(3), extra VARCHAR);
SQL
nexmark_query 7 > q7.insert
cat > q7.duckdb <<SQL
SELECT B.auction, B.price, B.bidder, strftime(B.dateTime, '%Y-%m-%d %H:%M:%S.%g'), B.extra
FROM bid B JOIN (SELECT MAX(price) AS maxprice, $bucket + INTERVAL 10 SECOND AS dateTime FROM bid GROUP BY $bucket) B1
ON B.price = B1.maxprice
WHERE B.dateTime BETWEEN B1.dateTime - INTERVAL 10 SECOND AND B1.dateTime
SQL
check 7 - bid

# ---- q8: persons who opened auctions in the 10-second window they appeared in: a join of two
# windowed aggregates over two streams on window bounds and keys ----
cat > q8.sink <<'SQL'
CREATE TABLE nexmark_q8 (id BIGINT, name VARCHAR, stime TIMESTAMP(3));
SQL
nexmark_query 8 > q8.insert
nexmark_q8_duckdb > q8.duckdb
check 8 - person auction

# ---- q9: each auction's winning bid (the highest within its lifetime, the earliest of equal
# ones): Top-N over a join; an updating result, keyed by auction ----
cat > q9.sink <<'SQL'
CREATE TABLE nexmark_q9 (id BIGINT, itemName VARCHAR, description VARCHAR, initialBid BIGINT, reserve BIGINT,
  `dateTime` TIMESTAMP(3), expires TIMESTAMP(3), seller BIGINT, category BIGINT, extra VARCHAR, auction BIGINT,
  bidder BIGINT, price BIGINT, bid_dateTime TIMESTAMP(3), bid_extra VARCHAR, PRIMARY KEY (id) NOT ENFORCED);
SQL
nexmark_query 9 > q9.insert
# ties of price and time: the first bid to arrive stays (Flink's Top-N), B.seq in DuckDB
cat > q9.duckdb <<'SQL'
SELECT id, itemName, description, initialBid, reserve, strftime(adt, '%Y-%m-%d %H:%M:%S.%g'),
  strftime(expires, '%Y-%m-%d %H:%M:%S.%g'), seller, category, extra, auction, bidder, price,
  strftime(bid_dateTime, '%Y-%m-%d %H:%M:%S.%g'), bid_extra
FROM (
  SELECT A.id, A.itemName, A.description, A.initialBid, A.reserve, A.dateTime AS adt, A.expires, A.seller,
    A.category, A.extra, B.auction, B.bidder, B.price, B.dateTime AS bid_dateTime, B.extra AS bid_extra,
    ROW_NUMBER() OVER (PARTITION BY A.id ORDER BY B.price DESC, B.dateTime ASC, B.seq ASC) AS rownum
  FROM auction A, bid B
  WHERE A.id = B.auction AND B.dateTime BETWEEN A.dateTime AND A.expires)
WHERE rownum <= 1
SQL
check 9 id auction bid

# ---- q5: the hottest auctions of each sliding window: a join of a windowed aggregate with a
# window aggregate over another (append-only) ----
cat > q5.sink <<'SQL'
CREATE TABLE nexmark_q5 (auction BIGINT, num BIGINT);
SQL
nexmark_query 5 > q5.insert
# the five 10-second windows sliding by 2 seconds that hold each bid
cat > q5.duckdb <<'SQL'
WITH w AS (SELECT auction, epoch_ms(dateTime) // 2000 * 2000 - k * 2000 AS ws FROM bid, range(0, 5) t(k)),
  AuctionBids AS (SELECT auction, count(*) AS num, ws FROM w GROUP BY auction, ws),
  MaxBids AS (SELECT max(num) AS maxn, ws FROM AuctionBids GROUP BY ws)
SELECT A.auction, A.num FROM AuctionBids A JOIN MaxBids M ON A.ws = M.ws AND A.num >= M.maxn
SQL
check 5 - bid
