#!/usr/bin/env bash
# The rest of Flink's published Nexmark suite: q0, q1, q2, q6, q10, q11, q21 and q22, each
# published INSERT unmodified, under `sluiced run --bounded` twice: over datagen tables, and over
# the same records loaded from NDJSON into embedded-log streams. Only the DDL is adapted: the
# sinks are embedded logs (q10's keeps its PARTITIONED BY (dt, hm), its filesystem options
# dropped), except q6's, a print table, since its result is an updating table with no key
# (several rows of one seller may hold the same average) and print shows the changelog as it
# is; q6's sink column seller is BIGINT (published VARCHAR, what the query gives is BIGINT).
# Each result (for q6 the multiset its changelog leaves) must equal exactly what DuckDB (an
# independent engine, tests/oracle) computes over the same records.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nexmark_lib.sh" # (it changes to $TEST_TMP)
people=120 # the generator's blocks: one person, three auctions and 46 bids each
auction_cols='id BIGINT, itemName STRING, description STRING, initialBid BIGINT, reserve BIGINT,
  `dateTime` TIMESTAMP(3), expires TIMESTAMP(3), seller BIGINT, category BIGINT, extra STRING'
bid_cols='auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING, `dateTime` TIMESTAMP(3), extra STRING'
watermark="WATERMARK FOR \`dateTime\` AS \`dateTime\` - INTERVAL '4' SECOND"
auction_events=$((people * 3))
bid_events=$((people * 46))
auction_columns='id BIGINT, itemName VARCHAR, description VARCHAR, initialBid BIGINT, reserve BIGINT, dateTime TIMESTAMP, expires TIMESTAMP, seller BIGINT, category BIGINT, extra VARCHAR'
fmt="'%Y-%m-%d %H:%M:%S.%g'"

# source_ddl MODE: the auction and bid tables, datagen (MODE datagen) or embedded logs (MODE log)
source_ddl() {
  local t cols with
  for t in auction bid; do
    cols="${t}_cols"
    with=";"
    [ "$1" = datagen ] && with=" WITH ('connector' = 'datagen', 'kind' = '$t', 'events' = '$(eval echo "\$${t}_events")', 'rate' = '0');"
    echo "CREATE TABLE $t (${!cols}, $watermark)$with"
  done
}

# the input: the datagen records, copied into streams and dumped as NDJSON
for t in auction bid; do
  cols="${t}_cols"
  { source_ddl datagen
    echo "CREATE TABLE ${t}_copy (${!cols});"
    echo "INSERT INTO ${t}_copy SELECT * FROM $t;"; } > "copy_$t.sql"
  "$SLUICED" run --bounded --data-dir copy "copy_$t.sql" 2> "copy_$t.err" || fail "copy of $t: $(cat "copy_$t.err")"
  "$logtool" cat "copy/streams/${t}_copy" > "$t.ndjson"
done
assert_eq "$(wc -l < auction.ndjson)" "$auction_events" "auctions copied"
assert_eq "$(wc -l < bid.ndjson)" "$bid_events" "bids copied"

# run N MODE RECORDS: runs q$N.sink and q$N.insert over MODE's sources into d$N-MODE; prints
# the changelog (the sink stream's, or the print lines)
run() {
  local n=$1 mode=$2 records=$3 dir="d$1-$2"
  rm -rf "$dir"
  source_ddl "$mode" > "q$n-$mode.sql"
  cat "q$n.sink" "q$n.insert" >> "q$n-$mode.sql"
  if [ "$mode" = log ]; then
    for t in auction bid; do
      mkdir -p "$dir/streams/$t"
      f="$t.ndjson"
      [ "$t" = bid ] && f=${bid_file:-bid.ndjson}
      "$logtool" append "$dir/streams/$t" < "$f" || fail "loading $f"
    done
  fi
  "$SLUICED" run --bounded --data-dir "$dir" "q$n-$mode.sql" > "q$n-$mode.print" 2> "q$n-$mode.err" ||
    fail "q$n over $mode: $(cat "q$n-$mode.err")"
  grep -q "completed: $records records in" "q$n-$mode.err" || fail "q$n over $mode did not read every record: $(cat "q$n-$mode.err")"
  if grep -q "'print'" "q$n.sink"; then cat "q$n-$mode.print"; else "$logtool" changelog "$dir/streams/nexmark_q$n"; fi
}

