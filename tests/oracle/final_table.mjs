// final_table.mjs — the table an upsert stream's changelog leaves:
//   node final_table.mjs KEY[,KEY...] < CHANGELOG
//   node final_table.mjs - < CHANGELOG         (an append-only stream: every row, +I only)
//   node final_table.mjs = < CHANGELOG         (a keyless updating changelog, as a print sink
//                                               shows it: +I/+U add a row, -U/-D take back one
//                                               equal row, which must be there)
// CHANGELOG is `logtool changelog` output, "+I {...}" per record; per primary key the last
// +I/+U row stands unless a -U/-D came after it. Prints each row as a JSON array of its values
// as strings (NULL as null), in column order, the lines sorted (duckdb_query.mjs's form).
import { readFileSync } from 'node:fs';

const appendOnly = process.argv[2] === '-';
const multiset = process.argv[2] === '=';
const keys = appendOnly || multiset ? [] : (process.argv[2] || '').split(',').filter((k) => k !== '');
if (!appendOnly && !multiset && keys.length === 0) {
  console.error('usage: node final_table.mjs KEY[,KEY...] | - | = < CHANGELOG');
  process.exit(2);
}
const table = new Map();
let n = 0;
for (const line of readFileSync(0, 'utf8').split('\n')) {
  if (line.trim() === '') continue;
  const m = /^([+-][IUD]) (.*)$/.exec(line);
  if (!m) {
    console.error(`final_table: not a changelog line: ${line}`);
    process.exit(1);
  }
  const row = JSON.parse(m[2]);
  if (appendOnly) {
    if (m[1] !== '+I') {
      console.error(`final_table: an append-only stream holds ${line}`);
      process.exit(1);
    }
    table.set(n++, Object.values(row));
    continue;
  }
  if (multiset) {
    const text = JSON.stringify(Object.values(row));
    const count = table.get(text) || 0;
    if (m[1] === '+I' || m[1] === '+U') table.set(text, count + 1);
    else if (count === 0) {
      console.error(`final_table: ${line} takes back a row that is not there`);
      process.exit(1);
    } else if (count === 1) table.delete(text);
    else table.set(text, count - 1);
    continue;
  }
  for (const k of keys)
    if (!(k in row)) {
      console.error(`final_table: key column ${k} missing in ${line}`);
      process.exit(1);
    }
  const key = JSON.stringify(keys.map((k) => row[k]));
  if (m[1] === '+I' || m[1] === '+U') table.set(key, Object.values(row));
  else table.delete(key);
}
const rows = multiset ? [...table].flatMap(([text, count]) => Array(count).fill(JSON.parse(text))) : [...table.values()];
const out = rows.map((r) => JSON.stringify(r.map((v) => (v === null ? null : String(v)))));
out.sort();
process.stdout.write(out.map((l) => l + '\n').join(''));
