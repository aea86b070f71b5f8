// Browser half of internal/dashboard's TestReadme, which runs `oddsfeed
// serve -demo` the README's way (embedded default, a fresh ./data, its own
// Postgres): sign in at the server's address with the dev-analyst key
// through the sign-in form, watch the board move, the reports fill with
// numbers (the market reports too) and the pipeline page show both
// consumers with their shards.
// Debian's chromium through playwright-core.
//
// Environment: ODDSFEED_URL, E2E_KEY (the dev-analyst key from
// ./data/dev-keys.txt), E2E_PROVIDERS (the demo's providers, comma
// separated), CHROMIUM. Lines starting "STEP" are progress. Any failure
// exits non-zero.

import { check, env, run, step } from './lib.mjs';

const base = env('ODDSFEED_URL');
const providers = env('E2E_PROVIDERS').split(',');

await run(async (browser) => {
  const page = await (await browser.newContext({ viewport: { width: 1440, height: 1000 } })).newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(`console: ${m.text()}`);
  });
  page.setDefaultTimeout(30_000);

  step('open the server: the sign-in form');
  await page.goto(base + '/');
  await page.waitForURL(/\/signin(\?|$)/);

  step('sign in with the dev-analyst key');
  await page.fill('#signin-apikey input[name=apikey]', env('E2E_KEY'));
  await page.click('#signin-apikey button');
  await page.waitForURL(base + '/');

  step('the board fills from the demo and its stream is live');
  await page.waitForSelector('#board tbody[data-game] tr[data-provider]');
  await page.waitForSelector('#conn[data-state=live]');

  step('the board moves: a price cell already shown changes value and flashes');
  // The price cells (not the muted "updated" time) of every row shown, keyed
  // by game, provider and column, in window.__readme (the page's CSP allows
  // no eval: functions, not strings).
  const before = await page.evaluate(() => {
    window.__cells = () => {
      const cells = new Map();
      for (const tr of document.querySelectorAll('#board tbody[data-game] tr[data-provider]')) {
        const game = tr.closest('tbody').dataset.game;
        tr.querySelectorAll('td.num:not(.muted)').forEach((td, i) => cells.set(`${game} ${tr.dataset.provider} #${i}`, td));
      }
      return cells;
    };
    window.__readme = new Map([...window.__cells()].map(([k, td]) => [k, td.textContent]));
    return window.__readme.size;
  });
  check(before > 0, 'the board shows no prices');
  const moved = await (
    await page.waitForFunction(
      () => {
        for (const [k, td] of window.__cells()) {
          const was = window.__readme.get(k);
          if (was !== undefined && was !== td.textContent && (td.classList.contains('up') || td.classList.contains('down'))) {
            return `${k}: ${was} -> ${td.textContent} (${td.className})`;
          }
        }
        return false;
      },
      null,
      { polling: 100, timeout: 30_000 },
    )
  ).jsonValue();
  console.log(`board: ${before} price cells; moved ${moved}`);

  step('the reports show numbers (movers and every provider)');
  await page.click('nav a[href="/reports"]');
  await page.waitForURL(base + '/reports');
  // The page refreshes every 10 s; the reporting sync fills Postgres.
  const reports = await (
    await page.waitForFunction(
      (providers) => {
        const num = (td) => Number((td?.textContent ?? '').replace(/[^0-9.]/g, ''));
        const movers = [...document.querySelectorAll('#movers-table tbody tr')];
        const rows = [...document.querySelectorAll('#providers-table tbody tr')];
        const ticks = Object.fromEntries(rows.map((tr) => [tr.cells[0].textContent, num(tr.cells[3])]));
        const ok = movers.length > 0 && movers.every((tr) => num(tr.cells[2]) > 0) && providers.every((p) => ticks[p] > 0);
        return ok && { movers: movers.length, ticks };
      },
      providers,
      { polling: 250, timeout: 90_000 },
    )
  ).jsonValue();
  console.log(`reports: ${reports.movers} movers; provider ticks ${JSON.stringify(reports.ticks)}`);

  step('the market reports: a margin of every provider; suspensions, outages and settlements load');
  const markets = await (
    await page.waitForFunction(
      (providers) => {
        const heads = [...document.querySelectorAll('#margins-table thead th')].map((th) => th.textContent);
        const pct = providers.every((p) => [...document.querySelectorAll(`#margins-table td[data-provider="${p}"]`)].some((td) => /%$/.test(td.textContent)));
        const loaded = ['suspensions', 'outages', 'settlements'].every((id) => document.querySelector(`#${id} table, #${id} .notice.info`));
        return providers.every((p) => heads.includes(p)) && pct && loaded && { markets: document.querySelectorAll('#margins-table tbody tr').length, suspended: document.querySelectorAll('#suspensions-table tbody tr').length };
      },
      providers,
      { polling: 250, timeout: 90_000 },
    )
  ).jsonValue();
  const failures = await page.$$eval('main .notice.error', (ps) => ps.map((p) => p.textContent));
  check(failures.length === 0, `reports failed: ${failures.join('; ')}`);
  console.log(`market reports: margins of ${markets.markets} markets; ${markets.suspended} suspensions`);

  step('the pipeline shows both consumers with their shards');
  await page.click('nav a[href="/pipeline"]');
  await page.waitForURL(base + '/pipeline');
  const consumers = ['broadcast', 'reporting'];
  for (const c of consumers) {
    await page.waitForSelector(`#consumers-table tbody tr[data-consumer=${c}]`);
    await page.waitForSelector(`#shards-table tbody tr[data-consumer=${c}]`);
  }
  const shown = await page.$$eval('#consumers-table tbody tr', (rows) => rows.map((r) => r.dataset.consumer));
  check(shown.join() === consumers.join(), `consumers shown: ${shown}, want ${consumers}`);
  const shards = await page.$$eval('#shards-table tbody tr', (rows) => rows.map((r) => r.dataset.consumer));
  console.log(`pipeline: consumers ${shown}; shards ${consumers.map((c) => `${c} ${shards.filter((s) => s === c).length}`).join(', ')}`);

  check(errors.length === 0, `browser errors:\n${errors.join('\n')}`);
});
