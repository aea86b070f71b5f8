-- name: UpsertMarkets :exec
-- Moves markets forward: a newer version replaces the row; a removal
-- marks it deleted at its version.
INSERT INTO markets (game_id, market, period, status, reason, note, results, prev, changed_by, by_trader,
                     at, version, updated_at, deleted_at)
SELECT t.game_id, t.market, t.period, t.status, t.reason, t.note, t.results::jsonb, t.prev, t.changed_by, t.by_trader,
       t.at, t.version, t.updated_at, CASE WHEN t.deleted THEN now() END
FROM (SELECT unnest(@game_ids::text[]) AS game_id,
           unnest(@markets::text[]) AS market,
           unnest(@periods::text[]) AS period,
           unnest(@statuses::text[]) AS status,
           unnest(@reasons::text[]) AS reason,
           unnest(@notes::text[]) AS note,
           unnest(@results::text[]) AS results,
           unnest(@prevs::text[]) AS prev,
           unnest(@changed_bys::text[]) AS changed_by,
           unnest(@by_traders::boolean[]) AS by_trader,
           unnest(@ats::timestamptz[]) AS at,
           unnest(@versions::bigint[]) AS version,
           unnest(@updated_ats::timestamptz[]) AS updated_at,
           unnest(@deleted::boolean[]) AS deleted) AS t
ORDER BY t.game_id, t.market, t.period
ON CONFLICT (game_id, market, period) DO UPDATE SET
    status     = excluded.status,
    reason     = excluded.reason,
    note       = excluded.note,
    results    = excluded.results,
    prev       = excluded.prev,
    changed_by = excluded.changed_by,
    by_trader  = excluded.by_trader,
    at         = excluded.at,
    version    = excluded.version,
    updated_at = excluded.updated_at,
    deleted_at = excluded.deleted_at,
    applied_at = now()
WHERE excluded.version > markets.version
   OR (excluded.version = markets.version AND excluded.deleted_at IS NOT NULL AND markets.deleted_at IS NULL);

-- name: InsertMarketHistory :exec
-- Records status versions; a version recorded already stays.
INSERT INTO market_status_history (game_id, market, period, version, status, reason, note, results, prev,
                                   changed_by, by_trader, at, updated_at)
SELECT t.game_id, t.market, t.period, t.version, t.status, t.reason, t.note, t.results::jsonb, t.prev,
       t.changed_by, t.by_trader, t.at, t.updated_at
FROM (SELECT unnest(@game_ids::text[]) AS game_id,
           unnest(@markets::text[]) AS market,
           unnest(@periods::text[]) AS period,
           unnest(@versions::bigint[]) AS version,
           unnest(@statuses::text[]) AS status,
           unnest(@reasons::text[]) AS reason,
           unnest(@notes::text[]) AS note,
           unnest(@results::text[]) AS results,
           unnest(@prevs::text[]) AS prev,
           unnest(@changed_bys::text[]) AS changed_by,
           unnest(@by_traders::boolean[]) AS by_trader,
           unnest(@ats::timestamptz[]) AS at,
           unnest(@updated_ats::timestamptz[]) AS updated_at) AS t
ORDER BY t.game_id, t.market, t.period, t.version
ON CONFLICT DO NOTHING;

-- name: InsertSettlements :exec
-- Records the versions that settled or cancelled a market; a version
-- recorded already stays.
INSERT INTO settlements (game_id, market, period, version, kind, results, changed_by, by_trader, at)
SELECT t.game_id, t.market, t.period, t.version, t.kind, t.results::jsonb, t.changed_by, t.by_trader, t.at
FROM (SELECT unnest(@game_ids::text[]) AS game_id,
           unnest(@markets::text[]) AS market,
           unnest(@periods::text[]) AS period,
           unnest(@versions::bigint[]) AS version,
           unnest(@kinds::text[]) AS kind,
           unnest(@results::text[]) AS results,
           unnest(@changed_bys::text[]) AS changed_by,
           unnest(@by_traders::boolean[]) AS by_trader,
           unnest(@ats::timestamptz[]) AS at) AS t
ORDER BY t.game_id, t.market, t.period, t.version
ON CONFLICT DO NOTHING;

-- name: EndSettlements :exec
-- Marks the settlements of the given markets that the next status version
-- ended: a rollback, or the cancellation of a settled market. Run after
-- the history and settlement inserts of a batch, it finds the pair in
-- whichever order the two versions arrived.
UPDATE settlements s
SET ended_version = h.version,
    ended_at      = h.at,
    ended_by      = CASE WHEN h.status = 'cancelled' THEN 'cancel' ELSE 'rollback' END
FROM market_status_history h,
     (SELECT unnest(@game_ids::text[]) AS game_id,
           unnest(@markets::text[]) AS market,
           unnest(@periods::text[]) AS period) AS d
WHERE s.game_id = d.game_id AND s.market = d.market AND s.period = d.period
  AND h.game_id = s.game_id AND h.market = s.market AND h.period = s.period
  AND h.version = s.version + 1 AND s.ended_version IS NULL;

-- name: InsertOutageDowns :exec
-- Records providers marked down (one row per provider and down_at). A row
-- made first by a later version (up again) gets the down version's details.
INSERT INTO provider_outages (provider, down_at, down_version, silent_since, decided_by)
SELECT t.provider, t.down_at, t.down_version, t.silent_since, t.decided_by
FROM (SELECT unnest(@providers::text[]) AS provider,
           unnest(@down_ats::timestamptz[]) AS down_at,
           unnest(@down_versions::bigint[]) AS down_version,
           unnest(@silent_sinces::timestamptz[]) AS silent_since,
           unnest(@decided_bys::text[]) AS decided_by) AS t
ORDER BY t.provider, t.down_at
ON CONFLICT (provider, down_at) DO UPDATE SET
    down_version = excluded.down_version,
    silent_since = excluded.silent_since,
    decided_by   = excluded.decided_by
WHERE provider_outages.down_version IS NULL;

-- name: UpsertOutageUps :exec
-- Ends outages: a provider up again after down_at was heard at heard_at
-- (its liveness version's last_heard). The outage ends at the earliest such
-- time seen, whatever order the versions arrive in.
INSERT INTO provider_outages (provider, down_at, up_at)
SELECT t.provider, t.down_at, t.heard_at
FROM (SELECT unnest(@providers::text[]) AS provider,
           unnest(@down_ats::timestamptz[]) AS down_at,
           unnest(@heard_ats::timestamptz[]) AS heard_at) AS t
ORDER BY t.provider, t.down_at
ON CONFLICT (provider, down_at) DO UPDATE SET up_at = excluded.up_at
WHERE provider_outages.up_at IS NULL OR excluded.up_at < provider_outages.up_at;
