package store

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	crashChildEnv = "ONECALL_STORE_CRASH_CHILD"
	crashWriters  = 4
)

// crashChild runs in a re-executed test binary: crashWriters goroutines
// write chat messages through Durable, each on its own contact, and print
// "contact seq" for every acknowledged message until killed.
func crashChild(path string) {
	ctx := context.Background()
	s, err := Open(ctx, path, WithBatch(64, time.Millisecond))
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(2)
	}
	var out sync.Mutex
	var wg sync.WaitGroup
	for w := 1; w <= crashWriters; w++ {
		wg.Add(1)
		go func(contact uint64) {
			defer wg.Done()
			last, err := s.LastChatSeq(ctx, contact)
			if err != nil {
				fmt.Fprintln(os.Stderr, "last seq:", err)
				os.Exit(2)
			}
			for seq := last + 1; ; seq++ {
				err := s.Durable(ctx, ChatMessage{Contact: contact, Seq: seq, SenderKind: SenderCitizen,
					SenderID: "web:crash", Text: strings.Repeat("가", int(seq%50)), Sent: time.Now()})
				if err != nil {
					fmt.Fprintln(os.Stderr, "durable:", err)
					os.Exit(2)
				}
				out.Lock()
				fmt.Fprintf(os.Stdout, "%d %d\n", contact, seq) // os.Stdout is unbuffered
				out.Unlock()
			}
		}(uint64(w))
	}
	wg.Wait()
}

// TestCrashKeepsAcknowledgedMessages kills a writer process with SIGKILL
// at random moments; after every kill each acknowledged message must be in
// the database and the database must pass integrity_check.
func TestCrashKeepsAcknowledgedMessages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crash.db")
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	acked := map[uint64]int64{}
	deadline := time.Now().Add(60 * time.Second)
	const rounds = 20
	done := 0
	for round := 0; round < rounds && time.Now().Before(deadline); round++ {
		killAfter := 1 + rng.IntN(300)
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		must(t, err)
		must(t, cmd.Start())
		// A watchdog bounds a round even if the child hangs.
		watchdog := time.AfterFunc(20*time.Second, func() { cmd.Process.Kill() })
		sc := bufio.NewScanner(stdout)
		n := 0
		for sc.Scan() {
			var c uint64
			var seq int64
			if _, err := fmt.Sscan(sc.Text(), &c, &seq); err != nil {
				t.Fatalf("child output %q: %v", sc.Text(), err)
			}
			if seq > acked[c] {
				acked[c] = seq
			}
			n++
			if n == killAfter {
				cmd.Process.Signal(syscall.SIGKILL)
			}
		}
		watchdog.Stop()
		werr := cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: child did not die by SIGKILL: %v; stderr: %s", round, werr, stderr.String())
		}
		if n < killAfter {
			t.Fatalf("round %d: child acknowledged only %d of %d before dying; stderr: %s", round, n, killAfter, stderr.String())
		}
		verifyAcked(t, path, acked)
		done++
	}
	if done < 5 {
		t.Fatalf("only %d crash rounds within the time bound", done)
	}
	t.Logf("%d rounds, acknowledged per contact: %v", done, acked)
}

func verifyAcked(t *testing.T, path string, acked map[uint64]int64) {
	t.Helper()
	// Open read-write like a restarting onecall would (this also recovers
	// the WAL), then check integrity and every acknowledged seq.
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("reopen after crash: %v", err)
	}
	defer s.Close()
	integrityOK(t, path)
	for c, max := range acked {
		msgs, err := s.ChatMessages(context.Background(), c, 0)
		must(t, err)
		have := make(map[int64]bool, len(msgs))
		for _, m := range msgs {
			have[m.Seq] = true
		}
		for seq := int64(1); seq <= max; seq++ {
			if !have[seq] {
				t.Fatalf("contact %d: acknowledged seq %d lost (max acked %d, stored %d)", c, seq, max, len(msgs))
			}
		}
	}
	_ = strconv.Itoa
}
