-- Quotes of every market. odds_ticks (and latest_odds) held full-game
-- spreads only; now a row is a quote of one market and period of a game:
-- market ('spread', 'moneyline', 'three_way', 'total'), period ('full',
-- '1h', '2h'), a total's line, and the prices a market has besides home and
-- away (draw_odds of a three-way; over_odds and under_odds of a total).
-- Prices a market does not have are 0 (as in feed.Odds). The defaults make
-- every existing row what it is: a full-game spread quote. The table keeps
-- its name (partitions, maintenance and tools refer to it).
--
-- Up: adding columns with constant defaults is a catalog change on the
-- parent and every partition (no table rewrite, PostgreSQL 11 and later).
-- The primary key gains market and period (a provider may quote a spread
-- and a total of a game at the same instant); as in 00003, dropping and
-- adding the partitioned parent's key rebuilds the key index of every day
-- partition and of the archive, under an ACCESS EXCLUSIVE lock on
-- odds_ticks for the time it takes, reading every partition once (no row
-- can violate the new key: it only adds columns). goose runs the file in
-- one transaction, so a failure leaves everything as it was. On a large
-- table run it at a quiet time (`oddsfeed migrate up` applies 00005 and
-- 00006 together; the goose CLI's `up-by-one` applies this one alone); the
-- sync waits and retries meanwhile, reports wait. latest_odds is small (one
-- row per game, provider, market and period): its key is rebuilt in a
-- moment.
--
-- quote_overround(market, home, away, draw, over, under) is a quote's
-- margin: the sum of its outcomes' implied probabilities, less 1 (as
-- feed.Odds.Overround).

-- +goose Up
ALTER TABLE odds_ticks
    ADD COLUMN market     text             NOT NULL DEFAULT 'spread',
    ADD COLUMN period     text             NOT NULL DEFAULT 'full',
    ADD COLUMN line       double precision NOT NULL DEFAULT 0,
    ADD COLUMN draw_odds  integer          NOT NULL DEFAULT 0,
    ADD COLUMN over_odds  integer          NOT NULL DEFAULT 0,
    ADD COLUMN under_odds integer          NOT NULL DEFAULT 0;
ALTER TABLE odds_ticks DROP CONSTRAINT odds_ticks_pkey;
ALTER TABLE odds_ticks ADD CONSTRAINT odds_ticks_pkey
    PRIMARY KEY (game_id, provider, observed_at, observed_ns, market, period, version);

ALTER TABLE latest_odds
    ADD COLUMN market     text             NOT NULL DEFAULT 'spread',
    ADD COLUMN period     text             NOT NULL DEFAULT 'full',
    ADD COLUMN line       double precision NOT NULL DEFAULT 0,
    ADD COLUMN draw_odds  integer          NOT NULL DEFAULT 0,
    ADD COLUMN over_odds  integer          NOT NULL DEFAULT 0,
    ADD COLUMN under_odds integer          NOT NULL DEFAULT 0;
ALTER TABLE latest_odds DROP CONSTRAINT latest_odds_pkey;
ALTER TABLE latest_odds ADD CONSTRAINT latest_odds_pkey PRIMARY KEY (game_id, provider, market, period);

CREATE FUNCTION quote_overround(market text, home_odds integer, away_odds integer, draw_odds integer,
                                over_odds integer, under_odds integer) RETURNS double precision
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN CASE market
        WHEN 'three_way' THEN implied_probability(home_odds) + implied_probability(draw_odds) + implied_probability(away_odds)
        WHEN 'total' THEN implied_probability(over_odds) + implied_probability(under_odds)
        ELSE implied_probability(home_odds) + implied_probability(away_odds)
    END - 1;

-- +goose Down
-- Back to spreads only: the quotes of other markets and periods are
-- DELETED (they have no place in the old schema); the spreads stay as they
-- are. The old key is rebuilt on every partition as in Up (same lock).
DROP FUNCTION quote_overround(text, integer, integer, integer, integer, integer);
DELETE FROM latest_odds WHERE market <> 'spread' OR period <> 'full';
ALTER TABLE latest_odds DROP CONSTRAINT latest_odds_pkey;
ALTER TABLE latest_odds
    DROP COLUMN market, DROP COLUMN period, DROP COLUMN line,
    DROP COLUMN draw_odds, DROP COLUMN over_odds, DROP COLUMN under_odds;
ALTER TABLE latest_odds ADD CONSTRAINT latest_odds_pkey PRIMARY KEY (game_id, provider);

DELETE FROM odds_ticks WHERE market <> 'spread' OR period <> 'full';
ALTER TABLE odds_ticks DROP CONSTRAINT odds_ticks_pkey;
ALTER TABLE odds_ticks
    DROP COLUMN market, DROP COLUMN period, DROP COLUMN line,
    DROP COLUMN draw_odds, DROP COLUMN over_odds, DROP COLUMN under_odds;
ALTER TABLE odds_ticks ADD CONSTRAINT odds_ticks_pkey
    PRIMARY KEY (game_id, provider, observed_at, observed_ns, version);
