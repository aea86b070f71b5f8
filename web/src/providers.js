// The provider status strip: one chip per provider, up or down, with when it
// was last heard (ticking every second). Fed by the stream's "providers"
// (sent once per connection) and "provider" frames, and GET /v1/providers
// at first paint.

import { api } from './api.js';
import { h, fmtAgo, fmtTime } from './format.js';
import { newerStatus } from './markets.js';

export class ProviderStrip {
  // onChange(status, previous) is called when a provider's status changes.
  constructor(onChange = () => {}) {
    this.el = h('div', { className: 'provider-strip', id: 'provider-strip' }, h('span', { className: 'label' }, 'Providers'));
    this.empty = h('span', { className: 'muted' }, 'none heard yet');
    this.el.append(this.empty);
    this.status = new Map(); // provider -> ProviderStatus
    this.chips = new Map(); // provider -> {el, ago}
    this.onChange = onChange;
    setInterval(() => this.tick(), 1000);
    api('/v1/providers')
      .then((r) => (r?.providers || []).forEach((p) => this.update(p)))
      .catch(() => {});
  }

  get(provider) {
    return this.status.get(provider);
  }

  // update applies a provider status unless an older version of it.
  update(p) {
    if (!p?.provider) return;
    const cur = this.status.get(p.provider);
    if (!newerStatus(p, cur)) return;
    this.status.set(p.provider, p);
    let chip = this.chips.get(p.provider);
    if (!chip) {
      chip = { ago: h('span', { className: 'ago' }), state: h('span', { className: 'state' }) };
      chip.el = h('span', { className: 'prov', dataset: { provider: p.provider } }, h('span', { className: 'dot' }), h('b', null, p.provider), chip.state, chip.ago);
      this.chips.set(p.provider, chip);
      this.empty.remove();
      const names = [...this.chips.keys()].sort();
      this.el.append(...names.map((n) => this.chips.get(n).el));
    }
    chip.el.dataset.state = p.status;
    chip.state.textContent = p.status === 'down' ? 'down' : 'up';
    chip.el.title =
      `last heard ${fmtTime(p.lastHeard)}` + (p.downAt ? ` · last marked down ${fmtTime(p.downAt)}${p.decidedBy ? ` by ${p.decidedBy}` : ''}` : '');
    this.tickChip(p.provider, chip);
    if (!cur || cur.status !== p.status || cur.downAt !== p.downAt) this.onChange(p, cur);
  }

  tickChip(name, chip, now = Date.now()) {
    const p = this.status.get(name);
    chip.ago.textContent = p.lastHeard ? `heard ${fmtAgo(p.lastHeard, now)}` : 'never heard';
  }

  tick() {
    const now = Date.now();
    for (const [name, chip] of this.chips) this.tickChip(name, chip, now);
  }
}
