// pages_resources.js — connections and streams: lists, details (status, latest records) and
// the forms that create them.
import { api } from './api.js';
import { h, show, errorBox, table, formValues, field, stateBadge } from './dom.js';
import { onLeave } from './app.js';

function createForm(title, fields, onSubmit) {
  const status = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'card' }, h('h1', {}, title), fields, h('button', { type: 'submit' }, 'Create'), status);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await onSubmit(formValues(form), form);
    } catch (e) {
      status.replaceChildren(errorBox(e));
    }
  });
  return form;
}

export async function connectionsPage() {
  const list = await api('GET', '/v1/connections?limit=100');
  show(h('div', { class: 'title' }, h('h1', {}, 'Connections'), h('a', { class: 'button', href: '#/connections/new' }, 'New connection')),
    table([{ title: 'Name', cell: (c) => h('a', { href: `#/connections/${c.id}` }, c.name) },
      { title: 'Connector', cell: (c) => c.connector }, { title: 'Type', cell: (c) => c.type },
      { title: 'Stream', cell: (c) => c.stream }, { title: 'State', cell: (c) => stateBadge(c.actual_state) }],
    list.items || [], 'No connections yet. A connection brings data into a stream or out of one.'));
}

// One input per option of the connector's table (GET /v1/connectors: the same rows the API and
// the worker check a connection's properties with).
function optionInput(o) {
  const name = `prop:${o.name}`;
  if (o.type === 'enum' || o.type === 'boolean') {
    const values = o.type === 'enum' ? o.values : ['true', 'false'];
    return h('select', { name }, o.required ? null : h('option', { value: '' }, ''),
      values.map((v) => h('option', { value: v, selected: v === o.default }, v)));
  }
  return h('input', { name, required: o.required, placeholder: o.help || '', value: o.default || '',
    type: o.type === 'integer' || o.type === 'number' ? 'number' : 'text', min: o.minimum, max: o.maximum });
}

export async function connectionNewPage() {
  const [streams, connectors] = await Promise.all([api('GET', '/v1/streams?limit=100'), api('GET', '/v1/connectors')]);
  const byName = Object.fromEntries((connectors.items || []).map((c) => [c.name, c]));
  const props = h('fieldset', {}, h('legend', {}, 'Properties'));
  const connector = h('select', { name: 'connector', required: true }, Object.keys(byName).map((c) => h('option', { value: c }, c)));
  const type = h('select', { name: 'type', required: true });
  const fill = () => {
    const c = byName[connector.value];
    type.replaceChildren(...c.types.map((t) => h('option', { value: t }, t)));
    props.replaceChildren(h('legend', {}, 'Properties'),
      ...c.options.filter((o) => !o.prefix).map((o) => field(`${o.name}${o.required ? ' (required)' : ''}`, optionInput(o))));
  };
  connector.addEventListener('change', fill);
  fill();
  show(createForm('New connection', [
    field('Name', h('input', { name: 'name', required: true, pattern: '[A-Za-z][A-Za-z0-9_-]*' })),
    field('Connector', connector),
    field('Type', type),
    field('Stream', h('select', { name: 'stream', required: true }, (streams.items || []).map((s) => h('option', { value: s.name }, s.name)))),
    props,
  ], async (v) => {
    const properties = {};
    for (const [k, val] of Object.entries(v)) if (k.startsWith('prop:') && val !== '') properties[k.slice(5)] = val;
    const c = await api('POST', '/v1/connections', { name: v.name, connector: v.connector, type: v.type, stream: v.stream, properties });
    location.hash = `#/connections/${c.id}`;
  }));
}

