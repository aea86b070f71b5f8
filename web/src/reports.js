// The reports page: biggest movers and provider freshness and volume, from
// /v1/reports/* (Postgres). Without reporting the API answers 404 and the
// page says so.

import { api, HTTPError } from './api.js';
import { h, fmtSpread, fmtOdds, fmtAgo, fmtInt, impliedProbability, message } from './format.js';

const NOT_CONFIGURED = 'Reporting is not configured on this server: it needs Postgres: apt-get install postgresql and restart the server (it then runs its own), or set ODDSFEED_DATABASE_URL.';
const REFRESH_MS = 10_000;

function windowSelect(id, values, initial) {
  return h('select', { id }, ...values.map((v) => h('option', { value: v, selected: v === initial }, v)));
}

function table(id, headers, rows) {
  return h(
    'table',
    { className: 'report', id },
    h('thead', null, h('tr', null, ...headers.map(([t, num]) => h('th', { className: num ? 'num' : '' }, t)))),
    h('tbody', null, ...rows),
  );
}

function moveCell(v, fmt) {
  if (!v) return h('td', { className: 'num muted' }, fmt(0));
  return h('td', { className: `num ${v > 0 ? 'up' : 'down'}` }, fmt(v));
}

export function reportsPage(main) {
  const moversWin = windowSelect('movers-window', ['15m', '1h', '6h', '24h'], '1h');
  const providersWin = windowSelect('providers-window', ['5m', '1h', '24h'], '5m');
  const movers = h('div', { id: 'movers' }, h('p', { className: 'muted' }, 'Loading…'));
  const providers = h('div', { id: 'providers' }, h('p', { className: 'muted' }, 'Loading…'));
  main.replaceChildren(
    h('div', { className: 'toolbar' }, h('h1', null, 'Reports')),
    h(
      'section',
      { className: 'card' },
      h('div', { className: 'card-head' }, h('h2', null, 'Biggest movers'), h('span', { className: 'spacer' }), moversWin),
      movers,
    ),
    h(
      'section',
      { className: 'card' },
      h('div', { className: 'card-head' }, h('h2', null, 'Provider freshness and volume'), h('span', { className: 'spacer' }), providersWin),
      providers,
    ),
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

  moversWin.addEventListener('change', loadMovers);
  providersWin.addEventListener('change', loadProviders);
  const refresh = () => Promise.all([loadMovers(), loadProviders()]);
  refresh();
  setInterval(refresh, REFRESH_MS);
}
