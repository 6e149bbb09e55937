// bench/web_render.mjs (run by bench/web): the dashboard's time to first
// meaningful render in Debian's chromium (playwright-core from
// tests/integration/node_modules): from navigation start to the first check
// row drawn, and to every check loaded (the counts say N checks and the
// list knows all N rows). Signed in through the API first (session cookie).
//   node bench/web_render.mjs BASE USER PASSWORD N RUNS [status]
// With "status": the time to the status page's bars instead (a page opshub
// renders on the server: the browser's own floor on this machine).
import { createRequire } from 'node:module';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '..', 'tests', 'integration', 'package.json'));
const { chromium } = require('playwright-core');
const [base, user, pass, nText, runsText, mode] = process.argv.slice(2);
const n = Number(nText);
const runs = Number(runsText || 5);

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
const r = await context.request.post(`${base}/api/v1/auth/login`, { data: { username: user, password: pass, cookie: true } });
if (!r.ok()) throw new Error(`login: ${r.status()}`);
const first = [];
const all = [];
// One tab, navigated again for every load (as a person reloads or opens the
// link in the browser they have open): a new tab per load would add the
// browser starting a renderer process to every figure.
const page = await context.newPage();
for (let i = 0; i < runs + 1; i++) {
  await page.goto('about:blank');
  if (mode === 'status') { // the reference: opshub's server-rendered status page in the same browser
    await page.goto(`${base}/status`, { waitUntil: 'commit' });
    await page.waitForSelector('.bars i', { timeout: 60000 });
    const t = await page.evaluate(() => performance.now());
    if (i > 0) { // the first load warms the cache
      first.push(t);
      all.push(t);
    }
    continue;
  }
  await page.goto(`${base}/`, { waitUntil: 'commit' });
  await page.waitForSelector('#check-list [data-id]', { timeout: 60000 });
  const t1 = await page.evaluate(() => performance.now());
  await page.waitForFunction((want) => document.querySelector('#check-list').getAttribute('aria-rowcount') === String(want)
    && /\d+ checks/.test(document.querySelector('#counts').textContent), n, { timeout: 120000 });
  const t2 = await page.evaluate(() => performance.now());
  if (i > 0) { // the first load fills the HTTP cache (hashed assets are cached for a year)
    first.push(t1);
    all.push(t2);
  }
}
await browser.close();
const med = (a) => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)];
console.log(JSON.stringify({ n, runs, first_render_ms: med(first), all_loaded_ms: med(all), first, all }));