export async function connectionPage(id) {
  const [c, status] = await Promise.all([api('GET', `/v1/connections/${id}`), api('GET', `/v1/connections/${id}/status`)]);
  const msg = h('div', { 'aria-live': 'polite' });
  const act = (what) => async () => {
    try {
      await api('POST', `/v1/connections/${id}/${what}`);
      msg.replaceChildren(h('p', { class: 'notice' }, `${what === 'activate' ? 'Activation' : 'Deactivation'} requested.`));
    } catch (e) {
      msg.replaceChildren(errorBox(e));
    }
  };
  const state = h('span', { id: 'state' }, stateBadge(status.actual_state));
  const lastError = h('dd', {}, status.last_error || 'none');
  const timer = setInterval(async () => {
    try {
      const s = await api('GET', `/v1/connections/${id}/status`);
      state.replaceChildren(stateBadge(s.actual_state));
      lastError.textContent = s.last_error || 'none';
    } catch {
      /* the next tick tries again */
    }
  }, 2000);
  onLeave(() => clearInterval(timer));
  show(h('div', { class: 'title' }, h('h1', {}, c.name), state),
    h('div', { class: 'buttons' }, h('button', { type: 'button', onclick: act('activate') }, 'Activate'),
      h('button', { type: 'button', class: 'secondary', onclick: act('deactivate') }, 'Deactivate')), msg,
    h('dl', { class: 'card' }, h('dt', {}, 'Connector'), h('dd', {}, c.connector), h('dt', {}, 'Type'), h('dd', {}, c.type),
      h('dt', {}, 'Stream'), h('dd', {}, c.stream), h('dt', {}, 'Last error'), lastError),
    h('pre', { class: 'card' }, JSON.stringify(c.properties || {}, null, 2)));
}

export async function streamsPage() {
  const list = await api('GET', '/v1/streams?limit=100');
  show(h('div', { class: 'title' }, h('h1', {}, 'Streams'), h('a', { class: 'button', href: '#/streams/new' }, 'New stream')),
    table([{ title: 'Name', cell: (s) => h('a', { href: `#/streams/${s.id}` }, s.name) },
      { title: 'Fields', cell: (s) => ((s.schema && s.schema.fields) || []).map((f) => `${f.name} ${f.type}`).join(', ') },
      { title: 'Partitions', cell: (s) => s.partitions ?? '' }],
    list.items || [], 'No streams yet. A stream holds records with a schema.'));
}

// "name TYPE" per line (or comma-separated) into schema fields.
function parseFields(text) {
  return text.split(/[\n,]/).map((l) => l.trim()).filter(Boolean).map((l) => {
    const m = l.match(/^(\S+)\s+(.+)$/);
    if (!m) throw new Error(`"${l}" is not "name TYPE"`);
    return { name: m[1], type: m[2].trim() };
  });
}

export async function streamNewPage() {
  show(createForm('New stream', [
    field('Name', h('input', { name: 'name', required: true, pattern: '[A-Za-z][A-Za-z0-9_-]*' })),
    field('Fields, one "name TYPE" a line', h('textarea', { name: 'fields', rows: 6, required: true, placeholder: 'auction BIGINT\nprice BIGINT\ndateTime TIMESTAMP(3)' })),
    field('Watermark field (optional)', h('input', { name: 'watermark' })),
    field('Watermark delay, ms', h('input', { name: 'delay', type: 'number', min: 0, value: 0 })),
  ], async (v) => {
    const schema = { fields: parseFields(v.fields) };
    if (v.watermark) schema.watermark = { field: v.watermark, delay_ms: Number(v.delay || 0) };
    const s = await api('POST', '/v1/streams', { name: v.name, schema });
    location.hash = `#/streams/${s.id}`;
  }));
}

export async function streamPage(id) {
  const [s, recs] = await Promise.all([api('GET', `/v1/streams/${id}`), api('GET', `/v1/streams/${id}/records?limit=20`).catch((e) => ({ error: e }))]);
  const fields = ((s.schema && s.schema.fields) || []).map((f) => f.name);
  const records = (recs.items || recs.records || []).map((r) => r.value || r.record || r);
  show(h('h1', {}, s.name),
    h('section', { class: 'card' }, h('h2', {}, 'Schema'), table([{ title: 'Field', cell: (f) => f.name }, { title: 'Type', cell: (f) => f.type }],
      (s.schema && s.schema.fields) || [], 'No fields.')),
    h('section', { class: 'card' }, h('h2', {}, 'Latest records'), recs.error ? errorBox(recs.error)
      : table(fields.map((f) => ({ title: f, cell: (r) => JSON.stringify(r[f]) })), records, 'No records yet.')));
}
