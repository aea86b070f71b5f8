package reporting

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/oddsfeed/oddsfeed/internal/reporting/db"
)

// pipe is a db.DBTX on one connection that pipelines: Exec only queues the
// statement; the queue goes to the server in one round trip with the next
// QueryRow or Flush. The sync's transaction thus costs two round trips
// (BEGIN + claim, then writes + checkpoint + COMMIT) whatever the number of
// statements. An Exec's error surfaces at the flush that sends it.
type pipe struct {
	conn  *pgx.Conn
	batch *pgx.Batch
}

var _ db.DBTX = (*pipe)(nil)

var errPipeQuery = errors.New("pipe: Query is not pipelined; use QueryRow")

func newPipe(conn *pgx.Conn) *pipe { return &pipe{conn: conn, batch: &pgx.Batch{}} }

// Exec queues a statement.
func (p *pipe) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	p.batch.Queue(sql, args...)
	return pgconn.CommandTag{}, nil
}

// Query is not supported (no sync query returns many rows).
func (p *pipe) Query(context.Context, string, ...any) (pgx.Rows, error) { return nil, errPipeQuery }

// QueryRow sends the queue and the query; the row is the query's.
func (p *pipe) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	p.batch.Queue(sql, args...)
	b := p.take()
	br := p.conn.SendBatch(ctx, b)
	for range b.Len() - 1 {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return errRow{err}
		}
	}
	return pipeRow{br}
}

// Flush sends the queue, returning the first error.
func (p *pipe) Flush(ctx context.Context) error {
	b := p.take()
	if b.Len() == 0 {
		return nil
	}
	br := p.conn.SendBatch(ctx, b)
	for range b.Len() {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return err
		}
	}
	return br.Close()
}

func (p *pipe) take() *pgx.Batch {
	b := p.batch
	p.batch = &pgx.Batch{}
	return b
}

type pipeRow struct{ br pgx.BatchResults }

func (r pipeRow) Scan(dest ...any) error {
	err := r.br.QueryRow().Scan(dest...)
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	return err
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
