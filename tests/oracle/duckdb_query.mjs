// duckdb_query.mjs — the reference result of a query, computed by DuckDB (an independent SQL
// engine) over input records:
//   node duckdb_query.mjs TABLE COLUMNS RECORDS.ndjson [TABLE COLUMNS RECORDS.ndjson ...] QUERY.sql
// loads RECORDS (one JSON object per line) into table TABLE with COLUMNS ("name TYPE, ...",
// DuckDB types; each table so) and a column seq (the record's position, 1-based: arrival order, for the
// tie-breaks of Top-N and deduplication), runs QUERY and prints each result row as a JSON array
// of its values as strings (NULL as null), the lines sorted — the form final_table.mjs gives.
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

const args = process.argv.slice(2);
const queryFile = args.length >= 4 && args.length % 3 === 1 ? args[args.length - 1] : null;
if (!queryFile) {
  console.error('usage: node duckdb_query.mjs TABLE COLUMNS RECORDS.ndjson [TABLE COLUMNS RECORDS.ndjson ...] QUERY.sql');
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), 'oracle-'));
try {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  for (let t = 0; t + 3 < args.length; t += 3) {
    const [table, columns, records] = args.slice(t, t + 3);
    const lines = readFileSync(records, 'utf8').split('\n').filter((l) => l.trim() !== '');
    const numbered = lines.map((l, i) => JSON.stringify({ ...JSON.parse(l), seq: i + 1 }));
    const file = join(dir, `${table}.ndjson`);
    writeFileSync(file, numbered.join('\n') + '\n');
    const spec = columns.split(',').map((col) => col.trim().split(/\s+/));
    const cols = spec.map(([n, ty]) => `'${n}': '${ty}'`).concat(["'seq': 'BIGINT'"]).join(', ');
    await c.run(`CREATE TABLE ${table} AS SELECT * FROM read_json('${file}', format = 'newline_delimited', ` +
                `columns = {${cols}}, timestampformat = '%Y-%m-%d %H:%M:%S.%g')`);
  }
  const reader = await c.runAndReadAll(readFileSync(queryFile, 'utf8'));
  const out = reader.getRows().map((row) => JSON.stringify(row.map((v) => (v === null ? null : String(v)))));
  out.sort();
  process.stdout.write(out.map((l) => l + '\n').join(''));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
