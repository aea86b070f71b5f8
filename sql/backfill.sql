-- name: ListBackfillProgress :many
SELECT segment, cursor, items, done
FROM backfill_progress
WHERE run = @run AND total_segments = @total_segments
ORDER BY segment;

-- name: SaveBackfillProgress :exec
INSERT INTO backfill_progress (run, segment, total_segments, cursor, items, done)
VALUES (@run, @segment, @total_segments, @cursor, @items, @done)
ON CONFLICT (run, segment, total_segments) DO UPDATE SET
    cursor     = excluded.cursor,
    items      = excluded.items,
    done       = excluded.done,
    updated_at = now();

-- name: ResetBackfillProgress :exec
DELETE FROM backfill_progress WHERE run = @run;
