// Ordering of odds ticks, shared by the board, the game page and the
// stream. observedAt is RFC 3339 with up to nanoseconds ("…:05.123456789Z"),
// finer than Date.parse, so times are compared as [ms, ns within the ms].
// A tick is (gameId, provider, observedAt); a provider's correction of it
// comes as the same tick with a greater version (the stream marks it
// "correction"), and a tick older than the newest one already streamed for
// its game and provider comes marked "late".

const FRACTION = /\.(\d+)/;

// timeKey returns [ms since the epoch to the second's ms, ns past that ms].
export function timeKey(iso) {
  if (!iso) return [NaN, 0];
  const m = FRACTION.exec(iso);
  if (!m) return [Date.parse(iso), 0];
  const digits = (m[1] + '000000000').slice(0, 9);
  return [Date.parse(iso.replace(m[0], '')) + Number(digits.slice(0, 3)), Number(digits.slice(3))];
}

// compareTime orders two observedAt strings (negative: a is earlier).
export function compareTime(a, b) {
  if (a === b) return 0;
  const ka = timeKey(a);
  const kb = timeKey(b);
  return ka[0] - kb[0] || ka[1] - kb[1];
}

// seconds is observedAt as fractional seconds since the epoch (the chart's x).
export function seconds(iso) {
  const [ms, ns] = timeKey(iso);
  return (ms + ns / 1e6) / 1000;
}

// version of an odds: 1 when absent (the first version).
export const version = (o) => o.version || 1;

// newer reports whether odds a should replace odds b as a provider's current
// price: a later observedAt, or a later version of the same tick.
export function newer(a, b) {
  const c = compareTime(a.observedAt, b.observedAt);
  return c > 0 || (c === 0 && version(a) > version(b));
}

// tickKey identifies a tick of a provider (not its version). The reporting
// database keeps observedAt to the microsecond, the feed to the nanosecond,
// so the key is the microsecond: both sources name the same tick alike.
export function tickKey(provider, observedAt) {
  const [ms, ns] = timeKey(observedAt);
  return `${provider}|${ms}.${Math.floor(ns / 1000)}`;
}

// insertSorted puts p into pts (sorted by observedAt, oldest first) in its
// place in time, after any tick of the same time; it scans from the end,
// where live ticks go. It returns the index.
export function insertSorted(pts, p) {
  let i = pts.length;
  while (i > 0 && compareTime(pts[i - 1].observedAt, p.observedAt) > 0) i--;
  pts.splice(i, 0, p);
  return i;
}
