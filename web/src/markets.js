// Markets on the wire (docs/protocol.md): a quote is an odds object of one
// market and period (absent: the full-game spread); a market status says
// whether it is open, suspended (with a reason), closed, settled (a result
// per outcome) or cancelled. Shared by the board and the game page.

import { fmtOdds, fmtSpread } from './format.js';
import { compareTime } from './ticks.js';

export const MARKET_LABELS = { moneyline: 'Moneyline', three_way: '1X2', spread: 'Spread', total: 'Total' };
export const PERIOD_LABELS = { full: 'full game', '1h': '1st half', '2h': '2nd half' };
// The market types in the order the pages show them (feed.Markets).
export const MARKETS = ['moneyline', 'three_way', 'spread', 'total'];
const OUTCOMES = { three_way: ['home', 'draw', 'away'], total: ['over', 'under'] };
export const OUTCOME_LABELS = { home: 'Home', away: 'Away', draw: 'Draw', over: 'Over', under: 'Under' };
const REASONS = { bet_stop: 'bet stop', trader: 'trader', provider_down: 'provider down' };
// Sports whose normal market is the three-way (home/draw/away).
const DRAW_SPORTS = new Set(['soccer', 'football']);

export const marketOf = (o) => o.market || 'spread';
export const periodOf = (o) => o.period || 'full';
// mid is a quote's or status's market id, "<market>/<period>" (feed.MarketID).
export const mid = (o) => `${marketOf(o)}/${periodOf(o)}`;
export const splitMid = (id) => {
  const [market, period] = id.split('/');
  return { market, period };
};
export const outcomes = (market) => OUTCOMES[market] || ['home', 'away'];
export const hasDraw = (sport) => DRAW_SPORTS.has(sport);

export function marketLabel(id) {
  const { market, period } = splitMid(id);
  const m = MARKET_LABELS[market] || market;
  return period === 'full' ? m : `${m} · ${PERIOD_LABELS[period] || period}`;
}

// price of an outcome in a quote (American odds).
export function price(o, outcome) {
  return o?.[`${outcome}Odds`];
}

// The line shown with a price: the side's handicap of a spread, o/u and
// the points of a total.
export function lineOf(o, outcome) {
  switch (marketOf(o)) {
    case 'spread':
      return fmtSpread(outcome === 'home' ? o.homeSpread : o.awaySpread);
    case 'total':
      return `${outcome === 'over' ? 'o' : 'u'}${o.line}`;
  }
  return '';
}

// priceText is what a cell shows for an outcome of a quote.
export function priceText(o, outcome) {
  const p = price(o, outcome);
  if (p == null || p === 0) return '';
  const line = lineOf(o, outcome);
  return line ? `${line} ${fmtOdds(p)}` : fmtOdds(p);
}

export const reasonText = (r) => REASONS[r] || r || '';

export const RESULT_LABELS = { win: 'win', lose: 'lose', void: 'void', push: 'push', half_win: 'half win', half_lose: 'half lose' };

// resultsText: "Home win · Away lose".
export function resultsText(s) {
  if (!s?.results) return '';
  return outcomes(marketOf(s))
    .filter((o) => s.results[o])
    .map((o) => `${OUTCOME_LABELS[o]} ${RESULT_LABELS[s.results[o]] || s.results[o]}`)
    .join(' · ');
}

// statusText is the short text of a market's status: "suspended · trader",
// "settled: Home win · Away lose"; "" when open.
export function statusText(s) {
  if (!s || s.status === 'open') return '';
  if (s.status === 'suspended') return `suspended · ${reasonText(s.reason) || 'no reason given'}`;
  if (s.status === 'settled') return `settled: ${resultsText(s)}`;
  return s.status;
}

// newerStatus: a market status (or provider status) replaces the one held
// when its version is not lower.
export const newerStatus = (s, cur) => !cur || (s.version || 0) >= (cur.version || 0);

// suspendedBy reports whether a provider's status suspends its quote: the
// quote was received before the provider was last marked down.
export function suspendedBy(prov, o) {
  return !!(prov?.downAt && o.receivedAt && compareTime(o.receivedAt, prov.downAt) < 0);
}

// best returns, per outcome, the highest price among quotes (those not
// suspended by a down provider), as {outcome: provider}.
export function bestOf(quotes, market, isDown) {
  const best = {};
  for (const out of outcomes(market)) {
    let top = null;
    for (const [provider, o] of quotes) {
      const p = price(o, out);
      if (!p || isDown(provider, o)) continue;
      if (top === null || p > top.p) top = { p, provider };
    }
    if (top) best[out] = top.provider;
  }
  return best;
}
