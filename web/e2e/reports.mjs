// Browser test of the reports page with the /v1 API mocked in the browser,
// driven by internal/dashboard's TestBrowserReports (the dashboard's pages
// and sign-in are real): each market report (time suspended, provider
// outages, settlements and results per outcome, margins) renders the mocked
// numbers; the shared window selector asks all four again with its window;
// without reporting (404) every section says so.
//
// Environment: ODDSFEED_URL, E2E_USER, E2E_PASSWORD, E2E_SCREENSHOT (a file
// for a screenshot of the page, or empty), CHROMIUM. Lines starting "STEP"
// are progress. Any failure exits non-zero.

import { check, env, run, signIn, step } from './lib.mjs';

const base = env('ODDSFEED_URL');
const ago = (s) => new Date(Date.now() - s * 1000).toISOString();
const range = { since: ago(86400), until: ago(0) };

const soccer = { id: 'rp-soccer', sport: 'soccer', awayTeam: 'Fulham', homeTeam: 'Brentford', status: 'live', gameDate: ago(1800), version: 1 };
const reports = {
  movers: { window: '1h', movers: [{ gameId: soccer.id, summary: 'Fulham @ Brentford', sport: 'soccer', provider: 'alpha', ticks: 12, openHomeSpread: -1.5, lastHomeSpread: -2, openHomeOdds: -110, lastHomeOdds: -125, lastObserved: ago(30) }] },
  providers: { window: '5m', providers: [{ provider: 'alpha', lastObserved: ago(5), ticks: 40, updatesPerMinute: 8, delayP50Ms: 12, delayP99Ms: 80 }] },
  suspensions: {
    ...range,
    truncated: true,
    suspensions: [
      { gameId: soccer.id, market: 'three_way', period: 'full', reason: 'bet_stop', intervals: 4, ongoing: 1, seconds: 754.2 },
      { gameId: 'rp-unknown', market: 'total', period: '1h', reason: 'provider_down', intervals: 1, ongoing: 0, seconds: 45 },
    ],
  },
  outages: {
    ...range,
    providers: [
      { provider: 'alpha', outages: 3, ongoing: 1, longestSeconds: 754, totalSeconds: 1000.4, lastDownAt: ago(120) },
      { provider: 'bravo', outages: 1, ongoing: 0, longestSeconds: 45, totalSeconds: 45, lastDownAt: ago(7200) },
    ],
  },
  settlements: {
    ...range,
    settled: 12,
    cancelled: 1,
    rolledBack: 2,
    markets: [
      { market: 'total', period: 'full', settled: 7, cancelled: 1, rolledBack: 2 },
      { market: 'moneyline', period: 'full', settled: 5, cancelled: 0, rolledBack: 0 },
    ],
    results: [
      { market: 'moneyline', outcome: 'away', result: 'lose', markets: 3 },
      { market: 'moneyline', outcome: 'away', result: 'win', markets: 2 },
      { market: 'moneyline', outcome: 'home', result: 'lose', markets: 2 },
      { market: 'moneyline', outcome: 'home', result: 'win', markets: 3 },
      { market: 'total', outcome: 'over', result: 'push', markets: 1 },
      { market: 'total', outcome: 'over', result: 'win', markets: 6 },
      { market: 'total', outcome: 'under', result: 'lose', markets: 6 },
      { market: 'total', outcome: 'under', result: 'push', markets: 1 },
    ],
  },
  margins: {
    ...range,
    margins: [
      { market: 'spread', period: 'full', provider: 'alpha', quotes: 120, overround: 0.0452, minOverround: 0.04, maxOverround: 0.05 },
      { market: 'spread', period: 'full', provider: 'bravo', quotes: 80, overround: 0.0398, minOverround: 0.035, maxOverround: 0.045 },
      { market: 'three_way', period: 'full', provider: 'charlie', quotes: 30, overround: 0.0712, minOverround: 0.06, maxOverround: 0.08 },
      { market: 'total', period: 'full', provider: 'alpha', quotes: 64, overround: 0.05, minOverround: 0.05, maxOverround: 0.05 },
    ],
  },
};

