// End-to-end browser test of trading and provider liveness on the board,
// driven by internal/dashboard's TestBrowserTrading (the real server, a
// short provider timeout). Two boards are open: a trader's and an
// analyst's. The trader suspends a market (then the whole game) and
// re-opens it; the analyst's board shows each change within a second. A
// provider that quotes once and goes silent turns down on the analyst's
// strip and its quotes are greyed "provider down"; quoting again brings it
// back. The board shows it down within a second of the timeout.
//
// Environment: ODDSFEED_URL, E2E_TRADER, E2E_ANALYST, E2E_PASSWORD,
// E2E_ADMIN_KEY, E2E_GAME (created here, soccer), E2E_PROVIDERS (three,
// comma-separated: the first two stay alive, the third goes silent),
// E2E_PROVIDER_KEYS (JSON: provider -> API key), E2E_TIMEOUT_MS (the
// server's provider timeout), CHROMIUM. Lines starting "STEP" are
// progress; "RESULT <json>" has the timings. Any failure exits non-zero.

import { check, env, run, signIn, step } from './lib.mjs';

const base = env('ODDSFEED_URL');
const gameId = env('E2E_GAME');
const [p0, p1, quiet] = env('E2E_PROVIDERS').split(',');
const keys = JSON.parse(env('E2E_PROVIDER_KEYS'));
const timeoutMs = Number(env('E2E_TIMEOUT_MS'));
const result = {};

