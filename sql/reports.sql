-- name: LineMovement :many
-- The full-game spread ticks of a game in a time range where a provider's line or price
-- moved (the first tick of each provider included), in time order. A
-- corrected observation counts once, as its newest version (the DISTINCT ON
-- follows the primary key's order; only the version needs an incremental
-- sort).
SELECT m.provider, m.observed_at, m.away_spread, m.home_spread, m.away_odds, m.home_odds
FROM (
    SELECT o.provider, o.observed_at, o.observed_ns, o.away_spread, o.home_spread, o.away_odds, o.home_odds,
           lag(o.away_spread) OVER w AS prev_away_spread,
           lag(o.home_spread) OVER w AS prev_home_spread,
           lag(o.away_odds) OVER w AS prev_away_odds,
           lag(o.home_odds) OVER w AS prev_home_odds
    FROM (
        SELECT DISTINCT ON (v.provider, v.observed_at, v.observed_ns)
               v.provider, v.observed_at, v.observed_ns, v.away_spread, v.home_spread, v.away_odds, v.home_odds
        FROM odds_ticks v
        WHERE v.game_id = @game_id AND v.observed_at >= @from_time AND v.observed_at <= @to_time
          AND v.market = 'spread' AND v.period = 'full'
        ORDER BY v.provider, v.observed_at, v.observed_ns, v.version DESC
    ) o
    WINDOW w AS (PARTITION BY o.provider ORDER BY o.observed_at, o.observed_ns)
) m
WHERE m.prev_away_spread IS NULL
   OR m.away_spread <> m.prev_away_spread OR m.home_spread <> m.prev_home_spread
   OR m.away_odds <> m.prev_away_odds OR m.home_odds <> m.prev_home_odds
ORDER BY m.provider, m.observed_at, m.observed_ns
LIMIT @max_rows;

-- name: BiggestMovers :many
-- Per game and provider, of the full-game spreads, how far the home spread and the home side's
-- implied probability moved between the first and last tick since a time.
-- A corrected observation counts once (ticks: the rows that are the lowest
-- version of their observation; only corrections cost an index probe) and
-- as its newest version (open and last prices). One hash aggregate, no
-- sort: the first and last tick are the min and max of
-- [observed µs, ns, -/+version, spread, price] arrays.
SELECT w.game_id, coalesce(g.summary, '')::text AS summary, coalesce(g.sport, '')::text AS sport, w.provider, w.ticks,
       w.first_tick[4]::float8 AS open_home_spread, w.last_tick[4]::float8 AS last_home_spread,
       w.first_tick[5]::integer AS open_home_odds, w.last_tick[5]::integer AS last_home_odds,
       abs(w.last_tick[4] - w.first_tick[4])::float8 AS spread_move,
       abs(implied_probability(w.last_tick[5]::integer) - implied_probability(w.first_tick[5]::integer))::float8 AS probability_move,
       w.first_observed, w.last_observed
FROM (
    SELECT o.game_id, o.provider,
           (count(*) FILTER (WHERE o.version = 1 OR NOT EXISTS (
               SELECT 1 FROM odds_ticks l
               WHERE l.game_id = o.game_id AND l.provider = o.provider AND l.observed_at = o.observed_at
                 AND l.observed_ns = o.observed_ns AND l.market = o.market AND l.period = o.period
                 AND l.version < o.version)))::bigint AS ticks,
           min(ARRAY[extract(epoch FROM o.observed_at) * 1000000, o.observed_ns, -o.version, o.home_spread, o.home_odds]::float8[]) AS first_tick,
           max(ARRAY[extract(epoch FROM o.observed_at) * 1000000, o.observed_ns, o.version, o.home_spread, o.home_odds]::float8[]) AS last_tick,
           min(o.observed_at)::timestamptz AS first_observed,
           max(o.observed_at)::timestamptz AS last_observed
    FROM odds_ticks o
    WHERE o.observed_at >= @since AND o.market = 'spread' AND o.period = 'full'
    GROUP BY o.game_id, o.provider
) w
LEFT JOIN games g ON g.game_id = w.game_id
ORDER BY spread_move DESC, probability_move DESC, w.game_id, w.provider
LIMIT @max_rows;

-- name: GameProbability :many
-- Latest full-game spread of each provider of a game (of the newest observation, its
-- newest version), with the implied probability of each side and the
-- overround (the book's margin: the sum minus 1).
SELECT l.provider, l.observed_at, l.away_spread, l.home_spread, l.away_odds, l.home_odds,
       implied_probability(l.away_odds)::float8 AS away_probability,
       implied_probability(l.home_odds)::float8 AS home_probability,
       (implied_probability(l.away_odds) + implied_probability(l.home_odds) - 1)::float8 AS overround
FROM latest_odds l
WHERE l.game_id = @game_id AND l.market = 'spread' AND l.period = 'full'
ORDER BY l.provider;

-- name: GetGame :one
SELECT game_id, sport, summary, venue, game_date, status, home_team, away_team, version, updated_at, deleted_at, applied_at
FROM games
WHERE game_id = @game_id;

-- name: ProviderFreshness :many
-- Per provider: the newest observation, the ticks observed since a time
-- and the ingest-to-report delay (applied_at - received_at) of those ticks.
-- Volume counts every version: a correction is an update the provider sent
-- and the pipeline carried, with a delay of its own.
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
