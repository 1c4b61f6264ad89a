// dom.js — building pages without innerHTML: every text the API returns is set as text, so a
// resource name can never become markup.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function show(...nodes) {
  const main = document.getElementById('main');
  main.replaceChildren(...nodes);
  return main;
}

export function errorBox(err) {
  return h('p', { class: 'error', role: 'alert' }, err.message || String(err));
}

export function table(columns, rows, empty) {
  if (!rows.length) return h('p', { class: 'empty' }, empty);
  return h(
    'table',
    {},
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c.title)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, columns.map((c) => h('td', { 'data-label': c.title }, c.cell(r)))))),
  );
}

// A form's named inputs as an object of strings.
export function formValues(form) {
  const out = {};
  for (const el of form.elements) if (el.name) out[el.name] = el.value;
  return out;
}

export function field(label, input) {
  return h('label', {}, h('span', {}, label), input);
}

export function stateBadge(state) {
  return h('span', { class: `state state-${state || 'unknown'}` }, state || 'unknown');
}
