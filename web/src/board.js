// The live odds board: every open game with its markets side by side —
// moneyline (the three-way 1X2 where the sport has a draw), spread and
// total — one row per provider, the best price of each outcome marked. A
// first row per game shows each market's status (suspended markets are
// greyed with their reason; settled ones show their results) and, for
// traders, suspend / re-open buttons. Above the board, a strip of provider
// status; a down provider's quotes are greyed ("provider down").
//
// Updates are queued (conflated per quote series: game, provider, market)
// and applied once per animation frame; the table has a fixed layout, so
// an update repaints only its cells. A provider's price is only ever
// replaced by a newer one (later observedAt, or a later version of the same
// tick: a correction); late ticks never replace it.

import { api, listAll } from './api.js';
import { Stream } from './stream.js';
import { newer, version, compareTime } from './ticks.js';
import { h, fmtTime, fmtDateTime, matchup } from './format.js';
import { mid, marketOf, periodOf, outcomes, priceText, price, statusText, newerStatus, suspendedBy, bestOf, hasDraw } from './markets.js';
import { ProviderStrip } from './providers.js';
import { canTrade, tradeAction, tradeButton } from './trade.js';
import { GROUPS, NCELLS, boardTable, renderStatusCell } from './boardview.js';

const FLASH_MS = 3000;