async function call(method, path, key, body) {
  const res = await fetch(base + path, {
    method,
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  check(res.ok, `${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}
let n = 0;
// quotes of a provider: the three-way, spread and total, observed now.
const quotes = (provider, d = 0) => {
  const observedAt = new Date(Date.now() - 1000 + ++n).toISOString();
  return [
    { gameId, provider, observedAt, market: 'three_way', homeOdds: 150 + d, drawOdds: 230, awayOdds: 190 },
    { gameId, provider, observedAt, market: 'spread', awaySpread: 0.5, homeSpread: -0.5, awayOdds: -110 - d, homeOdds: -105 - d },
    { gameId, provider, observedAt, market: 'total', line: 2.5, overOdds: -105 - d, underOdds: -115 - d },
  ];
};
const postQuotes = (provider, d) => call('POST', '/v1/odds', keys[provider], { odds: quotes(provider, d) });

let beating = null;
await run(async (browser) => {
  step('two providers alive (heartbeats), a soccer game quoted in every market');
  const beat = () => Promise.all([p0, p1].map((p) => call('POST', '/v1/heartbeat', keys[p], {}).catch((e) => console.error(`heartbeat: ${e.message}`))));
  await beat();
  beating = setInterval(beat, 250);
  await call('PUT', `/v1/games/${gameId}`, env('E2E_ADMIN_KEY'), {
    id: gameId,
    sport: 'soccer',
    summary: 'Fulham @ Brentford',
    homeTeam: 'Brentford',
    awayTeam: 'Fulham',
    venue: 'Gtech',
    status: 'live',
    gameDate: new Date(Date.now() - 20 * 60e3).toISOString(),
  });
  await postQuotes(p0, 0);
  await postQuotes(p1, 5);

  const errors = [];
  async function open(user) {
    const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await ctx.newPage();
    page.on('pageerror', (e) => errors.push(`page error (${user}): ${e.message}`));
    page.setDefaultTimeout(15_000);
    await signIn(page, base, user, env('E2E_PASSWORD'));
    await page.waitForSelector('#conn[data-state=live]');
    await page.waitForSelector(`#board tbody[data-game="${gameId}"] tr[data-provider="${p1}"] td[data-cell="total:under"]:not(:empty)`);
    return page;
  }
  step('the trader and the analyst open the board');
  const trader = await open(env('E2E_TRADER'));
  const analyst = await open(env('E2E_ANALYST'));
  const g = `#board tbody[data-game="${gameId}"]`;
  check((await analyst.$eval(`${g} td[data-group=ml]`, (td) => td.dataset.market)) === 'three_way/full', 'the soccer game does not show its three-way market');
  check((await analyst.$$(`${g} button.trade`)).length === 0, 'the analyst has trader buttons');

  // watch waits until the analyst's board has the group's state; returns ms.
  const watch = async (group, state, t0) => {
    await analyst.waitForFunction(([sel, st]) => document.querySelector(sel)?.dataset.state === st, [`${g} td[data-group=${group}]`, state], { timeout: 5000 });
    return Date.now() - t0;
  };

  step('the trader suspends the total: the other board shows it within a second');
  await trader.fill('#trade-reason', 'var check');
  let t0 = Date.now();
  await trader.click(`${g} td[data-group=total] button`);
  result.suspendSeenMs = await watch('total', 'suspended', t0);
  check(result.suspendSeenMs <= 1000, `the other board showed the suspension after ${result.suspendSeenMs} ms`);
  const text = await analyst.textContent(`${g} td[data-group=total]`);
  check(text.includes('var check'), `the suspension's reason is not shown: ${text}`);
  check((await analyst.$eval(`${g} tr[data-provider="${p0}"] td[data-cell="total:over"]`, (td) => td.className)).includes('susp'), 'the suspended market is not greyed');

  step('the trader re-opens it');
  t0 = Date.now();
  await trader.click(`${g} td[data-group=total] button`);
  result.resumeSeenMs = await watch('total', 'open', t0);
  check(result.resumeSeenMs <= 1000, `the other board showed the re-opening after ${result.resumeSeenMs} ms`);

  step('the trader suspends the whole game, then re-opens it');
  await trader.fill('#trade-reason', '');
  t0 = Date.now();
  await trader.click(`${g} td.mlabel button:first-child`);
  for (const grp of ['ml', 'spread', 'total']) await watch(grp, 'suspended', t0);
  result.gameSuspendSeenMs = Date.now() - t0;
  check((await analyst.textContent(`${g} td[data-group=spread]`)).includes('trader'), 'a trader suspension without a reason does not say trader');
  t0 = Date.now();
  await trader.click(`${g} td.mlabel button:last-child`);
  for (const grp of ['ml', 'spread', 'total']) await watch(grp, 'open', t0);

  step('a provider quotes once and goes silent: the board shows it down and greys its quotes');
  await postQuotes(quiet, 10);
  const lastPost = Date.now();
  const q = `${g} tr[data-provider="${quiet}"] td[data-cell="spread:home"]`;
  await analyst.waitForSelector(q);
  await analyst.waitForFunction((p) => document.querySelector(`#provider-strip .prov[data-provider="${p}"]`)?.dataset.state === 'up', quiet);
  check(!(await analyst.$eval(q, (td) => td.className)).includes('pdown'), 'a live provider is greyed');
  await analyst.waitForFunction((p) => document.querySelector(`#provider-strip .prov[data-provider="${p}"]`)?.dataset.state === 'down', quiet, {
    timeout: timeoutMs + 10_000,
  });
  result.downSeenAfterSilenceMs = Date.now() - lastPost;
  // Told within a second of the timeout (its last post is when it was last heard).
  check(result.downSeenAfterSilenceMs <= timeoutMs + 1000, `the board showed the provider down ${result.downSeenAfterSilenceMs - timeoutMs} ms after the timeout`);
  await analyst.waitForFunction((sel) => document.querySelector(sel)?.classList.contains('pdown'), q, { timeout: 2000 });
  check((await analyst.$eval(q, (td) => td.title)) === 'provider down', 'the down provider quote says nothing');
  check((await analyst.textContent(`${g} tr[data-provider="${quiet}"] td.provider`)).includes('provider down'), 'the provider row does not say provider down');
  check(!(await analyst.$eval(`${g} tr[data-provider="${p0}"] td[data-cell="spread:home"]`, (td) => td.className)).includes('pdown'), 'a live provider is greyed');
  check(/heard \d+s ago/.test(await analyst.textContent(`#provider-strip .prov[data-provider="${quiet}"] .ago`)), 'the strip does not say when it was last heard');

  step('it quotes again: up, its new quotes not greyed');
  await postQuotes(quiet, 15);
  await analyst.waitForFunction((p) => document.querySelector(`#provider-strip .prov[data-provider="${p}"]`)?.dataset.state === 'up', quiet, { timeout: 5000 });
  await analyst.waitForFunction((sel) => !document.querySelector(sel)?.classList.contains('pdown'), q, { timeout: 5000 });

  check(errors.length === 0, `browser errors:\n${errors.join('\n')}`);
  console.log(`RESULT ${JSON.stringify(result)}`);
}, { after: () => clearInterval(beating) });
