// Browser test of markets on the board, with the stream and the /v1 API
// mocked in the browser (frames fed one by one), driven by
// internal/dashboard's TestBrowserMarkets: the dashboard's own routes (the
// pages, sign-in, and the trader routes with a stand-in Trader) are real.
//
// Environment: ODDSFEED_URL, E2E_TRADER and E2E_ANALYST (usernames),
// E2E_PASSWORD, E2E_SCREENSHOT (a file for a screenshot of the board, or
// empty), CHROMIUM. Lines starting "STEP" are progress. Any failure exits
// non-zero.

import { check, env, run, signIn, step } from './lib.mjs';

const base = env('ODDSFEED_URL');
const ago = (s) => new Date(Date.now() - s * 1000).toISOString();

// Two games: soccer (three-way) and basketball (moneyline), three providers.
const soccer = { id: 'mk-soccer', sport: 'soccer', awayTeam: 'Fulham', homeTeam: 'Brentford', status: 'live', gameDate: ago(1800), version: 1 };
const hoops = { id: 'mk-hoops', sport: 'basketball', awayTeam: 'Bears', homeTeam: 'Hawks', status: 'live', gameDate: ago(1200), version: 1 };
const P = ['alpha', 'bravo', 'charlie'];
let obs = 0;
const quote = (game, provider, market, prices) => ({
  gameId: game.id,
  provider,
  observedAt: ago(300 - ++obs),
  receivedAt: ago(300 - obs),
  version: 1,
  ...(market === 'spread' ? {} : { market }),
  awaySpread: 0,
  homeSpread: 0,
  awayOdds: 0,
  homeOdds: 0,
  ...prices,
});
const quotesOf = (game, i) => {
  const d = i * 5;
  const base = [
    quote(game, P[i], 'spread', { awaySpread: 3.5, homeSpread: -3.5, awayOdds: -110 + d, homeOdds: -110 - d }),
    quote(game, P[i], 'total', { line: 2.5 + (game === hoops ? 200 : 0), overOdds: -105 + d, underOdds: -115 - d }),
  ];
  if (game === soccer) base.push(quote(game, P[i], 'three_way', { homeOdds: 150 + d, drawOdds: 230 - d, awayOdds: 190 }));
  else base.push(quote(game, P[i], 'moneyline', { homeOdds: -150 + d, awayOdds: 130 - d }));
  return base;
};
const status = (game, market, state, extra = {}) => ({ gameId: game.id, market, period: 'full', status: state, at: ago(60), version: 1, ...extra });
// The soccer game's quotes on its game page (fixed once).
const soccerNow = P.flatMap((_, i) => quotesOf(soccer, i));
const providers = P.map((p) => ({ provider: p, status: 'up', lastHeard: ago(2), version: 1 }));