export function board(main) {
  const sportSel = h('select', { id: 'sport', title: 'Sport' }, h('option', { value: '' }, 'All sports'));
  const search = h('input', { id: 'search', type: 'search', placeholder: 'Search team or game…', autocomplete: 'off' });
  const stats = h('span', { className: 'stats', id: 'stats' });
  const reasonIn = h('input', { id: 'trade-reason', type: 'text', placeholder: 'Suspension reason (trader)', maxLength: 64, autocomplete: 'off' });
  const tradeMsg = h('span', { className: 'trade-msg', id: 'trade-msg' });
  const table = boardTable();
  const empty = h('p', { className: 'notice', id: 'board-empty', hidden: true }, 'No open games yet.');
  const strip = new ProviderStrip((p) => providerChanged(p.provider));
  main.replaceChildren(
    h(
      'div',
      { className: 'toolbar' },
      h('h1', null, 'Live board'),
      sportSel,
      search,
      canTrade ? reasonIn : null,
      tradeMsg,
      h('span', { className: 'spacer' }),
      stats,
    ),
    strip.el,
    table,
    empty,
  );

  const games = new Map(); // gameId -> entry
  const sports = new Set();
  const pendingGames = new Map(); // gameId -> game
  const pendingOdds = new Map(); // quote series -> odds
  const pendingMarkets = new Map(); // gameId|market id -> status
  const flashed = new Map(); // td -> time highlighted
  const relayout = new Set(); // entries whose providers changed
  const restyle = new Map(); // entry -> groups to restyle
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
  // queueOdds keeps the newest odds per quote series until the next frame.
  // late: the stream says newer odds of this series were streamed before,
  // so it may only fill a cell the board does not have yet.
  const queueOdds = (o, late = false) => {
    const k = `${o.gameId}|${o.provider}|${mid(o)}`;
    if (late && games.get(o.gameId)?.quotes.get(mid(o))?.has(o.provider)) return;
    const cur = pendingOdds.get(k);
    if (!cur || newer(o, cur)) pendingOdds.set(k, o);
    schedule();
  };
  const queueMarket = (s) => {
    const k = `${s.gameId}|${mid(s)}`;
    if (newerStatus(s, pendingMarkets.get(k))) pendingMarkets.set(k, s);
    schedule();
  };
  const dirty = (e, group) => {
    if (!restyle.has(e)) restyle.set(e, new Set());
    restyle.get(e).add(group);
  };

  function flush() {
    scheduled = false;
    for (const g of pendingGames.values()) upsertGame(g);
    pendingGames.clear();
    for (const o of pendingOdds.values()) applyOdds(o);
    pendingOdds.clear();
    for (const s of pendingMarkets.values()) applyMarket(s);
    pendingMarkets.clear();
    for (const e of relayout) rebuild(e);
    relayout.clear();
    for (const [e, groups] of restyle) for (const g of groups) styleGroup(e, g);
    restyle.clear();
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
      mrow: h('tr', { className: 'mstatus' }),
      mcells: new Map(), // group -> status td
      quotes: new Map(), // market id -> Map(provider -> odds)
      status: new Map(), // market id -> MarketStatus
      rows: new Map(), // provider -> row
      threeWay: hasDraw(g.sport),
      placeholder: null,
      key: '',
    };
    const gameCell = h('td', { className: 'provider mlabel' });
    if (canTrade) {
      gameCell.append(
        tradeButton('Suspend all', 'Suspend every market of this game', () => trade(e, 'suspend'), tradeFailed),
        tradeButton('Open all', 'Re-open every market of this game', () => trade(e, 'resume'), tradeFailed),
      );
    } else {
      gameCell.append('Markets');
    }
    e.mrow.append(gameCell);
    for (const grp of GROUPS) {
      const td = h('td', { colSpan: grp.outs.length, className: 'mstat', dataset: { group: grp.key } });
      e.mcells.set(grp.key, td);
      e.mrow.append(td);
    }
    e.mrow.append(h('td'));
    renderHead(e);
    rebuild(e);
    for (const grp of GROUPS) dirty(e, grp.key);
    return e;
  }

  // marketFor is the market id a group shows for a game.
  const marketFor = (e, group) => (group === 'ml' ? (e.threeWay ? 'three_way' : 'moneyline') : group) + '/full';
  const groupFor = (e, market) => {
    if (market === 'spread' || market === 'total') return market;
    if (market === (e.threeWay ? 'three_way' : 'moneyline')) return 'ml';
    return null;
  };
  // setThreeWay switches a game's first group to the three-way (a sport
  // with a draw, or three-way quotes).
  function setThreeWay(e) {
    if (e.threeWay) return;
    e.threeWay = true;
    for (const row of e.rows.values()) fillGroup(e, row, 'ml');
    dirty(e, 'ml');
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
      if (hasDraw(g.sport)) setThreeWay(e);
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

  // rebuild lays out a game's rows: the market status row, then one per
  // provider; the start and game cells sit in the first and span them all.
  function rebuild(e) {
    let trs = [...e.rows.keys()].sort().map((p) => e.rows.get(p).tr);
    if (trs.length === 0) {
      e.placeholder ??= h('tr', { className: 'placeholder' }, h('td', { colSpan: NCELLS + 2, className: 'muted' }, 'no odds yet'));
      trs = [e.placeholder];
    } else {
      e.placeholder = null;
    }
    trs.unshift(e.mrow);
    e.mrow.prepend(e.start, e.name);
    e.start.rowSpan = e.name.rowSpan = trs.length;
    e.tbody.replaceChildren(...trs);
  }

  function newRow(e, provider) {
    const row = { tr: h('tr', { dataset: { provider } }), cells: new Map(), updated: h('td', { className: 'num muted' }), newest: '' };
    row.name = h('td', { className: 'provider' }, provider);
    row.tr.append(row.name);
    for (const grp of GROUPS) {
      for (const out of grp.outs) {
        const td = h('td', { className: 'num', dataset: { cell: `${grp.key}:${out}` } });
        row.cells.set(`${grp.key}:${out}`, td);
        row.tr.append(td);
      }
    }
    row.tr.append(row.updated);
    e.rows.set(provider, row);
    relayout.add(e);
    for (const grp of GROUPS) fillGroup(e, row, grp.key);
    return row;
  }

  // fillGroup writes a row's cells of a group from the quotes held.
  function fillGroup(e, row, group) {
    const o = e.quotes.get(marketFor(e, group))?.get(row.tr.dataset.provider);
    for (const out of GROUPS.find((g) => g.key === group).outs) {
      row.cells.get(`${group}:${out}`).textContent = o ? priceText(o, out) : '';
    }
  }

  function applyOdds(o) {
    const e = entryFor(o.gameId);
    const m = mid(o);
    if (!e.quotes.has(m)) e.quotes.set(m, new Map());
    const q = e.quotes.get(m);
    const prev = q.get(o.provider);
    if (prev && !newer(o, prev)) return; // older, or a version already shown
    q.set(o.provider, o);
    applied++;
    lastUpdate = o.observedAt;
    if (periodOf(o) !== 'full') return; // other periods: the game page
    if (marketOf(o) === 'three_way') setThreeWay(e);
    const group = groupFor(e, marketOf(o));
    if (!group) return;
    let row = e.rows.get(o.provider);
    if (!row) {
      row = newRow(e, o.provider);
    } else {
      const now = performance.now();
      for (const out of outcomes(marketOf(o))) {
        const td = row.cells.get(`${group}:${out}`);
        const text = priceText(o, out);
        if (!td || td.textContent === text) continue;
        td.textContent = text;
        const a = price(o, out);
        const b = prev ? price(prev, out) : a;
        td.classList.toggle('up', a > b);
        td.classList.toggle('down', a < b);
        if (a !== b) flashed.set(td, now);
      }
    }
    if (!row.newest || compareTime(o.observedAt, row.newest) >= 0) {
      row.newest = o.observedAt;
      row.updated.textContent = fmtTime(o.observedAt);
      // A corrected price is marked subtly: a dotted time with a tooltip.
      const corrected = version(o) > 1;
      if (corrected || row.corrected) {
        row.corrected = corrected;
        row.updated.classList.toggle('corrected', corrected);
        row.updated.title = corrected ? `corrected (version ${o.version})` : '';
      }
    }
    dirty(e, group);
  }

  function applyMarket(s) {
    if (periodOf(s) !== 'full') return;
    const e = entryFor(s.gameId);
    const m = mid(s);
    if (!newerStatus(s, e.status.get(m))) return;
    e.status.set(m, s);
    if (marketOf(s) === 'three_way') setThreeWay(e);
    const group = groupFor(e, marketOf(s));
    if (group) dirty(e, group);
  }

  const isDown = (provider, o) => suspendedBy(strip.get(provider), o);

  // styleGroup marks a game's group: best prices, greyed cells of a market
  // not open (with its reason) and of a down provider's quotes, the status
  // cell and its trader button.
  function styleGroup(e, group) {
    const m = marketFor(e, group);
    const st = e.status.get(m);
    const closed = !!st && st.status !== 'open';
    const quotes = e.quotes.get(m) || new Map();
    const best = closed ? {} : bestOf(quotes, m.split('/')[0], isDown);
    const outs = GROUPS.find((g) => g.key === group).outs;
    for (const [provider, row] of e.rows) {
      const o = quotes.get(provider);
      const down = !!o && isDown(provider, o);
      const title = down ? 'provider down' : closed ? statusText(st) : '';
      for (const out of outs) {
        const td = row.cells.get(`${group}:${out}`);
        td.classList.toggle('susp', closed);
        td.classList.toggle('pdown', down);
        td.classList.toggle('best', best[out] === provider && !down);
        if (td.title !== title) td.title = title;
      }
      markProvider(e, row);
    }
    renderStatus(e, group, m, st);
  }

  // markProvider tags a provider's name when any of its quotes on the
  // board is suspended because it was down.
  function markProvider(e, row) {
    const provider = row.tr.dataset.provider;
    let down = false;
    for (const grp of GROUPS) {
      const o = e.quotes.get(marketFor(e, grp.key))?.get(provider);
      if (o && isDown(provider, o)) down = true;
    }
    if (row.down === down) return;
    row.down = down;
    row.tr.classList.toggle('pdown-row', down);
    row.name.replaceChildren(provider, down ? h('span', { className: 'tag down' }, 'provider down') : '');
  }

  function renderStatus(e, group, m, st) {
    renderStatusCell(e.mcells.get(group), group, m, st, canTrade && ((action) => trade(e, action, ...m.split('/'))), tradeFailed);
  }

  async function trade(e, action, market, period) {
    tradeMsg.textContent = '';
    const statuses = await tradeAction(e.game.id, action, { market, period, reason: action === 'suspend' ? reasonIn.value.trim() : '' });
    for (const s of statuses) queueMarket(s);
    tradeMsg.textContent = `${action === 'suspend' ? 'Suspended' : 'Re-opened'} ${statuses.length} market${statuses.length === 1 ? '' : 's'} of ${matchup(e.game)}`;
  }
  function tradeFailed(err) {
    tradeMsg.textContent = `Refused: ${err.message}`;
    tradeMsg.classList.add('error');
    setTimeout(() => tradeMsg.classList.remove('error'), 5000);
  }

  // A provider's status changed: restyle the games it quotes.
  function providerChanged(provider) {
    for (const e of games.values()) {
      if (!e.rows.has(provider)) continue;
      for (const grp of GROUPS) dirty(e, grp.key);
    }
    schedule();
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

  // Games from the REST API paint the board at once; odds and market
  // statuses come from the stream's snapshots, then its changes.
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
      switch (f.type) {
        case 'snapshot':
          for (const o of f.missed || []) queueOdds(o);
          for (const o of f.odds || []) queueOdds(o);
          for (const s of f.markets || []) queueMarket(s);
          break;
        case 'odds':
          if (f.odds) queueOdds(f.odds, f.late === true);
          break;
        case 'market':
          if (f.market) queueMarket(f.market);
          break;
        case 'providers':
          for (const p of f.providers || []) strip.update(p);
          break;
        case 'provider':
          strip.update(f.provider);
          break;
      }
    },
    onGap(gameId) {
      const enc = encodeURIComponent(gameId);
      api(`/v1/games/${enc}/markets`)
        .then((r) => {
          (r.quotes || []).forEach((o) => queueOdds(o));
          (r.markets || []).forEach((s) => queueMarket(s));
        })
        .catch(() =>
          api(`/v1/games/${enc}/odds/latest`)
            .then((r) => (r.byProvider || []).forEach((o) => queueOdds(o)))
            .catch(() => {}),
        );
    },
  }).start();
}

