package sip

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/diago/audio"
)

// A recorder taps one citizen leg and writes the call as one WAV file: 8 kHz
// 16-bit linear PCM decoded from G.711, two channels, left what the citizen
// sends (the leg's pump), right everything the citizen hears (every frame
// the leg sends: prompts, music, relayed or mixed audio of whoever is on
// the call). Tapping the citizen leg makes the recording follow the call
// through hold, transfers and conferences whatever the bridge does.
//
// Both directions are queued as they happen and taken one 20 ms frame each
// per tick of the media clock (silence where a direction has nothing), so
// the file's length is the call's and the channels stay aligned. The tick
// hands the frame to a bounded channel read by the recorder's own writer
// goroutine: neither the pump, the senders nor the clock ever wait for the
// disk; a frame the writer cannot take is counted (RecordingStats) and
// written as nothing.
//
// Concurrency: fromCitizen (the pump), toCitizen (the leg's senders), tick
// (a clock shard) and stop (the call's goroutine) share mu; the writer
// goroutine owns the file.
type recorder struct {
	mu      sync.Mutex
	in, out sampleFIFO
	silence byte // the G.711 law's silence
	ended   bool
	frames  chan recFrame
	minIn   int // fewest samples left queued in the current trim window
	minOut  int
	ticks   int
	start   time.Time // the first frame's time
	emitted int64     // frames handed to the writer (or dropped)

	stats *recordStats
	law   string
	path  string
	done  chan recResult
}

// recordFrame samples (20 ms at 8 kHz) are written per tick.
const recordFrame = 160

// recordQueue frames (1 s) of the writer's channel: the disk may stall
// that long before frames are dropped.
const recordQueue = 50

// recordDepth frames (100 ms) at most wait in a direction's queue; older
// samples are dropped.
const recordDepth = 5

type recFrame struct {
	in, out [recordFrame]byte
}

// recResult is what the writer reports when the file is closed.
type recResult struct {
	bytes    int64
	duration time.Duration
	err      error
}

// recordStats are the Service's recording counters.
type recordStats struct {
	started, failed atomic.Uint64
	frames          atomic.Uint64 // frames written
	dropped         atomic.Uint64 // frames the writer could not take in time
	trimmed         atomic.Uint64 // samples dropped from a direction's queue (overflow, delay trims)
}

// sampleFIFO is a bounded queue of G.711 samples. It keeps one frame of
// cushion: after it ran dry (and at the start) it gives silence until two
// frames wait, so a frame sent a little after the tick that takes it (two
// shards of the clock, scheduling jitter) is taken whole at the next tick
// instead of leaving a gap.
type sampleFIFO struct {
	buf     [recordDepth * recordFrame]byte
	head, n int
	primed  bool
}

// push appends p, dropping the oldest samples past the capacity; it returns
// how many were dropped.
func (q *sampleFIFO) push(p []byte) int {
	if len(p) > len(q.buf) {
		p = p[len(p)-len(q.buf):]
	}
	drop := max(q.n+len(p)-len(q.buf), 0)
	q.discard(drop)
	tail := (q.head + q.n) % len(q.buf)
	c := copy(q.buf[tail:], p)
	copy(q.buf[:], p[c:])
	q.n += len(p)
	return drop
}

// pop fills dst with the oldest samples, the rest with silence.
func (q *sampleFIFO) pop(dst []byte, silence byte) {
	if !q.primed && q.n >= 2*len(dst) {
		q.primed = true
	}
	k := min(len(dst), q.n)
	if !q.primed {
		k = 0
	} else if k < len(dst) {
		q.primed = false // ran dry: refill the cushion
	}
	c := copy(dst[:k], q.buf[q.head:min(q.head+k, len(q.buf))])
	copy(dst[c:k], q.buf[:k-c])
	q.discard(k)
	for i := k; i < len(dst); i++ {
		dst[i] = silence
	}
}

func (q *sampleFIFO) discard(k int) {
	k = min(k, q.n)
	q.head = (q.head + k) % len(q.buf)
	q.n -= k
	if q.n == 0 {
		q.head = 0
	}
}

// recordWindow ticks (1 s) between delay trims: samples that stood in a
// direction's queue beyond one frame of cushion for a whole window are
// delay no jitter needs (a far end whose clock runs fast), and go.
const recordWindow = 50

// startRecorder creates dir/<YYYY-MM-DD>/<contact>.wav (directories 0700,
// the file 0600) and starts writing law ("pcmu", "pcma") audio into it;
// the clock starts ticking it at once.
func startRecorder(k *mediaClock, stats *recordStats, dir string, contact uint64, law string, now time.Time) (*recorder, error) {
	day := filepath.Join(dir, now.Format("2006-01-02"))
	for _, d := range []string{dir, day} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
		// MkdirAll keeps an existing directory's mode: enforce ours.
		if err := os.Chmod(d, 0o700); err != nil {
			return nil, err
		}
	}
	base := strconv.FormatUint(contact, 10)
	path := filepath.Join(day, base+".wav")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // a contact id seen again (a store restored elsewhere)
		path = filepath.Join(day, base+"-"+strconv.FormatInt(now.UnixNano(), 36)+".wav")
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	}
	if err != nil {
		return nil, err
	}
	r := &recorder{silence: 0xFF, frames: make(chan recFrame, recordQueue), stats: stats, law: law,
		path: path, done: make(chan recResult, 1), start: time.Now()}
	if law == "pcma" {
		r.silence = 0xD5
	}
	go r.write(f)
	if !k.add(r) {
		r.stop()
		<-r.done
		_ = os.Remove(path)
		return nil, errClockStopped
	}
	stats.started.Add(1)
	return r, nil
}

