// The reports page, from /v1/reports/* (Postgres): biggest movers, provider
// freshness and volume; then, over one shared window, time suspended per
// game, market and reason, provider outages, the settlement summary and the
// margin (overround) per market type and provider. Without reporting the API
// answers 404 and the page says so.

import { api, HTTPError } from './api.js';
import { h, fmtSpread, fmtOdds, fmtAgo, fmtInt, fmtPct, impliedProbability, matchup, message, table } from './format.js';
import { MARKET_LABELS, MARKETS, OUTCOME_LABELS, RESULT_LABELS, marketLabel, outcomes, reasonText } from './markets.js';

const NOT_CONFIGURED = 'Reporting is not configured on this server: it needs Postgres: apt-get install postgresql and restart the server (it then runs its own), or set ODDSFEED_DATABASE_URL.';
const REFRESH_MS = 10_000;
const TOP_SUSPENSIONS = 10;

// windowSelect: values are durations ("1h") or [duration, label] pairs.
function windowSelect(id, values, initial) {
  return h('select', { id }, ...values.map((v) => (Array.isArray(v) ? v : [v, v])).map(([v, label]) => h('option', { value: v, selected: v === initial }, label)));
}

// fmtDuration: 45s, 12m 05s, 3h 20m, 2d 4h.
function fmtDuration(seconds) {
  const s = Math.round(seconds || 0);
  const two = (n) => String(n).padStart(2, '0');
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${two(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${two(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

// The order markets are listed in: the pages' order, then any other by name.
const marketRank = (m) => (MARKETS.includes(m) ? MARKETS.indexOf(m) : MARKETS.length);
const byMarket = (a, b) => marketRank(a.market) - marketRank(b.market) || a.market.localeCompare(b.market) || (a.period || '').localeCompare(b.period || '');
const mlabel = (r) => marketLabel(`${r.market}/${r.period || 'full'}`);
const ongoingPill = (n, text, kind = 'slow') => (n ? h('span', { className: `pill ${kind}` }, text) : h('span', { className: 'muted' }, '—'));

function moveCell(v, fmt) {
  if (!v) return h('td', { className: 'num muted' }, fmt(0));
  return h('td', { className: `num ${v > 0 ? 'up' : 'down'}` }, fmt(v));
}

export function reportsPage(main) {
  const moversWin = windowSelect('movers-window', ['15m', '1h', '6h', '24h'], '1h');
  const providersWin = windowSelect('providers-window', ['5m', '1h', '24h'], '5m');
  // One window for the market reports below it.
  const marketsWin = windowSelect('markets-window', ['1h', '6h', '24h', ['168h', '7d'], ['744h', '31d']], '24h');
  const loading = (id) => h('div', { id }, h('p', { className: 'muted' }, 'Loading…'));
  const movers = loading('movers');
  const providers = loading('providers');
  const suspensions = loading('suspensions');
  const outages = loading('outages');
  const settlements = loading('settlements');
  const margins = loading('margins');
  const card = (title, el, ...head) => h('section', { className: 'card' }, h('div', { className: 'card-head' }, h('h2', null, title), h('span', { className: 'spacer' }), ...head), el);
  main.replaceChildren(
    h('div', { className: 'toolbar' }, h('h1', null, 'Reports')),
    card('Biggest movers', movers, moversWin),
    card('Provider freshness and volume', providers, providersWin),
    h('div', { className: 'toolbar' }, h('h1', null, 'Markets and liveness'), h('span', { className: 'spacer' }), h('label', { className: 'muted', htmlFor: 'markets-window' }, 'Window'), marketsWin),
    card(`Time suspended (top ${TOP_SUSPENSIONS})`, suspensions),
    h('div', { className: 'chart-pair' }, card('Provider outages', outages), card('Margin (overround)', margins)),
    card('Settlements', settlements),
  );

  const fail = (el, e) => message(el, e instanceof HTTPError && e.status === 404 ? NOT_CONFIGURED : `Could not load the report: ${e.message}`, e.status === 404 ? 'info' : 'error');

  async function loadMovers() {
    try {
      const r = await api(`/v1/reports/movers?window=${moversWin.value}&limit=10`);
      if (r.movers.length === 0) return message(movers, `No line moved in the last ${r.window}.`);
      movers.replaceChildren(
        table(
          'movers-table',
          [['Game'], ['Provider'], ['Ticks', 1], ['Home spread', 1], ['Spread move', 1], ['Home odds', 1], ['Home prob. move', 1], ['Last tick', 1]],
          r.movers.map((m) =>
            h(
              'tr',
              null,
              h('td', null, h('a', { href: `/games/${encodeURIComponent(m.gameId)}` }, m.summary || m.gameId), h('div', { className: 'sub' }, m.sport || '')),
              h('td', null, m.provider),
              h('td', { className: 'num' }, fmtInt(m.ticks)),
              h('td', { className: 'num' }, `${fmtSpread(m.openHomeSpread)} → ${fmtSpread(m.lastHomeSpread)}`),
              // The report ranks by the size of the move; the sign is
              // the direction, for the home side.
              moveCell(m.lastHomeSpread - m.openHomeSpread, (v) => (v > 0 ? `+${v}` : `${v}`)),
              h('td', { className: 'num' }, `${fmtOdds(m.openHomeOdds)} → ${fmtOdds(m.lastHomeOdds)}`),
              moveCell(impliedProbability(m.lastHomeOdds) - impliedProbability(m.openHomeOdds), (v) => `${v > 0 ? '+' : ''}${(v * 100).toFixed(1)} pt`),
              h('td', { className: 'num muted' }, fmtAgo(m.lastObserved)),
            ),
          ),
        ),
      );
    } catch (e) {
      fail(movers, e);
    }
  }

  async function loadProviders() {
    try {
      const r = await api(`/v1/reports/providers?window=${providersWin.value}`);
      if (r.providers.length === 0) return message(providers, `No provider sent odds in the last ${r.window}.`);
      const now = Date.now();
      providers.replaceChildren(
        table(
          'providers-table',
          [['Provider'], ['Freshness'], ['Last tick', 1], ['Ticks', 1], ['Updates/min', 1], ['Delay p50', 1], ['Delay p99', 1]],
          r.providers.map((p) => {
            const age = (now - Date.parse(p.lastObserved)) / 1000;
            const fresh = age < 60 ? ['fresh', 'fresh'] : age < 600 ? ['slow', 'slow'] : ['stale', 'stale'];
            return h(
              'tr',
              null,
              h('td', null, p.provider),
              h('td', null, h('span', { className: `pill ${fresh[0]}` }, fresh[1])),
              h('td', { className: 'num' }, fmtAgo(p.lastObserved, now)),
              h('td', { className: 'num' }, fmtInt(p.ticks)),
              h('td', { className: 'num' }, p.updatesPerMinute.toFixed(1)),
              h('td', { className: 'num' }, `${fmtInt(p.delayP50Ms)} ms`),
              h('td', { className: 'num' }, `${fmtInt(p.delayP99Ms)} ms`),
            );
          }),
        ),
      );
    } catch (e) {
      fail(providers, e);
    }
  }

  const win = () => marketsWin.value;
  const winText = () => marketsWin.selectedOptions[0]?.textContent || win();
  // stale: an answer for a window no longer selected (the selector changed
  // while it was on its way) is dropped.
  const stale = (w) => w !== win();

  // Game names for the suspensions' rows: fetched once per game.
  const names = new Map();
  const gameName = (id) => {
    if (!names.has(id)) names.set(id, api(`/v1/games/${encodeURIComponent(id)}`).then(matchup, () => id));
    return names.get(id);
  };

  async function loadSuspensions() {
    try {
      const w = win();
      const r = await api(`/v1/reports/suspensions?window=${w}&limit=${TOP_SUSPENSIONS}`);
      if (stale(w)) return;
      if (r.suspensions.length === 0) return message(suspensions, `No market was suspended in the last ${winText()}.`);
      const games = await Promise.all(r.suspensions.map((x) => gameName(x.gameId)));
      if (stale(w)) return;
      suspensions.replaceChildren(
        table(
          'suspensions-table',
          [['Game'], ['Market'], ['Reason'], ['Suspended', 1], ['Times', 1], ['Now']],
          r.suspensions.map((x, i) =>
            h(
              'tr',
              { dataset: { game: x.gameId, market: `${x.market}/${x.period}`, reason: x.reason } },
              h('td', null, h('a', { href: `/games/${encodeURIComponent(x.gameId)}` }, games[i]), games[i] === x.gameId ? null : h('div', { className: 'sub' }, x.gameId)),
              h('td', null, mlabel(x)),
              h('td', null, reasonText(x.reason) || 'no reason given'),
              h('td', { className: 'num' }, fmtDuration(x.seconds)),
              h('td', { className: 'num' }, fmtInt(x.intervals)),
              h('td', null, ongoingPill(x.ongoing, 'suspended')),
            ),
          ),
        ),
        r.truncated ? h('p', { className: 'fine' }, `The ${TOP_SUSPENSIONS} longest; more markets were suspended in the last ${winText()}.`) : null,
      );
    } catch (e) {
      fail(suspensions, e);
    }
  }

  async function loadOutages() {
    try {
      const w = win();
      const r = await api(`/v1/reports/outages?window=${w}`);
      if (stale(w)) return;
      if (r.providers.length === 0) return message(outages, `No provider went down in the last ${winText()}.`);
      outages.replaceChildren(
        table(
          'outages-table',
          [['Provider'], ['Outages', 1], ['Longest', 1], ['Total', 1], ['Last down', 1], ['Now']],
          r.providers.map((p) =>
            h(
              'tr',
              { dataset: { provider: p.provider } },
              h('td', null, p.provider),
              h('td', { className: 'num' }, fmtInt(p.outages)),
              h('td', { className: 'num' }, fmtDuration(p.longestSeconds)),
              h('td', { className: 'num' }, fmtDuration(p.totalSeconds)),
              h('td', { className: 'num muted' }, fmtAgo(p.lastDownAt)),
              h('td', null, ongoingPill(p.ongoing, 'down', 'stale')),
            ),
          ),
        ),
      );
    } catch (e) {
      fail(outages, e);
    }
  }

  async function loadSettlements() {
    try {
      const w = win();
      const r = await api(`/v1/reports/settlements?window=${w}`);
      if (stale(w)) return;
      if (r.markets.length === 0) return message(settlements, `No market was settled or cancelled in the last ${winText()}.`);
      const count = (v, cls = '') => h('td', { className: `num ${v ? cls : 'muted'}` }, fmtInt(v));
      const summary = table(
        'settlements-table',
        [['Market'], ['Settled', 1], ['Cancelled', 1], ['Rolled back', 1]],
        [
          ...r.markets.sort(byMarket).map((m) =>
            h('tr', { dataset: { market: `${m.market}/${m.period}` } }, h('td', null, mlabel(m)), count(m.settled), count(m.cancelled), count(m.rolledBack)),
          ),
          h('tr', { className: 'total', dataset: { market: 'total' } }, h('td', null, h('strong', null, 'All markets')), count(r.settled), count(r.cancelled), count(r.rolledBack)),
        ],
      );
      // Results per outcome: a row per market type and outcome, a column
      // per result given.
      const given = Object.keys(RESULT_LABELS).filter((k) => r.results.some((x) => x.result === k));
      const extra = [...new Set(r.results.map((x) => x.result).filter((k) => !RESULT_LABELS[k]))];
      const cols = [...given, ...extra];
      const rows = new Map();
      for (const x of r.results) {
        const k = `${x.market}/${x.outcome}`;
        if (!rows.has(k)) rows.set(k, { market: x.market, outcome: x.outcome, n: {} });
        rows.get(k).n[x.result] = (rows.get(k).n[x.result] || 0) + x.markets;
      }
      const results =
        rows.size === 0
          ? h('p', { className: 'muted' }, 'No standing settlement.')
          : table(
              'results-table',
              [['Market'], ['Outcome'], ...cols.map((c) => [RESULT_LABELS[c] || c, 1])],
              [...rows.values()]
                .sort((a, b) => byMarket(a, b) || outcomes(a.market).indexOf(a.outcome) - outcomes(b.market).indexOf(b.outcome))
                .map((x) =>
                  h(
                    'tr',
                    { dataset: { market: x.market, outcome: x.outcome } },
                    h('td', null, MARKET_LABELS[x.market] || x.market),
                    h('td', null, OUTCOME_LABELS[x.outcome] || x.outcome),
                    ...cols.map((c) => h('td', { className: `num ${x.n[c] ? '' : 'muted'}`, dataset: { result: c } }, fmtInt(x.n[c] || 0))),
                  ),
                ),
            );
      const sub = (text) => h('p', { className: 'fine' }, text);
      settlements.replaceChildren(
        h(
          'div',
          { className: 'chart-pair' },
          h('div', null, sub('Per market (rolled back: undone by a rollback)'), summary),
          h('div', null, sub('Results per outcome (standing settlements: markets)'), results),
        ),
      );
    } catch (e) {
      fail(settlements, e);
    }
  }

  // Margins: a row per market type and period, a column per provider (the
  // average overround; the lowest of a row is marked best).
  async function loadMargins() {
    try {
      const w = win();
      const r = await api(`/v1/reports/margins?window=${w}`);
      if (stale(w)) return;
      if (r.margins.length === 0) return message(margins, `No quote in the last ${winText()}.`);
      const provs = [...new Set(r.margins.map((m) => m.provider))].sort();
      const rows = new Map();
      for (const m of r.margins) {
        const k = `${m.market}/${m.period}`;
        if (!rows.has(k)) rows.set(k, { market: m.market, period: m.period, by: new Map() });
        rows.get(k).by.set(m.provider, m);
      }
      margins.replaceChildren(
        table(
          'margins-table',
          [['Market'], ...provs.map((p) => [p, 1])],
          [...rows.values()].sort(byMarket).map((row) => {
            const low = Math.min(...[...row.by.values()].map((m) => m.overround));
            return h(
              'tr',
              { dataset: { market: `${row.market}/${row.period}` } },
              h('td', null, mlabel(row)),
              ...provs.map((p) => {
                const m = row.by.get(p);
                if (!m) return h('td', { className: 'num muted', dataset: { provider: p } }, '—');
                const best = row.by.size > 1 && m.overround === low;
                return h(
                  'td',
                  { className: `num${best ? ' best' : ''}`, dataset: { provider: p }, title: `${fmtInt(m.quotes)} quotes; ${fmtPct(m.minOverround, 2)} to ${fmtPct(m.maxOverround, 2)}` },
                  fmtPct(m.overround, 2),
                );
              }),
            );
          }),
        ),
        h('p', { className: 'fine' }, 'Average overround of each provider’s quotes (lowest marked); hover for the quotes and the range.'),
      );
    } catch (e) {
      fail(margins, e);
    }
  }

  moversWin.addEventListener('change', loadMovers);
  providersWin.addEventListener('change', loadProviders);
  const loadMarkets = () => Promise.all([loadSuspensions(), loadOutages(), loadSettlements(), loadMargins()]);
  marketsWin.addEventListener('change', loadMarkets);
  const refresh = () => Promise.all([loadMovers(), loadProviders(), loadMarkets()]);
  refresh();
  setInterval(refresh, REFRESH_MS);
}
