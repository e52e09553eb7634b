package store

import "github.com/jmoiron/sqlx"

// withWriterDSN lets tests rewrite the writer DSN (e.g. add mode=ro to
// simulate a read-only database file even as root).
func withWriterDSN(f func(string) string) Option { return func(c *config) { c.writerDSN = f } }

func sqlxRebindDollar(q string) string { return sqlx.Rebind(sqlx.DOLLAR, q) }
