// pages_account.js — log in, sign up, usage and billing, and the account (API keys, users).
import { api, login } from './api.js';
import { h, show, errorBox, table, formValues, field } from './dom.js';

function authForm(title, fields, submitLabel, onSubmit, footer) {
  const status = h('div', { 'aria-live': 'polite' });
  const form = h(
    'form',
    { class: 'card narrow' },
    h('h1', {}, title),
    fields,
    h('button', { type: 'submit' }, submitLabel),
    status,
    footer,
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    status.replaceChildren(h('p', { class: 'loading' }, 'Working…'));
    try {
      await onSubmit(formValues(form));
    } catch (e) {
      status.replaceChildren(errorBox(e));
    }
  });
  show(form);
}

const email = () => field('Email', h('input', { name: 'email', type: 'email', required: true, autocomplete: 'username' }));
const password = (auto) =>
  field('Password', h('input', { name: 'password', type: 'password', required: true, minlength: 8, autocomplete: auto }));

export async function loginPage() {
  authForm('Log in', [email(), password('current-password')], 'Log in', async (v) => {
    await login(v.email, v.password);
    location.hash = '#/pipelines';
  }, h('p', {}, 'No account yet? ', h('a', { href: '#/signup' }, 'Sign up')));
}

export async function signupPage() {
  authForm(
    'Sign up',
    [field('Organisation', h('input', { name: 'tenant', required: true, pattern: '[A-Za-z][A-Za-z0-9_-]*' })), email(), password('new-password')],
    'Create account',
    async (v) => {
      await api('POST', '/v1/signup', { tenant: v.tenant, email: v.email, password: v.password });
      await login(v.email, v.password);
      location.hash = '#/pipelines';
    },
    h('p', {}, 'Have an account? ', h('a', { href: '#/login' }, 'Log in')),
  );
}

export async function usagePage() {
  const [byResource, byDay, bill] = await Promise.all([
    api('GET', '/v1/usage?group_by=resource'),
    api('GET', `/v1/usage?group_by=day&from=${encodeURIComponent(new Date(Date.now() - 30 * 864e5).toISOString())}`),
    api('GET', '/v1/billing/summary'),
  ]);
  const num = (k) => (r) => (r[k] ?? 0).toLocaleString();
  const cols = [
    { title: 'Records in', cell: num('records_in') },
    { title: 'Records out', cell: num('records_out') },
    { title: 'Bytes in', cell: num('bytes_in') },
    { title: 'Task seconds', cell: num('task_seconds') },
    { title: 'Errors', cell: num('errors') },
  ];
  show(
    h('h1', {}, 'Usage and billing'),
    h('section', { class: 'card' }, h('h2', {}, 'This period'), h('pre', { class: 'bill' }, JSON.stringify(bill, null, 2))),
    h('section', { class: 'card' }, h('h2', {}, 'Per day (30 days)'),
      table([{ title: 'Day', cell: (r) => (r.period || '').slice(0, 10) }, ...cols], byDay.items || [], 'No usage yet.')),
    h('section', { class: 'card' }, h('h2', {}, 'Per resource (24 hours)'),
      table([{ title: 'Resource', cell: (r) => `${r.resource_kind || ''} ${r.resource_name || r.resource_id || ''}` }, ...cols],
        byResource.items || [], 'No usage yet.')),
  );
}

async function keysSection() {
  const keys = await api('GET', '/v1/api-keys');
  const shown = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'inline' }, field('New key name', h('input', { name: 'name', required: true })),
    h('button', { type: 'submit' }, 'Create key'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const k = await api('POST', '/v1/api-keys', { name: formValues(form).name });
      shown.replaceChildren(h('p', { class: 'notice' }, 'Copy this key now; it is not shown again: ', h('code', {}, k.key)));
    } catch (e) {
      shown.replaceChildren(errorBox(e));
    }
  });
  const revoke = (k) => h('button', { type: 'button', class: 'danger', onclick: async () => {
    try {
      await api('DELETE', `/v1/api-keys/${k.id}`);
      await accountPage();
    } catch (e) {
      shown.replaceChildren(errorBox(e));
    }
  } }, 'Revoke');
  return h('section', { class: 'card' }, h('h2', {}, 'API keys'),
    table([{ title: 'Name', cell: (k) => k.name }, { title: 'Prefix', cell: (k) => k.prefix },
      { title: 'Last used', cell: (k) => k.last_used_at || 'never' }, { title: '', cell: revoke }], keys.items || [], 'No API keys.'),
    form, shown);
}

const ROLES = ['member', 'admin', 'owner'];

// Users and their roles (owner or admin): add one, change a role, remove one. The API's own
// rules (only an owner makes an owner, the last owner stays) come back as its errors.
async function usersSection() {
  const users = await api('GET', '/v1/users');
  const msg = h('div', { 'aria-live': 'polite' });
  const act = (fn) => async (ev) => {
    try {
      await fn(ev);
      await accountPage();
    } catch (e) {
      msg.replaceChildren(errorBox(e));
    }
  };
  const roleSelect = (u) => h('select', { 'aria-label': `role of ${u.email}`,
    onchange: act((ev) => api('PATCH', `/v1/users/${u.id}`, { role: ev.target.value })) },
  ROLES.map((r) => h('option', { value: r, selected: r === u.role }, r)));
  const remove = (u) => h('button', { type: 'button', class: 'danger', onclick: act(() => api('DELETE', `/v1/users/${u.id}`)) }, 'Remove');
  const form = h('form', { class: 'inline' },
    field('Email', h('input', { name: 'email', type: 'email', required: true })),
    field('First password', h('input', { name: 'password', type: 'password', required: true, minlength: 8, autocomplete: 'new-password' })),
    field('Role', h('select', { name: 'role' }, ROLES.map((r) => h('option', { value: r }, r)))),
    h('button', { type: 'submit' }, 'Add user'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    act(() => api('POST', '/v1/users', formValues(form)))();
  });
  return h('section', { class: 'card' }, h('h2', {}, 'Users'),
    table([{ title: 'Email', cell: (u) => u.email }, { title: 'Role', cell: roleSelect }, { title: '', cell: remove }],
      users.items || [], 'No users.'), form, msg);
}

export async function accountPage() {
  const me = await api('GET', '/v1/me');
  const role = (me.user && me.user.role) || me.role || '';
  const parts = [h('h1', {}, 'Account'),
    h('p', {}, 'Tenant ', h('strong', {}, (me.tenant && me.tenant.name) || ''), ' · ', (me.user && me.user.email) || '', ' · role ', role)];
  if (role === 'owner' || role === 'admin') {
    parts.push(await keysSection());
    parts.push(await usersSection());
  }
  show(...parts);
}
