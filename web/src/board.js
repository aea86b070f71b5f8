// The live odds board: every open game, one row per provider with the
// latest spread and odds, kept current from the WebSocket. Updates are
// queued (conflated per game and provider) and applied once per animation
// frame; the table has a fixed layout, so an update repaints only its cells.
// A provider's price is only ever replaced by a newer one (later observedAt,
// or a later version of the same tick: a correction); late ticks, older than
// the one shown, never replace it.

import { api, listAll } from './api.js';
import { Stream } from './stream.js';
import { newer, version } from './ticks.js';
import { h, fmtOdds, fmtSpread, fmtTime, fmtDateTime, matchup } from './format.js';

const FIELDS = [
  ['awaySpread', fmtSpread],
  ['awayOdds', fmtOdds],
  ['homeSpread', fmtSpread],
  ['homeOdds', fmtOdds],
];
const FLASH_MS = 3000;

export function board(main) {
  const sportSel = h('select', { id: 'sport', title: 'Sport' }, h('option', { value: '' }, 'All sports'));
  const search = h('input', { id: 'search', type: 'search', placeholder: 'Search team or game…', autocomplete: 'off' });
  const stats = h('span', { className: 'stats', id: 'stats' });
  const table = h(
    'table',
    { className: 'board', id: 'board' },
    h(
      'colgroup',
      null,
      h('col', { className: 'c-start' }),
      h('col', { className: 'c-game' }),
      h('col', { className: 'c-provider' }),
      ...FIELDS.map(() => h('col', { className: 'c-num' })),
      h('col', { className: 'c-updated' }),
    ),
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        h('th', null, 'Start'),
        h('th', null, 'Game'),
        h('th', null, 'Provider'),
        h('th', { className: 'num' }, 'Away spread'),
        h('th', { className: 'num' }, 'Away odds'),
        h('th', { className: 'num' }, 'Home spread'),
        h('th', { className: 'num' }, 'Home odds'),
        h('th', { className: 'num' }, 'Updated'),
      ),
    ),
  );
  const empty = h('p', { className: 'notice', id: 'board-empty', hidden: true }, 'No open games yet.');
  main.replaceChildren(
    h('div', { className: 'toolbar' }, h('h1', null, 'Live board'), sportSel, search, h('span', { className: 'spacer' }), stats),
    table,
    empty,
  );

  const games = new Map(); // gameId -> entry
  const sports = new Set();
  const pendingGames = new Map(); // gameId -> game
  const pendingOdds = new Map(); // gameId|provider -> odds
  const flashed = new Map(); // td -> time highlighted
  const relayout = new Set(); // entries whose providers changed
  let scheduled = false;
  let orderDirty = false;
  let loaded = false;
  let applied = 0;
  let lastUpdate = '';
  let filter = { sport: '', text: '' };

  const schedule = () => {
    if (!scheduled) {
      scheduled = true;
      requestAnimationFrame(flush);
    }
  };
  const queueGame = (g) => {
    pendingGames.set(g.id, g);
    schedule();
  };
  // queueOdds keeps the newest odds per game and provider until the next
  // frame. late: the stream says newer odds of this provider were streamed
  // before, so it may only fill a row the board does not have yet.
  const queueOdds = (o, late = false) => {
    if (late && games.get(o.gameId)?.rows.has(o.provider)) return;
    const k = o.gameId + '|' + o.provider;
    const cur = pendingOdds.get(k);
    if (!cur || newer(o, cur)) pendingOdds.set(k, o);
    schedule();
  };

  function flush() {
    scheduled = false;
    for (const g of pendingGames.values()) upsertGame(g);
    pendingGames.clear();
    for (const o of pendingOdds.values()) applyOdds(o);
    pendingOdds.clear();
    for (const e of relayout) rebuild(e);
    relayout.clear();
    if (orderDirty) reorder();
    empty.hidden = !loaded || games.size > 0;
  }

  function entryFor(id) {
    let e = games.get(id);
    if (!e) {
      e = newEntry({ id, summary: id, status: '' });
      games.set(id, e);
      orderDirty = true;
    }
    return e;
  }

  function newEntry(g) {
    const e = {
      game: g,
      tbody: h('tbody', { dataset: { game: g.id } }),
      start: h('td', { className: 'start' }),
      name: h('td', { className: 'game' }),
      rows: new Map(),
      placeholder: null,
      key: '',
    };
    renderHead(e);
    rebuild(e);
    return e;
  }

  function upsertGame(g) {
    let e = games.get(g.id);
    if (g.status === 'closed') {
      if (e) {
        e.tbody.remove();
        games.delete(g.id);
      }
      return;
    }
    if (!e) {
      e = newEntry(g);
      games.set(g.id, e);
      orderDirty = true;
    } else {
      if (e.game.version && g.version && g.version <= e.game.version) return; // seen
      if (e.game.gameDate !== g.gameDate || e.game.status !== g.status) orderDirty = true;
      e.game = g;
      renderHead(e);
    }
    if (g.sport && !sports.has(g.sport)) {
      sports.add(g.sport);
      const opts = [...sports].sort().map((s) => h('option', { value: s }, s));
      const cur = sportSel.value;
      sportSel.replaceChildren(h('option', { value: '' }, 'All sports'), ...opts);
      sportSel.value = cur;
    }
    applyFilter(e);
  }

  function renderHead(e) {
    const g = e.game;
    e.key = `${g.awayTeam || ''} ${g.homeTeam || ''} ${g.summary || ''} ${g.id}`.toLowerCase();
    const live = g.status === 'live';
    e.start.replaceChildren(
      h('div', null, g.gameDate ? fmtDateTime(g.gameDate) : ''),
      g.status ? h('span', { className: `status ${g.status}` }, live ? '● live' : g.status) : '',
    );
    e.name.replaceChildren(
      h('a', { href: `/games/${encodeURIComponent(g.id)}`, className: 'matchup' }, matchup(g)),
      h('div', { className: 'sub' }, [g.sport, g.venue].filter(Boolean).join(' · ')),
    );
  }

  // rebuild lays out a game's rows: the start and game cells sit in the
  // first row and span all of them.
  function rebuild(e) {
    let trs = [...e.rows.keys()].sort().map((p) => e.rows.get(p).tr);
    if (trs.length === 0) {
      e.placeholder ??= h('tr', { className: 'placeholder' }, h('td', { colSpan: 6, className: 'muted' }, 'no odds yet'));
      trs = [e.placeholder];
    } else {
      e.placeholder = null;
    }
    trs[0].prepend(e.start, e.name);
    e.start.rowSpan = e.name.rowSpan = trs.length;
    e.tbody.replaceChildren(...trs);
  }

  function applyOdds(o) {
    const e = entryFor(o.gameId);
    let row = e.rows.get(o.provider);
    if (!row) {
      row = { odds: o, tr: h('tr'), cells: FIELDS.map(() => h('td', { className: 'num' })), updated: h('td', { className: 'num muted' }) };
      row.tr.append(h('td', { className: 'provider' }, o.provider), ...row.cells, row.updated);
      FIELDS.forEach(([f, fmt], i) => (row.cells[i].textContent = fmt(o[f])));
      row.tr.dataset.provider = o.provider;
      e.rows.set(o.provider, row);
      relayout.add(e);
    } else {
      const prev = row.odds;
      if (!newer(o, prev)) return; // older, or a version already shown
      const now = performance.now();
      FIELDS.forEach(([f, fmt], i) => {
        if (o[f] === prev[f]) return;
        const td = row.cells[i];
        td.textContent = fmt(o[f]);
        td.classList.toggle('up', o[f] > prev[f]);
        td.classList.toggle('down', o[f] < prev[f]);
        flashed.set(td, now);
      });
      row.odds = o;
    }
    row.updated.textContent = fmtTime(o.observedAt);
    // A corrected price is marked subtly: a dotted time with a tooltip.
    const corrected = version(o) > 1;
    if (corrected || row.corrected) {
      row.corrected = corrected;
      row.updated.classList.toggle('corrected', corrected);
      row.updated.title = corrected ? `corrected (version ${o.version})` : '';
    }
    applied++;
    lastUpdate = o.observedAt;
  }

  function reorder() {
    orderDirty = false;
    const rank = (g) => (g.status === 'live' ? 0 : g.status === 'scheduled' ? 1 : 2);
    const sorted = [...games.values()].sort(
      (a, b) =>
        rank(a.game) - rank(b.game) ||
        (a.game.gameDate || '').localeCompare(b.game.gameDate || '') ||
        a.game.id.localeCompare(b.game.id),
    );
    table.append(...sorted.map((e) => e.tbody));
  }

  function applyFilter(e) {
    const okSport = !filter.sport || e.game.sport === filter.sport;
    const okText = !filter.text || e.key.includes(filter.text);
    e.tbody.hidden = !(okSport && okText);
  }

  function refilter() {
    filter = { sport: sportSel.value, text: search.value.trim().toLowerCase() };
    for (const e of games.values()) applyFilter(e);
  }
  sportSel.addEventListener('change', refilter);
  search.addEventListener('input', refilter);

  setInterval(() => {
    const now = performance.now();
    for (const [td, t] of flashed) {
      if (now - t > FLASH_MS) {
        td.classList.remove('up', 'down');
        flashed.delete(td);
      }
    }
  }, 500);

  let lastApplied = 0;
  setInterval(() => {
    const rate = applied - lastApplied;
    lastApplied = applied;
    let open = 0;
    for (const e of games.values()) if (!e.tbody.hidden) open++;
    stats.textContent = `${open} games · ${rate} updates/s` + (lastUpdate ? ` · last ${fmtTime(lastUpdate)}` : '');
  }, 1000);

  // Games from the REST API paint the board at once; odds come from the
  // stream's snapshots, then its changes.
  Promise.all(['live', 'scheduled'].map((s) => listAll(`/v1/games?status=${s}&limit=1000`, 'games')))
    .then((lists) => {
      for (const g of lists.flat()) queueGame(g);
    })
    .catch(() => {})
    .finally(() => {
      loaded = true;
      schedule();
    });

  new Stream({
    topics: ['all'],
    onFrame(f) {
      if (f.game) queueGame(f.game);
      if (f.type === 'snapshot') {
        for (const o of f.missed || []) queueOdds(o);
        for (const o of f.odds || []) queueOdds(o);
      } else if (f.type === 'odds' && f.odds) {
        queueOdds(f.odds, f.late === true);
      }
    },
    onGap(gameId) {
      api(`/v1/games/${encodeURIComponent(gameId)}/odds/latest`)
        .then((r) => (r.byProvider || []).forEach((o) => queueOdds(o)))
        .catch(() => {});
    },
  }).start();
}
