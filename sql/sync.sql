-- name: InsertOddsTicks :exec
-- Inserts odds ticks, one row per version of an odds item (a correction is
-- the next version: a row of its own, never an overwrite); a row already
-- there (same key and version: a replay, a backfill overlap) stays. Rows go
-- in key order, so concurrent writers (the sync, a backfill) wait for each
-- other in the same order and never deadlock.
INSERT INTO odds_ticks (game_id, provider, observed_at, observed_ns, market, period, away_spread, home_spread,
                        away_odds, home_odds, line, draw_odds, over_odds, under_odds, version, received_at)
SELECT t.game_id, t.provider, t.observed_at, t.observed_ns, t.market, t.period, t.away_spread, t.home_spread,
       t.away_odds, t.home_odds, t.line, t.draw_odds, t.over_odds, t.under_odds, t.version, t.received_at
FROM (SELECT unnest(@game_ids::text[]) AS game_id,
           unnest(@providers::text[]) AS provider,
           unnest(@observed_ats::timestamptz[]) AS observed_at,
           unnest(@observed_ns::smallint[]) AS observed_ns,
           unnest(@markets::text[]) AS market,
           unnest(@periods::text[]) AS period,
           unnest(@away_spreads::float8[]) AS away_spread,
           unnest(@home_spreads::float8[]) AS home_spread,
           unnest(@away_odds::integer[]) AS away_odds,
           unnest(@home_odds::integer[]) AS home_odds,
           unnest(@lines::float8[]) AS line,
           unnest(@draw_odds::integer[]) AS draw_odds,
           unnest(@over_odds::integer[]) AS over_odds,
           unnest(@under_odds::integer[]) AS under_odds,
           unnest(@versions::bigint[]) AS version,
           unnest(@received_ats::timestamptz[]) AS received_at) AS t
ORDER BY t.game_id, t.provider, t.observed_at, t.observed_ns, t.market, t.period, t.version
ON CONFLICT DO NOTHING;

