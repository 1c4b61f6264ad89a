// duckdb_rate.mjs — DuckDB's rate on a query over Nexmark records, for bench/nexmark.sh:
//   node duckdb_rate.mjs QUERY.sql TABLE=RECORDS.ndjson...     (TABLE: person, auction or bid)
//   node duckdb_rate.mjs RECORDS.ndjson QUERY.sql              (bids only)
// loads each RECORDS file (one record per line) into its table (not timed), then runs QUERY with
// one thread (SET threads = 1) as many times as fit in about 2 CPU-seconds (at least twice) and
// prints "records_per_cpu_second rows" (the records of every table loaded, per CPU-second of this
// process, user + system, per run).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '..', 'tests', 'oracle', 'package.json'));
const { DuckDBInstance } = await import(require.resolve('@duckdb/node-api'));

const columns = {
  person: "'id': 'BIGINT', 'name': 'VARCHAR', 'emailAddress': 'VARCHAR', 'creditCard': 'VARCHAR', " +
          "'city': 'VARCHAR', 'state': 'VARCHAR', 'dateTime': 'TIMESTAMP', 'extra': 'VARCHAR'",
  auction: "'id': 'BIGINT', 'itemName': 'VARCHAR', 'description': 'VARCHAR', 'initialBid': 'BIGINT', " +
           "'reserve': 'BIGINT', 'dateTime': 'TIMESTAMP', 'expires': 'TIMESTAMP', 'seller': 'BIGINT', " +
           "'category': 'BIGINT', 'extra': 'VARCHAR'",
  bid: "'auction': 'BIGINT', 'bidder': 'BIGINT', 'price': 'BIGINT', 'channel': 'VARCHAR', 'url': 'VARCHAR', " +
       "'dateTime': 'TIMESTAMP', 'extra': 'VARCHAR'",
};
let args = process.argv.slice(2);
if (args.length === 2 && args[0].endsWith('.ndjson'))
  args = [args[1], `bid=${args[0]}`];
const [queryFile, ...tables] = args;
if (!queryFile || !tables.length || tables.some((t) => !columns[t.split('=')[0]])) {
  console.error('usage: node duckdb_rate.mjs QUERY.sql TABLE=RECORDS.ndjson... (TABLE: person, auction, bid)');
  process.exit(2);
}
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
await c.run('SET threads = 1');
let n = 0;
for (const t of tables) {
  const [table, records] = [t.slice(0, t.indexOf('=')), t.slice(t.indexOf('=') + 1)];
  await c.run(`CREATE TABLE ${table} AS SELECT * FROM read_json('${records}', format = 'newline_delimited', ` +
              `columns = {${columns[table]}}, timestampformat = '%Y-%m-%d %H:%M:%S.%g')`);
  n += Number((await c.runAndReadAll(`SELECT count(*) FROM ${table}`)).getRows()[0][0]);
}
const sql = readFileSync(queryFile, 'utf8');
let runs = 0, cpu = 0, rows = 0;
while (runs < 2 || cpu < 2e6) {
  const t0 = process.cpuUsage();
  const r = await c.runAndReadAll(sql);
  const t = process.cpuUsage(t0);
  rows = r.getRows().length;
  cpu += t.user + t.system;
  runs++;
}
console.log(`${Math.round((n * runs) / (cpu / 1e6))} ${rows}`);
