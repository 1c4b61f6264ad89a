// pages_pipelines.js — the pipelines list, a pipeline's detail (SQL, state, tasks, charts,
// events, live log, activate/deactivate, editing) and the editor that creates one after a preview.
import uPlot from './vendor/uPlot.esm.js';
import { api } from './api.js';
import { h, show, errorBox, table, formValues, field, stateBadge } from './dom.js';
import { onLeave } from './app.js';
import { sqlView, sqlError } from './sql.js';

const rate = (x) => (x ?? 0).toFixed(1);

// Records out per minute over the last hour, from the usage API.
async function perMinute(id, seconds, group) {
  const from = new Date(Date.now() - seconds * 1000).toISOString();
  const doc = await api('GET', `/v1/usage?group_by=${group}&resource_id=${id}&from=${encodeURIComponent(from)}`);
  const items = doc.items || [];
  const per = group === 'hour' ? 3600 : 60;
  return [items.map((r) => Date.parse(r.period) / 1000), items.map((r) => (r.records_in || 0) / per),
    items.map((r) => (r.records_out || 0) / per), items.map((r) => r.errors || 0)];
}

function sparkline(data) {
  const el = h('div', { class: 'spark', role: 'img', 'aria-label': `records out per minute, last hour: ${data[1].length} points` });
  if (data[0].length) {
    new uPlot({ width: 120, height: 30, legend: { show: false }, cursor: { show: false }, axes: [{ show: false }, { show: false }],
      series: [{}, { stroke: '#16a34a', fill: 'rgba(22,163,74,0.15)' }] }, [data[0], data[1]], el);
  } else {
    el.append('no data');
  }
  return el;
}

export async function pipelinesPage() {
  const list = await api('GET', '/v1/pipelines?limit=100');
  const items = list.items || [];
  const statuses = await Promise.all(items.map((p) => api('GET', `/v1/pipelines/${p.id}/status`).catch(() => ({}))));
  const history = await Promise.all(items.map((p) => perMinute(p.id, 3600, 'minute').then((d) => [d[0], d[2]]).catch(() => [[], []])));
  const rows = items.map((p, i) => ({ ...p, status: statuses[i], history: history[i] }));
  show(
    h('div', { class: 'title' }, h('h1', {}, 'Pipelines'), h('a', { class: 'button', href: '#/pipelines/new' }, 'New pipeline')),
    table(
      [
        { title: 'Name', cell: (p) => h('a', { href: `#/pipelines/${p.id}` }, p.name) },
        { title: 'State', cell: (p) => stateBadge(p.actual_state) },
        { title: 'In/s', cell: (p) => rate(p.status.throughput && p.status.throughput.records_in_per_second) },
        { title: 'Out/s', cell: (p) => rate(p.status.throughput && p.status.throughput.records_out_per_second) },
        { title: 'Errors', cell: (p) => p.status.errors ?? 0 },
        { title: 'Lag', cell: (p) => p.status.lag ?? 0 },
        { title: 'Last hour', cell: (p) => sparkline(p.history) },
      ],
      rows,
      'No pipelines yet. Create one to run SQL between streams.',
    ),
  );
}

// An updating query's preview is a changelog: each row's kind (+I, -U, +U, -D) in a first column.
function previewTable(doc) {
  const fields = ((doc.schema && doc.schema.fields) || []).map((f) => f.name);
  const ops = doc.ops || [];
  const rows = (doc.rows || []).map((r, i) => ({ row: r, op: ops[i] || '+I' }));
  const columns = fields.map((f) => ({ title: f, cell: (x) => JSON.stringify(Array.isArray(x.row) ? x.row[fields.indexOf(f)] : x.row[f]) }));
  if (doc.updating) columns.unshift({ title: 'op', cell: (x) => h('span', { class: 'row-kind' }, x.op) });
  return h('div', {}, h('p', {}, `${rows.length} row(s)${doc.updating ? ' of a changelog' : ''}${doc.timed_out ? ' before the preview timed out' : ''}.`),
    table(columns, rows, 'No output rows yet.'));
}

