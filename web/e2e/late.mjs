// Browser test of late odds and corrections on the board and the game
// page, driven by internal/dashboard's TestBrowserLateOdds (which starts the
// real server and seeds it). Debian's chromium through playwright-core.
//
// Environment: ODDSFEED_URL, E2E_USER, E2E_PASSWORD (an analyst),
// E2E_UNIT_GAME (a live game without odds: its stream is mocked here),
// E2E_GAME (a live game with one tick per provider at E2E_T0, already in the
// reporting database), E2E_PROVIDERS (two providers, comma-separated),
// E2E_PROVIDER_KEYS (JSON: provider -> API key, to post odds), CHROMIUM.
//
// Part 1 feeds stream frames to the pages by hand (playwright's WebSocket
// routing stands in for the server); part 2 posts odds through the real
// server and watches what its stream sends. Lines starting "STEP" are
// progress. Any failure exits non-zero.

import { check, env, run, signIn, step } from './lib.mjs';
import { compareTime, seconds } from '../src/ticks.js';

const base = env('ODDSFEED_URL');
const unitGame = env('E2E_UNIT_GAME');
const gameId = env('E2E_GAME');
const t0 = env('E2E_T0');
const [p1, p2] = env('E2E_PROVIDERS').split(',');
const keys = JSON.parse(env('E2E_PROVIDER_KEYS'));

const fmtOdds = (v) => (v > 0 ? `+${v}` : `${v}`);
// at: an observedAt `min` minutes from now, with nanoseconds.
const at = (min) => new Date(Date.now() + min * 60e3).toISOString().replace('Z', '456789Z');

// odds is a tick of the game; version 1 unless given.
const odds = (game, provider, observedAt, homeOdds, version = 1) => ({
  gameId: game,
  provider,
  observedAt,
  awaySpread: -0.5,
  homeSpread: 0.5,
  awayOdds: -140,
  homeOdds,
  receivedAt: new Date().toISOString(),
  version,
});

// The board's row of a game and provider: its cells' text and the
// updated cell's title.
// The spread's home cell reads "<spread> <odds>"; the row's last cell is
// its time.
async function boardRow(page, game, provider) {
  return page.$eval(`#board tbody[data-game="${game}"] tr[data-provider="${provider}"]`, (tr) => {
    const tds = [...tr.querySelectorAll('td.num')];
    return { homeOdds: tr.querySelector('td[data-cell="spread:home"]').textContent.split(' ').pop(), title: tds[tds.length - 1].title };
  });
}
async function waitBoard(page, game, provider, homeOdds) {
  const want = fmtOdds(homeOdds);
  try {
    await page.waitForFunction(
      ([g, p, w]) => document.querySelector(`#board tbody[data-game="${g}"] tr[data-provider="${p}"] td[data-cell="spread:home"]`)?.textContent.split(' ').pop() === w,
      [game, provider, want],
      { timeout: 10_000 },
    );
  } catch {
    const got = await boardRow(page, game, provider).catch(() => null);
    throw new Error(`board ${game}/${provider}: home odds ${got?.homeOdds ?? '(no row)'}, want ${want}`);
  }
}

// The game page chart's points of a provider, [x seconds, y], x ascending
// (the metric shown is home odds).
const chartPoints = (page, provider) =>
  page.evaluate((p) => {
    const u = document.querySelector('#movement-chart').plot;
    const i = u?.series.findIndex((s) => s.label === p) ?? -1;
    if (i < 0) return [];
    return u.data[0].map((x, j) => [x, u.data[i][j]]).filter(([, y]) => y != null);
  }, provider);
// The tick table's rows of a provider, top to bottom.
const tickRows = (page, provider) =>
  page.$$eval(`#ticks tbody tr[data-provider="${provider}"]`, (trs) =>
    trs.map((tr) => ({ observedAt: tr.dataset.observed, homeOdds: tr.cells[5].textContent, title: tr.title })),
  );

// expectGame waits until the game page shows exactly the ticks want
// ([observedAt, homeOdds, corrected?], any order) of a provider: the chart's
// points in time order, the table's rows newest first.
async function expectGame(page, provider, want) {
  const sorted = [...want].sort((a, b) => compareTime(a[0], b[0]));
  const chartWant = sorted.map(([t, v]) => [seconds(t), v]);
  const rowsWant = [...sorted].reverse();
  const deadline = Date.now() + 10_000;
  let chart, rows;
  for (;;) {
    chart = await chartPoints(page, provider);
    rows = await tickRows(page, provider);
    const chartOK = chart.length === chartWant.length && chart.every(([x, y], i) => Math.abs(x - chartWant[i][0]) < 1e-5 && y === chartWant[i][1]);
    const rowsOK =
      rows.length === rowsWant.length &&
      rows.every((r, i) => compareTime(r.observedAt, rowsWant[i][0]) === 0 && r.homeOdds === fmtOdds(rowsWant[i][1]) && r.title.includes('corrected') === !!rowsWant[i][2]);
    if (chartOK && rowsOK) return;
    if (Date.now() > deadline) break;
    await page.waitForTimeout(50);
  }
  throw new Error(
    `game page ${provider}:\n chart ${JSON.stringify(chart)}\n  want ${JSON.stringify(chartWant)}\n rows ${JSON.stringify(rows)}\n  want ${JSON.stringify(rowsWant)}`,
  );
}

