// The operators' pipeline page, polled from /v1/pipeline (with or without
// Postgres): each change stream consumer (broadcast, reporting) and its
// shards (lag, changes/s, position, last error), the WebSocket hub
// (clients, deliveries/s, conflations, slow-client closes) and, with
// reporting configured, the dead letters and their replay (admin only).
// Rates are taken here from successive polls' counters.

import { api } from './api.js';
import { lineChart } from './chart.js';
import { h, fmtInt, fmtAgo, fmtTime, message, table } from './format.js';

const POLL_MS = 2000;
const KEEP_POINTS = 150; // 5 minutes of polls
const LAG_WARN_MS = 5000;

const fmtLag = (ms) => (ms < 1000 ? `${fmtInt(ms)} ms` : `${(ms / 1000).toFixed(1)} s`);
const fmtRate = (r) => (r == null ? '…' : `${r.toFixed(1)}/s`);

// rates turns counters into per-second rates between two polls.
function rates() {
  const prev = new Map(); // key -> [count, seconds]
  return (key, count, t) => {
    const before = prev.get(key);
    prev.set(key, [count, t]);
    if (!before || t <= before[1] || count < before[0]) return null; // first poll, or a restart
    return (count - before[0]) / (t - before[1]);
  };
}

const stat = (label, value, id, cls = '') => h('div', { className: `stat ${cls}`, id }, h('div', { className: 'stat-value' }, value), h('div', { className: 'stat-label' }, label));

// position shows a stream position's tail (Kinesis sequence numbers are 56
// digits), the whole of it on hover.
const position = (p) => h('td', { className: 'mono position', title: p || '' }, p ? (p.length > 14 ? '…' + p.slice(-12) : p) : '—');

