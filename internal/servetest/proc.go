package servetest

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// LineLog keeps a process's output lines with the time each arrived.
type LineLog struct {
	mu    sync.Mutex
	lines []Line
}

// Line is one output line and when it arrived.
type Line struct {
	At   time.Time
	Text string
}

func (l *LineLog) consume(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l.mu.Lock()
		l.lines = append(l.lines, Line{time.Now(), sc.Text()})
		l.mu.Unlock()
	}
}

// First returns the first line containing s at or after since.
func (l *LineLog) First(s string, since time.Time) (Line, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, x := range l.lines {
		if !x.At.Before(since) && strings.Contains(x.Text, s) {
			return x, true
		}
	}
	return Line{}, false
}

// Count returns how many lines contain s.
func (l *LineLog) Count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, x := range l.lines {
		if strings.Contains(x.Text, s) {
			n++
		}
	}
	return n
}

// Tail returns the last n lines.
func (l *LineLog) Tail(n int) string { return l.TailWithout(n, "") }

// TailWithout returns the last n lines that do not contain skip ("" skips
// none).
func (l *LineLog) TailWithout(n int, skip string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var keep []string
	for i := len(l.lines) - 1; i >= 0 && len(keep) < n; i-- {
		if skip == "" || !strings.Contains(l.lines[i].Text, skip) {
			keep = append(keep, l.lines[i].Text)
		}
	}
	var b strings.Builder
	for i := len(keep) - 1; i >= 0; i-- {
		b.WriteString(keep[i])
		b.WriteByte('\n')
	}
	return b.String()
}

// Proc is a started process in its own process group, killed (the whole
// group) at cleanup. Its stdout and stderr go to Log.
type Proc struct {
	Cmd  *exec.Cmd
	Log  LineLog
	done chan struct{}
	err  error
}

// StartProc starts name in dir. Unless it has a stdin (a guard that watches
// it), it also gets SIGKILL when the test process dies.
func StartProc(t testing.TB, dir string, stdin io.Reader, name string, args ...string) *Proc {
	t.Helper()
	p := &Proc{done: make(chan struct{})}
	p.Cmd = exec.Command(name, args...)
	p.Cmd.Dir = dir
	p.Cmd.Stdin = stdin
	p.Cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if stdin == nil {
		p.Cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	}
	pr, pw := io.Pipe()
	p.Cmd.Stdout, p.Cmd.Stderr = pw, pw
	if err := p.Cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go p.Log.consume(pr)
	go func() {
		p.err = p.Cmd.Wait()
		_ = pw.Close()
		close(p.done)
	}()
	t.Cleanup(p.Kill)
	return p
}

// Kill sends SIGKILL to the process group and waits for the leader.
func (p *Proc) Kill() {
	_ = syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// Exited reports whether the process has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Err is the process's exit status (nil while it runs).
func (p *Proc) Err() error {
	if !p.Exited() {
		return nil
	}
	return p.err
}

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Last returns the last line containing s at or after since.
func (l *LineLog) Last(s string, since time.Time) (Line, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.lines) - 1; i >= 0; i-- {
		x := l.lines[i]
		if x.At.Before(since) {
			break
		}
		if strings.Contains(x.Text, s) {
			return x, true
		}
	}
	return Line{}, false
}

// Save writes every line kept so far to path, each with its time.
func (l *LineLog) Save(path string) error {
	l.mu.Lock()
	var b strings.Builder
	for _, x := range l.lines {
		b.WriteString(x.At.Format("15:04:05.000 "))
		b.WriteString(x.Text)
		b.WriteByte('\n')
	}
	l.mu.Unlock()
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