// fromCitizen queues audio the citizen sent (the leg's pump).
func (r *recorder) fromCitizen(p []byte) {
	r.mu.Lock()
	if !r.ended {
		if d := r.in.push(p); d > 0 {
			r.stats.trimmed.Add(uint64(d))
		}
	}
	r.mu.Unlock()
}

// toCitizen queues audio sent to the citizen (any sender of the leg).
func (r *recorder) toCitizen(p []byte) {
	r.mu.Lock()
	if !r.ended {
		if d := r.out.push(p); d > 0 {
			r.stats.trimmed.Add(uint64(d))
		}
	}
	r.mu.Unlock()
}

// tick takes one frame of each direction and hands it to the writer; when
// the clock let ticks pass (a starved CPU), it makes up the frames those
// ticks owed, so the file keeps the call's length.
func (r *recorder) tick() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended {
		return true
	}
	due := int64(time.Since(r.start)/(20*time.Millisecond)) + 1 - r.emitted
	for range min(max(due, 1), recordQueue) {
		r.frame()
	}
	return false
}

// frame emits one frame. r.mu is held.
func (r *recorder) frame() {
	r.emitted++
	var f recFrame
	r.in.pop(f.in[:], r.silence)
	r.out.pop(f.out[:], r.silence)
	if r.ticks == 0 || r.in.n < r.minIn {
		r.minIn = r.in.n
	}
	if r.ticks == 0 || r.out.n < r.minOut {
		r.minOut = r.out.n
	}
	if r.ticks++; r.ticks == recordWindow {
		r.trim(&r.in, r.minIn)
		r.trim(&r.out, r.minOut)
		r.ticks = 0
	}
	select {
	case r.frames <- f:
	default:
		r.stats.dropped.Add(1)
	}
}

// trim drops what stood in q beyond the one-frame cushion for a whole
// window (least left after a tick: least). r.mu is held.
func (r *recorder) trim(q *sampleFIFO, least int) {
	if extra := least - recordFrame; extra > 0 {
		q.discard(extra)
		r.stats.trimmed.Add(uint64(extra))
	}
}

func (r *recorder) halt() { r.stop() }

// stop ends the recording (idempotent); the writer then closes the file.
func (r *recorder) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended {
		return
	}
	r.ended = true
	close(r.frames)
}

// finish stops the recording and waits (bounded) for the file to be
// closed: its path, size and duration.
func (r *recorder) finish(wait time.Duration) (string, int64, time.Duration, error) {
	r.stop()
	select {
	case res := <-r.done:
		return r.path, res.bytes, res.duration, res.err
	case <-time.After(wait):
		return r.path, 0, 0, errors.New("sip: recording writer did not finish in time")
	}
}

// wavHeader is the 44-byte header of a 16-bit PCM WAV of dataBytes.
func wavHeader(channels, rate int, dataBytes uint32) []byte {
	h := make([]byte, 44)
	copy(h[0:], "RIFF")
	binary.LittleEndian.PutUint32(h[4:], 36+dataBytes)
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], 1) // PCM
	binary.LittleEndian.PutUint16(h[22:], uint16(channels))
	binary.LittleEndian.PutUint32(h[24:], uint32(rate))
	binary.LittleEndian.PutUint32(h[28:], uint32(rate*channels*2))
	binary.LittleEndian.PutUint16(h[32:], uint16(channels*2))
	binary.LittleEndian.PutUint16(h[34:], 16)
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], dataBytes)
	return h
}

// write is the writer goroutine: it decodes and interleaves each frame,
// then rewrites the header with the final sizes and closes the file.
func (r *recorder) write(f *os.File) {
	var res recResult
	defer func() { r.done <- res }()
	alaw := r.law == "pcma"
	decode := func(dst, src []byte) {
		if alaw {
			_, _ = audio.DecodeAlawTo(dst, src)
		} else {
			_, _ = audio.DecodeUlawTo(dst, src)
		}
	}
	w := bufio.NewWriterSize(f, 32<<10)
	_, werr := w.Write(wavHeader(2, 8000, 0xFFFFFFFF-36)) // a stream: sizes set at the end
	var left, right [2 * recordFrame]byte
	var out [4 * recordFrame]byte
	var data int64
	for fr := range r.frames {
		if werr != nil {
			continue // drain so the ticks never block
		}
		decode(left[:], fr.in[:])
		decode(right[:], fr.out[:])
		for i := range recordFrame {
			copy(out[4*i:], left[2*i:2*i+2])
			copy(out[4*i+2:], right[2*i:2*i+2])
		}
		if _, werr = w.Write(out[:]); werr == nil {
			data += int64(len(out))
			r.stats.frames.Add(1)
		}
	}
	if werr == nil {
		werr = w.Flush()
	}
	if werr == nil {
		_, werr = f.WriteAt(wavHeader(2, 8000, uint32(data)), 0)
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		r.stats.failed.Add(1)
		werr = fmt.Errorf("sip: recording %s: %w", r.path, werr)
	}
	res = recResult{bytes: 44 + data, duration: time.Duration(data/4) * time.Second / 8000, err: werr}
}

// RecordingStats are the Service's recording totals since Start.
type RecordingStats struct {
	Started, Failed uint64 // recordings begun; files that could not be written whole
	Frames          uint64 // 20 ms stereo frames written
	Dropped         uint64 // frames lost because the writer fell a second behind
	Trimmed         uint64 // samples dropped from a direction's queue (bursts, far-end clock drift)
}

// RecordingStats returns the recording totals. Safe for concurrent use.
func (s *Service) RecordingStats() RecordingStats {
	k := &s.recStats
	return RecordingStats{Started: k.started.Load(), Failed: k.failed.Load(), Frames: k.frames.Load(),
		Dropped: k.dropped.Load(), Trimmed: k.trimmed.Load()}
}
