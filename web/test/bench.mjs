// bench.mjs — page load times of the console (see bench/console.sh). Signs up a tenant with a
// stream, a connection and a pipeline through the API, logs in through the form, then loads
// each page N times: the time from navigation to its content (after its API calls).
import { chromium } from 'playwright-core';

const [url, loads] = [process.argv[2], Number(process.argv[3] || 10)];
const post = async (path, body, headers = {}) => {
  const r = await fetch(url + path, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
  if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
  return r.json();
};
const key = (await post('/v1/signup', { tenant: 'bench', email: 'bench@example.com', password: 'bench password' })).api_key.key;
const auth = { Authorization: `Bearer ${key}` };
await post('/v1/streams', { name: 'bids', schema: { fields: [{ name: 'auction', type: 'BIGINT' }, { name: 'price', type: 'BIGINT' }] } }, auth);
await post('/v1/streams', { name: 'big', schema: { fields: [{ name: 'auction', type: 'BIGINT' }, { name: 'price', type: 'BIGINT' }] } }, auth);
await post('/v1/connections', { name: 'gen', connector: 'http', type: 'source', stream: 'bids', properties: {} }, auth);
const p = await post('/v1/pipelines', { name: 'big-bids', sql: 'INSERT INTO big SELECT auction, price FROM bids WHERE price > 100' }, auth);

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] });
const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
const page = await ctx.newPage();
await page.goto(`${url}/#/login`);
await page.fill('input[name=email]', 'bench@example.com');
await page.fill('input[name=password]', 'bench password');
await page.click('button[type=submit]');
await page.waitForSelector('h1:text("Pipelines")');

const pages = [
  ['baseline: /openapi.json (static, no script)', '/openapi.json', 'body'],
  ['pipelines', '/#/pipelines', 'a:text("big-bids")'],
  ['pipeline detail', `/#/pipelines/${p.id}`, '#throughput canvas'],
  ['new pipeline (editor)', '/#/pipelines/new', '#sql-editor .cm-content'],
  ['connections', '/#/connections', 'a:text("gen")'],
  ['streams', '/#/streams', 'a:text("bids")'],
  ['usage', '/#/usage', 'h2:text("Per resource (24 hours)")'],
  ['account', '/#/account', 'h2:text("API keys")'],
];
// A page load as a user sees it: the console is open (its modules loaded once) and the page is
// reached by its link, so it loads what it shows through the API. The first line is a full
// load of the console itself, and the baseline a full load of a static document.
const measure = async (name, go, ready) => {
  const times = [];
  for (let i = 0; i < loads; i++) {
    await page.goto(`${url}/#/none`);
    await page.waitForSelector('h1:text("Not found")');
    const t0 = performance.now();
    await go();
    await page.waitForSelector(ready);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return [name, times[Math.floor(times.length / 2)], times[times.length - 1]];
};
const rows = [];
rows.push(await measure('baseline: /openapi.json (static, no script)', () => page.goto(`${url}/openapi.json`), 'body'));
rows.push(await measure('the console, full load (index and modules)', () => page.goto(`${url}/?fresh#/pipelines`), 'a:text("big-bids")'));
for (const [name, path, ready] of pages.slice(1))
  rows.push(await measure(name, () => page.evaluate((h) => { location.hash = h; }, path.slice(1)), ready));
const base = rows[0][1];
for (const [name, median, worst] of rows)
  console.log(`${name.padEnd(44)} median ${median.toFixed(0).padStart(5)} ms   worst ${worst.toFixed(0).padStart(5)} ms   ${(median / base).toFixed(2)}x baseline`);
await browser.close();
