// console.mjs — the web console in Debian's headless Chromium, driven by playwright-core:
// sign up, create a stream, a datagen connection and a pipeline through the forms, preview,
// activate and watch the state, chart, live log and usage, bad SQL shown at its line, a second
// tenant seeing nothing of the first, a write without the CSRF token refused, logout. Writes
// screenshots of each page at desktop and phone widths, and prints each page's load time.
//
// Usage: node console.mjs URL SCREENSHOT_DIR   (the api's certificate is self-signed)
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';

const [url, shots] = process.argv.slice(2);
mkdirSync(shots, { recursive: true });
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] });
const timings = [];

function check(cond, what) {
  if (!cond) throw new Error(`FAIL: ${what}`);
  console.log(`ok: ${what}`);
}

async function context() {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
  return { ctx, page };
}

// Opens a hash route, waits for its content, records the load time and takes both screenshots.
async function visit(page, hash, ready, name) {
  const t0 = Date.now();
  await page.goto(`${url}/${hash}`);
  await page.waitForSelector(ready, { timeout: 20000 });
  const ms = Date.now() - t0;
  timings.push([name, ms]);
  console.log(`page ${name}: ${ms} ms`);
  if (name) await screenshots(page, name);
}

async function screenshots(page, name) {
  await page.screenshot({ path: `${shots}/${name}-desktop.png`, fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: `${shots}/${name}-phone.png`, fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });
}

async function signup(page, tenant) {
  await visit(page, '#/signup', 'form button[type=submit]', tenant === 'alpha' ? 'signup' : '');
  await page.fill('input[name=tenant]', tenant);
  await page.fill('input[name=email]', `owner@${tenant}.example`);
  await page.fill('input[name=password]', 'correct horse battery');
  await page.click('button[type=submit]');
  await page.waitForSelector('h1:text("Pipelines")');
}

async function submitForm(page, values) {
  for (const [sel, v] of Object.entries(values)) {
    const tag = await page.$eval(sel, (el) => el.tagName);
    if (tag === 'SELECT') await page.selectOption(sel, v);
    else await page.fill(sel, v);
  }
  await page.click('form button[type=submit]');
}

// Replaces the editor's text, as a user's select-all and paste would.
async function setSql(page, text) {
  await page.click('#sql-editor .cm-content');
  await page.keyboard.press('Control+A');
  await page.keyboard.insertText(text);
}

const BID_FIELDS = 'auction BIGINT\nbidder BIGINT\nprice BIGINT\nchannel STRING\nurl STRING\ndateTime TIMESTAMP(3)\nextra STRING';