# check N KEYS TABLES...: q$N over datagen and over the NDJSON records; each final table (KEYS:
# final_table.mjs's argument) must equal DuckDB's q$N.duckdb over TABLES
check() {
  local n=$1 keys=$2 records=0 mode oracle_args=()
  shift 2
  for t in "$@"; do
    v="${t}_columns"
    oracle_args+=("$t" "${!v}" "$t.ndjson")
    records=$((records + $(wc -l < "$t.ndjson")))
  done
  node "$oracle/duckdb_query.mjs" "${oracle_args[@]}" "q$n.duckdb" > "q$n.want" || fail "q$n: DuckDB failed"
  [ -s "q$n.want" ] || fail "q$n: DuckDB gave no row"
  for mode in datagen log; do
    run "$n" "$mode" "$records" > "q$n-$mode.changelog"
    node "$oracle/final_table.mjs" "$keys" < "q$n-$mode.changelog" > "q$n-$mode.got" || fail "q$n over $mode: reading the changelog"
    cmp -s "q$n.want" "q$n-$mode.got" ||
      { diff "q$n.want" "q$n-$mode.got" | head -5; fail "q$n over $mode: the result differs from DuckDB's"; }
    echo "q$n over $mode: $(wc -l < "q$n-$mode.got") rows from $(wc -l < "q$n-$mode.changelog") changes, equal to DuckDB's"
  done
}

# ---- q0: pass-through ----
cat > q0.sink <<'SQL'
CREATE TABLE nexmark_q0 (auction BIGINT, bidder BIGINT, price BIGINT, `dateTime` TIMESTAMP(3), extra VARCHAR);
SQL
nexmark_query 0 > q0.insert
echo "SELECT auction, bidder, price, strftime(dateTime, $fmt), extra FROM bid" > q0.duckdb
check 0 - bid

# ---- q1: currency conversion (a DECIMAL(23, 3)) ----
cat > q1.sink <<'SQL'
CREATE TABLE nexmark_q1 (auction BIGINT, bidder BIGINT, price DECIMAL(23, 3), `dateTime` TIMESTAMP(3), extra VARCHAR);
SQL
nexmark_query 1 > q1.insert
# the exact DECIMAL(23, 3), as final_table.mjs prints the sink's JSON number (no trailing zeros)
cat > q1.duckdb <<SQL
SELECT auction, bidder,
  regexp_replace(regexp_replace(CAST(CAST(0.908 * price AS DECIMAL(23, 3)) AS VARCHAR), '0+\$', ''), '\.\$', ''),
  strftime(dateTime, $fmt), extra FROM bid
SQL
check 1 - bid

# ---- q2: selection ----
cat > q2.sink <<'SQL'
CREATE TABLE nexmark_q2 (auction BIGINT, price BIGINT);
SQL
nexmark_query 2 > q2.insert
echo "SELECT auction, price FROM bid WHERE auction % 123 = 0" > q2.duckdb
check 2 - bid

# ---- q6: average selling price of each seller's last 11 closed auctions (Top-1 per auction in
# one SELECT, then AVG OVER ROWS 10 PRECEDING over that updating result) ----
cat > q6.sink <<'SQL'
CREATE TABLE nexmark_q6 (
  seller BIGINT,
  avg_price  BIGINT
) WITH ('connector' = 'print');
SQL
nexmark_query 6 > q6.insert
# Top-1 ties go to the first bid (arrival order, seq); rows of one time are ordered by their
# values (id, seller, price); AVG of a BIGINT divides as integers (prices are positive)
cat > q6.duckdb <<'SQL'
WITH J AS (SELECT A.id, A.seller, B.price, B.dateTime, B.seq AS bseq FROM auction A, bid B
           WHERE A.id = B.auction AND B.dateTime BETWEEN A.dateTime AND A.expires),
R AS (SELECT *, ROW_NUMBER() OVER (PARTITION BY id, seller ORDER BY price DESC, bseq) AS rn FROM J),
Q AS (SELECT id, seller, price, dateTime FROM R WHERE rn = 1)
SELECT seller, sum(price) OVER w // count(price) OVER w FROM Q
WINDOW w AS (PARTITION BY seller ORDER BY dateTime, id, seller, price ROWS BETWEEN 10 PRECEDING AND CURRENT ROW)
SQL
check 6 = auction bid

# ---- q10: every bid with its partition columns, into a sink PARTITIONED BY (dt, hm) ----
nexmark_tables 10 > q10.sink # the published DDL, its filesystem options dropped
nexmark_query 10 > q10.insert
echo "SELECT auction, bidder, price, strftime(dateTime, $fmt), extra, strftime(dateTime, '%Y-%m-%d'), strftime(dateTime, '%H:%M') FROM bid" > q10.duckdb
check 10 - bid

