// sql.js — SQL shown with line numbers and keyword highlighting (text nodes only), and the
// server's SQL errors pointed at their line and column.
import { h, errorBox } from './dom.js';

const KEYWORDS = new Set(('select from where group by having insert into as and or not null is in between like case when then ' +
  'else end cast table tumble hop session cumulate descriptor interval second minute hour day over partition order ' +
  'asc desc union all with distinct count sum avg min max create view filter true false').split(' '));

function highlight(line) {
  const out = [];
  for (const tok of line.split(/(\s+|'[^']*'|[(),;*=<>+-])/)) {
    if (!tok) continue;
    if (KEYWORDS.has(tok.toLowerCase())) out.push(h('span', { class: 'kw' }, tok));
    else if (tok.startsWith("'")) out.push(h('span', { class: 'str' }, tok));
    else if (/^\d/.test(tok)) out.push(h('span', { class: 'num' }, tok));
    else out.push(tok);
  }
  return out;
}

export function sqlView(sql, errorLine) {
  const lines = (sql || '').split('\n');
  return h('pre', { class: 'sql' }, h('code', {}, lines.map((l, i) =>
    h('span', { class: `line${i + 1 === errorLine ? ' error-line' : ''}`, 'data-line': i + 1 }, highlight(l), '\n'))));
}

// An API error on SQL: the message, and when it names a line, the SQL with that line marked.
export function sqlError(sql, err) {
  const d = err.details || {};
  if (!d.line) return errorBox(err);
  return h('div', { class: 'sql-error', role: 'alert' },
    h('p', { class: 'error' }, `Line ${d.line}, column ${d.column}: ${err.message}`),
    sqlView(sql, d.line));
}