async function post(o) {
  const { gameId: g, provider, observedAt, awaySpread, homeSpread, awayOdds, homeOdds } = o;
  const res = await fetch(`${base}/v1/odds`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${keys[provider]}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ odds: [{ gameId: g, provider, observedAt, awaySpread, homeSpread, awayOdds, homeOdds }] }),
  });
  const body = await res.text();
  check(res.ok, `POST /v1/odds ${provider} ${observedAt} ${homeOdds}: ${res.status} ${body}`);
  return JSON.parse(body);
}

await run(async (browser) => {
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const errors = [];
  const newPage = async () => {
    const page = await ctx.newPage();
    page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
    page.on('console', (m) => m.type() === 'error' && errors.push(`console: ${m.text()}`));
    page.setDefaultTimeout(15_000);
    return page;
  };

  step('sign in');
  const page = await newPage();
  await signIn(page, base, env('E2E_USER'), env('E2E_PASSWORD'));

  // Part 1: the stream mocked. Each new connection gets the frames sent
  // with send(); seq counts per connection.
  const mock = { ws: null, subscribed: false, seq: 0 };
  await page.routeWebSocket(/\/v1\/stream/, (ws) => {
    Object.assign(mock, { ws, subscribed: false, seq: 0 });
    ws.onMessage((m) => (mock.subscribed ||= JSON.parse(m).type === 'subscribe'));
  });
  const send = (f) => mock.ws.send(JSON.stringify({ epoch: 'mock', gameId: unitGame, seq: ++mock.seq, ...f }));
  const reset = () => Object.assign(mock, { ws: null, subscribed: false });
  const subscribed = async () => {
    for (let i = 0; !mock.subscribed; i++) {
      check(i < 200, 'the page did not subscribe to the (mocked) stream');
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const U = (provider, t, v, version) => odds(unitGame, provider, t, v, version);
  const T = [at(-30), at(-29), at(-28), at(-27), at(-26), at(-25), at(-24)];

  step('mocked stream: the board keeps the newest price of each provider');
  reset();
  await page.goto(base + '/');
  await subscribed();
  send({ type: 'snapshot', odds: [U(p1, T[2], 150), U(p2, T[2], 160)] });
  await waitBoard(page, unitGame, p1, 150);
  await waitBoard(page, unitGame, p2, 160);
  // Each change is followed by a sentinel on the other provider: once the
  // sentinel shows, the frame before it has been handled.
  send({ type: 'odds', odds: U(p1, T[1], 111), late: true });
  send({ type: 'odds', odds: U(p2, T[3], 161) });
  await waitBoard(page, unitGame, p2, 161);
  check((await boardRow(page, unitGame, p1)).homeOdds === '+150', 'a late odds replaced the current price');
  send({ type: 'odds', odds: U(p1, T[0], 122) }); // older, not marked late
  send({ type: 'odds', odds: U(p2, T[4], 162) });
  await waitBoard(page, unitGame, p2, 162);
  check((await boardRow(page, unitGame, p1)).homeOdds === '+150', 'an older odds (not marked late) replaced the current price');
  check((await boardRow(page, unitGame, p1)).title === '', 'a price never corrected is marked corrected');

  step('mocked stream: a correction of the current tick replaces it; a late one does not');
  send({ type: 'odds', odds: U(p1, T[2], 155, 2), correction: true });
  await waitBoard(page, unitGame, p1, 155);
  check((await boardRow(page, unitGame, p1)).title.includes('corrected'), 'a corrected price is not marked corrected');
  send({ type: 'odds', odds: U(p1, T[1], 133, 2), correction: true, late: true });
  send({ type: 'odds', odds: U(p1, T[2], 150, 1) }); // the first version again
  send({ type: 'odds', odds: U(p2, T[5], 163) });
  await waitBoard(page, unitGame, p2, 163);
  check((await boardRow(page, unitGame, p1)).homeOdds === '+155', 'a late correction or an earlier version replaced the corrected price');

  step('mocked stream: conflation is per game and provider');
  send({ type: 'odds', odds: U(p1, T[6], 170) });
  send({ type: 'odds', odds: U(p2, T[6], 171) });
  send({ type: 'odds', odds: U(p1, T[3], 134), late: true });
  await waitBoard(page, unitGame, p1, 170);
  await waitBoard(page, unitGame, p2, 171);
  check((await boardRow(page, unitGame, p1)).title === '', 'a newer uncorrected price is still marked corrected');

  step('mocked stream: the game page puts late ticks in their place in time');
  reset();
  await page.goto(`${base}/games/${unitGame}`);
  await page.waitForSelector('#movement-chart .notice, #movement-chart .uplot');
  await page.selectOption('#metric', 'homeOdds');
  await subscribed();
  send({ type: 'snapshot', odds: [U(p1, T[2], 150)] });
  send({ type: 'odds', odds: U(p1, T[3], 160) });
  send({ type: 'odds', odds: U(p1, T[1], 140), late: true });
  send({ type: 'odds', odds: U(p1, T[0], 130) }); // older, not marked late
  await expectGame(page, p1, [[T[0], 130], [T[1], 140], [T[2], 150], [T[3], 160]]);

  step('mocked stream: a correction replaces its point and row');
  send({ type: 'odds', odds: U(p1, T[2], 155, 2), correction: true });
  await expectGame(page, p1, [[T[0], 130], [T[1], 140], [T[2], 155, true], [T[3], 160]]);
  send({ type: 'odds', odds: U(p1, T[1], 145, 2), correction: true, late: true });
  send({ type: 'odds', odds: U(p1, T[2], 150, 1) }); // the first version again: ignored
  await expectGame(page, p1, [[T[0], 130], [T[1], 145, true], [T[2], 155, true], [T[3], 160]]);
  await page.unrouteAll();

  // Part 2: the real server. The board and the game page are open side by
  // side; the board's frames are recorded on their way.
  step('real server: board and game page open');
  const frames = [];
  const board = await newPage();
  await board.routeWebSocket(/\/v1\/stream/, (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((m) => server.send(m));
    server.onMessage((m) => {
      frames.push(JSON.parse(m));
      ws.send(m);
    });
  });
  await board.goto(base + '/');
  await board.waitForSelector('#conn[data-state=live]');
  await waitBoard(board, gameId, p1, 120);
  const game = await newPage();
  await game.goto(`${base}/games/${gameId}`);
  await game.waitForSelector('#movement-chart .uplot');
  await game.selectOption('#metric', 'homeOdds');
  await game.waitForSelector('#conn[data-state=live]');
  await expectGame(game, p1, [[t0, 120]]);
  // frameOf waits for the board's stream frame of a tick (and version).
  const frameOf = async (provider, t, version = 1) => {
    for (let i = 0; ; i++) {
      const f = frames.find((f) => f.type === 'odds' && f.odds?.provider === provider && compareTime(f.odds.observedAt, t) === 0 && (f.odds.version || 1) === version);
      if (f) return f;
      check(i < 200, `the stream sent no odds frame for ${provider} at ${t} version ${version}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  step('real server: odds at T2, then late odds at T1');
  const t2 = at(-2);
  const t1 = at(-5);
  await post(odds(gameId, p1, t2, 150));
  await waitBoard(board, gameId, p1, 150);
  await expectGame(game, p1, [[t0, 120], [t2, 150]]);
  await post(odds(gameId, p1, t1, 140));
  const late = await frameOf(p1, t1);
  check(late.late === true, `the stream sent the odds at T1 (older than T2) without late:true: ${JSON.stringify(late)}`);
  await post(odds(gameId, p2, t2, 165)); // the sentinel
  await waitBoard(board, gameId, p2, 165);
  check((await boardRow(board, gameId, p1)).homeOdds === '+150', 'the late odds at T1 replaced the board price of T2');
  await expectGame(game, p1, [[t0, 120], [t1, 140], [t2, 150]]);

  step('real server: a correction of T2');
  const res = await post(odds(gameId, p1, t2, 155));
  check(res.corrected === 1, `the correction of T2 was not stored as a correction: ${JSON.stringify(res)}`);
  const corr = await frameOf(p1, t2, 2);
  check(corr.correction === true && !corr.late, `the correction of T2 was streamed without correction:true (or with late): ${JSON.stringify(corr)}`);
  await waitBoard(board, gameId, p1, 155);
  check((await boardRow(board, gameId, p1)).title.includes('corrected'), 'the corrected price is not marked corrected');
  await expectGame(game, p1, [[t0, 120], [t1, 140], [t2, 155, true]]);

  check(errors.length === 0, `browser errors:\n${errors.join('\n')}`);
});
