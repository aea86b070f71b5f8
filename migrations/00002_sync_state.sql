-- Pipeline state: checkpoints of the change-stream sync (one row per
-- consumer and source/shard), dead letters, backfill progress.

-- +goose Up
CREATE TABLE sync_checkpoints (
    consumer        text        NOT NULL,
    source          text        NOT NULL,
    -- position of the last applied record: a Kinesis sequence number or the
    -- embedded log's seq, compared as numbers (NULL: nothing applied yet).
    position        numeric,
    millis_behind   bigint      NOT NULL DEFAULT 0,
    applied_changes bigint      NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, source)
);

CREATE TABLE dead_letters (
    id          bigserial   PRIMARY KEY,
    consumer    text        NOT NULL,
    source      text        NOT NULL,
    position    numeric     NOT NULL,
    -- kind says what raw holds: 'change' the JSON of a decoded feed.Change,
    -- 'record' the undecodable stream record's bytes as received.
    kind        text        NOT NULL CHECK (kind IN ('change', 'record')),
    raw         bytea       NOT NULL,
    error       text        NOT NULL,
    attempts    integer     NOT NULL DEFAULT 1,
    first_seen  timestamptz NOT NULL DEFAULT now(),
    last_seen   timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz,
    UNIQUE (consumer, source, position)
);

CREATE INDEX dead_letters_unresolved ON dead_letters (id) WHERE resolved_at IS NULL;

CREATE TABLE backfill_progress (
    run            text        NOT NULL,
    segment        integer     NOT NULL,
    total_segments integer     NOT NULL,
    -- cursor to resume the segment's scan after ('' at the start).
    cursor         text        NOT NULL DEFAULT '',
    items          bigint      NOT NULL DEFAULT 0,
    done           boolean     NOT NULL DEFAULT false,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run, segment, total_segments)
);

-- +goose Down
DROP TABLE backfill_progress;
DROP TABLE dead_letters;
DROP TABLE sync_checkpoints;
