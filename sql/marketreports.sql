-- name: SuspendedTime :many
-- Time suspended per game, market, period and reason within [since,
-- until): each status version lasts until the next version's at (the
-- newest until @until: still in force); the suspended ones are clipped to
-- the range and summed. game_id '' is every game. Only the history of the
-- markets that changed within the range, or are suspended since before it
-- (by their current status: the report's until is now), is read.
SELECT i.game_id, i.market, i.period, i.reason,
       count(*)::bigint AS intervals,
       (count(*) FILTER (WHERE i.ongoing))::bigint AS ongoing,
       sum(extract(epoch FROM least(i.ended, @until::timestamptz) - greatest(i.started, @since::timestamptz)))::float8 AS seconds
FROM (
    SELECT h.game_id, h.market, h.period, h.status, h.reason, h.at AS started,
           coalesce(lead(h.at) OVER w, @until::timestamptz) AS ended,
           (lead(h.at) OVER w IS NULL)::boolean AS ongoing
    FROM market_status_history h
    WHERE (@game_id::text = '' OR h.game_id = @game_id::text) AND h.at < @until::timestamptz
      AND (h.game_id, h.market, h.period) IN (
          SELECT x.game_id, x.market, x.period FROM market_status_history x
          WHERE x.at >= @since::timestamptz AND x.at < @until::timestamptz
          UNION
          SELECT m.game_id, m.market, m.period FROM markets m
          WHERE m.status = 'suspended' AND m.at < @since::timestamptz AND m.deleted_at IS NULL)
    WINDOW w AS (PARTITION BY h.game_id, h.market, h.period ORDER BY h.version)
) i
WHERE i.status = 'suspended' AND i.ended > @since::timestamptz AND i.ended > i.started
GROUP BY i.game_id, i.market, i.period, i.reason
ORDER BY seconds DESC, i.game_id, i.market, i.period, i.reason
LIMIT @max_rows;

-- name: OutageSummary :many
-- Per provider, the outages that began within [since, until): how many,
-- how many are not over, the longest and the total (an outage not over
-- lasts until @until).
SELECT o.provider,
       count(*)::bigint AS outages,
       (count(*) FILTER (WHERE o.up_at IS NULL))::bigint AS ongoing,
       max(extract(epoch FROM coalesce(o.up_at, @until::timestamptz) - o.down_at))::float8 AS longest_seconds,
       sum(extract(epoch FROM coalesce(o.up_at, @until::timestamptz) - o.down_at))::float8 AS total_seconds,
       max(o.down_at)::timestamptz AS last_down_at
FROM provider_outages o
WHERE o.down_at >= @since::timestamptz AND o.down_at < @until::timestamptz
GROUP BY o.provider
ORDER BY o.provider;

-- name: SettlementSummary :many
-- Per market type and period, of the settlements and cancellations made
-- within [since, until): those standing (their market's current version),
-- and those rolled back.
SELECT s.market, s.period,
       (count(*) FILTER (WHERE s.kind = 'settled' AND m.version = s.version))::bigint AS settled,
       (count(*) FILTER (WHERE s.kind = 'cancelled' AND m.version = s.version))::bigint AS cancelled,
       (count(*) FILTER (WHERE s.ended_by = 'rollback'))::bigint AS rolled_back
FROM settlements s
LEFT JOIN markets m ON m.game_id = s.game_id AND m.market = s.market AND m.period = s.period AND m.deleted_at IS NULL
WHERE s.at >= @since::timestamptz AND s.at < @until::timestamptz
GROUP BY s.market, s.period
ORDER BY s.market, s.period;

-- name: SettlementResults :many
-- Per market type, outcome and result, how many standing settlements
-- (made within [since, until)) gave that outcome that result.
SELECT s.market, r.outcome, r.result, count(*)::bigint AS markets
FROM settlements s
JOIN markets m ON m.game_id = s.game_id AND m.market = s.market AND m.period = s.period
     AND m.version = s.version AND m.deleted_at IS NULL
CROSS JOIN LATERAL (
    SELECT e.key::text AS outcome, e.value::text AS result FROM jsonb_each_text(s.results) e
) r
WHERE s.kind = 'settled' AND s.at >= @since::timestamptz AND s.at < @until::timestamptz
GROUP BY s.market, r.outcome, r.result
ORDER BY s.market, r.outcome, r.result;

-- name: Margins :many
-- The margin (overround: the implied probabilities' sum less 1) per market
-- type, period and provider, averaged over the quotes observed within
-- [since, until); a corrected quote counts once, as its newest version.
SELECT o.market, o.period, o.provider, count(*)::bigint AS quotes,
       avg(quote_overround(o.market, o.home_odds, o.away_odds, o.draw_odds, o.over_odds, o.under_odds))::float8 AS overround,
       min(quote_overround(o.market, o.home_odds, o.away_odds, o.draw_odds, o.over_odds, o.under_odds))::float8 AS min_overround,
       max(quote_overround(o.market, o.home_odds, o.away_odds, o.draw_odds, o.over_odds, o.under_odds))::float8 AS max_overround
FROM odds_ticks o
WHERE o.observed_at >= @since::timestamptz AND o.observed_at < @until::timestamptz
  AND NOT EXISTS (
      SELECT 1 FROM odds_ticks n
      WHERE n.game_id = o.game_id AND n.provider = o.provider AND n.observed_at = o.observed_at
        AND n.observed_ns = o.observed_ns AND n.market = o.market AND n.period = o.period
        AND n.version > o.version
        AND n.observed_at >= @since::timestamptz AND n.observed_at < @until::timestamptz)
GROUP BY o.market, o.period, o.provider
ORDER BY o.market, o.period, o.provider;
