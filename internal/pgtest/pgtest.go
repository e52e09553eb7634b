// Package pgtest starts a real PostgreSQL server for tests: Debian's
// binaries (/usr/lib/postgresql/*/bin), initdb in a temporary directory, a
// free loopback port, the unix socket in the same directory, fsync off. A
// test package shares one server (Shared, stopped by Main) and gives each
// test a fresh database (Database).
//
// Running as root (CI does), initdb and postgres refuse to start; they are
// run as the unprivileged user "nobody" through the child process
// credentials, and die with the test binary (parent-death signal) if it is
// killed before Main stops them.
//
// Missing binaries fail the test with a message naming the package to
// install (.ci/install-deps installs it); nothing is skipped.
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// Server is one running PostgreSQL.
type Server struct {
	dir  string // temporary directory: data/, sock/, log
	port int
	cmd  *exec.Cmd
	exit chan struct{} // closed when the server process has exited
	werr error         // its exit status, read after exit is closed
	n    atomic.Int64  // databases created

	adminOnce sync.Once
	admin     *sql.DB
	adminErr  error
}

// binDir finds the newest installed PostgreSQL's bin directory.
func binDir() (string, error) {
	ms, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(ms) == 0 {
		return "", errors.New("pgtest: PostgreSQL not installed (no /usr/lib/postgresql/*/bin/initdb); " +
			"install Debian's postgresql package (.ci/install-deps does)")
	}
	sort.Slice(ms, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(ms[i]))))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(ms[j]))))
		return vi < vj
	})
	return filepath.Dir(ms[len(ms)-1]), nil
}

// runAs returns the credentials to run PostgreSQL with: nil when not root,
// else the user "nobody" (PostgreSQL refuses to run as root).
func runAs() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		return nil, fmt.Errorf("pgtest: running as root needs the user nobody to run PostgreSQL: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

func command(cred *syscall.Credential, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL, Setpgid: true}
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8", "LANG=C.UTF-8", "TZ=UTC")
	return cmd
}

// Option changes how Start runs the server.
type Option func(*options)

type options struct{ durable bool }

// Durable keeps fsync and synchronous_commit on (the defaults of a real
// server), for benchmarks; tests run without them for speed.
func Durable() Option { return func(o *options) { o.durable = true } }

// Start runs initdb in a new temporary directory and starts the server on a
// free loopback port. Stop it with Stop.
func Start(opts ...Option) (*Server, error) {
	var o options
	for _, f := range opts {
		f(&o)
	}
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	cred, err := runAs()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "onecall-pg-")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(dir)
		}
	}()
	// The temporary directory must be reachable by the server's user.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	if cred != nil {
		for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
			if fi, err := os.Stat(p); err != nil || fi.Mode().Perm()&0o001 == 0 {
				return nil, fmt.Errorf("pgtest: %s is not searchable by the user nobody, which runs PostgreSQL under root; "+
					"set TMPDIR to a directory it can reach (e.g. /tmp)", p)
			}
			if p == filepath.Dir(p) {
				break
			}
		}
	}
	for _, sub := range []string{"data", "sock"} {
		p := filepath.Join(dir, sub)
		if err := os.Mkdir(p, 0o700); err != nil {
			return nil, err
		}
		if cred != nil {
			if err := os.Chown(p, int(cred.Uid), int(cred.Gid)); err != nil {
				return nil, err
			}
		}
	}
	initdb := command(cred, filepath.Join(bin, "initdb"), "-D", filepath.Join(dir, "data"), "-U", "postgres",
		"--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions")
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("pgtest: initdb: %w\n%s", err, out)
	}
	// Another process may take the port between our probe and the
	// server's bind: try a few.
	var lastErr error
	for range 5 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		if lastErr = s.start(bin, cred, port, o); lastErr == nil {
			ok = true
			return s, nil
		}
	}
	return nil, lastErr
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) start(bin string, cred *syscall.Credential, port int, o options) error {
	logPath := filepath.Join(s.dir, "postgres.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logf.Close()
	args := []string{"-D", filepath.Join(s.dir, "data"),
		"-p", strconv.Itoa(port), "-k", filepath.Join(s.dir, "sock"),
		"-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200", "-c", "shared_buffers=32MB",
		"-c", "log_min_messages=warning"}
	if !o.durable {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	cmd := command(cred, filepath.Join(bin, "postgres"), args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pgtest: start postgres: %w", err)
	}
	exit := make(chan struct{})
	s.port, s.cmd, s.exit = port, cmd, exit
	go func() {
		s.werr = cmd.Wait()
		close(exit)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-exit:
			b, _ := os.ReadFile(logPath)
			return fmt.Errorf("pgtest: postgres exited: %v\n%s", s.werr, b)
		default:
		}
		if err := s.ping(); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			_ = s.Stop()
			return fmt.Errorf("pgtest: postgres not ready after 30s: %w", err)
		}
		<-time.After(20 * time.Millisecond)
	}
}

func (s *Server) ping() error {
	db, err := sql.Open("pgx", s.DSN("postgres"))
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return db.PingContext(ctx)
}

// DSN is the connection string of database db over loopback TCP.
func (s *Server) DSN(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// Port is the server's TCP port on 127.0.0.1.
func (s *Server) Port() int { return s.port }

// Stop shuts the server down (fast shutdown, then SIGKILL after 10s) and
// removes its directory.
func (s *Server) Stop() error {
	if s.admin != nil {
		s.admin.Close()
	}
	if s.cmd != nil && s.cmd.Process != nil {
		// SIGINT: fast shutdown (sessions are ended, no checkpoint wait).
		_ = s.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-s.exit: // an exit status after a signal is expected
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.exit
		}
	}
	return os.RemoveAll(s.dir)
}

func (s *Server) adminDB() (*sql.DB, error) {
	s.adminOnce.Do(func() {
		s.admin, s.adminErr = sql.Open("pgx", s.DSN("postgres"))
		if s.adminErr == nil {
			s.admin.SetMaxOpenConns(2)
		}
	})
	return s.admin, s.adminErr
}

// Database creates a fresh, empty database for t (dropped at its end) and
// returns its DSN.
func (s *Server) Database(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t%d_%s", s.n.Add(1), sanitize(t.Name()))
	admin, err := s.adminDB()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	if _, err := admin.Exec(`CREATE DATABASE "` + name + `" STRATEGY FILE_COPY`); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(`DROP DATABASE IF EXISTS "` + name + `" WITH (FORCE)`); err != nil {
			t.Logf("pgtest: drop database %s: %v", name, err)
		}
	})
	return s.DSN(name)
}

func sanitize(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 40 {
			break
		}
	}
	return b.String()
}

var shared struct {
	once sync.Once
	mu   sync.Mutex
	srv  *Server
	err  error
}

// Shared returns the package's one server, starting it on first use; a
// failure to start fails t. Main stops it.
func Shared(t testing.TB) *Server {
	t.Helper()
	shared.once.Do(func() {
		srv, err := Start()
		shared.mu.Lock()
		shared.srv, shared.err = srv, err
		shared.mu.Unlock()
	})
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.err != nil {
		t.Fatalf("%v", shared.err)
	}
	return shared.srv
}

// Main runs the tests and stops the shared server if one was started; use
// it from TestMain: os.Exit(pgtest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	shared.mu.Lock()
	srv := shared.srv
	shared.mu.Unlock()
	if srv != nil {
		if err := srv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest: stop:", err)
		}
	}
	return code
}