export function pipelinePage(main, role) {
  const cards = h('div', { className: 'cards', id: 'pipeline-cards' });
  const rateEl = h('div', { className: 'chart', id: 'throughput-chart' });
  const lagEl = h('div', { className: 'chart', id: 'lag-chart' });
  const consumers = h('div', { id: 'consumers' }, h('p', { className: 'muted' }, 'Loading…'));
  const shards = h('div', { id: 'shards' });
  const hub = h('div', { id: 'hub' });
  const letters = h('div', { id: 'dead-letters' });
  const isAdmin = role === 'admin';
  const replayBtn = h('button', { type: 'button', id: 'replay', disabled: true, title: isAdmin ? 'Re-apply every unresolved dead letter' : 'Replay needs the admin role' }, 'Replay dead letters');
  const replayNote = h('span', { className: 'fine', id: 'replay-result' }, isAdmin ? '' : 'Replay needs the admin role.');
  main.replaceChildren(
    h('div', { className: 'toolbar' }, h('h1', null, 'Pipeline')),
    cards,
    h('div', { className: 'chart-pair' }, h('section', { className: 'card' }, h('h2', null, 'Throughput (per second)'), rateEl), h('section', { className: 'card' }, h('h2', null, 'Lag behind the stream (ms)'), lagEl)),
    h('section', { className: 'card' }, h('h2', null, 'Consumers'), consumers),
    h('section', { className: 'card' }, h('h2', null, 'Shards'), shards),
    h('section', { className: 'card' }, h('h2', null, 'Live stream hub'), hub),
    h('section', { className: 'card' }, h('div', { className: 'card-head' }, h('h2', null, 'Dead letters'), h('span', { className: 'spacer' }), replayNote, replayBtn), letters),
  );

  const rate = rates();
  let charts = null; // {rate, lag, data: {rate: [...], lag: [...]}}

  async function poll() {
    let p;
    try {
      p = await api('/v1/pipeline');
    } catch (e) {
      message(consumers, `Could not load the pipeline state: ${e.message}`, 'error');
      return;
    }
    main.dataset.polls = String(Number(main.dataset.polls || 0) + 1); // for the browser tests
    const t = Date.parse(p.at) / 1000;
    const now = t * 1000;
    const rep = p.reporting;

    const perConsumer = p.consumers.map((c) => {
      const cr = rate(`c/${c.name}`, c.changes, t);
      const lag = Math.max(0, ...c.sources.map((s) => s.millisBehind));
      return { c, cr, lag };
    });
    const deliveries = rate('hub/sent', p.hub.sent, t);

    cards.replaceChildren(
      ...perConsumer.map(({ c, cr }) => stat(`${c.name} changes/s`, cr == null ? '…' : cr.toFixed(1), `stat-rate-${c.name}`)),
      ...perConsumer.map(({ c, lag }) => stat(`${c.name} max lag`, fmtLag(lag), `stat-lag-${c.name}`, lag > LAG_WARN_MS ? 'warn' : '')),
      stat('stream clients', fmtInt(p.hub.clients), 'stat-clients'),
      stat('deliveries/s', deliveries == null ? '…' : deliveries.toFixed(1), 'stat-deliveries'),
      rep && !rep.error ? stat('dead letters', fmtInt(rep.unresolvedDeadLetters), 'stat-dead', rep.unresolvedDeadLetters ? 'warn' : '') : null,
    );

    consumers.replaceChildren(
      table(
        'consumers-table',
        [['Consumer'], ['Changes/s', 1], ['Changes', 1], ['Batches', 1], ['Duplicates dropped', 1], ['Bad records', 1], ['Apply errors', 1], ['State'], ['Last error']],
        perConsumer.map(({ c, cr }) =>
          h(
            'tr',
            { dataset: { consumer: c.name } },
            h('td', null, c.name),
            h('td', { className: 'num' }, fmtRate(cr)),
            h('td', { className: 'num' }, fmtInt(c.changes)),
            h('td', { className: 'num' }, fmtInt(c.batches)),
            h('td', { className: 'num' }, fmtInt(c.filtered)),
            h('td', { className: `num ${c.badRecords ? 'down' : ''}` }, fmtInt(c.badRecords)),
            h('td', { className: `num ${c.applyErrors ? 'down' : ''}` }, fmtInt(c.applyErrors)),
            h('td', { className: c.failing ? 'down' : 'up' }, c.failing ? 'retrying' : 'ok'),
            h('td', { className: 'error-text', title: c.lastError }, c.lastError || '—'),
          ),
        ),
      ),
    );

    const shardRows = perConsumer.flatMap(({ c }) =>
      c.sources.map((s) => {
        const sr = s.changes == null ? null : rate(`s/${c.name}/${s.source}`, s.changes, t);
        return h(
          'tr',
          { dataset: { consumer: c.name, source: s.source } },
          h('td', null, c.name),
          h('td', { className: 'mono' }, s.source),
          h('td', { className: `num ${s.millisBehind > LAG_WARN_MS ? 'down' : ''}` }, fmtLag(s.millisBehind)),
          h('td', { className: 'num' }, s.changes == null ? '—' : fmtRate(sr)),
          h('td', { className: 'num' }, s.changes == null ? '—' : fmtInt(s.changes)),
          position(s.position),
          h('td', { className: 'num muted', title: s.checkpoint ? 'the reporting checkpoint' : 'this server' }, s.updatedAt ? fmtAgo(s.updatedAt, now) : 'not yet'),
        );
      }),
    );
    shards.replaceChildren(
      shardRows.length
        ? table('shards-table', [['Consumer'], ['Shard'], ['Lag', 1], ['Changes/s', 1], ['Applied', 1], ['Position'], ['Updated', 1]], shardRows)
        : h('p', { className: 'notice' }, 'No shard read yet.'),
    );

    hub.replaceChildren(
      h(
        'div',
        { className: 'cards', id: 'hub-stats' },
        stat('clients', fmtInt(p.hub.clients), 'hub-clients'),
        stat('deliveries/s', deliveries == null ? '…' : deliveries.toFixed(1), 'hub-deliveries'),
        stat('messages sent', fmtInt(p.hub.sent), 'hub-sent'),
        stat('conflated', fmtInt(p.hub.conflated), 'hub-conflated'),
        stat('slow clients closed', fmtInt(p.hub.slowClosed), 'hub-slow', p.hub.slowClosed ? 'warn' : ''),
        stat('dropped on close', fmtInt(p.hub.dropped), 'hub-dropped'),
      ),
    );

    if (!rep) {
      message(letters, 'Reporting is not configured on this server, so there are no dead letters: it needs Postgres: apt-get install postgresql and restart the server (it then runs its own), or set ODDSFEED_DATABASE_URL.', 'info');
      replayBtn.hidden = true;
      replayNote.hidden = true;
    } else if (rep.error) {
      message(letters, `Dead letters unavailable: ${rep.error}.`, 'error');
    } else {
      letters.replaceChildren(
        rep.deadLetters.length
          ? table(
              'dead-table',
              [['Consumer'], ['Unresolved', 1], ['Oldest', 1]],
              rep.deadLetters.map((d) => h('tr', null, h('td', null, d.consumer), h('td', { className: 'num down' }, fmtInt(d.unresolved)), h('td', { className: 'num muted' }, fmtAgo(d.oldest, now)))),
            )
          : h('p', { className: 'notice ok' }, 'No unresolved dead letters.'),
      );
      if (isAdmin) replayBtn.disabled = rep.unresolvedDeadLetters === 0;
    }

    if (deliveries == null) return; // the first poll has no rates yet
    const names = p.consumers.map((c) => c.name);
    if (!charts) {
      const data = { rate: [[], ...names.map(() => []), []], lag: [[], ...names.map(() => [])] };
      charts = {
        data,
        rate: lineChart(rateEl, { names: [...names.map((n) => `${n} changes/s`), 'deliveries/s'], data: data.rate, yLabel: 'per second', yFormat: (v) => (v == null ? '' : +v.toFixed(1)), xFormat: (v) => fmtTime(v * 1000), stepped: false, height: 200 }),
        lag: lineChart(lagEl, { names: names.map((n) => `${n} max lag`), data: data.lag, yLabel: 'ms', yFormat: (v) => (v == null ? '' : fmtInt(v)), xFormat: (v) => fmtTime(v * 1000), stepped: false, height: 200 }),
      };
    }
    const { data } = charts;
    data.rate[0].push(t);
    perConsumer.forEach(({ cr }, i) => data.rate[i + 1].push(cr));
    data.rate[names.length + 1].push(deliveries);
    data.lag[0].push(t);
    perConsumer.forEach(({ lag }, i) => data.lag[i + 1].push(lag));
    for (const d of [data.rate, data.lag]) if (d[0].length > KEEP_POINTS) d.forEach((s) => s.shift());
    charts.rate.setData(data.rate);
    charts.lag.setData(data.lag);
  }

  replayBtn.addEventListener('click', async () => {
    replayBtn.disabled = true;
    replayNote.textContent = 'Replaying…';
    try {
      const r = await api('/v1/admin/replay', { method: 'POST' });
      replayNote.textContent = `Replayed: ${r.applied ?? 0} applied, ${r.failed ?? 0} failed again.`;
    } catch (e) {
      replayNote.textContent = e.status === 403 ? 'Replay needs the admin role.' : `Replay failed: ${e.message}`;
    }
    poll();
  });

  poll();
  setInterval(poll, POLL_MS);
}
