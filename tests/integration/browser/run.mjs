// Browser scenarios of the dashboard and the status page, in Debian's
// chromium driven by playwright-core (launched with the system browser), with
// axe-core checking every page (no serious or critical violation).
//   node run.mjs SCENARIO CONFIG_JSON
// CONFIG_JSON: {"base": "http://127.0.0.1:PORT", "users": {"admin": [u, p], ...},
//               "shots": "/dir/for/screenshots", "docs_img": "/dir" (optional)}
// Prints progress; "READY" on stdout when a scenario waits for the test
// (live_down: the test then stops the check's target). Exits non-zero with
// the reason on the first failed expectation.
import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const [scenario, cfgText] = process.argv.slice(2);
const cfg = JSON.parse(cfgText);
const base = cfg.base;

function fail(msg) {
  throw new Error(msg);
}

async function axe(page, what) {
  await page.evaluate(AXE); // through DevTools: the page's CSP (no inline script) stays in force for the page
  const r = await page.evaluate(async () => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (bad.length) {
    fail(`axe on ${what}: ${bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`).join('; ')}`);
  }
  console.log(`axe ${what}: no serious or critical violation (${r.violations.length} minor)`);
}

async function shot(page, name) {
  await page.screenshot({ path: join(cfg.shots, `${name}.png`), fullPage: false });
  if (cfg.docs_img && (name === 'dashboard' || name === 'status-page')) {
    await page.screenshot({ path: join(cfg.docs_img, `${name}.png`), fullPage: false });
  }
}

// Every request of the page must stay on this server, and the page must log
// no error (a CSP violation is one).
function guard(page, problems) {
  page.on('request', (req) => {
    const u = req.url();
    const allowed = [base, 'data:', ...(cfg.allow || [])];
    if (!allowed.some((a) => u.startsWith(a))) problems.push(`request left the machine: ${u}`);
  });
  // HTTP errors the page handles (401 before login, 404 of an unknown id) are
  // logged by the browser as "Failed to load resource"; anything else logged
  // as an error (a CSP violation, an exception) is a problem.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
}

async function login(page, role) {
  const [user, pass] = cfg.users[role];
  await page.goto(`${base}/`);
  await page.waitForSelector('#username');
  await page.fill('#username', user);
  await page.fill('#password', pass);
  await page.click('button[type=submit]');
  await page.waitForSelector('#check-list .rows .row');
}

const scenarios = {
  async login_password(page) {
    const resp = await page.goto(`${base}/`);
    const csp = resp.headers()['content-security-policy'] || '';
    if (!csp.includes("script-src 'self'") || csp.includes('unsafe-inline')) fail(`CSP of /: ${csp}`);
    await page.waitForSelector('#username');
    if (!page.url().includes('#/login')) fail(`not sent to the login page: ${page.url()}`);
    await axe(page, 'login page');
    await shot(page, 'login');
    await page.fill('#username', cfg.users.admin[0]);
    await page.fill('#password', 'wrong-password');
    await page.click('button[type=submit]');
    await page.waitForSelector('#login-error .notice');
    const err = await page.textContent('#login-error');
    if (!/wrong/i.test(err)) fail(`a wrong password says: ${err}`);
    await login(page, 'admin');
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === 'opshub_session');
    if (!session || !session.httpOnly || session.sameSite !== 'Lax') fail(`session cookie: ${JSON.stringify(session)}`);
    if (await page.evaluate(() => document.cookie.includes('opshub_session'))) fail('the session cookie is readable by script');
    await page.waitForFunction(() => document.querySelectorAll('#check-list [role=row][data-id]').length >= 2);
    const counts = await page.textContent('#counts');
    if (!/\d+ down/.test(counts) || !/\d+ checks/.test(counts)) fail(`counts: ${counts}`);
    const rowText = await page.textContent('#check-list [data-id="web"]');
    if (!/Up/.test(rowText)) fail(`row of web: ${rowText}`);
    await page.waitForSelector('#check-list [data-id="web"] svg.spark');
    await axe(page, 'overview');
    await shot(page, 'dashboard');
    // filters go to the server: status=down leaves only the down check
    await page.selectOption('#f-status', 'down');
    await page.waitForFunction(() => [...document.querySelectorAll('#check-list [data-id]')].every((r) => r.dataset.id === 'broken')
      && document.querySelectorAll('#check-list [data-id]').length === 1);
    // admin pages
    for (const p of ['projects', 'users', 'tokens']) {
      await page.goto(`${base}/#/${p}`);
      await page.waitForSelector('main h1');
      await page.waitForSelector('main table, main .notice');
      await axe(page, `${p} page`);
    }
    await page.click('text=Log out');
    await page.waitForSelector('#username');
  },

  // Single sign-on through the test's OpenID Connect provider (it approves at
  // once): the login page's button, the provider, the callback, the overview.
  async login_sso(page) {
    await page.goto(`${base}/`);
    await page.waitForSelector('#sso-oidc');
    await axe(page, 'login page with single sign-on');
    await page.click('#sso-oidc');
    await page.waitForSelector('#check-list .rows .row');
    const who = await page.textContent('.who .user');
    if (who !== `${cfg.sso_user} (operator)`) fail(`signed in as: ${who}`);
    if (!page.url().startsWith(`${base}/`)) fail(`ended at ${page.url()}`);
    // a refused sign-in comes back to the login page with its reason
    await page.goto(`${base}/auth/oidc/callback?code=x&state=forged`);
    await page.waitForSelector('#login-error .notice');
    const err = await page.textContent('#login-error');
    if (!/expired or was not started here/.test(err)) fail(`a forged state shows: ${err}`);
  },

  // A phone in dark mode, by keyboard alone: the layout fits, the colours
  // still pass axe's contrast rules, and the keys reach everything.
  async phone_dark_keyboard(page) {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(`${base}/`);
    await page.waitForSelector('#username');
    await page.keyboard.type(cfg.users.viewer[0]);          // the username field has focus
    await page.keyboard.press('Tab');
    await page.keyboard.type(cfg.users.viewer[1]);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#check-list .rows .row');
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    if (bg !== 'rgb(17, 20, 24)') fail(`dark theme background: ${bg}`);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
    if (overflow) fail('the overview is wider than the phone');
    await axe(page, 'overview on a phone, dark');
    await shot(page, 'phone-dark');
    // Tab reaches the skip link first, then the rows are links
    await page.keyboard.press('Tab');
    const first = await page.evaluate(() => document.activeElement.textContent);
    if (first !== 'Skip to content') fail(`first Tab stop: ${first}`);
    await page.focus('#check-list [data-id="web"]');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#samples tbody tr');
    await axe(page, 'check page on a phone, dark');
    // the theme switch overrides the system's choice
    await page.click('#theme-toggle');
    const theme = await page.evaluate(() => document.documentElement.dataset.theme);
    if (theme !== 'light') fail(`theme after one switch: ${theme}`);
  },

  async run_now(page) {
    await login(page, 'operator');
    await page.goto(`${base}/#/checks/web`);
    await page.waitForSelector('#run-now');
    await page.waitForSelector('#latency-chart .uplot, #latency-chart .notice');
    await page.waitForSelector('#samples tbody tr');
    await axe(page, 'check page');
    await shot(page, 'check');
    await page.click('#run-now');
    await page.waitForSelector('#run-result');
    const t = await page.textContent('#run-result');
    if (!/Ran: up/.test(t)) fail(`run now said: ${t}`);
    // the last run's facts that are not numbers (a plugin's output)
    await page.goto(`${base}/#/checks/plugin`);
    await page.waitForSelector('#last-detail');
    await page.click('#last-detail summary');
    const detail = await page.textContent('#last-detail pre');
    if (!detail.includes('DISK OK - all good')) fail(`the plugin's output: ${detail}`);
    // the plugin runs every 2 s: its live events keep the details shown, and open
    await page.waitForTimeout(2500);
    if ((await page.getAttribute('#last-detail', 'open')) === null) fail('the details closed after a live event');
    const again = await page.textContent('#last-detail pre');
    if (!again.includes('DISK OK - all good')) fail(`the plugin's output after a live event: ${again}`);
    // an operator does not edit definitions
    await page.goto(`${base}/#/checks/api-check`);
    await page.waitForSelector('#definition dl');
    if (await page.$('#edit-form')) fail('an operator sees the edit form');
  },

  async edit_validation(page) {
    await login(page, 'admin');
    await page.goto(`${base}/#/checks/api-check`);
    await page.waitForSelector('#edit-form');
    await page.fill('#e-interval', 'every now and then');
    await page.click('#edit-form button[type=submit]');
    await page.waitForFunction(() => document.querySelector('#err-interval').textContent.length > 0);
    const msg = await page.textContent('#err-interval');
    const invalid = await page.getAttribute('#e-interval', 'aria-invalid');
    if (invalid !== 'true') fail('the field is not marked invalid');
    if (!/interval|duration/i.test(msg)) fail(`error at the field: ${msg}`);
    await axe(page, 'edit form with an error');
    await shot(page, 'edit-error');
    await page.fill('#e-interval', '45s');
    await page.click('#edit-form button[type=submit]');
    await page.waitForSelector('#saved');
    console.log(`error shown at the field: ${msg}`);
  },

  async viewer_no_buttons(page) {
    await login(page, 'viewer');
    await page.goto(`${base}/#/checks/web`);
    await page.waitForSelector('#samples tbody tr');
    for (const sel of ['#run-now', '#pause', '#resume', '#edit-form']) {
      if (await page.$(sel)) fail(`a viewer sees ${sel}`);
    }
    const nav = await page.textContent('nav');
    if (/Users|Tokens|Projects/.test(nav)) fail(`a viewer's navigation: ${nav}`);
    await page.goto(`${base}/#/users`);
    await page.waitForSelector('main .notice');
    const t = await page.textContent('main');
    if (!/needs the admin role/.test(t)) fail(`a viewer on the users page: ${t}`);
    await axe(page, 'viewer check page');
    // on call: the calendar, but no override form or remove buttons
    await page.goto(`${base}/#/oncall`);
    await page.waitForSelector('#rotations .calendar-grid');
    if (await page.$('form.override-form')) fail('a viewer sees the override form');
    if (await page.$('#rotations .overrides button')) fail('a viewer sees a remove button');
  },

  async status_page(page) {
    const resp = await page.goto(`${base}/status`);
    if (resp.status() !== 200) fail(`/status: ${resp.status()}`);
    await page.waitForSelector('.bars i');
    await axe(page, 'status page');
    const bar = page.locator('.component').first().locator('.bars i').last();
    await bar.hover();
    await page.waitForSelector('#sp-tip:not([hidden])');
    const tip = await page.textContent('#sp-tip');
    // today's bar of the Shop component also names the incident that touched its check
    if (!/^\d{4}-\d{2}-\d{2}: (\d+\.\d\d%|no data); incident #\d+ Checkout fails$/.test(tip)) fail(`tooltip: ${tip}`);
    console.log(`tooltip: ${tip}`);
    await shot(page, 'status-page');
    // without script: the same bars, the tooltip as the title attribute
    const ctx = await page.context().browser().newContext({ javaScriptEnabled: false });
    const p2 = await ctx.newPage();
    await p2.goto(`${base}/status`);
    const n = await p2.locator('.bars i[title]').count();
    if (n < 90) fail(`without script: ${n} bars with a title`);
    // subscribing without script: the form posts, the answer is a page
    await p2.fill('#sp-email', 'nojs@example.test');
    await p2.click('form.sp-subscribe button[type=submit]');
    await p2.waitForSelector('h1');
    if ((await p2.textContent('h1')) !== 'Check your inbox') fail(`without script: ${await p2.textContent('body')}`);
    await ctx.close();
    // with script: the answer in place, announced (role=status); a bad address refused by the browser first
    await page.fill('#sp-email', 'reader@example.test');
    await page.click('form.sp-subscribe button[type=submit]');
    await page.waitForFunction(() => /Check your inbox/.test(document.querySelector('.sp-subscribe-result').textContent));
    await axe(page, 'status page after subscribing');
  },

  // Incidents as an operator: the list, one incident acknowledged, a status
  // update from the pre-filled communication template, the timeline, the
  // postmortem saved and exported as Markdown, resolved; the on-call page
  // with its rotation, override and policy; a viewer sees no buttons.
  async incidents(page) {
    await login(page, 'operator');
    await page.click('nav >> text=Incidents');
    await page.waitForSelector('#incidents tr[data-incident] a');
    await axe(page, 'incidents list');
    await page.click('#incidents tr[data-incident] a');
    await page.waitForSelector('#incident-actions #ack');
    const pre = await page.inputValue('#up-text');
    if (!pre.startsWith('\u{1F6A8} INCIDENT: Shop - Checkout fails') || !pre.includes('Status: INVESTIGATING') ||
        !pre.includes('Impact: about 300 users affected') || !pre.includes('Updates: Looking into it')) {
      fail(`the update pre-filled with the template: ${pre}`);
    }
    await page.click('#ack');
    await page.waitForFunction(() => /by oscar/.test(document.querySelector('#incident-facts').textContent));
    if (await page.locator('#ack').count()) fail('Acknowledge is still offered');
    // an empty update is refused at the field
    await page.fill('#up-text', '');
    await page.click('#update-form button[type=submit]');
    await page.waitForFunction(() => document.querySelector('#up-text-error').textContent.length > 0);
    await page.fill('#up-text', 'Payment provider key expired; rotating it');
    await page.selectOption('#up-state', 'IDENTIFIED');
    await page.click('#update-form button[type=submit]');
    await page.waitForFunction(() => [...document.querySelectorAll('#timeline tr[data-kind=update]')]
      .some((r) => /rotating it/.test(r.textContent)));
    await page.fill('#pm-root-cause', 'An expired API key');
    await page.fill('#pm-follow-ups', '[ ] Alert on key expiry (oscar)');
    await page.click('#postmortem-form button[type=submit]');
    await page.waitForFunction(() => /Postmortem saved/.test(document.querySelector('#incident-msg').textContent));
    await axe(page, 'incident');
    await shot(page, 'incident');
    const md = await page.evaluate(async () => (await fetch(document.querySelector('#pm-export').href)).text());
    if (!md.includes('## Root cause\n\nAn expired API key') || !md.includes('rotating it') ||
        !md.includes('- [ ] Alert on key expiry (oscar)')) {
      fail(`the Markdown export: ${md.slice(0, 400)}`);
    }
    await page.click('#resolve');
    await page.waitForFunction(() => /RESOLVED/.test(document.querySelector('.page-head').textContent));
    // on call
    await page.click('nav >> text=On call');
    await page.waitForSelector('#rotations .rotation[data-rotation="ops"] .now');
    const rot = await page.textContent('#rotations .rotation[data-rotation="ops"]');
    const ovs = await page.textContent('#rotations .rotation[data-rotation="ops"] .overrides');
    if (!/Calendar feed/.test(rot) || !/vera/.test(ovs) || !/in the configuration/.test(ovs)) fail(`the rotation: ${rot}`);
    // the calendar: a week per row, tomorrow's cell has vera's override
    const cal = '#rotations .rotation[data-rotation="ops"] .calendar-grid';
    if ((await page.locator(`${cal} thead th`).count()) !== 7) fail('the calendar has no 7 weekday columns');
    const cells = await page.locator(`${cal} td[data-day]`).count();
    if (cells !== 14) fail(`the calendar shows ${cells} days`);
    if (!/vera \(override\)/.test(await page.textContent(cal))) fail('the override is not in the calendar');
    const step = await page.textContent('#policies tr[data-policy="primary"][data-step="1"]');
    if (!/\(ops\)/.test(step) || !/channel hook/.test(step)) fail(`the policy's first step: ${step}`);
    await axe(page, 'on-call page');
    await shot(page, 'oncall');
    // an override through the form: a bad range is refused at the field, then oscar takes over now
    const form = '#rotations form.override-form[data-rotation="ops"]';
    await page.fill(`${form} #ov-ops-user`, 'oscar');
    const endBefore = await page.inputValue('#ov-ops-start');
    await page.fill('#ov-ops-end', endBefore);
    await page.click(`${form} button[type=submit]`);
    await page.waitForFunction(() => document.querySelector('#ov-ops-end-error').textContent.length > 0);
    const later = await page.evaluate(() => {
      const d = new Date(Date.now() + 2 * 3600000);
      const p = (n) => String(n).padStart(2, '0');
      return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
    });
    await page.fill('#ov-ops-end', later);
    await page.fill('#ov-ops-reason', 'covering for alice');
    await page.click(`${form} button[type=submit]`);
    await page.waitForFunction(() => /covering for alice/.test(document.querySelector('#rotations .rotation[data-rotation="ops"] .overrides').textContent));
    const nowText = await page.textContent('#rotations .rotation[data-rotation="ops"] .now');
    if (nowText !== 'oscar') fail(`on call now: ${nowText}`);
    if (!/oscar \(override\)/.test(await page.textContent(cal))) fail('the new override is not in the calendar');
    const withOv = await page.textContent('#rotations .rotation[data-rotation="ops"] .overrides');
    if (!/covering for alice/.test(withOv) || !/by oscar/.test(withOv)) fail(`the new override: ${withOv}`);
    await axe(page, 'on-call page with an override');
    await page.click('#rotations .rotation[data-rotation="ops"] .overrides button:has-text("Remove")');
    await page.waitForFunction(() => !/covering for alice/.test(document.querySelector('#rotations .rotation[data-rotation="ops"] .overrides').textContent));
  },

  // Notifications as an operator: from a firing alert's "Silence" link to the
  // silence form with its labels filled in, the silence created and expired;
  // the channels with "Send test", the deliveries (one failed with the
  // receiver's answer, retried), the maintenance windows; the status page's
  // scheduled maintenance.
  async notifications(page) {
    await login(page, 'operator');
    await page.click('nav >> text=Alerts');
    const firing = '#active-alerts tr[data-alert="BrokenDown"]';
    await page.waitForSelector(`${firing} a.silence`);
    await page.click(`${firing} a.silence`);
    await page.waitForSelector('#silence-form');
    const m = await page.inputValue('#sil-matchers');
    if (!m.includes('alertname="BrokenDown"') || !m.includes('check="broken"') || !m.includes('severity="critical"')) {
      fail(`the matchers filled in from the alert: ${m}`);
    }
    await axe(page, 'silences page from an alert');
    // a comment is required: the error at the field
    await page.click('#silence-form button[type=submit]');
    await page.waitForFunction(() => document.querySelector('#sil-comment-error').textContent.length > 0);
    await page.fill('#sil-comment', 'fixing the broken check');
    await page.click('#silence-form button[type=submit]');
    await page.waitForSelector('#silences tbody tr[data-silence]');
    const row = await page.textContent('#silences tbody tr[data-silence]');
    if (!/active/.test(row) || !/fixing the broken check/.test(row) || !/oscar/.test(row)) fail(`the silence row: ${row}`);
    await axe(page, 'silences page');
    await shot(page, 'silences');
    await page.click('#silences tbody tr[data-silence] button.expire');
    await page.waitForFunction(() => /No silence is active/.test(document.querySelector('#silences tbody').textContent));
    await page.selectOption('#s-state', 'expired');
    await page.waitForSelector('#silences tbody tr[data-silence]');
    // notifications
    await page.click('nav >> text=Notifications');
    await page.waitForSelector('#channels tr[data-channel="hook"] button.test-channel');
    await page.click('#channels tr[data-channel="hook"] button.test-channel');
    await page.waitForFunction(() => /Test message queued/.test(document.querySelector('#notify-msg').textContent));
    await page.waitForSelector('#deliveries tr[data-channel="bad"] button.retry');
    const bad = await page.textContent('#deliveries tr[data-channel="bad"]');
    if (!/failed/.test(bad) || !/HTTP 400/.test(bad) || !/unknown room/.test(bad)) fail(`the failed delivery: ${bad}`);
    await page.click('#deliveries tr[data-channel="bad"] button.retry');
    await page.waitForFunction(() => /Retrying/.test(document.querySelector('#notify-msg').textContent));
    await page.waitForFunction(() => [...document.querySelectorAll('#deliveries tr[data-channel="hook"]')]
      .some((r) => /OpshubTest/.test(r.textContent) && /sent/.test(r.textContent)));
    const win = await page.textContent('#maintenance tr[data-window="db-upgrade"]');
    if (!/in progress/.test(win) || !/Database upgrade/.test(win)) fail(`the maintenance window: ${win}`);
    const nightly = await page.textContent('#maintenance tr[data-window="nightly"]');
    if (!/0 3 \* \* \*/.test(nightly) || !/Asia\/Dhaka/.test(nightly)) fail(`the nightly window: ${nightly}`);
    await axe(page, 'notifications page');
    await shot(page, 'notifications');
    // the status page shows the window in progress
    await page.goto(`${base}/status`);
    const st = await page.textContent('#maintenance');
    if (!/In progress:/.test(st) || !/Database upgrade/.test(st)) fail(`the status page's maintenance: ${st}`);
  },

  // The alerts page as a viewer: firing and pending alerts with value, labels,
  // annotations and the runbook link; the rule groups with a failing rule's
  // error; the history; the query box (an error at the field, then a chart
  // and a table); the alert markers on a check's chart.
  async alerts(page) {
    await login(page, 'viewer');
    await page.click('nav >> text=Alerts');
    const firing = '#active-alerts tr[data-alert="BrokenDown"]';
    await page.waitForSelector(firing);
    const row = await page.textContent(firing);
    if (!/Firing/.test(row) || !/broken is down/.test(row) || !/severity=critical/.test(row) || !/check=broken/.test(row)) {
      fail(`the firing alert's row: ${row}`);
    }
    const rb = await page.getAttribute(`${firing} a.runbook`, 'href');
    if (rb !== 'https://runbooks.example/broken') fail(`runbook link: ${rb}`);
    await page.waitForSelector('#active-alerts tr[data-alert="WebCheckPending"]');
    const pend = await page.textContent('#active-alerts tr[data-alert="WebCheckPending"]');
    if (!/Pending/.test(pend)) fail(`the pending alert's row: ${pend}`);
    await page.waitForFunction(() => /^1 firing · 1 pending$/.test(document.querySelector('#alert-counts').textContent));
    await page.waitForSelector('#rule-groups [data-group="opshub"] tr[data-rule="ManyToMany"] .rule-error');
    const bad = await page.textContent('#rule-groups tr[data-rule="ManyToMany"]');
    if (!/err/.test(bad) || !/many|match|duplicate/i.test(bad)) fail(`the failing rule: ${bad}`);
    const ok = await page.textContent('#rule-groups tr[data-rule="BrokenDown"]');
    if (!/ok/.test(ok)) fail(`a healthy rule: ${ok}`);
    await page.waitForSelector('#alert-history tr[data-alert="BrokenDown"]');
    await axe(page, 'alerts page');
    await shot(page, 'alerts');
    // the query box: a parse error at the field, then a chart and one row per series
    await page.fill('#q', 'sum(');
    await page.click('#query-form button[type=submit]');
    await page.waitForFunction(() => document.querySelector('#q-error').textContent.length > 0);
    const qerr = await page.textContent('#q-error');
    if (!/^1:\d+:/.test(qerr)) fail(`a bad query says: ${qerr}`);
    if ((await page.getAttribute('#q', 'aria-invalid')) !== 'true') fail('the query field is not marked invalid');
    await page.fill('#q', 'probe_success');
    await page.click('#query-form button[type=submit]');
    await page.waitForSelector('#query-chart .uplot');
    await page.waitForFunction(() => document.querySelectorAll('#query-table tbody tr').length >= 4);
    const qt = await page.textContent('#query-table');
    if (!qt.includes('probe_success{check="broken"') || (await page.getAttribute('#q', 'aria-invalid'))) {
      fail(`the query's table: ${qt.slice(0, 300)}`);
    }
    // a rule's expression goes to the query box
    await page.click('#rule-groups tr[data-rule="BrokenDown"] button.expr');
    const q = await page.inputValue('#q');
    if (q !== 'opshub_check_status{check="broken"} == 2') fail(`the rule's expression in the box: ${q}`);
    await axe(page, 'alerts page with a query');
    // markers on a check's chart, and the list under it
    await page.goto(`${base}/#/checks/web`);
    await page.waitForSelector('#alert-marks li[data-alert="WebCheckPending"]');
    await page.waitForSelector('#latency-chart .alert-mark.m-pending');
    await axe(page, 'check page with alert markers');
    await shot(page, 'check-alert-markers');
  },

  async live_down(page) {
    await login(page, 'viewer');
    await page.waitForFunction(() => /Up/.test(document.querySelector('#check-list [data-id="web"]').textContent));
    await page.evaluate(() => { window.__stillHere = true; });
    await page.waitForFunction(() => document.body.dataset.live === 'on');
    console.log('READY');
    await page.waitForFunction(() => /Down/.test(document.querySelector('#check-list [data-id="web"]').textContent),
      null, { timeout: 20000 });
    if (!(await page.evaluate(() => window.__stillHere))) fail('the page was reloaded');
    // the counts follow: broken was down already, web is the second (db shares web's nginx: maybe a third)
    await page.waitForFunction(() => /^[23] down/.test(document.querySelector('#counts').textContent));
    await shot(page, 'live-down');
  },
};

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
let code = 0;
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, timezoneId: 'Asia/Almaty' });
  context.setDefaultTimeout(15000);
  const page = await context.newPage();
  const problems = [];
  guard(page, problems);
  if (!scenarios[scenario]) fail(`no scenario ${scenario}`);
  await scenarios[scenario](page);
  if (problems.length) fail(problems.join('\n'));
  console.log(`ok ${scenario}`);
} catch (e) {
  console.log(`FAIL ${scenario}: ${e.message}`);
  code = 1;
} finally {
  await browser.close();
}
process.exit(code);