-- name: InsertNewOddsTicks :exec
-- Inserts odds ticks (key and version) none of which is stored yet (the
-- sync's fast path: no speculative insertion), in key order; a duplicate
-- fails with unique_violation and the caller retries with InsertOddsTicks.
INSERT INTO odds_ticks (game_id, provider, observed_at, observed_ns, market, period, away_spread, home_spread,
                        away_odds, home_odds, line, draw_odds, over_odds, under_odds, version, received_at)
SELECT t.game_id, t.provider, t.observed_at, t.observed_ns, t.market, t.period, t.away_spread, t.home_spread,
       t.away_odds, t.home_odds, t.line, t.draw_odds, t.over_odds, t.under_odds, t.version, t.received_at
FROM (SELECT unnest(@game_ids::text[]) AS game_id,
           unnest(@providers::text[]) AS provider,
           unnest(@observed_ats::timestamptz[]) AS observed_at,
           unnest(@observed_ns::smallint[]) AS observed_ns,
           unnest(@markets::text[]) AS market,
           unnest(@periods::text[]) AS period,
           unnest(@away_spreads::float8[]) AS away_spread,
           unnest(@home_spreads::float8[]) AS home_spread,
           unnest(@away_odds::integer[]) AS away_odds,
           unnest(@home_odds::integer[]) AS home_odds,
           unnest(@lines::float8[]) AS line,
           unnest(@draw_odds::integer[]) AS draw_odds,
           unnest(@over_odds::integer[]) AS over_odds,
           unnest(@under_odds::integer[]) AS under_odds,
           unnest(@versions::bigint[]) AS version,
           unnest(@received_ats::timestamptz[]) AS received_at) AS t
ORDER BY t.game_id, t.provider, t.observed_at, t.observed_ns, t.market, t.period, t.version;

-- name: UpsertLatestOdds :exec
-- Moves latest_odds forward (one row per game, provider, market and period
-- in the arrays: the newest of the batch); an older tick never replaces a newer one, and
-- of one observation the higher version (a correction) wins: newest is
-- (observed_at, observed_ns, version), compared as a tuple.
INSERT INTO latest_odds (game_id, provider, observed_at, observed_ns, market, period, away_spread, home_spread,
                        away_odds, home_odds, line, draw_odds, over_odds, under_odds, version, received_at)
SELECT t.game_id, t.provider, t.observed_at, t.observed_ns, t.market, t.period, t.away_spread, t.home_spread,
       t.away_odds, t.home_odds, t.line, t.draw_odds, t.over_odds, t.under_odds, t.version, t.received_at
FROM (SELECT unnest(@game_ids::text[]) AS game_id,
           unnest(@providers::text[]) AS provider,
           unnest(@observed_ats::timestamptz[]) AS observed_at,
           unnest(@observed_ns::smallint[]) AS observed_ns,
           unnest(@markets::text[]) AS market,
           unnest(@periods::text[]) AS period,
           unnest(@away_spreads::float8[]) AS away_spread,
           unnest(@home_spreads::float8[]) AS home_spread,
           unnest(@away_odds::integer[]) AS away_odds,
           unnest(@home_odds::integer[]) AS home_odds,
           unnest(@lines::float8[]) AS line,
           unnest(@draw_odds::integer[]) AS draw_odds,
           unnest(@over_odds::integer[]) AS over_odds,
           unnest(@under_odds::integer[]) AS under_odds,
           unnest(@versions::bigint[]) AS version,
           unnest(@received_ats::timestamptz[]) AS received_at) AS t
ORDER BY t.game_id, t.provider, t.market, t.period
ON CONFLICT (game_id, provider, market, period) DO UPDATE SET
    observed_at = excluded.observed_at,
    observed_ns = excluded.observed_ns,
    away_spread = excluded.away_spread,
    home_spread = excluded.home_spread,
    away_odds   = excluded.away_odds,
    home_odds   = excluded.home_odds,
    line        = excluded.line,
    draw_odds   = excluded.draw_odds,
    over_odds   = excluded.over_odds,
    under_odds  = excluded.under_odds,
    version     = excluded.version,
    received_at = excluded.received_at,
    applied_at  = now()
WHERE (excluded.observed_at, excluded.observed_ns, excluded.version)
    > (latest_odds.observed_at, latest_odds.observed_ns, latest_odds.version);

-- name: UpsertGames :exec
-- Upserts games (one row per game id in the arrays), only forward: a newer
-- version replaces the row; a removal marks it deleted at its version.
INSERT INTO games (game_id, sport, summary, venue, game_date, status, home_team, away_team,
                   version, updated_at, deleted_at)
SELECT t.game_id, t.sport, t.summary, t.venue, t.game_date, t.status, t.home_team, t.away_team,
       t.version, t.updated_at, CASE WHEN t.deleted THEN now() END
FROM (SELECT unnest(@game_ids::text[]) AS game_id,
           unnest(@sports::text[]) AS sport,
           unnest(@summaries::text[]) AS summary,
           unnest(@venues::text[]) AS venue,
           unnest(@game_dates::timestamptz[]) AS game_date,
           unnest(@statuses::text[]) AS status,
           unnest(@home_teams::text[]) AS home_team,
           unnest(@away_teams::text[]) AS away_team,
           unnest(@versions::bigint[]) AS version,
           unnest(@updated_ats::timestamptz[]) AS updated_at,
           unnest(@deleted::boolean[]) AS deleted) AS t
ORDER BY t.game_id
ON CONFLICT (game_id) DO UPDATE SET
    sport      = excluded.sport,
    summary    = excluded.summary,
    venue      = excluded.venue,
    game_date  = excluded.game_date,
    status     = excluded.status,
    home_team  = excluded.home_team,
    away_team  = excluded.away_team,
    version    = excluded.version,
    updated_at = excluded.updated_at,
    deleted_at = excluded.deleted_at,
    applied_at = now()
WHERE excluded.version > games.version
   OR (excluded.version = games.version AND excluded.deleted_at IS NOT NULL AND games.deleted_at IS NULL);

-- name: DeleteOddsTicks :exec
-- Deletes ticks a user removed from the feed store (TTL expiries keep
-- them): every version's row of each removed item.
DELETE FROM odds_ticks o
USING (SELECT unnest(@game_ids::text[]) AS game_id,
           unnest(@providers::text[]) AS provider,
           unnest(@observed_ats::timestamptz[]) AS observed_at,
           unnest(@observed_ns::smallint[]) AS observed_ns,
           unnest(@markets::text[]) AS market,
           unnest(@periods::text[]) AS period) AS d
WHERE o.game_id = d.game_id AND o.provider = d.provider
  AND o.observed_at = d.observed_at AND o.observed_ns = d.observed_ns
  AND o.market = d.market AND o.period = d.period;

-- name: DeleteLatestOddsAt :exec
-- Deletes latest_odds rows that are exactly the removed ticks.
DELETE FROM latest_odds l
USING (SELECT unnest(@game_ids::text[]) AS game_id,
           unnest(@providers::text[]) AS provider,
           unnest(@observed_ats::timestamptz[]) AS observed_at,
           unnest(@observed_ns::smallint[]) AS observed_ns,
           unnest(@markets::text[]) AS market,
           unnest(@periods::text[]) AS period) AS d
WHERE l.game_id = d.game_id AND l.provider = d.provider
  AND l.observed_at = d.observed_at AND l.observed_ns = d.observed_ns
  AND l.market = d.market AND l.period = d.period;

-- name: RestoreLatestOdds :exec
-- Refills latest_odds of the given games, providers, markets and periods
-- from the newest tick left (after ticks were removed): its highest version.
INSERT INTO latest_odds (game_id, provider, market, period, observed_at, observed_ns, away_spread, home_spread,
                         away_odds, home_odds, line, draw_odds, over_odds, under_odds, version, received_at)
SELECT DISTINCT ON (o.game_id, o.provider, o.market, o.period)
       o.game_id, o.provider, o.market, o.period, o.observed_at, o.observed_ns, o.away_spread, o.home_spread,
       o.away_odds, o.home_odds, o.line, o.draw_odds, o.over_odds, o.under_odds, o.version, o.received_at
FROM odds_ticks o
JOIN (SELECT unnest(@game_ids::text[]) AS game_id,
           unnest(@providers::text[]) AS provider,
           unnest(@markets::text[]) AS market,
           unnest(@periods::text[]) AS period) AS d
  ON o.game_id = d.game_id AND o.provider = d.provider AND o.market = d.market AND o.period = d.period
ORDER BY o.game_id, o.provider, o.market, o.period, o.observed_at DESC, o.observed_ns DESC, o.version DESC
ON CONFLICT (game_id, provider, market, period) DO NOTHING;

-- name: GetCheckpoint :one
SELECT coalesce(position::text, '')::text AS position
FROM sync_checkpoints
WHERE consumer = @consumer AND source = @source;

-- name: ClaimCheckpoint :one
-- Locks the checkpoint row of a consumer and source for this transaction
-- (creating it), returning the position applied so far (empty when none)
-- and whether the session lock_pid still holds the source's advisory lock
-- (lock_class, lock_key): the second guard of single ownership.
WITH claimed AS (
    INSERT INTO sync_checkpoints (consumer, source)
    VALUES (@consumer, @source)
    ON CONFLICT (consumer, source) DO UPDATE SET consumer = excluded.consumer
    RETURNING position
)
SELECT coalesce(c.position::text, '')::text AS position,
       EXISTS (
           SELECT 1 FROM pg_catalog.pg_locks l
           WHERE l.locktype = 'advisory' AND l.granted AND l.pid = @lock_pid::integer
             AND l.classid = (@lock_class::integer)::oid AND l.objid = (@lock_key::integer)::oid AND l.objsubid = 2
       )::boolean AS owned
FROM claimed c;

-- name: SetCheckpoint :exec
UPDATE sync_checkpoints
SET position        = (@position::text)::numeric,
    millis_behind   = @millis_behind,
    applied_changes = applied_changes + @changes::bigint,
    updated_at      = now()
WHERE consumer = @consumer AND source = @source;

-- name: TryLockSource :one
-- Takes a session-level advisory lock if free (on the lock session).
SELECT pg_try_advisory_lock(@lock_class::integer, @lock_key::integer)::boolean AS locked;
