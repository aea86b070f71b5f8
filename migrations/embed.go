// Package migrations holds the goose migrations of the Postgres reporting
// schema, embedded in the binary. The same files work with the goose CLI:
//
//	goose -dir migrations postgres "$DATABASE_URL" up
package migrations

import "embed"

// FS holds the migration files (*.sql).
//
//go:embed *.sql
var FS embed.FS
