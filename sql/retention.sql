-- name: ExpireLatestOdds :execrows
-- Deletes up to max_rows latest_odds rows whose newest quote was observed
-- before cutoff (the report retention). latest_odds is small (one row per
-- game, provider, market and period) and has no index on observed_at (one
-- would stop the HOT updates every tick makes): the batch is found by a
-- scan. The outer condition is checked again on a row moved forward
-- meanwhile by the sync, which then stays.
DELETE FROM latest_odds l
USING (SELECT e.game_id, e.provider, e.market, e.period FROM latest_odds e
       WHERE e.observed_at < @cutoff LIMIT @max_rows) AS d
WHERE l.game_id = d.game_id AND l.provider = d.provider
  AND l.market = d.market AND l.period = d.period
  AND l.observed_at < @cutoff;