// The SQL editor (CodeMirror 6), with the server's error shown at its line and column and the
// cursor put there. The container carries the editor (el.sluiceEditor) for tests and tools.
// CodeMirror is loaded on the pages that edit SQL only (it is most of the console's script).
async function editor(initial) {
  const { createEditor } = await import('./vendor/editor.js');
  const box = h('div', { class: 'editor', id: 'sql-editor' });
  const cm = createEditor(box, initial || '');
  box.sluiceEditor = cm;
  const errors = h('div', { class: 'sql-errors', 'aria-live': 'polite' });
  return {
    box,
    errors,
    value: cm.value,
    fail(e) {
      errors.replaceChildren(sqlError(cm.value(), e));
      if (e.details && e.details.line) cm.goto(e.details.line, e.details.column || 1);
    },
    clear() {
      errors.replaceChildren();
    },
  };
}

export async function pipelineNewPage() {
  const ed = await editor('INSERT INTO out_stream\nSELECT * FROM in_stream');
  const out = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'card' }, h('h1', {}, 'New pipeline'),
    field('Name', h('input', { name: 'name', required: true, pattern: '[A-Za-z][A-Za-z0-9_-]*' })),
    h('div', { class: 'label' }, 'SQL'), ed.box, ed.errors,
    h('div', { class: 'buttons' },
      h('button', { type: 'button', id: 'preview', onclick: async () => {
        ed.clear();
        out.replaceChildren(h('p', { class: 'loading' }, 'Running the preview…'));
        try {
          out.replaceChildren(previewTable(await api('POST', '/v1/preview', { sql: ed.value(), start: 'earliest', limit: 10, timeout_ms: 3000 })));
        } catch (e) {
          out.replaceChildren();
          ed.fail(e);
        }
      } }, 'Preview'),
      h('button', { type: 'submit' }, 'Create')),
    out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    ed.clear();
    try {
      const p = await api('POST', '/v1/pipelines', { name: formValues(form).name, sql: ed.value() });
      location.hash = `#/pipelines/${p.id}`;
    } catch (e) {
      ed.fail(e);
    }
  });
  show(form);
}

// Throughput, errors and lag: live (the status sampled every two seconds while the page is open), or
// the last hour / day from the usage API, per minute or hour (the usage API has no lag).
function throughputChart(id) {
  const live = [[], [], [], [], []];
  const el = h('div', { class: 'chart', id: 'throughput' });
  const plot = new uPlot({ width: Math.min(760, window.innerWidth - 48), height: 200, title: 'Records per second',
    series: [{}, { label: 'in', stroke: '#2563eb' }, { label: 'out', stroke: '#16a34a' }, { label: 'errors', stroke: '#dc2626' },
      { label: 'lag (records)', stroke: '#9333ea', scale: 'lag' }],
    axes: [{}, {}, { scale: 'lag', side: 1, grid: { show: false } }] },
  live, el);
  let range = 'live';
  const draw = (data) => {
    plot.setData(data);
    el.dataset.points = String(data[1].filter((v) => v > 0).length + data[2].filter((v) => v > 0).length);
  };
  const select = h('select', { 'aria-label': 'Range', onchange: async (ev) => {
    range = ev.target.value;
    if (range === 'live') draw(live);
    else draw(await perMinute(id, range === 'hour' ? 3600 : 86400, range === 'hour' ? 'minute' : 'hour').then((d) => [...d, d[0].map(() => null)]).catch(() => [[], [], [], [], []]));
  } }, h('option', { value: 'live' }, 'live'), h('option', { value: 'hour' }, 'last hour'), h('option', { value: 'day' }, 'last 24 hours'));
  function add(status) {
    const t = Date.now() / 1000;
    const tp = status.throughput || {};
    live[0].push(t); live[1].push(tp.records_in_per_second || 0); live[2].push(tp.records_out_per_second || 0); live[3].push(status.errors || 0);
    live[4].push(status.lag || 0);
    while (live[0].length && live[0][0] < t - 900) live.forEach((s) => s.shift());
    if (range === 'live') draw(live);
  }
  return { node: h('section', { class: 'card' }, h('h2', {}, 'Throughput'), select, el), add };
}

