-- odds_ticks keeps every version of an odds item: a provider's correction
-- of its price at an instant is stored by the feed store as the item's next
-- version, and the sync inserts it as a row of its own next to the earlier
-- versions. The primary key gains the version. Existing rows are version 1
-- (odds were immutable) and stay as they are.
--
-- On the partitioned table, dropping and adding the parent's primary key
-- drops and rebuilds the key index of every day partition (PostgreSQL
-- propagates a partitioned table's constraint to its partitions, and the
-- partitions made later by reporting.Partitions inherit the new one). The
-- new key only adds a column, so no existing row can violate it. The
-- rebuild holds an ACCESS EXCLUSIVE lock on odds_ticks and reads every
-- partition once; goose runs the file in one transaction, so a failure
-- leaves the old key in place. On a large table run it at a quiet time
-- (the sync waits and retries meanwhile; reports wait).

-- +goose Up
ALTER TABLE odds_ticks DROP CONSTRAINT odds_ticks_pkey;
ALTER TABLE odds_ticks ADD CONSTRAINT odds_ticks_pkey
    PRIMARY KEY (game_id, provider, observed_at, observed_ns, version);

-- +goose Down
-- Back to one row per (game, provider, observation time). Where a key has
-- several versions only the highest is kept and the earlier versions'
-- rows are DELETED (latest_odds already holds the highest version); with
-- one version per key nothing is deleted.
DELETE FROM odds_ticks o
WHERE EXISTS (
    SELECT 1 FROM odds_ticks n
    WHERE n.game_id = o.game_id AND n.provider = o.provider
      AND n.observed_at = o.observed_at AND n.observed_ns = o.observed_ns
      AND n.version > o.version
);
ALTER TABLE odds_ticks DROP CONSTRAINT odds_ticks_pkey;
ALTER TABLE odds_ticks ADD CONSTRAINT odds_ticks_pkey
    PRIMARY KEY (game_id, provider, observed_at, observed_ns);
