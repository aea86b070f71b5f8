// The board's layout: its market groups (columns per outcome), the table's
// head, and a game's market status cells.

import { h } from './format.js';
import { statusText, marketLabel } from './markets.js';
import { tradeButton } from './trade.js';

// The board's market groups: columns per outcome. The first shows the
// moneyline, or the three-way where the game has a draw.
export const GROUPS = [
  { key: 'ml', label: 'Moneyline · 1X2', outs: ['away', 'draw', 'home'], heads: ['Away', 'Draw', 'Home'] },
  { key: 'spread', label: 'Spread', outs: ['away', 'home'], heads: ['Away', 'Home'] },
  { key: 'total', label: 'Total', outs: ['over', 'under'], heads: ['Over', 'Under'] },
];
export const NCELLS = GROUPS.reduce((n, g) => n + g.outs.length, 0);

// boardTable is the board's empty table: fixed columns, a two-row head
// (market groups, then their outcomes).
export function boardTable() {
  return h(
    'table',
    { className: 'board', id: 'board' },
    h(
      'colgroup',
      null,
      h('col', { className: 'c-start' }),
      h('col', { className: 'c-game' }),
      h('col', { className: 'c-provider' }),
      ...GROUPS.flatMap((g) => g.outs.map(() => h('col', { className: g.key === 'ml' ? 'c-price' : 'c-line' }))),
      h('col', { className: 'c-updated' }),
    ),
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        h('th', { rowSpan: 2 }, 'Start'),
        h('th', { rowSpan: 2 }, 'Game'),
        h('th', { rowSpan: 2 }, 'Provider'),
        ...GROUPS.map((g) => h('th', { colSpan: g.outs.length, className: 'group' }, g.label)),
        h('th', { rowSpan: 2, className: 'num' }, 'Updated'),
      ),
      h('tr', null, ...GROUPS.flatMap((g) => g.heads.map((t) => h('th', { className: 'num' }, t)))),
    ),
  );
}

// renderStatusCell shows market m's status st (undefined: open) in a game's
// status cell of a group: the state and its reason or results, and for
// traders (act(action) set) a suspend or re-open button. It repaints only
// when something shown changed.
export function renderStatusCell(td, group, m, st, act, onError) {
  const state = st?.status || 'open';
  const text = statusText(st);
  const key = `${m}|${state}|${text}|${st?.note || ''}`;
  if (td.renderKey === key) return;
  td.renderKey = key;
  td.dataset.market = m;
  td.dataset.state = state;
  td.title = [st?.note, st?.by ? `by ${st.by}` : ''].filter(Boolean).join(' · ');
  const kids = [];
  if (act && (state === 'open' || state === 'suspended')) {
    kids.push(
      state === 'open'
        ? tradeButton('Suspend', `Suspend ${marketLabel(m)}`, () => act('suspend'), onError)
        : tradeButton('Re-open', `Re-open ${marketLabel(m)}`, () => act('resume'), onError),
    );
  }
  // The first group names its market (moneyline or 1X2).
  if (group === 'ml') kids.push(h('span', { className: 'mname' }, marketLabel(m)));
  kids.push(h('span', { className: `mpill ${state}`, title: text }, text || 'open'));
  td.replaceChildren(h('div', { className: 'mline' }, ...kids));
}
