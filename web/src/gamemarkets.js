// The game page's markets: one card per market of the game (its type and
// period), with its status (a suspension's reason, a settlement's results),
// each provider's latest prices (a down provider's greyed), and a chart of
// its providers' prices over time for an outcome (implied probability, so
// prices either side of evens read as one line), from GET
// /v1/games/{id}/odds?market=&period= and live from the stream. Traders
// suspend and re-open a market here too.

import { api, listAll } from './api.js';
import { lineChart, align } from './chart.js';
import { insertSorted, newer, seconds, tickKey, version } from './ticks.js';
import { h, fmtPct, fmtTime, fmtAgo, impliedProbability } from './format.js';
import { MARKETS, OUTCOME_LABELS, mid, splitMid, outcomes, priceText, price, statusText, resultsText, newerStatus, suspendedBy, bestOf, marketLabel, hasDraw } from './markets.js';
import { canTrade, tradeAction, tradeButton } from './trade.js';

const HISTORY_HOURS = 24;

// marketsSection fills el with the game's market cards and returns the
// handlers of the stream's frames: odds(o), market(s), provider(p).
export async function marketsSection(el, game) {
  const enc = encodeURIComponent(game.id);
  const grid = h('div', { className: 'market-grid', id: 'markets' });
  const msg = h('span', { className: 'trade-msg', id: 'trade-msg' });
  el.replaceChildren(h('div', { className: 'card-head' }, h('h2', null, 'Markets'), h('span', { className: 'spacer' }), msg), grid);
  const cards = new Map(); // market id -> card
  const providers = new Map(); // provider -> ProviderStatus
  const isDown = (provider, o) => suspendedBy(providers.get(provider), o);
  const from = new Date(Date.now() - HISTORY_HOURS * 3600e3).toISOString();

  let current = { markets: [], quotes: [] };
  try {
    current = await api(`/v1/games/${enc}/markets`);
  } catch {
    // Older servers: the spread's latest odds only.
    const r = await api(`/v1/games/${enc}/odds/latest`).catch(() => ({}));
    current.quotes = r.byProvider || [];
  }
  (await api('/v1/providers').catch(() => ({}))).providers?.forEach((p) => providers.set(p.provider, p));

  function card(id) {
    let c = cards.get(id);
    if (c) return c;
    const { market, period } = splitMid(id);
    const outSel = h('select', { className: 'outcome' }, ...outcomes(market).map((o) => h('option', { value: o }, OUTCOME_LABELS[o])));
    c = {
      id,
      market,
      period,
      status: null,
      latest: new Map(), // provider -> newest quote
      history: new Map(), // provider -> quotes, oldest first
      points: new Map(), // tickKey -> quote
      outSel,
      pill: h('span', { className: 'mpill open' }, 'open'),
      results: h('div', { className: 'results' }),
      actions: h('span', { className: 'actions' }),
      chartEl: h('div', { className: 'chart' }),
      body: h('tbody'),
      chart: null,
      drawn: '',
    };
    c.el = h(
      'section',
      { className: 'card market-card', dataset: { market: id } },
      h('div', { className: 'card-head' }, h('h2', null, marketLabel(id)), c.pill, h('span', { className: 'spacer' }), c.actions, outSel),
      c.results,
      h(
        'table',
        { className: 'quotes' },
        h('thead', null, h('tr', null, h('th', null, 'Provider'), ...outcomes(market).map((o) => h('th', { className: 'num' }, OUTCOME_LABELS[o])), h('th', { className: 'num' }, 'As of'))),
        c.body,
      ),
      c.chartEl,
    );
    outSel.addEventListener('change', () => draw(c, true));
    cards.set(id, c);
    const order = (k) => {
      const { market: m, period: p } = splitMid(k);
      return `${p === 'full' ? 0 : 1}${p}${MARKETS.indexOf(m)}`;
    };
    grid.append(...[...cards.keys()].sort((a, b) => order(a).localeCompare(order(b))).map((k) => cards.get(k).el));
    renderStatus(c);
    loadHistory(c);
    return c;
  }

  async function loadHistory(c) {
    const odds = await listAll(`/v1/games/${enc}/odds?market=${c.market}&period=${c.period}&from=${encodeURIComponent(from)}&limit=1000`, 'odds', 5000).catch(() => []);
    for (const o of odds.reverse()) addPoint(c, o);
    draw(c, true);
    renderQuotes(c);
  }

  // addPoint puts a quote on a card's chart in its place in time (a
  // correction replaces its point); false when it is there already.
  function addPoint(c, o) {
    const k = tickKey(o.provider, o.observedAt);
    const cur = c.points.get(k);
    if (cur && version(o) <= version(cur)) return false;
    if (!c.history.has(o.provider)) c.history.set(o.provider, []);
    const pts = c.history.get(o.provider);
    if (cur) pts[pts.indexOf(cur)] = o;
    else insertSorted(pts, o);
    c.points.set(k, o);
    const last = c.latest.get(o.provider);
    if (!last || newer(o, last)) c.latest.set(o.provider, o);
    return true;
  }

  function draw(c, rebuild = false) {
    const out = c.outSel.value;
    const names = [...c.history.keys()].sort();
    if (names.length === 0) {
      c.chartEl.replaceChildren(h('p', { className: 'notice' }, 'No prices in the last 24 hours.'));
      return;
    }
    const data = align(names.map((n) => c.history.get(n).filter((o) => price(o, out)).map((o) => [seconds(o.observedAt), impliedProbability(price(o, out))])));
    const key = `${names.join()}|${out}`;
    if (c.chart && !rebuild && key === c.drawn) {
      c.chart.setData(data, false);
      return;
    }
    c.chart?.destroy();
    c.chartEl.replaceChildren();
    c.drawn = key;
    c.chart = lineChart(c.chartEl, { names, data, yLabel: `${OUTCOME_LABELS[out]} implied probability`, yFormat: (v) => fmtPct(v, 1), height: 220 });
    c.chartEl.plot = c.chart; // what the browser tests read
  }

  function renderQuotes(c) {
    const best = bestOf(c.latest, c.market, isDown);
    const closed = !!c.status && c.status.status !== 'open';
    c.body.replaceChildren(
      ...[...c.latest.keys()].sort().map((p) => {
        const o = c.latest.get(p);
        const down = isDown(p, o);
        return h(
          'tr',
          { dataset: { provider: p }, className: down ? 'pdown-row' : '' },
          h('td', { className: 'provider' }, p, down ? h('span', { className: 'tag down' }, 'provider down') : ''),
          ...outcomes(c.market).map((out) =>
            h('td', { className: `num${closed ? ' susp' : ''}${down ? ' pdown' : ''}${!closed && !down && best[out] === p ? ' best' : ''}` }, priceText(o, out)),
          ),
          h('td', { className: 'num muted', title: fmtTime(o.observedAt) }, fmtAgo(o.observedAt)),
        );
      }),
    );
    if (c.latest.size === 0) c.body.replaceChildren(h('tr', null, h('td', { className: 'muted', colSpan: outcomes(c.market).length + 2 }, 'no quotes yet')));
  }

  function renderStatus(c) {
    const s = c.status;
    const state = s?.status || 'open';
    c.el.dataset.state = state;
    c.el.classList.remove('open', 'suspended', 'closed', 'settled', 'cancelled');
    c.el.classList.add(state);
    c.pill.className = `mpill ${state}`;
    c.pill.textContent = statusText(s) || 'open';
    c.pill.title = [s?.note, s?.by ? `by ${s.by}` : ''].filter(Boolean).join(' · ');
    c.results.textContent = state === 'settled' ? `Results: ${resultsText(s)}` : '';
    c.actions.replaceChildren();
    if (canTrade && (state === 'open' || state === 'suspended')) {
      const action = state === 'open' ? 'suspend' : 'resume';
      c.actions.append(
        tradeButton(state === 'open' ? 'Suspend' : 'Re-open', `${state === 'open' ? 'Suspend' : 'Re-open'} ${marketLabel(c.id)}`, async () => {
          const written = await tradeAction(game.id, action, { market: c.market, period: c.period });
          written.forEach(setStatus);
          msg.textContent = '';
        }, (e) => (msg.textContent = `Refused: ${e.message}`)),
      );
    }
  }

  function setStatus(s) {
    const c = card(mid(s));
    if (!newerStatus(s, c.status)) return;
    c.status = s;
    renderStatus(c);
    renderQuotes(c);
  }

  // The game's usual markets, then every market it has a status or a quote
  // of.
  for (const m of [hasDraw(game.sport) ? 'three_way' : 'moneyline', 'spread', 'total']) {
    if (current.quotes.some((o) => mid(o) === `${m}/full`) || current.markets.some((s) => mid(s) === `${m}/full`)) card(`${m}/full`);
  }
  for (const o of current.quotes) {
    const c = card(mid(o));
    if (addPoint(c, o)) renderQuotes(c);
  }
  current.markets.forEach(setStatus);
  if (cards.size === 0) grid.replaceChildren(h('p', { className: 'notice', id: 'no-markets' }, 'No markets quoted yet.'));

  // The "as of" times tick.
  setInterval(() => cards.forEach(renderQuotes), 1000);

  let redraw = new Set();
  return {
    odds(o) {
      if (cards.size === 0) grid.replaceChildren();
      const c = card(mid(o));
      if (!addPoint(c, o)) return;
      if (redraw.size === 0) {
        requestAnimationFrame(() => {
          for (const c of redraw) {
            draw(c);
            renderQuotes(c);
          }
          redraw = new Set();
        });
      }
      redraw.add(c);
    },
    market(s) {
      if (cards.size === 0) grid.replaceChildren();
      setStatus(s);
    },
    provider(p) {
      const cur = providers.get(p.provider);
      if (!newerStatus(p, cur)) return;
      providers.set(p.provider, p);
      for (const c of cards.values()) if (c.latest.has(p.provider)) renderQuotes(c);
    },
  };
}