try {
  const { ctx, page } = await context();
  // 1. sign up (logs in with the session cookie)
  await signup(page, 'alpha');
  check((await ctx.cookies()).some((c) => c.name === 'sluice_session' && c.httpOnly && c.secure && c.sameSite === 'Strict'),
    'the session is an HttpOnly, Secure, SameSite=Strict cookie');
  check(!(await page.evaluate(() => document.cookie)).includes('sluice_session'), 'script cannot read the session');
  await visit(page, '#/pipelines', 'p.empty', 'pipelines-empty');

  // 2. a stream, a datagen connection and a pipeline through the forms
  for (const [name, fields] of [['bids', BID_FIELDS], ['big', 'auction BIGINT\nprice BIGINT']]) {
    await visit(page, '#/streams/new', 'textarea[name=fields]', name === 'bids' ? 'stream-new' : '');
    await submitForm(page, { 'input[name=name]': name, 'textarea[name=fields]': fields });
    await page.waitForSelector(`h1:text("${name}")`);
  }
  await visit(page, '#/connections/new', 'select[name=connector]', 'connection-new');
  await submitForm(page, { 'input[name=name]': 'gen', 'select[name=connector]': 'datagen', 'select[name=stream]': 'bids', 'input[name="prop:rate"]': '50' });
  await page.waitForSelector('h1:text("gen")');
  await page.click('button:text("Activate")');
  await page.waitForSelector('#state .state-running', { timeout: 90000 });
  await visit(page, `#/streams`, 'a:text("bids")', 'streams');
  await page.click('a:text("bids")');
  await page.waitForFunction(() => document.querySelectorAll('tbody tr').length > 7, null, { timeout: 30000 });
  await screenshots(page, 'stream-detail');

  // 3. preview before saving
  await visit(page, '#/pipelines/new', '#sql-editor .cm-content', 'pipeline-new');
  await page.fill('input[name=name]', 'big-bids');
  await setSql(page, 'INSERT INTO big\nSELECT auction, price FROM bids\nWHERE price > 100');
  check(await page.$eval('#sql-editor', (el) => el.sluiceEditor.value().startsWith('INSERT INTO big')), 'the SQL editor holds the query');
  check((await page.$$('#sql-editor .cm-content .ͼb, #sql-editor .cm-line span')).length > 0, 'the SQL editor highlights keywords');
  await page.click('#preview');
  await page.waitForSelector('main p:text-matches("^[1-9][0-9]* row")', { timeout: 30000 });
  check((await page.$$('main tbody tr')).length > 0, 'the preview shows output rows');
  await screenshots(page, 'pipeline-preview');
  check(!(await page.$('main th:text-is("op")')), 'an append-only preview has no op column');
  // an updating query previews as a changelog: each row's kind in a first column
  await setSql(page, 'SELECT channel, COUNT(*) AS n FROM bids GROUP BY channel');
  await page.click('#preview');
  await page.waitForSelector('main p:text-matches("^[1-9][0-9]* row.* of a changelog")', { timeout: 30000 });
  check(await page.$eval('main thead th', (th) => th.textContent) === 'op', 'the changelog preview starts with an op column');
  const kinds = await page.$$eval('main tbody tr td:first-child', (tds) => tds.map((td) => td.textContent));
  check(kinds[0] === '+I' && kinds.every((k) => ['+I', '-U', '+U', '-D'].includes(k)), `row kinds shown: ${kinds.join(' ')}`);
  await setSql(page, 'INSERT INTO big\nSELECT auction, price FROM bids\nWHERE price > 100');
  await page.click('form button[type=submit]');
  await page.waitForSelector('h1:text("big-bids")');

  // 4. activate; state becomes running and the throughput chart draws non-zero points
  await page.click('button:text("Activate")');
  await page.waitForSelector('#state .state-running', { timeout: 60000 });
  check(true, 'the pipeline runs');
  await page.waitForFunction(() => Number(document.getElementById('throughput').dataset.points || 0) > 0, null, { timeout: 90000 });
  check(true, 'the throughput chart has non-zero points');
  await page.selectOption('#main select[aria-label=Range]', 'hour');
  await page.waitForFunction(() => Number(document.getElementById('throughput').dataset.points || 0) > 0, null, { timeout: 90000 });
  check(true, 'the last hour from the usage API has non-zero points');
  await page.selectOption('#main select[aria-label=Range]', 'live');
  // 5. live log lines, and usage
  await page.waitForSelector('#log li', { timeout: 60000 });
  check(true, 'log lines arrive live');
  await screenshots(page, 'pipeline-detail');
  await visit(page, '#/usage', 'h2:text("Per resource (24 hours)")', 'usage');
  await page.waitForFunction(async () => true);
  check((await page.$$('main section:nth-of-type(3) tbody tr')).length > 0, 'usage shows the running resources');
  await visit(page, '#/account', 'h2:text("API keys")', 'account');
  await page.fill('form.inline input[name=name]', 'ci');
  await page.click('button:text("Create key")');
  await page.waitForSelector('p.notice code');
  check((await page.textContent('p.notice code')).startsWith('sk_'), 'an API key is shown once at creation');
  await page.fill('input[name=email][type=email]:not([autocomplete])', 'member@alpha.example');
  await page.fill('input[name=password][autocomplete=new-password]', 'member password');
  await page.click('button:text("Add user")');
  await page.waitForSelector('td:text("member@alpha.example")');
  check(true, 'an admin adds a user with a role');
  await visit(page, '#/connections', 'a:text("gen")', 'connections');

  // 6. bad SQL: the error at its line
  await visit(page, '#/pipelines', 'a:text("big-bids")', 'pipelines');
  await page.waitForSelector('.spark canvas', { timeout: 5000 }).catch(() => {});
  check((await page.$$('.spark')).length === 1, 'the list has a last-hour sparkline per pipeline');
  await page.click('a:text("big-bids")');
  await page.waitForSelector('h2:text("Edit SQL")');
  await setSql(page, 'INSERT INTO big\nSELECT auction, FROM bids');
  await page.click('form button:text("Save")');
  await page.waitForSelector('.sql-error');
  const err = await page.textContent('.sql-error p.error');
  check(/^Line 2, column \d+:/.test(err), `bad SQL is shown at its line (${err})`);
  check((await page.$$('.sql-error .error-line')).length === 1, 'the line is marked');
  await screenshots(page, 'pipeline-sql-error');

  // a second tenant in another browser context sees nothing of the first
  const other = await context();
  await signup(other.page, 'beta');
  for (const hash of ['#/pipelines', '#/connections', '#/streams']) {
    await visit(other.page, hash, 'p.empty', '');
    const text = await other.page.textContent('main');
    check(!/big-bids|gen|bids/.test(text.replace(/No .*$/s, '')), `tenant beta sees none of alpha's ${hash.slice(2)}`);
  }
  // a write with the cookie but without the CSRF token (what a cross-site form sends) is refused
  const forged = await other.page.evaluate(async () => {
    const r = await fetch('/v1/streams', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'forged', schema: { fields: [{ name: 'a', type: 'BIGINT' }] } }) });
    return r.status;
  });
  check(forged === 403, `a write without the CSRF token is refused (${forged})`);

  // 7. log out: the pages are out of reach, and the old cookie is revoked
  const saved = await ctx.cookies();
  await page.click('#logout');
  await page.waitForSelector('h1:text("Log in")');
  await page.goto(`${url}/#/pipelines`);
  await page.waitForSelector('h1:text("Log in")');
  check(true, 'after logout the pages lead to the login');
  await ctx.addCookies(saved);
  const me = await page.evaluate(async () => (await fetch('/v1/me')).status);
  check(me === 401, `the logged-out session is revoked (${me})`);
  await screenshots(page, 'login');
  const slowest = Math.max(...timings.map((t) => t[1]));
  console.log(`slowest page load: ${slowest} ms`);
} catch (e) {
  console.log(e.stack || String(e));
  process.exitCode = 1;
} finally {
  await browser.close();
}
