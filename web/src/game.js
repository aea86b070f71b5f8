// The game page: every market of the game (gamemarkets.js: status, results,
// latest prices and a chart per market), then the full-game spread's line
// movement per provider (chart, zoomable), implied probabilities and
// overround from the latest prices, and its tick table.
// It reads the reports API when reporting is configured and falls back to
// the feed's own odds history otherwise; live ticks arrive over the stream.
// Every tick goes in its place in time (a late one too), on the chart and in
// the table; a correction replaces its tick's point and row.

import { api, listAll, HTTPError } from './api.js';
import { Stream } from './stream.js';
import { lineChart, align } from './chart.js';
import { compareTime, insertSorted, newer, seconds, tickKey, version } from './ticks.js';
import { marketsSection } from './gamemarkets.js';
import { mid } from './markets.js';
import { h, fmtOdds, fmtSpread, fmtPct, fmtTime, fmtDateTime, fmtAgo, impliedProbability, probabilities, matchup, message } from './format.js';

const METRICS = {
  homeSpread: { label: 'Home spread', value: (p) => p.homeSpread, fmt: fmtSpread },
  homeOdds: { label: 'Home odds (American)', value: (p) => p.homeOdds, fmt: fmtOdds },
  homeProb: { label: 'Home implied probability', value: (p) => impliedProbability(p.homeOdds), fmt: (v) => fmtPct(v, 1) },
  awayOdds: { label: 'Away odds (American)', value: (p) => p.awayOdds, fmt: fmtOdds },
};
const HISTORY_HOURS = 24;
const TICKS_PAGE = 100;

