// The README's board, game and reports screenshots, taken from a demo
// server (`serve -demo` with reports), driven by internal/app's
// TestDemoScreenshots (ODDSFEED_DEMO_SCREENSHOTS=1). Debian's chromium
// through playwright-core.
//
// Environment: ODDSFEED_URL, E2E_KEY (a trader's API key: the board shows
// the Suspend / Re-open controls), E2E_GAME (a live game every provider
// quotes), E2E_SCREENSHOTS (the directory), E2E_REPORTS_WAIT_MS (how long
// to wait for each market report's first row; default 20 s), CHROMIUM (the
// browser).

import { env, run } from './lib.mjs';
import path from 'node:path';

const base = env('ODDSFEED_URL');
const shots = env('E2E_SCREENSHOTS');
const gameId = env('E2E_GAME');

await run(async (browser) => {
  const page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
  page.setDefaultTimeout(30_000);
  const shot = (name, fullPage = false) => page.screenshot({ path: path.join(shots, name), fullPage });

  await page.goto(base + '/signin');
  await page.fill('#signin-apikey input[name=apikey]', env('E2E_KEY'));
  await page.click('#signin-apikey button');
  await page.waitForURL(base + '/');
  await page.waitForSelector('#board tr[data-provider]');
  await page.waitForSelector('#conn[data-state=live]');
  await page.waitForSelector('#board td[data-cell="total:over"]:not(:empty)'); // every market type quoted
  await page.waitForSelector('#provider-strip .prov');
  await page.waitForSelector('#board td.mstat button.trade'); // the trader's controls
  // A market suspended (the simulator's bet stops around game events), when one comes soon.
  await page.waitForSelector('#board td.mstat[data-state=suspended]', { timeout: 20_000 }).catch(() => {});
  await page.waitForFunction(() => document.querySelectorAll('#board td.up, #board td.down').length >= 3); // moves flash
  await shot('board.png');

  await page.goto(`${base}/games/${gameId}`);
  await page.waitForSelector('#markets .market-card .chart .uplot canvas');
  await page.waitForSelector('#movement-chart .uplot canvas');
  await page.waitForSelector('#probability table.prob tbody tr');
  await page.waitForFunction(() => document.querySelectorAll('#ticks tbody tr').length > 10);
  await shot('game.png');

  await page.goto(base + '/reports');
  await page.waitForSelector('#movers-table tbody tr');
  await page.waitForSelector('#providers-table tbody tr');
  await page.waitForSelector('#margins-table tbody tr');
  // Suspensions, settlements (games closing) and an outage (the demo's
  // quiet provider, first after a few minutes) when they come soon.
  for (const id of ['suspensions', 'settlements', 'outages']) {
    await page.waitForSelector(`#${id}-table tbody tr`, { timeout: Number(env('E2E_REPORTS_WAIT_MS', '20000')) }).catch(() => {});
  }
  await shot('reports.png', true);
});
