// The operators' pipeline page: lag per shard, throughput, dead letters
// and their replay (admin only), polled from /v1/reports/pipeline.

import { api, HTTPError } from './api.js';
import { lineChart } from './chart.js';
import { h, fmtInt, fmtAgo, fmtTime, message } from './format.js';

const POLL_MS = 2000;
const KEEP_POINTS = 150; // 5 minutes of polls

const fmtLag = (ms) => (ms < 1000 ? `${fmtInt(ms)} ms` : `${(ms / 1000).toFixed(1)} s`);

export function pipelinePage(main, role) {
  const cards = h('div', { className: 'cards', id: 'pipeline-cards' });
  const chartEl = h('div', { className: 'chart', id: 'throughput-chart' });
  const shards = h('div', { id: 'shards' }, h('p', { className: 'muted' }, 'Loading…'));
  const letters = h('div', { id: 'dead-letters' });
  const isAdmin = role === 'admin';
  const replayBtn = h('button', { type: 'button', id: 'replay', disabled: !isAdmin, title: isAdmin ? 'Re-apply every unresolved dead letter' : 'Replay needs the admin role' }, 'Replay dead letters');
  const replayNote = h('span', { className: 'fine', id: 'replay-result' }, isAdmin ? '' : 'Replay needs the admin role.');
  main.replaceChildren(
    h('div', { className: 'toolbar' }, h('h1', null, 'Pipeline')),
    cards,
    h('section', { className: 'card' }, h('h2', null, 'Throughput and lag'), chartEl),
    h('section', { className: 'card' }, h('h2', null, 'Shards'), shards),
    h(
      'section',
      { className: 'card' },
      h('div', { className: 'card-head' }, h('h2', null, 'Dead letters'), h('span', { className: 'spacer' }), replayNote, replayBtn),
      letters,
    ),
  );

  const prev = new Map(); // consumer/source -> [applied, time]
  const series = [[], [], []]; // time, changes/s, max lag (s)
  let chart = null;
  let polls = 0;

  const card = (label, value, id) => h('div', { className: 'stat', id }, h('div', { className: 'stat-value' }, value), h('div', { className: 'stat-label' }, label));

  async function poll() {
    let p;
    try {
      p = await api('/v1/reports/pipeline');
    } catch (e) {
      const text =
        e instanceof HTTPError && e.status === 404
          ? 'Reporting is not configured on this server, so there is no pipeline state to show (it needs Postgres: set ODDSFEED_DATABASE_URL).'
          : `Could not load the pipeline state: ${e.message}`;
      message(shards, text, e.status === 404 ? 'info' : 'error');
      return;
    }
    const now = Date.now();
    let total = 0;
    let maxLag = 0;
    const rows = p.sources.map((s) => {
      const k = s.consumer + '/' + s.source;
      const before = prev.get(k);
      const rate = before && now > before[1] ? Math.max(0, ((s.appliedChanges - before[0]) * 1000) / (now - before[1])) : null;
      prev.set(k, [s.appliedChanges, now]);
      total += rate || 0;
      maxLag = Math.max(maxLag, s.millisBehind);
      return h(
        'tr',
        null,
        h('td', null, s.consumer),
        h('td', { className: 'mono' }, s.source),
        h('td', { className: `num ${s.millisBehind > 5000 ? 'down' : ''}` }, fmtLag(s.millisBehind)),
        h('td', { className: 'num' }, rate == null ? '…' : `${rate.toFixed(1)}/s`),
        h('td', { className: 'num' }, fmtInt(s.appliedChanges)),
        h('td', { className: 'num muted' }, fmtAgo(s.updatedAt, now)),
      );
    });
    cards.replaceChildren(
      card('changes/s', total.toFixed(1), 'stat-throughput'),
      card('max lag', fmtLag(maxLag), 'stat-lag'),
      card('shards', String(p.sources.length), 'stat-shards'),
      card('dead letters', fmtInt(p.unresolvedDeadLetters), 'stat-dead'),
    );
    shards.replaceChildren(
      rows.length
        ? h(
            'table',
            { className: 'report', id: 'shards-table' },
            h('thead', null, h('tr', null, ...[['Consumer'], ['Shard'], ['Lag', 1], ['Throughput', 1], ['Applied', 1], ['Checkpoint', 1]].map(([t, n]) => h('th', { className: n ? 'num' : '' }, t)))),
            h('tbody', null, ...rows),
          )
        : h('p', { className: 'notice' }, 'No checkpoints yet: the reporting sync has not applied a batch.'),
    );
    letters.replaceChildren(
      p.deadLetters.length
        ? h(
            'table',
            { className: 'report', id: 'dead-table' },
            h('thead', null, h('tr', null, h('th', null, 'Consumer'), h('th', { className: 'num' }, 'Unresolved'), h('th', { className: 'num' }, 'Oldest'))),
            h(
              'tbody',
              null,
              ...p.deadLetters.map((d) => h('tr', null, h('td', null, d.consumer), h('td', { className: 'num down' }, fmtInt(d.unresolved)), h('td', { className: 'num muted' }, fmtAgo(d.oldest, now)))),
            ),
          )
        : h('p', { className: 'notice ok' }, 'No unresolved dead letters.'),
    );
    if (isAdmin) replayBtn.disabled = p.unresolvedDeadLetters === 0;

    if (++polls === 1) return; // the first poll has no rate yet
    series[0].push(now / 1000);
    series[1].push(total);
    series[2].push(maxLag / 1000);
    if (series[0].length > KEEP_POINTS) series.forEach((s) => s.shift());
    if (!chart) {
      chart = lineChart(chartEl, { names: ['changes/s', 'max lag (s)'], data: series, yLabel: 'changes/s · lag s', yFormat: (v) => (v == null ? '' : +v.toFixed(2)), xFormat: (v) => fmtTime(v * 1000), stepped: false, height: 220 });
    } else {
      chart.setData(series);
    }
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