await run(async (browser) => {
  const errors = [];
  // open signs a user in (its own browser context) and opens the board with
  // the API and the stream mocked; it returns the page and send(frame).
  async function open(user) {
    const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await ctx.newPage();
    page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
    // The game page asks the reports API first: its 404 (no reporting database) is expected.
    page.on('console', (m) => m.type() === 'error' && !m.location().url?.includes('/v1/reports/') && errors.push(`console: ${m.text()} (${m.location().url})`));
    page.setDefaultTimeout(10_000);
    const json = (body) => ({ status: 200, contentType: 'application/json', body: JSON.stringify(body) });
    await page.route('**/v1/stream/token', (r) => r.fulfill(json({ token: 'mock', expiresIn: 60 })));
    await page.route(/\/v1\/games\?/, (r) => r.fulfill(json({ games: r.request().url().includes('status=live') ? [soccer, hoops] : [] })));
    await page.route('**/v1/providers', (r) => r.fulfill(json({ providers: [] })));
    await page.route('**/v1/games/*/markets', (r) => r.fulfill(json({ markets: [], quotes: [] })));
    // The game page of the soccer game: its markets now, and each market's
    // history (two quotes per provider); no reporting database.
    await page.route(`**/v1/games/${soccer.id}`, (r) => r.fulfill(json(soccer)));
    await page.route(`**/v1/games/${soccer.id}/markets`, (r) =>
      r.fulfill(json({ gameId: soccer.id, markets: [status(soccer, 'total', 'settled', { results: { over: 'win', under: 'lose' } })], quotes: soccerNow })),
    );
    await page.route(new RegExp(`/v1/games/${soccer.id}/odds\\?`), (r) => {
      const u = new URL(r.request().url());
      const m = u.searchParams.get('market') || 'spread';
      const now = soccerNow.filter((o) => (o.market || 'spread') === m);
      const before = now.map((o) => ({ ...o, observedAt: new Date(Date.parse(o.observedAt) - 600e3).toISOString(), homeOdds: o.homeOdds && o.homeOdds + 10, overOdds: o.overOdds && o.overOdds + 10 }));
      r.fulfill(json({ odds: [...now, ...before] }));
    });
    await page.route('**/v1/reports/**', (r) => r.fulfill({ status: 404, contentType: 'application/problem+json', body: '{}' }));
    const mock = { ws: null, subscribed: false, seq: {} };
    await page.routeWebSocket(/\/v1\/stream/, (ws) => {
      Object.assign(mock, { ws, subscribed: false, seq: {} });
      ws.onMessage((m) => (mock.subscribed ||= JSON.parse(m).type === 'subscribe'));
    });
    await signIn(page, base, user, env('E2E_PASSWORD'));
    for (let i = 0; !mock.subscribed; i++) {
      check(i < 200, 'the board did not subscribe to the (mocked) stream');
      await page.waitForTimeout(50);
    }
    const send = (f) => {
      const g = f.gameId;
      const seq = g ? (mock.seq[g] = (mock.seq[g] || 0) + 1) : undefined;
      mock.ws.send(JSON.stringify({ epoch: 'mock', ...(g ? { seq } : {}), ...f }));
    };
    return { page, send, subscribed: () => mock.subscribed };
  }
  const cell = (page, game, provider, c) =>
    page.$eval(`#board tbody[data-game="${game.id}"] tr[data-provider="${provider}"] td[data-cell="${c}"]`, (td) => ({
      text: td.textContent,
      cls: td.className,
      title: td.title,
    }));
  const mstat = (page, game, group) =>
    page.$eval(`#board tbody[data-game="${game.id}"] tr.mstatus td[data-group="${group}"]`, (td) => ({
      state: td.dataset.state,
      market: td.dataset.market,
      text: td.textContent,
      buttons: [...td.querySelectorAll('button')].map((b) => b.textContent),
    }));
  const waitFor = (page, fn, arg, what) => page.waitForFunction(fn, arg).catch(() => Promise.reject(new Error(`timed out waiting for ${what}`)));

  step('trader: the board shows every market type side by side');
  const t = await open(env('E2E_TRADER'));
  t.send({ type: 'providers', seq: 1, providers });
  for (const g of [soccer, hoops]) {
    t.send({ type: 'snapshot', gameId: g.id, game: g, odds: P.flatMap((_, i) => quotesOf(g, i)), markets: g === hoops ? [status(hoops, 'total', 'suspended', { reason: 'bet_stop', by: 'alpha' })] : [] });
  }
  await t.page.waitForSelector(`#board tbody[data-game="${hoops.id}"] tr[data-provider="${P[2]}"]`);
  await waitFor(t.page, (id) => document.querySelector(`#board tbody[data-game="${id}"] tr[data-provider="charlie"] td[data-cell="total:under"]`)?.textContent, hoops.id, 'the hoops totals');
  // Soccer: 1X2 in the first group, with the draw.
  const sHome = await cell(t.page, soccer, 'bravo', 'ml:home');
  const sDraw = await cell(t.page, soccer, 'bravo', 'ml:draw');
  check(sHome.text === '+155' && sDraw.text === '+225', `soccer 1X2 of bravo: home ${sHome.text}, draw ${sDraw.text}`);
  check((await mstat(t.page, soccer, 'ml')).market === 'three_way/full', 'the soccer game does not show its three-way market');
  // Basketball: the moneyline, no draw.
  const hHome = await cell(t.page, hoops, 'alpha', 'ml:home');
  const hDraw = await cell(t.page, hoops, 'alpha', 'ml:draw');
  check(hHome.text === '-150' && hDraw.text === '', `hoops moneyline of alpha: home ${hHome.text}, draw ${JSON.stringify(hDraw.text)}`);
  check((await mstat(t.page, hoops, 'ml')).market === 'moneyline/full', 'the basketball game does not show its moneyline');
  const spread = await cell(t.page, hoops, 'charlie', 'spread:away');
  check(spread.text === '+3.5 -100', `spread cell: ${spread.text}`);
  const total = await cell(t.page, soccer, 'alpha', 'total:over');
  check(total.text === 'o2.5 -105', `total cell: ${total.text}`);
  // Best prices: the highest price per outcome.
  check((await cell(t.page, soccer, 'charlie', 'ml:home')).cls.includes('best'), 'the best home price is not marked');
  check(!(await cell(t.page, soccer, 'alpha', 'ml:home')).cls.includes('best'), 'a worse price is marked best');

  step('a suspended market is greyed with its reason');
  const susp = await mstat(t.page, hoops, 'total');
  check(susp.state === 'suspended' && susp.text.includes('bet stop'), `hoops total status: ${JSON.stringify(susp)}`);
  check(susp.buttons.includes('Re-open'), `a trader sees no Re-open on a suspended market: ${susp.buttons}`);
  const greyed = await cell(t.page, hoops, 'bravo', 'total:over');
  check(greyed.cls.includes('susp') && greyed.title.includes('bet stop'), `the suspended market's cell: ${JSON.stringify(greyed)}`);
  check(!(await cell(t.page, hoops, 'bravo', 'spread:away')).cls.includes('susp'), 'an open market is greyed');

  step('market frames: suspended, re-opened, settled with its results');
  t.send({ type: 'market', gameId: soccer.id, market: status(soccer, 'spread', 'suspended', { reason: 'var_check', version: 2 }) });
  await waitFor(t.page, (id) => document.querySelector(`#board tbody[data-game="${id}"] td[data-group="spread"]`)?.dataset.state === 'suspended', soccer.id, 'the soccer spread suspended');
  check((await mstat(t.page, soccer, 'spread')).text.includes('var_check'), 'the suspension reason is not shown');
  t.send({ type: 'market', gameId: soccer.id, market: status(soccer, 'spread', 'open', { version: 3 }) });
  t.send({ type: 'market', gameId: soccer.id, market: status(soccer, 'spread', 'suspended', { reason: 'stale', version: 1 }) }); // older: ignored
  await waitFor(t.page, (id) => document.querySelector(`#board tbody[data-game="${id}"] td[data-group="spread"]`)?.dataset.state === 'open', soccer.id, 'the soccer spread re-opened');
  check(!(await cell(t.page, soccer, 'alpha', 'spread:home')).cls.includes('susp'), 'a re-opened market stays greyed');
  t.send({ type: 'market', gameId: soccer.id, market: status(soccer, 'total', 'settled', { results: { over: 'win', under: 'lose' }, version: 4 }) });
  await waitFor(t.page, (id) => document.querySelector(`#board tbody[data-game="${id}"] td[data-group="total"]`)?.dataset.state === 'settled', soccer.id, 'the soccer total settled');
  const settled = await mstat(t.page, soccer, 'total');
  check(settled.text.includes('Over win') && settled.text.includes('Under lose') && settled.buttons.length === 0, `settled: ${JSON.stringify(settled)}`);

  step('a provider going down: its quotes greyed "provider down", the strip says down');
  await waitFor(t.page, () => document.querySelectorAll('#provider-strip .prov[data-state=up]').length === 3, null, 'three providers up');
  const heard1 = await t.page.$eval('#provider-strip .prov[data-provider=bravo] .ago', (e) => e.textContent);
  t.send({ type: 'provider', seq: 2, provider: { provider: 'bravo', status: 'down', lastHeard: ago(31), downAt: ago(1), decidedBy: 'replica-1', version: 2 } });
  await waitFor(t.page, () => document.querySelector('#provider-strip .prov[data-provider=bravo]')?.dataset.state === 'down', null, 'bravo down on the strip');
  await waitFor(t.page, (id) => document.querySelector(`#board tbody[data-game="${id}"] tr[data-provider=bravo] td[data-cell="spread:home"]`)?.classList.contains('pdown'), hoops.id, "bravo's quotes greyed");
  const down = await cell(t.page, hoops, 'bravo', 'spread:home');
  check(down.title === 'provider down', `a down provider's cell title: ${down.title}`);
  check((await t.page.$eval(`#board tbody[data-game="${hoops.id}"] tr[data-provider=bravo] td.provider`, (td) => td.textContent)).includes('provider down'), 'the provider row does not say provider down');
  check(!(await cell(t.page, hoops, 'alpha', 'spread:home')).cls.includes('pdown'), "an up provider's quote is greyed");
  await t.page.waitForTimeout(2100);
  const heard2 = await t.page.$eval('#provider-strip .prov[data-provider=bravo] .ago', (e) => e.textContent);
  check(heard1 !== heard2 && /heard \d+s ago/.test(heard2), `last heard does not tick: ${heard1} -> ${heard2}`);
  step('the provider is heard again: its old quotes stay greyed until it quotes again');
  t.send({ type: 'provider', seq: 3, provider: { provider: 'bravo', status: 'up', lastHeard: ago(0), downAt: ago(1), version: 3 } });
  await waitFor(t.page, () => document.querySelector('#provider-strip .prov[data-provider=bravo]')?.dataset.state === 'up', null, 'bravo up on the strip');
  check((await cell(t.page, hoops, 'bravo', 'spread:home')).cls.includes('pdown'), 'old quotes of a provider heard again are no longer greyed');
  t.send({ type: 'odds', gameId: hoops.id, odds: { ...quote(hoops, 'bravo', 'spread', { awaySpread: 4, homeSpread: -4, awayOdds: -112, homeOdds: -108 }), observedAt: ago(0), receivedAt: ago(0) } });
  await waitFor(t.page, (id) => !document.querySelector(`#board tbody[data-game="${id}"] tr[data-provider=bravo] td[data-cell="spread:home"]`).classList.contains('pdown'), hoops.id, 'the new quote not greyed');
  check((await cell(t.page, hoops, 'bravo', 'spread:home')).text === '-4 -108', 'the new quote is not shown');
  check((await cell(t.page, hoops, 'bravo', 'ml:home')).cls.includes('pdown'), 'an old quote of another market is no longer greyed');

  step('a trader suspends a market, then the whole game, and re-opens it');
  const reason = 'injury check';
  await t.page.fill('#trade-reason', reason);
  await t.page.click(`#board tbody[data-game="${hoops.id}"] td[data-group="spread"] button`);
  await waitFor(t.page, (id) => document.querySelector(`#board tbody[data-game="${id}"] td[data-group="spread"]`)?.dataset.state === 'suspended', hoops.id, 'the trader suspension');
  check((await mstat(t.page, hoops, 'spread')).text.includes(reason), 'the trader suspension does not show its reason');
  check((await t.page.textContent('#trade-msg')).includes('Suspended 1 market'), `trade message: ${await t.page.textContent('#trade-msg')}`);
  await t.page.click(`#board tbody[data-game="${hoops.id}"] td[data-group="spread"] button`); // Re-open
  await waitFor(t.page, (id) => document.querySelector(`#board tbody[data-game="${id}"] td[data-group="spread"]`)?.dataset.state === 'open', hoops.id, 'the trader re-opening');
  if (env('E2E_SCREENSHOT', '')) await t.page.screenshot({ path: env('E2E_SCREENSHOT') });

  step('the game page: a card per market with its chart; settled results; live status and prices');
  await t.page.goto(`${base}/games/${soccer.id}`);
  for (let i = 0; !t.subscribed(); i++) {
    check(i < 200, 'the game page did not subscribe');
    await t.page.waitForTimeout(50);
  }
  await t.page.waitForSelector('#markets .market-card[data-market="total/full"] .chart .uplot');
  const cards = await t.page.$$eval('#markets .market-card', (cs) => cs.map((c) => c.dataset.market));
  check(cards.join() === 'three_way/full,spread/full,total/full', `market cards: ${cards}`);
  const series = await t.page.$eval('#markets .market-card[data-market="three_way/full"] .chart', (el) => el.plot.series.length - 1);
  check(series === 3, `the three-way chart has ${series} providers, want 3`);
  // chartPoints: the points of each provider on a market's chart.
  const chartPoints = (m) =>
    t.page.$eval(`#markets .market-card[data-market="${m}"] .chart`, (el) => el.plot.data.slice(1).map((ys) => ys.filter((y) => y != null).length).join());
  check((await chartPoints('three_way/full')) === '2,2,2', `the three-way chart's points per provider: ${await chartPoints('three_way/full')}, want 2,2,2`);
  const results = await t.page.textContent('#markets .market-card[data-market="total/full"] .results');
  check(results.includes('Over win') && results.includes('Under lose'), `settled results: ${results}`);
  t.send({ type: 'market', gameId: soccer.id, market: status(soccer, 'spread', 'suspended', { reason: 'bet_stop', version: 9 }) });
  await waitFor(t.page, () => document.querySelector('#markets .market-card[data-market="spread/full"]')?.dataset.state === 'suspended', null, 'the spread card suspended');
  check((await t.page.textContent('#markets .market-card[data-market="spread/full"] .mpill')).includes('bet stop'), 'the spread card does not say why');
  t.send({ type: 'odds', gameId: soccer.id, odds: { ...quote(soccer, 'alpha', 'three_way', { homeOdds: 140, drawOdds: 240, awayOdds: 200 }), observedAt: ago(0) } });
  await waitFor(
    t.page,
    () => document.querySelector('#markets .market-card[data-market="three_way/full"] .chart').plot.data[1].filter((y) => y != null).length === 3,
    null,
    'the live three-way quote on the chart',
  );
  check((await t.page.textContent('#markets .market-card[data-market="three_way/full"] tr[data-provider=alpha]')).includes('+140'), 'the live quote is not in the prices');

  await t.page.click('#markets .market-card[data-market="three_way/full"] .actions button'); // Suspend
  await waitFor(t.page, () => document.querySelector('#markets .market-card[data-market="three_way/full"]')?.dataset.state === 'suspended', null, 'the 1X2 card suspended by the trader');
  check((await t.page.textContent('#markets .market-card[data-market="three_way/full"] .actions button')) === 'Re-open', 'the suspended card offers no Re-open');
  if (env('E2E_SCREENSHOT', '')) await t.page.screenshot({ path: env('E2E_SCREENSHOT').replace(/\.png$/, '-game.png'), fullPage: true });

  step('an analyst sees the statuses but no trader buttons');
  const a = await open(env('E2E_ANALYST'));
  a.send({ type: 'snapshot', gameId: hoops.id, game: hoops, odds: P.flatMap((_, i) => quotesOf(hoops, i)), markets: [status(hoops, 'total', 'suspended', { reason: 'bet_stop' })] });
  await waitFor(a.page, (id) => document.querySelector(`#board tbody[data-game="${id}"] td[data-group="total"]`)?.dataset.state === 'suspended', hoops.id, 'the analyst board');
  check((await a.page.$$('#board button.trade')).length === 0, 'an analyst sees trader buttons');
  check((await a.page.$$('#trade-reason')).length === 0, 'an analyst sees the reason input');

  check(errors.length === 0, `browser errors:\n${errors.join('\n')}`);
});
