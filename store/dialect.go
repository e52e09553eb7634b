package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"
)

// dialect is the SQL database behind the store. The queries are written
// once with ? placeholders and rebound for PostgreSQL ($1, $2, ...); the
// few statements that differ are chosen by the dialect's methods.
type dialect int

const (
	sqliteDialect dialect = iota
	postgresDialect
)

func (d dialect) String() string {
	if d == postgresDialect {
		return DriverPostgres
	}
	return DriverSQLite
}

// greatest is the SQL of the larger of two values.
func (d dialect) greatest(a, b string) string {
	if d == postgresDialect {
		return "GREATEST(" + a + ", " + b + ")"
	}
	return "MAX(" + a + ", " + b + ")"
}

// mergeJSON is the SQL merging the JSON object texts a and b key by key
// (b wins).
func (d dialect) mergeJSON(a, b string) string {
	if d == postgresDialect {
		return "(" + a + "::jsonb || " + b + "::jsonb)::text"
	}
	return "json_patch(" + a + ", " + b + ")"
}

// forUpdate locks the rows a read-modify-write selects. SQLite's
// BEGIN IMMEDIATE already holds the database's write lock; PostgreSQL
// takes row locks, so two nodes' writers serialize on the row.
func (d dialect) forUpdate() string {
	if d == postgresDialect {
		return " FOR UPDATE"
	}
	return ""
}

// where names the database in errors without a PostgreSQL password.
func (s *Store) where() string {
	if s.dialect != postgresDialect {
		return s.path
	}
	return redactDSN(s.path)
}

func redactDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		return u.Redacted()
	}
	// key=value form: drop the password.
	f := strings.Fields(dsn)
	for i, kv := range f {
		if strings.HasPrefix(kv, "password=") {
			f[i] = "password=xxxxx"
		}
	}
	return strings.Join(f, " ")
}

// openPostgres opens a pgx pool through database/sql. A read-only pool's
// sessions refuse writes (default_transaction_read_only).
func openPostgres(dsn string, readOnly bool) (*sqlx.DB, error) {
	cc, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	if cc.RuntimeParams == nil {
		cc.RuntimeParams = map[string]string{}
	}
	cc.RuntimeParams["application_name"] = "onecall"
	// Timestamps are integers; keep the session's zone out of any text.
	cc.RuntimeParams["timezone"] = "UTC"
	if readOnly {
		cc.RuntimeParams["default_transaction_read_only"] = "on"
	}
	return sqlx.NewDb(stdlib.OpenDB(*cc), "pgx"), nil
}

// pgFault classifies a PostgreSQL error: ok is false when err is not one.
// Refusals of one record are integrity (23), data (22) and syntax or
// access (42) errors and exceptions raised by triggers (P0); everything
// else (connection, resources, serialization and deadlocks, shutdown) is a
// storage fault the writer retries.
func pgFault(err error) (fault, ok bool) {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false, false
	}
	switch {
	case strings.HasPrefix(pe.Code, "23"), strings.HasPrefix(pe.Code, "22"),
		strings.HasPrefix(pe.Code, "42"), strings.HasPrefix(pe.Code, "P0"):
		return false, true
	}
	return true, true
}

// pgConflict reports whether err is PostgreSQL's deadlock (40P01) or
// serialization failure (40001): the server rolled the transaction back
// because another one (another node's writer) locked the same rows in
// another order, and running it again succeeds.
func pgConflict(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

// readDB is the read pool; its methods rebind ? placeholders for the
// dialect (a no-op for SQLite).
type readDB struct{ *sqlx.DB }

func (d readDB) GetContext(ctx context.Context, dest any, q string, args ...any) error {
	return d.DB.GetContext(ctx, dest, d.Rebind(q), args...)
}

func (d readDB) SelectContext(ctx context.Context, dest any, q string, args ...any) error {
	return d.DB.SelectContext(ctx, dest, d.Rebind(q), args...)
}

func (d readDB) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return d.DB.QueryContext(ctx, d.Rebind(q), args...)
}

// batchTx is the writer's transaction; its methods rebind like readDB's
// and first send the statements queued for the PostgreSQL pipeline
// (before), so statements run in the order the records wrote them.
type batchTx struct {
	*sqlx.Tx
	before func() error
}

func (t batchTx) Get(dest any, q string, args ...any) error {
	if err := t.before(); err != nil {
		return err
	}
	return t.Tx.Get(dest, t.Rebind(q), args...)
}

func (t batchTx) Select(dest any, q string, args ...any) error {
	if err := t.before(); err != nil {
		return err
	}
	return t.Tx.Select(dest, t.Rebind(q), args...)
}

func (t batchTx) Exec(q string, args ...any) (sql.Result, error) {
	if err := t.before(); err != nil {
		return nil, err
	}
	return t.Tx.Exec(t.Rebind(q), args...)
}

// sendPipeline runs the queued statements of b on the PostgreSQL
// connection under conn in one round trip (a pgx batch: the statements are
// sent together and executed in order inside the open transaction).
func sendPipeline(conn *sqlx.Conn, b *pgx.Batch) error {
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("store: pipeline on a %T connection", dc)
		}
		br := c.Conn().SendBatch(context.Background(), b)
		for range b.Len() {
			if _, err := br.Exec(); err != nil {
				_ = br.Close() // the statement's error is the one to report
				return err
			}
		}
		return br.Close()
	})
}