function logTail(id) {
  const list = h('ol', { class: 'log', id: 'log', 'aria-live': 'polite' });
  const source = new EventSource(`/v1/pipelines/${id}/logs?follow=true`);
  source.addEventListener('log', (ev) => {
    let line;
    try {
      const doc = JSON.parse(ev.data);
      line = `${doc.ts || ''} ${doc.level || ''} ${doc.message || ev.data}`;
    } catch {
      line = ev.data;
    }
    list.append(h('li', {}, line));
    while (list.children.length > 200) list.firstChild.remove();
  });
  return { node: h('section', { class: 'card' }, h('h2', {}, 'Log'), list), close: () => source.close() };
}

function tasksTable(status) {
  return table([{ title: 'Task', cell: (t) => t.index }, { title: 'State', cell: (t) => stateBadge(t.state) },
    { title: 'Restarts', cell: (t) => t.restarts }, { title: 'Heartbeat', cell: (t) => t.heartbeat_at || '' },
    { title: 'Last error', cell: (t) => t.last_error || '' }], status.tasks || [], 'No tasks: the pipeline is not running.');
}

export async function pipelinePage(id) {
  const [p, status, events] = await Promise.all([api('GET', `/v1/pipelines/${id}`), api('GET', `/v1/pipelines/${id}/status`),
    api('GET', `/v1/pipelines/${id}/events?limit=20`)]);
  const msg = h('div', { 'aria-live': 'polite' });
  const state = h('span', { id: 'state' }, stateBadge(status.actual_state));
  const tasks = h('div', {}, tasksTable(status));
  const act = (what) => async () => {
    try {
      await api('POST', `/v1/pipelines/${id}/${what}`);
      msg.replaceChildren(h('p', { class: 'notice' }, `${what === 'activate' ? 'Activation' : 'Deactivation'} requested.`));
    } catch (e) {
      msg.replaceChildren(errorBox(e));
    }
  };
  const ed = await editor(p.sql);
  const edit = h('form', { class: 'card' }, h('h2', {}, 'Edit SQL'), ed.box, ed.errors, h('button', { type: 'submit' }, 'Save'));
  edit.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    ed.clear();
    try {
      await api('PATCH', `/v1/pipelines/${id}`, { sql: ed.value() });
      await pipelinePage(id);
    } catch (e) {
      ed.fail(e);
    }
  });
  const chart = throughputChart(id);
  const log = logTail(id);
  show(
    h('div', { class: 'title' }, h('h1', {}, p.name), state),
    h('div', { class: 'buttons' }, h('button', { type: 'button', onclick: act('activate') }, 'Activate'),
      h('button', { type: 'button', class: 'secondary', onclick: act('deactivate') }, 'Deactivate')),
    msg,
    h('section', { class: 'card' }, h('h2', {}, 'SQL'), sqlView(p.sql)),
    h('section', { class: 'card' }, h('h2', {}, 'Tasks'), tasks),
    chart.node, log.node,
    h('section', { class: 'card' }, h('h2', {}, 'Events'),
      table([{ title: 'At', cell: (e) => e.ts || '' }, { title: 'Event', cell: (e) => e.event || '' },
        { title: 'Detail', cell: (e) => e.message || '' }], events.items || [], 'No events yet.')),
    edit,
  );
  chart.add(status);
  const timer = setInterval(async () => {
    try {
      const s = await api('GET', `/v1/pipelines/${id}/status`);
      state.replaceChildren(stateBadge(s.actual_state));
      tasks.replaceChildren(tasksTable(s));
      chart.add(s);
    } catch {
      /* the next tick tries again */
    }
  }, 2000);
  onLeave(() => {
    clearInterval(timer);
    log.close();
  });
}
