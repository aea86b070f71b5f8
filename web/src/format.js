// Formatting and odds arithmetic shared by the pages.

export const $ = (sel, root = document) => root.querySelector(sel);

// h builds an element: h('td', {className: 'x'}, 'text', child...).
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k in el) el[k] = v;
      else el.setAttribute(k, v);
    }
  }
  for (const c of children) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

// American odds: +150 / -110.
export const fmtOdds = (v) => (v == null ? '' : v > 0 ? `+${v}` : `${v}`);

// Spreads: +3.5 / -3.5 / 0 as PK.
export const fmtSpread = (v) => (v == null ? '' : v === 0 ? 'PK' : v > 0 ? `+${v}` : `${v}`);

export const fmtPct = (v, digits = 1) => (v == null || Number.isNaN(v) ? '' : `${(v * 100).toFixed(digits)}%`);

// Formatters are made once: toLocaleString makes a new one on every call,
// which costs a board of 600 rows a quarter of a second.
const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
const dateTimeFmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false });

export const fmtTime = (t) => (t ? timeFmt.format(new Date(t)) : '');

export const fmtDateTime = (t) => (t ? dateTimeFmt.format(new Date(t)) : '');

export function fmtAgo(iso, now = Date.now()) {
  if (!iso) return '';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

export const fmtInt = (v) => (v == null ? '' : Math.round(v).toLocaleString());

// impliedProbability of American odds, margin included.
export function impliedProbability(american) {
  if (!american) return NaN;
  return american < 0 ? -american / (-american + 100) : 100 / (american + 100);
}

// probabilities returns the implied probabilities, the overround (the book's
// margin: their sum minus 1) and the fair (margin-free) probabilities.
export function probabilities(o) {
  const away = impliedProbability(o.awayOdds);
  const home = impliedProbability(o.homeOdds);
  const sum = away + home;
  return { away, home, overround: sum - 1, fairAway: away / sum, fairHome: home / sum };
}

export function matchup(g) {
  if (g.awayTeam && g.homeTeam) return `${g.awayTeam} @ ${g.homeTeam}`;
  return g.summary || g.id;
}

// message shows a notice in place of a section's content.
export function message(el, text, kind = 'info') {
  el.replaceChildren(h('p', { className: `notice ${kind}` }, text));
}

// table builds a report table: head is [[label, numeric], ...] (numeric
// headers are right-aligned), rows its <tr> elements.
export function table(id, head, rows) {
  return h(
    'table',
    { className: 'report', id },
    h('thead', null, h('tr', null, ...head.map(([t, num]) => h('th', { className: num ? 'num' : '' }, t)))),
    h('tbody', null, ...rows),
  );
}