await run(async (browser) => {
  const errors = [];
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.setDefaultTimeout(10_000);
  const json = (body) => ({ status: 200, contentType: 'application/json', body: JSON.stringify(body) });
  const notFound = { status: 404, contentType: 'application/problem+json', body: '{"title":"Not Found","status":404}' };
  let configured = true;
  let empty = false;
  const asked = []; // [report, window]
  await page.route(/\/v1\/reports\/(\w+)\?/, (r) => {
    const u = new URL(r.request().url());
    const name = u.pathname.split('/').pop();
    asked.push([name, u.searchParams.get('window'), u.searchParams.get('limit')]);
    if (!configured || !reports[name]) return r.fulfill(notFound);
    if (empty && name === 'suspensions') return r.fulfill(json({ ...range, truncated: false, suspensions: [] }));
    r.fulfill(json(reports[name]));
  });
  await page.route('**/v1/games/*', (r) => (r.request().url().endsWith(`/${soccer.id}`) ? r.fulfill(json(soccer)) : r.fulfill(notFound)));

  step('sign in and open the reports');
  await signIn(page, base, env('E2E_USER'), env('E2E_PASSWORD'), '/reports');
  await page.waitForSelector('#movers-table tbody tr');
  await page.waitForSelector('#providers-table tbody tr');
  for (const id of ['suspensions', 'outages', 'settlements', 'results', 'margins']) await page.waitForSelector(`#${id}-table tbody tr`);
  const want = ['suspensions', 'outages', 'settlements', 'margins'];
  for (const n of want) {
    const a = asked.find(([name]) => name === n);
    check(a && a[1] === '24h', `the ${n} report was asked with window ${a?.[1]}, want the default 24h`);
  }
  check(asked.find(([n]) => n === 'suspensions')[2] === '10', 'the suspensions report is not asked for the top 10');
  const rows = (id) => page.$$eval(`#${id}-table tbody tr`, (trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent.trim())));
  const eq = (got, want, what) => check(JSON.stringify(got) === JSON.stringify(want), `${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);

  step('time suspended per game, market and reason');
  eq(
    await rows('suspensions'),
    [
      ['Fulham @ Brentfordrp-soccer', '1X2', 'bet stop', '12m 34s', '4', 'suspended'],
      ['rp-unknown', 'Total · 1st half', 'provider down', '45s', '1', '—'],
    ],
    'suspensions',
  );
  check((await page.$eval('#suspensions-table a', (a) => a.getAttribute('href'))) === `/games/${soccer.id}`, 'the suspension does not link its game');
  check((await page.textContent('#suspensions')).includes('The 10 longest'), 'a truncated suspensions report does not say so');

  step('provider outages');
  const out = await rows('outages');
  eq(out.map((r) => r.filter((_, i) => i !== 4)), [['alpha', '3', '12m 34s', '16m 40s', 'down'], ['bravo', '1', '45s', '45s', '—']], 'outages');
  eq(out.map((r) => r[4]), ['2m ago', '2h ago'], 'outages: last down');

  step('settlements and results per outcome');
  eq(
    await rows('settlements'),
    [
      ['Moneyline', '5', '0', '0'],
      ['Total', '7', '1', '2'],
      ['All markets', '12', '1', '2'],
    ],
    'settlements',
  );
  eq(await page.$$eval('#results-table thead th', (ths) => ths.map((th) => th.textContent)), ['Market', 'Outcome', 'win', 'lose', 'push'], 'results: columns');
  eq(
    await rows('results'),
    [
      ['Moneyline', 'Home', '3', '2', '0'],
      ['Moneyline', 'Away', '2', '3', '0'],
      ['Total', 'Over', '6', '0', '1'],
      ['Total', 'Under', '0', '6', '1'],
    ],
    'results',
  );

  step('margins per market type and provider');
  eq(await page.$$eval('#margins-table thead th', (ths) => ths.map((th) => th.textContent)), ['Market', 'alpha', 'bravo', 'charlie'], 'margins: columns');
  eq(
    await rows('margins'),
    [
      ['1X2', '—', '—', '7.12%'],
      ['Spread', '4.52%', '3.98%', '—'],
      ['Total', '5.00%', '—', '—'],
    ],
    'margins',
  );
  check(await page.$eval('#margins-table tr[data-market="spread/full"] td[data-provider=bravo]', (td) => td.classList.contains('best')), 'the lowest spread margin is not marked');
  const title = await page.$eval('#margins-table tr[data-market="spread/full"] td[data-provider=alpha]', (td) => td.title);
  check(title === '120 quotes; 4.00% to 5.00%', `margin tooltip ${JSON.stringify(title)}`);
  const shot = env('E2E_SCREENSHOT', '');
  if (shot) await page.screenshot({ path: shot, fullPage: true });

  step('the shared window asks the four market reports again');
  empty = true;
  asked.length = 0;
  await page.selectOption('#markets-window', '168h');
  await page.waitForFunction(() => document.querySelector('#suspensions')?.textContent.includes('No market was suspended in the last 7d.'));
  for (const n of want) check(asked.some(([name, w]) => name === n && w === '168h'), `the ${n} report was not asked again with window 168h`);
  check(!asked.some(([name]) => name === 'movers' || name === 'providers'), 'the markets window reloaded the movers or providers');
  check((await page.$$('#margins-table tbody tr')).length === 3, 'the margins are gone after the window change');

  step('without reporting every section says so');
  configured = false;
  await page.reload();
  for (const id of ['movers', 'providers', 'suspensions', 'outages', 'settlements', 'margins']) {
    await page.waitForFunction((id) => document.querySelector(`#${id} .notice`)?.textContent.includes('Reporting is not configured'), id);
  }
  check(errors.length === 0, errors.join('\n'));
});