# ---- q11: bids per bidder per session (10-second gap), Flink's legacy SESSION group window;
# a session ends at its last bid + 10 s, and a bid at most 10 s after the last one joins it ----
cat > q11.sink <<'SQL'
CREATE TABLE nexmark_q11 (bidder BIGINT, bid_count BIGINT, starttime TIMESTAMP(3), endtime TIMESTAMP(3));
SQL
nexmark_query 11 > q11.insert
cat > q11.duckdb <<SQL
WITH O AS (SELECT bidder, dateTime,
             CASE WHEN dateTime - lag(dateTime) OVER (PARTITION BY bidder ORDER BY dateTime) <= INTERVAL 10 SECOND
                  THEN 0 ELSE 1 END AS brk FROM bid),
S AS (SELECT bidder, dateTime, sum(brk) OVER (PARTITION BY bidder ORDER BY dateTime ROWS UNBOUNDED PRECEDING) AS sid FROM O)
SELECT bidder, count(*), strftime(min(dateTime), $fmt), strftime(max(dateTime) + INTERVAL 10 SECOND, $fmt)
FROM S GROUP BY bidder, sid
SQL
check 11 - bid
# the generator's bids span one second, so every bidder has one session: again over the same
# bids spread over 1000 s (event time offsets times 1000), in time order so that none is late
node -e '
  const lines = require("fs").readFileSync(0, "utf8").split("\n").filter((l) => l !== "");
  const base = Date.UTC(2023, 10, 14, 22, 13, 20);
  const rows = lines.map((l) => JSON.parse(l)).map((r) => {
    const t = base + (Date.parse(r.dateTime.replace(" ", "T") + "Z") - base) * 1000;
    return { ...r, dateTime: new Date(t).toISOString().replace("T", " ").replace("Z", "") };
  });
  rows.sort((a, b) => (a.dateTime < b.dateTime ? -1 : a.dateTime > b.dateTime ? 1 : 0));
  process.stdout.write(rows.map((r) => JSON.stringify(r) + "\n").join(""));
' < bid.ndjson > bid_spread.ndjson || fail "spreading the bids"
node "$oracle/duckdb_query.mjs" bid "$bid_columns" bid_spread.ndjson q11.duckdb > q11-spread.want || fail "q11: DuckDB failed"
bid_file=bid_spread.ndjson run 11 log "$bid_events" > q11-spread.changelog
node "$oracle/final_table.mjs" - < q11-spread.changelog > q11-spread.got || fail "q11 spread: reading the changelog"
cmp -s q11-spread.want q11-spread.got || { diff q11-spread.want q11-spread.got | head -5; fail "q11 over spread bids: differs from DuckDB"; }
[ "$(wc -l < q11-spread.got)" -gt $(( $(wc -l < q11.want) * 2 )) ] || fail "q11 over spread bids: too few sessions to tell"
echo "q11 over spread bids: $(wc -l < q11-spread.got) sessions, equal to DuckDB's"

# ---- q21: channel ids (CASE WHEN and REGEXP_EXTRACT, NULL when it does not match) ----
cat > q21.sink <<'SQL'
CREATE TABLE nexmark_q21 (auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, channel_id VARCHAR);
SQL
nexmark_query 21 > q21.insert
cat > q21.duckdb <<'SQL'
WITH X AS (SELECT *, CASE WHEN regexp_matches(url, '(&|^)channel_id=([^&]*)')
                          THEN regexp_extract(url, '(&|^)channel_id=([^&]*)', 2) END AS cid FROM bid)
SELECT auction, bidder, price, channel,
  CASE WHEN lower(channel) = 'apple' THEN '0' WHEN lower(channel) = 'google' THEN '1'
       WHEN lower(channel) = 'facebook' THEN '2' WHEN lower(channel) = 'baidu' THEN '3' ELSE cid END
FROM X WHERE cid IS NOT NULL OR lower(channel) IN ('apple', 'google', 'facebook', 'baidu')
SQL
check 21 - bid

# ---- q22: URL directories (SPLIT_INDEX: 0-based, NULL past the end) ----
cat > q22.sink <<'SQL'
CREATE TABLE nexmark_q22 (auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR,
  dir1 VARCHAR, dir2 VARCHAR, dir3 VARCHAR);
SQL
nexmark_query 22 > q22.insert
cat > q22.duckdb <<'SQL'
SELECT auction, bidder, price, channel,
  CASE WHEN len(string_split(url, '/')) > 3 THEN string_split(url, '/')[4] END,
  CASE WHEN len(string_split(url, '/')) > 4 THEN string_split(url, '/')[5] END,
  CASE WHEN len(string_split(url, '/')) > 5 THEN string_split(url, '/')[6] END
FROM bid
SQL
check 22 - bid
