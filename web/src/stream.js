// The live stream: GET /v1/stream over WebSocket (protocol in
// internal/broadcast/doc.go). Browsers cannot send headers on the handshake,
// so each connection first gets a short-lived token (POST /v1/stream/token).
// On reconnect it resubscribes with the epoch, the last seq per game and the
// newest observedAt per game, so the server replays or resends what was
// missed. The connection state is shown in the header badge.

import { api } from './api.js';
import { compareTime } from './ticks.js';

const STALE_AFTER_MS = 10_000;
const MAX_BACKOFF_MS = 15_000;

export class Stream {
  // topics: subscription topics; onFrame(frame): every snapshot/odds/game
  // frame; onGap(gameId): a seq gap (conflation or loss) for a game.
  constructor({ topics, onFrame, onGap = () => {} }) {
    this.topics = topics;
    this.onFrame = onFrame;
    this.onGap = onGap;
    this.epoch = '';
    this.seq = new Map(); // gameId -> last seq
    this.newest = new Map(); // gameId -> newest observedAt
    this.attempt = 0;
    this.ws = null;
    this.downSince = Date.now();
    this.badge = document.getElementById('conn');
    this.state = '';
    this.setState('connecting');
    setInterval(() => this.tick(), 1000);
  }

  start() {
    this.connect();
    return this;
  }

  setState(state) {
    if (state === this.state) return;
    this.state = state;
    if (this.badge) {
      this.badge.dataset.state = state;
      this.badge.textContent = state;
    }
  }

  tick() {
    if (this.state !== 'live' && Date.now() - this.downSince > STALE_AFTER_MS) this.setState('stale');
  }

  async connect() {
    let token;
    try {
      ({ token } = await api('/v1/stream/token', { method: 'POST' }));
    } catch {
      this.retry();
      return;
    }
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${proto}//${location.host}/v1/stream?token=${encodeURIComponent(token)}`);
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      this.setState('live');
      ws.send(JSON.stringify(this.subscription()));
    };
    ws.onmessage = (ev) => {
      let f;
      try {
        f = JSON.parse(ev.data);
      } catch {
        return;
      }
      this.track(f);
      this.onFrame(f);
    };
    ws.onclose = () => {
      if (this.ws === ws) this.retry();
    };
  }

  retry() {
    this.ws = null;
    if (this.state === 'live' || this.state === 'connecting') {
      this.downSince = Date.now();
      this.setState('reconnecting');
    }
    const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.attempt) * (0.5 + Math.random() / 2);
    this.attempt++;
    setTimeout(() => this.connect(), delay);
  }

  subscription() {
    const m = { type: 'subscribe', topics: this.topics };
    if (this.epoch) {
      m.epoch = this.epoch;
      m.since = Object.fromEntries(this.seq);
      m.sinceTime = Object.fromEntries(this.newest);
    }
    return m;
  }

  noteOdds(gameId, observedAt) {
    const cur = this.newest.get(gameId);
    if (!cur || compareTime(observedAt, cur) > 0) this.newest.set(gameId, observedAt);
  }

  track(f) {
    if (!f.gameId) return;
    if (f.epoch && f.epoch !== this.epoch) {
      this.epoch = f.epoch;
      this.seq.clear();
    }
    if (f.type === 'snapshot') {
      this.seq.set(f.gameId, f.seq);
      for (const o of f.odds || []) this.noteOdds(f.gameId, o.observedAt);
      for (const o of f.missed || []) this.noteOdds(f.gameId, o.observedAt);
      return;
    }
    const last = this.seq.get(f.gameId);
    if (last !== undefined && f.seq > last + 1) this.onGap(f.gameId);
    if (last === undefined || f.seq > last) this.seq.set(f.gameId, f.seq);
    if (f.type === 'odds' && f.odds) this.noteOdds(f.gameId, f.odds.observedAt);
  }
}
