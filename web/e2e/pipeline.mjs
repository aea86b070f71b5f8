// Browser test of the pipeline page, driven by internal/dashboard's
// TestBrowserPipeline (which starts the real server, with or without
// Postgres, and feeds it with the provider simulator). Debian's chromium
// through playwright-core.
//
// Environment: ODDSFEED_URL, E2E_USER and E2E_PASSWORD (an analyst),
// E2E_ADMIN_KEY (an admin's API key), E2E_POSTGRES (1: reporting is
// configured and one dead letter is parked), E2E_SCREENSHOT (a file to
// write the page's screenshot to, or empty), CHROMIUM. Lines starting
// "STEP" are progress. Any failure exits non-zero.

import { check, env, run, signIn, step } from './lib.mjs';

const base = env('ODDSFEED_URL');
const postgres = env('E2E_POSTGRES') === '1';
const screenshot = env('E2E_SCREENSHOT', '');
const consumers = postgres ? ['broadcast', 'reporting'] : ['broadcast'];

const num = (s) => Number(String(s).replace(/[^0-9.]/g, ''));

await run(async (browser) => {
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 1300 } });
  const errors = [];
  const watch = (page) => {
    page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(`console: ${m.text()}`);
    });
    page.setDefaultTimeout(20_000);
    return page;
  };
  const page = watch(await ctx.newPage());

  step('an analyst sees the pipeline, replay refused');
  await signIn(page, base, env('E2E_USER'), env('E2E_PASSWORD'));
  await page.goto(base + '/pipeline');
  await page.waitForSelector('#consumers-table tbody tr[data-consumer=broadcast]');
  check(await page.$eval('#replay', (b) => b.disabled), 'an analyst sees an enabled replay button');
  await page.click('form.signout button');
  await page.waitForURL(/\/signin$/);

  step('an admin, with the board open in another tab (a live stream client)');
  await page.fill('#signin-apikey input[name=apikey]', env('E2E_ADMIN_KEY'));
  await page.click('#signin-apikey button');
  await page.waitForURL(base + '/');
  const board = watch(await ctx.newPage());
  await board.goto(base + '/');
  await board.waitForSelector('#board tbody[data-game]');
  await page.goto(base + '/pipeline');

  step('both consumers and their shards');
  for (const c of consumers) {
    await page.waitForSelector(`#consumers-table tbody tr[data-consumer=${c}]`);
    await page.waitForSelector(`#shards-table tbody tr[data-consumer=${c}]`);
  }
  const shown = await page.$$eval('#consumers-table tbody tr', (rows) => rows.map((r) => r.dataset.consumer));
  check(shown.join() === consumers.join(), `consumers shown: ${shown}, want ${consumers}`);

  step('rates move: changes/s per consumer and shard, deliveries/s, the hub has the board as a client');
  for (const c of consumers) {
    await page.waitForFunction((c) => /[1-9]/.test(document.querySelector(`#consumers-table tr[data-consumer=${c}] td:nth-child(2)`).textContent), c);
    await page.waitForFunction((c) => [...document.querySelectorAll(`#shards-table tr[data-consumer=${c}] td:nth-child(4)`)].some((td) => /[1-9]/.test(td.textContent)), c);
  }
  await page.waitForFunction(() => Number(document.querySelector('#hub-clients .stat-value').textContent) >= 1);
  await page.waitForFunction(() => /[1-9]/.test(document.querySelector('#hub-deliveries .stat-value').textContent));
  const sent = num(await page.textContent('#hub-sent .stat-value'));
  check(sent > 0, `hub messages sent ${sent}`);
  for (const id of ['hub-conflated', 'hub-slow', 'hub-dropped']) check((await page.$(`#${id} .stat-value`)) != null, `no #${id}`);
  const lags = await page.$$eval('#shards-table tbody tr td:nth-child(3)', (tds) => tds.map((td) => td.textContent));
  check(lags.every((l) => /\d+(\.\d)? (ms|s)$/.test(l)), `lags: ${lags}`);

  step('two charts: rates and lags, on their own axes');
  await page.waitForSelector('#throughput-chart .uplot');
  await page.waitForSelector('#lag-chart .uplot');
  const legends = await page.$$eval('.uplot .u-legend .u-label', (ls) => ls.map((l) => l.textContent));
  for (const want of [...consumers.map((c) => `${c} changes/s`), 'deliveries/s', ...consumers.map((c) => `${c} max lag`)]) {
    check(legends.includes(want), `chart legends ${legends} lack ${want}`);
  }

  if (postgres) {
    step('dead letters, replayed by the admin');
    await page.waitForSelector('#dead-table tbody tr');
    await page.waitForFunction(() => !document.querySelector('#replay').disabled);
    await page.waitForFunction(() => Number(document.querySelector('#main').dataset.polls) >= 6); // a line on the charts
    if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
    await page.click('#replay');
    await page.waitForFunction(() => document.querySelector('#replay-result').textContent.includes('1 applied'));
    await page.waitForSelector('#dead-letters .notice.ok');
  } else {
    step('without Postgres: no reporting consumer, no dead letters, no replay');
    const text = await page.textContent('#dead-letters');
    check(text.includes('Reporting is not configured on this server') && text.includes('it needs Postgres'), `dead letters say: ${text}`);
    check(await page.$eval('#replay', (b) => b.hidden), 'the replay button shows without Postgres');
  }
  check(errors.length === 0, `browser errors:\n${errors.join('\n')}`);
});
