// Trader actions: suspend and re-open a market or a whole game, through the
// dashboard's CSRF-protected routes (POST /games/{id}/suspend and /resume;
// the server checks the role). The page shell says whether this session
// may trade (body data-trade).

import { api } from './api.js';
import { h } from './format.js';

export const canTrade = document.body.dataset.trade === '1';

// tradeAction posts a suspend or resume; market undefined is the whole
// game. It resolves to the statuses written.
export async function tradeAction(gameId, action, { market, period, reason, note } = {}) {
  const body = {};
  if (market) Object.assign(body, { market, period: period || 'full' });
  if (reason) body.reason = reason;
  if (note) body.note = note;
  const r = await api(`/games/${encodeURIComponent(gameId)}/${action}`, { method: 'POST', body });
  return r?.markets || [];
}

// tradeButton is a small button that runs an action; while it runs the
// button is disabled, and a failure is reported through onError.
export function tradeButton(label, title, run, onError) {
  const b = h('button', { type: 'button', className: 'trade', title }, label);
  b.addEventListener('click', async (ev) => {
    ev.preventDefault();
    b.disabled = true;
    try {
      await run();
    } catch (e) {
      onError(e);
    } finally {
      b.disabled = false;
    }
  });
  return b;
}
