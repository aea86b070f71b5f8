// Browser test of the dashboard, driven by internal/dashboard's
// TestBrowser (which starts the real server and seeds it). Debian's
// chromium through playwright-core; no browser download.
//
// Environment: ODDSFEED_URL, E2E_USER, E2E_PASSWORD (an analyst),
// E2E_ADMIN_KEY (an admin's API key), E2E_GAME and E2E_PROVIDER (the line
// the Go side moves), E2E_GAMES (open games seeded), E2E_PROVIDERS,
// E2E_SCREENSHOTS (a directory, or empty), CHROMIUM (the browser).
//
// Protocol with the Go side: this script prints "CHANGE" when the board is
// ready; the Go test posts an odds change through the provider API and
// answers "POSTED" on stdin. Lines starting "STEP" are progress; the last
// line is "RESULT <json>" with the timings. Any failure exits non-zero.

import { check, env, run, step } from './lib.mjs';
import { createInterface } from 'node:readline';
import path from 'node:path';

const base = env('ODDSFEED_URL');
const user = env('E2E_USER');
const pass = env('E2E_PASSWORD');
const adminKey = env('E2E_ADMIN_KEY');
const gameId = env('E2E_GAME');
const provider = env('E2E_PROVIDER');
const nGames = Number(env('E2E_GAMES'));
const nProviders = Number(env('E2E_PROVIDERS'));
const shots = env('E2E_SCREENSHOTS', '');

const stdin = createInterface({ input: process.stdin });
const lines = stdin[Symbol.asyncIterator]();
async function ask(question, answer) {
  console.log(question);
  const { value, done } = await lines.next();
  if (done || value.trim() !== answer) throw new Error(`asked ${question}, the Go side answered ${done ? 'EOF' : value}`);
}

// Only the sign-in page is shot from these fixtures: the board, game and
// reports screenshots come from a demo server (TestDemoScreenshots), the
// pipeline's from a simulator-fed one (TestBrowserPipeline).
async function shot(page, name, fullPage = false) {
  if (shots) await page.screenshot({ path: path.join(shots, name), fullPage });
}