export async function gamePage(main, id) {
  const enc = encodeURIComponent(id);
  let game;
  try {
    game = await api(`/v1/games/${enc}`);
  } catch (e) {
    message(main, e instanceof HTTPError && e.status === 404 ? `No game ${id}.` : `Could not load the game: ${e.message}`, 'error');
    return;
  }
  const title = h('h1', null, matchup(game));
  const meta = h('p', { className: 'sub' });
  const renderMeta = () =>
    meta.replaceChildren(
      [game.sport, game.summary, game.venue, fmtDateTime(game.gameDate)].filter(Boolean).join(' · '),
      ' ',
      h('span', { className: `status ${game.status}` }, game.status === 'live' ? '● live' : game.status),
    );
  renderMeta();

  const metricSel = h('select', { id: 'metric' }, ...Object.entries(METRICS).map(([k, m]) => h('option', { value: k }, m.label)));
  const resetBtn = h('button', { type: 'button', className: 'secondary', id: 'reset-zoom' }, 'Reset zoom');
  const chartEl = h('div', { className: 'chart', id: 'movement-chart' });
  const chartNote = h('p', { className: 'fine', id: 'chart-source' });
  const probEl = h('div', { id: 'probability' });
  const ticksBody = h('tbody');
  const moreBtn = h('button', { type: 'button', className: 'secondary', hidden: true }, 'Load older ticks');
  const marketsEl = h('div', { className: 'markets-section', id: 'markets-section' });
  main.replaceChildren(
    h('div', { className: 'toolbar' }, h('div', null, title, meta)),
    marketsEl,
    h(
      'section',
      { className: 'card' },
      h('div', { className: 'card-head' }, h('h2', null, 'Line movement · spread'), h('span', { className: 'spacer' }), metricSel, resetBtn),
      chartEl,
      chartNote,
    ),
    h('section', { className: 'card' }, h('h2', null, 'Implied probability and overround · spread'), probEl),
    h(
      'section',
      { className: 'card' },
      h('h2', null, 'Ticks · spread'),
      h(
        'table',
        { className: 'ticks', id: 'ticks' },
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            ...['Observed', 'Provider', 'Away spread', 'Away odds', 'Home spread', 'Home odds', 'Received'].map((t, i) =>
              h('th', { className: i > 1 ? 'num' : '' }, t),
            ),
          ),
        ),
        ticksBody,
      ),
      moreBtn,
    ),
  );

  // history: provider -> points sorted by observedAt (oldest first), the
  // chart's data.
  const history = new Map();
  const latest = new Map(); // provider -> newest odds
  const points = new Map(); // tickKey -> its point in history
  let chart = null;
  let chartProviders = [];

  // addPoint puts a tick on the chart in its place in time, or replaces the
  // point of an earlier version of it (a correction). It returns false when
  // the tick is already there.
  const addPoint = (p, provider) => {
    const k = tickKey(provider, p.observedAt);
    const cur = points.get(k);
    if (cur && version(p) <= version(cur)) return false;
    if (!history.has(provider)) history.set(provider, []);
    const pts = history.get(provider);
    if (cur) pts[pts.indexOf(cur)] = p;
    else insertSorted(pts, p);
    points.set(k, p);
    const last = latest.get(provider);
    if (!last || newer(p, last)) latest.set(provider, { ...p, provider });
    return true;
  };

  const from = new Date(Date.now() - HISTORY_HOURS * 3600e3).toISOString();
  try {
    const m = await api(`/v1/reports/games/${enc}/movement?from=${encodeURIComponent(from)}`);
    for (const pm of m.providers) for (const p of pm.points) addPoint(p, pm.provider);
    chartNote.textContent = `Last ${HISTORY_HOURS} h from the reporting database${m.truncated ? ' (truncated)' : ''}. Drag across the chart to zoom.`;
  } catch {
    const odds = await listAll(`/v1/games/${enc}/odds?from=${encodeURIComponent(from)}&limit=1000`, 'odds', 5000).catch(() => []);
    for (const o of odds.reverse()) addPoint(o, o.provider);
    chartNote.textContent = `Last ${HISTORY_HOURS} h from the feed store. Drag across the chart to zoom.`;
  }

  function drawChart() {
    const metric = METRICS[metricSel.value];
    const names = [...history.keys()].sort();
    const data = align(names.map((n) => history.get(n).map((p) => [seconds(p.observedAt), metric.value(p)])));
    if (names.length === 0) {
      chart?.destroy();
      chart = chartEl.plot = null;
      chartEl.replaceChildren(h('p', { className: 'notice' }, 'No odds in the last 24 hours.'));
      return;
    }
    if (chart && names.join() === chartProviders.join() && chart.metric === metricSel.value) {
      chart.setData(data, false);
      return;
    }
    chart?.destroy();
    chartEl.replaceChildren();
    chartProviders = names;
    chart = lineChart(chartEl, { names, data, yLabel: metric.label, yFormat: metric.fmt });
    chart.metric = metricSel.value;
    chartEl.plot = chart; // what the browser test reads
  }
  metricSel.addEventListener('change', drawChart);
  resetBtn.addEventListener('click', () => chart?.setData(chart.data, true));
  drawChart();

  async function drawProbability() {
    let rows;
    try {
      const r = await api(`/v1/reports/games/${enc}/probability`);
      rows = r.providers;
    } catch {
      rows = [...latest.values()].map((o) => {
        const p = probabilities(o);
        return { ...o, awayProbability: p.away, homeProbability: p.home, overround: p.overround, fairAway: p.fairAway, fairHome: p.fairHome };
      });
    }
    if (rows.length === 0) {
      probEl.replaceChildren(h('p', { className: 'notice' }, 'No prices yet.'));
      return;
    }
    rows.sort((a, b) => a.provider.localeCompare(b.provider));
    const best = Math.min(...rows.map((r) => r.overround));
    probEl.replaceChildren(
      h(
        'table',
        { className: 'prob' },
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            ...['Provider', 'Away odds', 'Home odds', `Away (${game.awayTeam || 'away'})`, `Home (${game.homeTeam || 'home'})`, 'Overround', 'Fair away', 'Fair home', 'As of'].map(
              (t, i) => h('th', { className: i ? 'num' : '' }, t),
            ),
          ),
        ),
        h(
          'tbody',
          null,
          ...rows.map((r) =>
            h(
              'tr',
              null,
              h('td', null, r.provider),
              h('td', { className: 'num' }, fmtOdds(r.awayOdds)),
              h('td', { className: 'num' }, fmtOdds(r.homeOdds)),
              h('td', { className: 'num' }, fmtPct(r.awayProbability)),
              h('td', { className: 'num' }, fmtPct(r.homeProbability)),
              h('td', { className: 'num' + (r.overround === best ? ' best' : '') }, fmtPct(r.overround, 2)),
              h('td', { className: 'num' }, fmtPct(r.fairAway)),
              h('td', { className: 'num' }, fmtPct(r.fairHome)),
              h('td', { className: 'num muted' }, fmtAgo(r.observedAt)),
            ),
          ),
        ),
      ),
      h('p', { className: 'fine' }, 'Implied probability from American odds; overround is their sum minus 100% (the book’s margin; lowest marked). Fair = margin removed.'),
    );
  }
  drawProbability();

  // The tick table, newest first: rows (tickKey -> tr) hold the tick they
  // show as tr.odds.
  const rows = new Map();
  const tickRow = (o) => {
    const corrected = version(o) > 1;
    const tr = h(
      'tr',
      { className: corrected ? 'corrected' : '', title: corrected ? `corrected (version ${o.version})` : '', dataset: { provider: o.provider, observed: o.observedAt } },
      h('td', null, fmtTime(o.observedAt)),
      h('td', null, o.provider),
      h('td', { className: 'num' }, fmtSpread(o.awaySpread)),
      h('td', { className: 'num' }, fmtOdds(o.awayOdds)),
      h('td', { className: 'num' }, fmtSpread(o.homeSpread)),
      h('td', { className: 'num' }, fmtOdds(o.homeOdds)),
      h('td', { className: 'num muted' }, fmtTime(o.receivedAt)),
    );
    tr.odds = o;
    return tr;
  };
  // addTick shows a tick in its place in time, or replaces the row of an
  // earlier version of it. A tick older than every row shown while older
  // pages remain is left to "Load older ticks". append: the tick is from the
  // next page, older than every row shown.
  const addTick = (o, append = false) => {
    const k = tickKey(o.provider, o.observedAt);
    const cur = rows.get(k);
    if (cur) {
      if (version(o) <= version(cur.odds)) return;
      const tr = tickRow(o);
      cur.replaceWith(tr);
      rows.set(k, tr);
      return;
    }
    let before = null;
    if (!append) {
      before = ticksBody.firstElementChild;
      while (before && !(before.odds && compareTime(before.odds.observedAt, o.observedAt) < 0)) before = before.nextElementSibling;
      if (!before && cursor) return;
    }
    const tr = tickRow(o);
    ticksBody.insertBefore(tr, before);
    rows.set(k, tr);
  };
  let cursor = '';
  async function loadTicks() {
    const page = await api(`/v1/games/${enc}/odds?limit=${TICKS_PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    for (const o of page.odds) addTick(o, true);
    cursor = page.nextCursor || '';
    moreBtn.hidden = !cursor;
  }
  moreBtn.addEventListener('click', () => loadTicks().catch(() => {}));
  await loadTicks().catch((e) => message(ticksBody, `Could not load ticks: ${e.message}`, 'error'));

  // Live: ticks go into the table and onto the chart in their place in time
  // (a late one too); the probabilities refresh at most once a second.
  let redraw = false;
  let probTimer = 0;
  const scheduleProbability = () => {
    probTimer ||= setTimeout(() => {
      probTimer = 0;
      drawProbability();
    }, 1000);
  };
  const markets = await marketsSection(marketsEl, game);
  new Stream({
    topics: [`game:${id}`],
    onFrame(f) {
      if (f.game) {
        game = f.game;
        renderMeta();
      }
      if (f.type === 'market' && f.market) markets.market(f.market);
      if (f.type === 'provider' && f.provider) markets.provider(f.provider);
      for (const p of (f.type === 'providers' && f.providers) || []) markets.provider(p);
      for (const s of (f.type === 'snapshot' && f.markets) || []) markets.market(s);
      if (f.type !== 'odds' && f.type !== 'snapshot') return;
      const odds = f.type === 'odds' && f.odds ? [f.odds] : [...(f.missed || []), ...(f.odds || [])];
      for (const o of odds) {
        markets.odds(o);
        if (mid(o) !== 'spread/full') continue; // the sections below are the spread's
        addTick(o);
        if (addPoint(o, o.provider)) redraw = true;
      }
      if (redraw) {
        redraw = false;
        requestAnimationFrame(drawChart);
        scheduleProbability();
      }
    },
  }).start();
}
