-- odds_ticks_archive: one range partition of odds_ticks for every tick
-- observed before the oldest day kept, [MINVALUE, bound). Odds may be
-- backdated (the feed accepts observations back to 2000); before this, each
-- old day seen made a day partition of its own. Now a tick observed before
-- the bound goes to the archive, and reporting.Partitions makes day
-- partitions only from the bound on. Each maintenance run
-- (reporting.Partitions.DropPartitionsBefore) drops the expired day
-- partitions, moves the bound up to the retention cutoff's day (detach and
-- attach, under an ACCESS EXCLUSIVE lock on odds_ticks held for a moment)
-- and deletes the archived ticks older than the retention. The bound starts
-- at 2000-01-01, below every tick the sync accepts, so Up overlaps no
-- existing day partition and moves no row; the first maintenance run moves
-- it.
--
-- Up creates an empty partition: a catalog change, under an ACCESS
-- EXCLUSIVE lock on odds_ticks for a moment (no scan: odds_ticks has no
-- default partition).

-- +goose Up
CREATE TABLE odds_ticks_archive PARTITION OF odds_ticks
    FOR VALUES FROM (MINVALUE) TO ('2000-01-01 00:00:00+00');

-- +goose Down
-- The archived ticks move back to day partitions (one per day they were
-- observed on, made here as reporting.Partitions makes them); no row is
-- lost. Detaching takes an ACCESS EXCLUSIVE lock on odds_ticks, held until
-- the file's transaction ends; the copy is short: the archive holds only
-- the backdated ticks received since the last maintenance run.
-- +goose StatementBegin
DO $$
DECLARE
    d date;
BEGIN
    ALTER TABLE odds_ticks DETACH PARTITION odds_ticks_archive;
    FOR d IN SELECT DISTINCT (observed_at AT TIME ZONE 'UTC')::date FROM odds_ticks_archive LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF odds_ticks FOR VALUES FROM (%L) TO (%L)',
                       'odds_ticks_p' || to_char(d, 'YYYYMMDD'), d || ' 00:00:00+00', d + 1 || ' 00:00:00+00');
    END LOOP;
    INSERT INTO odds_ticks (game_id, provider, observed_at, observed_ns, away_spread, home_spread,
                            away_odds, home_odds, version, received_at, applied_at)
    SELECT game_id, provider, observed_at, observed_ns, away_spread, home_spread,
           away_odds, home_odds, version, received_at, applied_at
    FROM odds_ticks_archive;
    DROP TABLE odds_ticks_archive;
END
$$;
-- +goose StatementEnd
