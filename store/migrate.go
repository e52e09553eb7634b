package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

//go:embed migrations/*.sql migrations/postgres/*.sql
var migrationFS embed.FS

// migrationDir holds a dialect's migrations: SQLite's in migrations/,
// PostgreSQL's in migrations/postgres/, with the same numbers and names.
func migrationDir(d dialect) string {
	if d == postgresDialect {
		return "migrations/postgres"
	}
	return "migrations"
}

// migrationLock is the PostgreSQL advisory lock held while migrating, so
// nodes starting together migrate one after the other.
const migrationLock = 0x6f6e6563616c6c // "onecall"

type migration struct {
	version int
	name    string
	sql     string
}

// migrations lists the embedded migrations of a dialect in order. File
// names are NNNN_name.sql; versions must be 1, 2, 3, ... without gaps.
func migrations(d dialect) ([]migration, error) {
	dir := migrationDir(d)
	ents, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("store: bad migration file name %q", e.Name())
		}
		b, err := migrationFS.ReadFile(dir + "/" + e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("store: migrations not contiguous at %s", m.name)
		}
	}
	return ms, nil
}

// SchemaVersion is the newest schema version this binary knows (the same
// for both dialects; a test keeps their migrations in step).
func SchemaVersion() int {
	ms, err := migrations(sqliteDialect)
	if err != nil {
		return 0
	}
	return len(ms)
}

// migrate brings the database to the newest known version, one
// transaction per migration, and refuses a newer database.
func migrate(ctx context.Context, w *sqlx.DB, d dialect, now time.Time) (err error) {
	ms, err := migrations(d)
	if err != nil {
		return err
	}
	if d == postgresDialect {
		// w has one connection, so the session lock covers every step.
		if _, err := w.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, int64(migrationLock)); err != nil {
			return fmt.Errorf("store: lock schema: %w", err)
		}
		defer func() {
			// The writer keeps this session: a lock left held would stop
			// every other node's start, so a failed unlock fails Open.
			if _, uerr := w.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(migrationLock)); uerr != nil && err == nil {
				err = fmt.Errorf("store: unlock schema: %w", uerr)
			}
		}()
	}
	var n int
	exists := `SELECT count(*) FROM sqlite_master WHERE type='table' AND name='schema_version'`
	if d == postgresDialect {
		exists = `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'schema_version'`
	}
	if err := w.GetContext(ctx, &n, exists); err != nil {
		return fmt.Errorf("store: read schema: %w", err)
	}
	if n == 0 {
		msType := "INTEGER" // Unix ms: SQLite's INTEGER is 64-bit, PostgreSQL's is not
		if d == postgresDialect {
			msType = "BIGINT"
		}
		if _, err := w.ExecContext(ctx, `CREATE TABLE schema_version (
			version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at `+msType+` NOT NULL)`); err != nil {
			return fmt.Errorf("store: create schema_version: %w", err)
		}
	}
	var cur int
	if err := w.GetContext(ctx, &cur, `SELECT coalesce(max(version), 0) FROM schema_version`); err != nil {
		return fmt.Errorf("store: read schema version: %w", err)
	}
	if cur > len(ms) {
		return fmt.Errorf("%w: database is at version %d, this binary knows up to %d; upgrade onecall (or restore a backup) instead of downgrading",
			ErrSchemaTooNew, cur, len(ms))
	}
	for _, m := range ms[cur:] {
		tx, err := w.BeginTxx(ctx, nil)
		if err != nil {
			return fmt.Errorf("store: migrate %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			tx.Rollback()
			return fmt.Errorf("store: migrate %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)`),
			m.version, m.name, now.UnixMilli()); err != nil {
			tx.Rollback()
			return fmt.Errorf("store: migrate %s: %w", m.name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("store: migrate %s: %w", m.name, err)
		}
	}
	return nil
}
