-- Market status, settlements and provider outages, from the feed store's
-- TYPE=MARKET and TYPE=PROVIDER items (feed.MarketStatus,
-- feed.ProviderStatus). New tables only: Up and Down lock nothing that
-- exists (no scan, no rewrite).
--
-- markets: the current status of each market (game, market, period), moved
-- forward by the item's version; a user's REMOVE marks it deleted.
-- market_status_history: one row per applied status version, idempotent by
-- (game_id, market, period, version): the suspension intervals are read
-- from it (a version's interval lasts until the next version's at).
-- settlements: one row per version that settled or cancelled a market,
-- with its results per outcome (jsonb {"home":"win","away":"lose"}); the
-- next version ends it: a rollback (ended_by 'rollback') or a settled
-- market's cancellation ('cancel'). A settlement stands while it is its
-- market's current version.
-- provider_outages: one row per time a provider was marked down (down_at,
-- from its liveness item), with up_at, when it was next heard (the
-- earliest last_heard of its liveness versions after that down_at), and
-- the duration (up_at - down_at; NULL while it is down).

-- +goose Up
CREATE TABLE markets (
    game_id    text        NOT NULL,
    market     text        NOT NULL,
    period     text        NOT NULL,
    status     text        NOT NULL,
    reason     text        NOT NULL DEFAULT '',
    note       text        NOT NULL DEFAULT '',
    results    jsonb       NOT NULL DEFAULT '{}',
    -- prev: the state before a settlement or cancellation (a rollback's target).
    prev       text        NOT NULL DEFAULT '',
    changed_by text        NOT NULL DEFAULT '',
    by_trader  boolean     NOT NULL DEFAULT false,
    -- at: when the change was made, by its sender's clock.
    at         timestamptz NOT NULL,
    version    bigint      NOT NULL,
    -- updated_at: the store's write time of this version.
    updated_at timestamptz NOT NULL,
    deleted_at timestamptz,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (game_id, market, period)
);

CREATE TABLE market_status_history (
    game_id    text        NOT NULL,
    market     text        NOT NULL,
    period     text        NOT NULL,
    version    bigint      NOT NULL,
    status     text        NOT NULL,
    reason     text        NOT NULL DEFAULT '',
    note       text        NOT NULL DEFAULT '',
    results    jsonb       NOT NULL DEFAULT '{}',
    prev       text        NOT NULL DEFAULT '',
    changed_by text        NOT NULL DEFAULT '',
    by_trader  boolean     NOT NULL DEFAULT false,
    at         timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (game_id, market, period, version)
);

-- The suspension report reads the history of a time range.
CREATE INDEX market_status_history_at ON market_status_history (at);

CREATE TABLE settlements (
    game_id       text        NOT NULL,
    market        text        NOT NULL,
    period        text        NOT NULL,
    -- version: the market status version that settled or cancelled it.
    version       bigint      NOT NULL,
    kind          text        NOT NULL CHECK (kind IN ('settled', 'cancelled')),
    results       jsonb       NOT NULL DEFAULT '{}',
    changed_by    text        NOT NULL DEFAULT '',
    by_trader     boolean     NOT NULL DEFAULT false,
    at            timestamptz NOT NULL,
    -- The next version, which ended it (NULL while none is known).
    ended_version bigint,
    ended_at      timestamptz,
    ended_by      text        CHECK (ended_by IN ('rollback', 'cancel')),
    applied_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (game_id, market, period, version)
);

CREATE INDEX settlements_at ON settlements (at);

CREATE TABLE provider_outages (
    provider     text        NOT NULL,
    down_at      timestamptz NOT NULL,
    -- The liveness version that marked it down, the last time it had been
    -- heard then, and the replica that decided (NULL/'' when only a later
    -- version was seen: a backfill of a provider up again).
    down_version bigint,
    silent_since timestamptz,
    decided_by   text        NOT NULL DEFAULT '',
    up_at        timestamptz,
    duration     interval    GENERATED ALWAYS AS (up_at - down_at) STORED,
    applied_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, down_at)
);

CREATE INDEX provider_outages_down_at ON provider_outages (down_at);

-- +goose Down
DROP TABLE provider_outages;
DROP TABLE settlements;
DROP TABLE market_status_history;
DROP TABLE markets;
