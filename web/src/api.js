// api.js — the console's only way to the REST API: same origin, the session in an HttpOnly
// cookie (never in a URL or in script-readable storage), and the CSRF token that login returned
// sent with every write. Errors become Error objects whose message is the API's own words.

const CSRF_KEY = 'sluice.csrf';

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `request failed (HTTP ${status})`);
    this.status = status;
    this.code = e.code;
    this.details = e.details || {};
  }
}

export function loggedIn() {
  return sessionStorage.getItem(CSRF_KEY) !== null;
}

export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET') headers['X-CSRF-Token'] = sessionStorage.getItem(CSRF_KEY) || '';
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, { error: { message: `the server cannot be reached (${e.message})` } });
  }
  const text = await res.text();
  let doc = null;
  try {
    doc = text ? JSON.parse(text) : null;
  } catch {
    doc = null;
  }
  if (res.status === 401 && path !== '/v1/login') {
    sessionStorage.removeItem(CSRF_KEY);
    location.hash = '#/login';
  }
  if (!res.ok) throw new ApiError(res.status, doc);
  return doc;
}

export async function login(email, password) {
  const doc = await api('POST', '/v1/login', { email, password, session: 'cookie' });
  sessionStorage.setItem(CSRF_KEY, doc.csrf_token);
  return doc;
}

export async function logout() {
  try {
    await api('POST', '/v1/logout');
  } finally {
    sessionStorage.removeItem(CSRF_KEY);
  }
}
