-- Reporting schema: games, odds ticks (partitioned by day), latest odds per
-- game and provider. Rows keep the item's version (upserts only go forward)
-- and ingest timestamps for freshness reports.

-- +goose Up
CREATE TABLE games (
    game_id    text        PRIMARY KEY,
    sport      text        NOT NULL,
    summary    text        NOT NULL DEFAULT '',
    venue      text        NOT NULL DEFAULT '',
    game_date  timestamptz NOT NULL,
    status     text        NOT NULL,
    home_team  text        NOT NULL DEFAULT '',
    away_team  text        NOT NULL DEFAULT '',
    -- version of the item in the feed store; an upsert only applies a newer one.
    version    bigint      NOT NULL,
    -- updated_at is the store's write time of this version (its ingest time).
    updated_at timestamptz NOT NULL,
    -- deleted_at is set when a user (not the TTL service) removed the game.
    deleted_at timestamptz,
    applied_at timestamptz NOT NULL DEFAULT now()
);

-- odds_ticks holds every odds item once. Partitions by UTC day are created
-- ahead of time and on demand (odds_ticks_pYYYYMMDD); there is deliberately
-- no default partition, so a missing day fails loudly instead of filling an
-- unbounded catch-all.
CREATE TABLE odds_ticks (
    game_id     text             NOT NULL,
    provider    text             NOT NULL,
    -- observed_at (microseconds) plus observed_ns, the nanoseconds past its
    -- microsecond, is the provider's observation time exactly as stored.
    observed_at timestamptz      NOT NULL,
    observed_ns smallint         NOT NULL DEFAULT 0 CHECK (observed_ns BETWEEN 0 AND 999),
    away_spread double precision NOT NULL,
    home_spread double precision NOT NULL,
    away_odds   integer          NOT NULL,
    home_odds   integer          NOT NULL,
    version     bigint           NOT NULL,
    received_at timestamptz      NOT NULL,
    applied_at  timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (game_id, provider, observed_at, observed_ns)
) PARTITION BY RANGE (observed_at);

-- Ticks arrive roughly in time order: a BRIN index serves time-window
-- reports (movers, provider volume) at almost no insert cost.
CREATE INDEX odds_ticks_observed_at_brin ON odds_ticks USING brin (observed_at);

CREATE TABLE latest_odds (
    game_id     text             NOT NULL,
    provider    text             NOT NULL,
    observed_at timestamptz      NOT NULL,
    observed_ns smallint         NOT NULL DEFAULT 0,
    away_spread double precision NOT NULL,
    home_spread double precision NOT NULL,
    away_odds   integer          NOT NULL,
    home_odds   integer          NOT NULL,
    version     bigint           NOT NULL,
    received_at timestamptz      NOT NULL,
    applied_at  timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (game_id, provider)
) WITH (fillfactor = 70); -- room for HOT updates: every tick rewrites its row

-- implied_probability converts a price in American format to the implied
-- probability of the side winning (the book's margin included).
CREATE FUNCTION implied_probability(american integer) RETURNS double precision
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN CASE
        WHEN american >= 100 THEN 100.0 / (american + 100)
        WHEN american <= -100 THEN (-american)::double precision / (-american + 100)
    END;

-- +goose Down
DROP FUNCTION implied_probability(integer);
DROP TABLE latest_odds;
DROP TABLE odds_ticks;
DROP TABLE games;
