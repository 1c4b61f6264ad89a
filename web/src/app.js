// app.js — the console's router: hash routes (#/pipelines/ID) to page functions, the navigation
// and the logged-in check. Pages live in pages_*.js; each returns nothing and fills <main>.
import { loggedIn, logout } from './api.js';
import { show, h, errorBox } from './dom.js';
import { loginPage, signupPage, accountPage, usagePage } from './pages_account.js';
import { pipelinesPage, pipelinePage, pipelineNewPage } from './pages_pipelines.js';
import { connectionsPage, connectionPage, connectionNewPage, streamsPage, streamPage, streamNewPage } from './pages_resources.js';

const routes = [
  [/^#\/login$/, loginPage, false],
  [/^#\/signup$/, signupPage, false],
  [/^#\/pipelines$/, pipelinesPage, true],
  [/^#\/pipelines\/new$/, pipelineNewPage, true],
  [/^#\/pipelines\/([\w-]+)$/, pipelinePage, true],
  [/^#\/connections$/, connectionsPage, true],
  [/^#\/connections\/new$/, connectionNewPage, true],
  [/^#\/connections\/([\w-]+)$/, connectionPage, true],
  [/^#\/streams$/, streamsPage, true],
  [/^#\/streams\/new$/, streamNewPage, true],
  [/^#\/streams\/([\w-]+)$/, streamPage, true],
  [/^#\/usage$/, usagePage, true],
  [/^#\/account$/, accountPage, true],
];

// Pages that poll or stream register a stop function here; leaving the page calls it.
let stopCurrent = null;
export function onLeave(fn) {
  stopCurrent = fn;
}

async function route() {
  if (stopCurrent) {
    stopCurrent();
    stopCurrent = null;
  }
  const hash = location.hash || '#/pipelines';
  document.getElementById('nav').hidden = !loggedIn();
  for (const [re, page, needsLogin] of routes) {
    const m = hash.match(re);
    if (!m) continue;
    if (needsLogin && !loggedIn()) {
      location.hash = '#/login';
      return;
    }
    for (const a of document.querySelectorAll('#nav a'))
      a.setAttribute('aria-current', hash.startsWith(a.getAttribute('href')) ? 'page' : 'false');
    show(h('p', { class: 'loading' }, 'Loading…'));
    try {
      await page(...m.slice(1));
    } catch (e) {
      show(h('h1', {}, 'Something went wrong'), errorBox(e));
    }
    document.getElementById('main').focus({ preventScroll: true });
    return;
  }
  show(h('h1', {}, 'Not found'), h('p', {}, 'There is no page at ', hash, '.'));
}

document.getElementById('logout').addEventListener('click', async () => {
  try {
    await logout();
  } finally {
    location.hash = '#/login';
  }
});
window.addEventListener('hashchange', route);
route();
