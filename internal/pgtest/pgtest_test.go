package pgtest

import (
	"database/sql"
	"os"
	"testing"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// Each test gets its own empty database on the shared server.
func TestDatabasesAreSeparate(t *testing.T) {
	srv := Shared(t)
	a, err := sql.Open("pgx", srv.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := sql.Open("pgx", srv.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := a.Exec(`CREATE TABLE x (v BIGINT); INSERT INTO x VALUES (42)`); err != nil {
		t.Fatal(err)
	}
	var v int64
	if err := a.QueryRow(`SELECT v FROM x`).Scan(&v); err != nil || v != 42 {
		t.Fatalf("v = %d, %v", v, err)
	}
	var n int
	if err := b.QueryRow(`SELECT count(*) FROM information_schema.tables WHERE table_name = 'x'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("second database sees %d tables named x (err %v)", n, err)
	}
	var fsync string
	if err := a.QueryRow(`SHOW fsync`).Scan(&fsync); err != nil || fsync != "off" {
		t.Fatalf("fsync = %q, %v", fsync, err)
	}
}

// Stop ends the server and removes its directory.
func TestStartStop(t *testing.T) {
	srv, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	dir := srv.dir
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("directory %s still there: %v", dir, err)
	}
	if err := srv.ping(); err == nil {
		t.Fatal("server still answers after Stop")
	}
}
