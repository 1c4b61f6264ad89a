// duckdb_rate.mjs — DuckDB's rate on a query over Nexmark bids, for bench/engine.sh:
//   node duckdb_rate.mjs RECORDS.ndjson QUERY.sql
// loads RECORDS (one bid per line) into table bid (not timed), then runs QUERY with one thread
// (SET threads = 1) as many times as fit in about 2 CPU-seconds (at least twice) and prints
// "records_per_cpu_second rows" (CPU time of this process, user + system, per run).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '..', 'tests', 'oracle', 'package.json'));
const { DuckDBInstance } = await import(require.resolve('@duckdb/node-api'));

const [records, queryFile] = process.argv.slice(2);
if (!queryFile) {
  console.error('usage: node duckdb_rate.mjs RECORDS.ndjson QUERY.sql');
  process.exit(2);
}
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
await c.run('SET threads = 1');
await c.run(`CREATE TABLE bid AS SELECT * FROM read_json('${records}', format = 'newline_delimited', ` +
            "columns = {'auction': 'BIGINT', 'bidder': 'BIGINT', 'price': 'BIGINT', 'channel': 'VARCHAR', " +
            "'url': 'VARCHAR', 'dateTime': 'TIMESTAMP', 'extra': 'VARCHAR'}, " +
            "timestampformat = '%Y-%m-%d %H:%M:%S.%g')");
const n = Number((await c.runAndReadAll('SELECT count(*) FROM bid')).getRows()[0][0]);
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
