-- name: InsertDeadLetter :exec
INSERT INTO dead_letters (consumer, source, position, kind, raw, error)
VALUES (@consumer, @source, (@position::text)::numeric, @kind, @raw, @error)
ON CONFLICT (consumer, source, position) DO UPDATE SET
    raw       = excluded.raw,
    error     = excluded.error,
    attempts  = dead_letters.attempts + 1,
    last_seen = now();

-- name: ListUnresolvedDeadLetters :many
SELECT id, consumer, source, position::text AS position, kind, raw, error, attempts, first_seen, last_seen
FROM dead_letters
WHERE resolved_at IS NULL AND id > @after_id
ORDER BY id
LIMIT @max_rows;

-- name: ListDeadLetters :many
SELECT id, consumer, source, position::text AS position, kind, error, attempts, first_seen, last_seen, resolved_at
FROM dead_letters
ORDER BY id DESC
LIMIT @max_rows;

-- name: ResolveDeadLetter :exec
UPDATE dead_letters
SET resolved_at = now(), attempts = attempts + 1, last_seen = now()
WHERE id = @id;

-- name: FailDeadLetter :exec
UPDATE dead_letters
SET error = @error, attempts = attempts + 1, last_seen = now()
WHERE id = @id;