const result = {};
await run(async (browser) => {
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    // Refused requests the test makes on purpose log "Failed to load resource".
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(`console: ${m.text()}`);
  });
  page.setDefaultTimeout(15_000);

  step('pages need a session');
  for (const p of ['/', `/games/${gameId}`, '/reports', '/pipeline']) {
    await page.goto(base + p);
    check(new URL(page.url()).pathname === '/signin', `${p} without a session went to ${page.url()}, not /signin`);
  }

  step('sign in with a password');
  await page.goto(base + '/signin');
  await page.fill('#signin-password input[name=username]', user);
  await shot(page, 'signin.png');
  await page.fill('#signin-password input[name=password]', 'wrong password');
  await page.click('#signin-password button');
  check((await page.textContent('.error'))?.includes('Wrong username or password'), 'a wrong password did not show an error');
  await page.fill('#signin-password input[name=password]', pass);
  await page.click('#signin-password button');
  await page.waitForURL(base + '/');

  step('the board fills');
  // Load the board afresh (sign-in's password hashing is not the board's
  // cost), then time from its navigation until every game and every
  // provider's row is on it.
  await page.waitForSelector('#board tbody[data-game]');
  await page.goto(base + '/');
  const filled = await page.waitForFunction(
    ([g, p]) =>
      document.querySelectorAll('#board tbody[data-game]').length >= g && document.querySelectorAll('#board tr[data-provider]').length >= g * p
        ? performance.now()
        : false,
    [nGames, nProviders],
    { polling: 'raf' },
  );
  result.boardFilledMs = Math.round(await filled.jsonValue());
  const paint = await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null);
  result.firstContentfulPaintMs = paint && Math.round(paint);
  await page.waitForSelector('#conn[data-state=live]');

  step('a posted odds change appears highlighted');
  const row = `#board tbody[data-game="${gameId}"] tr[data-provider="${provider}"]`;
  const before = await page.$$eval(`${row} td.num`, (tds) => tds.map((td) => td.textContent));
  const tChange = Date.now();
  await ask('CHANGE', 'POSTED');
  await page.waitForFunction((sel) => document.querySelector(`${sel} td.up`) && document.querySelector(`${sel} td.down`), row, { timeout: 1000 });
  result.changeVisibleMs = Date.now() - tChange;
  const after = await page.$$eval(`${row} td.num`, (tds) => tds.map((td) => td.textContent));
  check(after[3] !== before[3], `home odds cell did not change: ${before[3]} -> ${after[3]}`);
  await page.waitForTimeout(1500); // a few more lines move (the Go side's churn)

  step('a burst of 1000 odds in 2 s');
  await page.evaluate(() => {
    const w = (window.__frames = { max: 0, n: 0, long: 0, last: performance.now(), on: true });
    new PerformanceObserver((l) => (w.long += l.getEntries().length)).observe({ type: 'longtask' });
    const loop = (t) => {
      w.max = Math.max(w.max, t - w.last);
      w.last = t;
      w.n++;
      if (w.on) requestAnimationFrame(loop);
    };
    requestAnimationFrame(loop);
  });
  await ask('BURST', 'DONE');
  await page.waitForTimeout(300);
  const frames = await page.evaluate(() => ((window.__frames.on = false), window.__frames));
  result.burstFrames = frames.n;
  result.burstMaxFrameMs = Math.round(frames.max);
  result.burstLongTasks = frames.long;

  step('filter by sport and search by team');
  const visible = () => page.$$eval('#board tbody[data-game]', (bs) => bs.filter((b) => !b.hidden).length);
  await page.selectOption('#sport', 'soccer');
  const soccer = await visible();
  check(soccer > 0 && soccer < nGames, `sport filter shows ${soccer} of ${nGames}`);
  check(await page.$$eval('#board tbody[data-game]', (bs) => bs.filter((b) => !b.hidden).every((b) => b.dataset.game.startsWith('soccer-'))), 'sport filter shows other sports');
  await page.selectOption('#sport', '');
  const team = await page.$eval(`#board tbody[data-game="${gameId}"] .matchup`, (a) => a.textContent.split(' @ ')[1]);
  await page.fill('#search', team.toLowerCase());
  const found = await visible();
  check(found >= 1 && found < nGames, `search for ${team} shows ${found}`);
  await page.fill('#search', '');

  step('the game page charts the line');
  await page.click(`#board tbody[data-game="${gameId}"] a.matchup`);
  await page.waitForURL(`${base}/games/${gameId}`);
  await page.waitForSelector('#movement-chart .uplot canvas');
  const series = await page.$$eval('#movement-chart .u-legend tr.u-series', (rs) => rs.length);
  check(series >= nProviders, `chart legend has ${series} rows, want one per provider (${nProviders})`);
  await page.waitForSelector('#probability table.prob tbody tr');
  check((await page.$$('#probability tbody tr')).length === nProviders, 'probability table lacks providers');
  await page.waitForFunction(() => document.querySelectorAll('#ticks tbody tr').length > 10); // the tick table
  // Zoom: drag across the plot; the x scale narrows.
  const over = await page.$('#movement-chart .u-over');
  const box = await over.boundingBox();
  await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.7, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
  await page.click('#reset-zoom');

  step('reports');
  await page.goto(base + '/reports');
  await page.waitForSelector('#movers-table tbody tr');
  await page.waitForSelector('#providers-table tbody tr');
  check((await page.$$('#providers-table tbody tr')).length === nProviders, 'provider freshness lacks providers');

  step('the pipeline page, as an analyst');
  await page.goto(base + '/pipeline');
  await page.waitForSelector('#shards-table tbody tr');
  check(await page.$eval('#replay', (b) => b.disabled), 'an analyst sees an enabled replay button');
  const refused = await page.evaluate(async () => {
    const csrf = document.querySelector('meta[name=csrf-token]').content;
    const withToken = await fetch('/v1/admin/replay', { method: 'POST', headers: { 'X-CSRF-Token': csrf } });
    const without = await fetch('/v1/admin/replay', { method: 'POST' });
    return [withToken.status, without.status];
  });
  check(refused[0] === 403 && refused[1] === 401, `analyst replay answered ${refused}, want 403 (and 401 without the CSRF token)`);

  step('sign out');
  await page.click('form.signout button');
  await page.waitForURL(/\/signin$/);
  await page.goto(base + '/');
  check(new URL(page.url()).pathname === '/signin', 'the board is reachable after sign-out');

  step('the pipeline page, as an admin signed in with an API key');
  await page.fill('#signin-apikey input[name=apikey]', adminKey);
  await page.click('#signin-apikey button');
  await page.waitForURL(base + '/');
  await page.goto(base + '/pipeline');
  await page.waitForSelector('#dead-table tbody tr');
  await page.waitForFunction(() => !document.querySelector('#replay').disabled);
  await page.waitForFunction(() => document.querySelectorAll('#throughput-chart .uplot').length === 1);
  await page.waitForTimeout(6500); // a few polls, so the throughput chart has a line
  await page.click('#replay');
  await page.waitForFunction(() => document.querySelector('#replay-result').textContent.includes('1 applied'));
  await page.waitForSelector('#dead-letters .notice.ok');

  check(errors.length === 0, `browser errors:\n${errors.join('\n')}`);
}, {
  args: ['--disable-quic'],
  after: () => {
    stdin.close();
    console.log(`RESULT ${JSON.stringify(result)}`);
  },
});
