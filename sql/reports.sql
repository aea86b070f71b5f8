-- name: LineMovement :many
-- The ticks of a game in a time range where a provider's line or price
-- moved (the first tick of each provider included), in time order.
SELECT m.provider, m.observed_at, m.away_spread, m.home_spread, m.away_odds, m.home_odds
FROM (
    SELECT o.provider, o.observed_at, o.observed_ns, o.away_spread, o.home_spread, o.away_odds, o.home_odds,
           lag(o.away_spread) OVER w AS prev_away_spread,
           lag(o.home_spread) OVER w AS prev_home_spread,
           lag(o.away_odds) OVER w AS prev_away_odds,
           lag(o.home_odds) OVER w AS prev_home_odds
    FROM odds_ticks o
    WHERE o.game_id = @game_id AND o.observed_at >= @from_time AND o.observed_at <= @to_time
    WINDOW w AS (PARTITION BY o.provider ORDER BY o.observed_at, o.observed_ns)
) m
WHERE m.prev_away_spread IS NULL
   OR m.away_spread <> m.prev_away_spread OR m.home_spread <> m.prev_home_spread
   OR m.away_odds <> m.prev_away_odds OR m.home_odds <> m.prev_home_odds
ORDER BY m.provider, m.observed_at, m.observed_ns
LIMIT @max_rows;

-- name: BiggestMovers :many
-- Per game and provider, how far the home spread and the home side's
-- implied probability moved between the first and last tick since a time.
SELECT w.game_id, coalesce(g.summary, '')::text AS summary, coalesce(g.sport, '')::text AS sport, w.provider, w.ticks,
       w.open_home_spread, w.last_home_spread,
       w.open_home_odds, w.last_home_odds,
       abs(w.last_home_spread - w.open_home_spread)::float8 AS spread_move,
       abs(implied_probability(w.last_home_odds) - implied_probability(w.open_home_odds))::float8 AS probability_move,
       w.first_observed, w.last_observed
FROM (
    SELECT o.game_id, o.provider, count(*)::bigint AS ticks,
           ((array_agg(o.home_spread ORDER BY o.observed_at, o.observed_ns))[1])::float8 AS open_home_spread,
           ((array_agg(o.home_spread ORDER BY o.observed_at DESC, o.observed_ns DESC))[1])::float8 AS last_home_spread,
           ((array_agg(o.home_odds ORDER BY o.observed_at, o.observed_ns))[1])::integer AS open_home_odds,
           ((array_agg(o.home_odds ORDER BY o.observed_at DESC, o.observed_ns DESC))[1])::integer AS last_home_odds,
           min(o.observed_at)::timestamptz AS first_observed,
           max(o.observed_at)::timestamptz AS last_observed
    FROM odds_ticks o
    WHERE o.observed_at >= @since
    GROUP BY o.game_id, o.provider
) w
LEFT JOIN games g ON g.game_id = w.game_id
ORDER BY spread_move DESC, probability_move DESC, w.game_id, w.provider
LIMIT @max_rows;

-- name: GameProbability :many
-- Latest odds of each provider of a game, with the implied probability of
-- each side and the overround (the book's margin: the sum minus 1).
SELECT l.provider, l.observed_at, l.away_spread, l.home_spread, l.away_odds, l.home_odds,
       implied_probability(l.away_odds)::float8 AS away_probability,
       implied_probability(l.home_odds)::float8 AS home_probability,
       (implied_probability(l.away_odds) + implied_probability(l.home_odds) - 1)::float8 AS overround
FROM latest_odds l
WHERE l.game_id = @game_id
ORDER BY l.provider;

-- name: GetGame :one
SELECT game_id, sport, summary, venue, game_date, status, home_team, away_team, version, updated_at, deleted_at, applied_at
FROM games
WHERE game_id = @game_id;

-- name: ProviderFreshness :many
-- Per provider: the newest observation, the ticks observed since a time
-- and the ingest-to-report delay (applied_at - received_at) of those ticks.
SELECT l.provider, l.last_observed, l.last_applied,
       coalesce(w.ticks, 0)::bigint AS ticks,
       coalesce(w.delay_p50_ms, 0)::float8 AS delay_p50_ms,
       coalesce(w.delay_p99_ms, 0)::float8 AS delay_p99_ms,
       coalesce(w.delay_avg_ms, 0)::float8 AS delay_avg_ms
FROM (
    SELECT lo.provider, max(lo.observed_at)::timestamptz AS last_observed, max(lo.applied_at)::timestamptz AS last_applied
    FROM latest_odds lo
    GROUP BY lo.provider
) l
LEFT JOIN (
    SELECT o.provider, count(*) AS ticks,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM o.applied_at - o.received_at) * 1000) AS delay_p50_ms,
           percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM o.applied_at - o.received_at) * 1000) AS delay_p99_ms,
           avg(extract(epoch FROM o.applied_at - o.received_at) * 1000) AS delay_avg_ms
    FROM odds_ticks o
    WHERE o.observed_at >= @since
    GROUP BY o.provider
) w ON w.provider = l.provider
ORDER BY l.provider;

-- name: PipelineCheckpoints :many
SELECT c.consumer, c.source, coalesce(c.position::text, '')::text AS position, c.millis_behind,
       c.applied_changes, c.updated_at
FROM sync_checkpoints c
ORDER BY c.consumer, c.source;

-- name: DeadLetterCounts :many
SELECT d.consumer, count(*)::bigint AS unresolved, min(d.first_seen)::timestamptz AS oldest
FROM dead_letters d
WHERE d.resolved_at IS NULL
GROUP BY d.consumer
ORDER BY d.consumer;
