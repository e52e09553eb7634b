package sip

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/emiago/diago/audio"
)

// frameOf is one G.711 u-law frame of value v.
func frameOf(v byte) []byte {
	p := make([]byte, recordFrame)
	for i := range p {
		p[i] = v
	}
	return p
}

func pcmOf(t *testing.T, v byte) int16 {
	t.Helper()
	out := make([]byte, 2)
	if _, err := audio.DecodeUlawTo(out, []byte{v}); err != nil {
		t.Fatal(err)
	}
	return int16(binary.LittleEndian.Uint16(out))
}

// The recorder writes a stereo WAV: left what the citizen sent, right what
// it heard, one frame per tick after one frame of cushion, silence where a
// direction has nothing, frames owed for ticks the clock missed made up, a
// 0600 file in 0700 directories named by contact, and the header's sizes
// set at the end.
func TestRecorderWritesStereoOnTheClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "rec")
		k := newMediaClock(1, 20*time.Millisecond) // not run: the test ticks
		var st recordStats
		now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
		r, err := startRecorder(k, &st, dir, 42, "pcmu", now)
		if err != nil {
			t.Fatal(err)
		}
		want := filepath.Join(dir, "2026-12-06", "42.wav")
		if r.path != want {
			t.Fatalf("path %s, want %s", r.path, want)
		}
		const in, out = 0x10, 0x90
		// 10 frames both ways, one per tick; then 3 ticks with the citizen
		// silent (silence suppression) and nothing sent.
		for range 10 {
			r.fromCitizen(frameOf(in))
			r.toCitizen(frameOf(out))
			r.tick()
			time.Sleep(20 * time.Millisecond)
		}
		for range 3 {
			r.tick()
			time.Sleep(20 * time.Millisecond)
		}
		// The clock misses 4 ticks: the next one writes 5 frames.
		time.Sleep(80 * time.Millisecond)
		r.tick()
		path, n, d, err := r.finish(time.Second)
		if err != nil {
			t.Fatal(err)
		}
		const frames = 10 + 3 + 5
		if d != frames*20*time.Millisecond || n != 44+frames*recordFrame*4 {
			t.Fatalf("recording %d bytes %s; want %d frames", n, d, frames)
		}
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != 0o600 || fi.Size() != n {
			t.Fatalf("file %v %v", fi, err)
		}
		for _, d := range []string{dir, filepath.Dir(path)} {
			if di, err := os.Stat(d); err != nil || di.Mode().Perm() != 0o700 {
				t.Fatalf("directory %s: %v %v", d, di, err)
			}
		}
		b, _ := os.ReadFile(path)
		le := binary.LittleEndian
		if le.Uint16(b[22:]) != 2 || le.Uint32(b[24:]) != 8000 || le.Uint16(b[34:]) != 16 || int(le.Uint32(b[40:])) != len(b)-44 {
			t.Fatalf("header % x", b[:44])
		}
		sample := func(frame, ch int) int16 { return int16(le.Uint16(b[44+frame*recordFrame*4+4*10+2*ch:])) }
		sil := pcmOf(t, 0xFF)
		// Frame 0: the cushion (silence); frames 1-10: the audio, delayed by
		// one frame; then silence.
		for f := range frames {
			wantL, wantR := sil, sil
			if f >= 1 && f <= 10 {
				wantL, wantR = pcmOf(t, in), pcmOf(t, out)
			}
			if l, r := sample(f, 0), sample(f, 1); l != wantL || r != wantR {
				t.Fatalf("frame %d: left %d right %d; want %d %d", f, l, r, wantL, wantR)
			}
		}
		if st.started.Load() != 1 || st.frames.Load() != frames || st.dropped.Load() != 0 {
			t.Fatalf("stats started %d frames %d dropped %d", st.started.Load(), st.frames.Load(), st.dropped.Load())
		}
	})
}

// A direction's queue stays bounded: a burst past recordDepth frames drops
// the oldest samples (counted), and samples that stand beyond the one-frame
// cushion for a whole window are trimmed.
func TestRecorderQueueBoundedAndTrimmed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := newMediaClock(1, 20*time.Millisecond)
		var st recordStats
		r, err := startRecorder(k, &st, t.TempDir(), 7, "pcma", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		for range recordDepth + 3 {
			r.fromCitizen(frameOf(1))
		}
		if got := st.trimmed.Load(); got != 3*recordFrame {
			t.Fatalf("burst: %d samples dropped, want %d", got, 3*recordFrame)
		}
		// The far end now sends one frame per tick on top of the burst: the
		// backlog stands for a window, then goes down to the cushion.
		for range recordWindow {
			r.fromCitizen(frameOf(1))
			r.tick()
			time.Sleep(20 * time.Millisecond)
		}
		r.mu.Lock()
		left := r.in.n
		r.mu.Unlock()
		if left != recordFrame {
			t.Fatalf("%d samples queued after a window, want the one-frame cushion", left)
		}
		if _, _, _, err := r.finish(time.Second); err != nil {
			t.Fatal(err)
		}
	})
}

// BenchmarkRecorderTap is the recorder's cost on the media path per 20 ms
// frame: the pump's copy, the sender's copy and the clock's tick (which
// hands the frame to the writer, or counts a drop when it is behind).
func BenchmarkRecorderTap(b *testing.B) {
	k := newMediaClock(1, 20*time.Millisecond)
	var st recordStats
	r, err := startRecorder(k, &st, b.TempDir(), 1, "pcmu", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	p := frameOf(0x55)
	b.ReportAllocs()
	for b.Loop() {
		r.fromCitizen(p)
		r.toCitizen(p)
		r.tick()
	}
	b.StopTimer()
	_, _, _, _ = r.finish(5 * time.Second)
}

// BenchmarkRecorderWrite is the writer goroutine's cost per frame: two
// G.711 decodes, the interleave and the buffered file write.
func BenchmarkRecorderWrite(b *testing.B) {
	f, err := os.CreateTemp(b.TempDir(), "w-*.wav")
	if err != nil {
		b.Fatal(err)
	}
	r := &recorder{frames: make(chan recFrame, recordQueue), stats: &recordStats{}, law: "pcma",
		path: f.Name(), done: make(chan recResult, 1)}
	go r.write(f)
	var fr recFrame
	b.ReportAllocs()
	b.SetBytes(4 * recordFrame)
	for b.Loop() {
		r.frames <- fr
	}
	close(r.frames)
	if res := <-r.done; res.err != nil {
		b.Fatal(res.err)
	}
}
