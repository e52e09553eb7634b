package testpeers

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// ToneWAV writes a sine of hz at 8 kHz, 16-bit mono PCM, lasting d, into
// dir and returns its path: a party's own tone (baresip's Speech), so each
// party's received audio tells whom it hears (ToneShare).
func ToneWAV(t testing.TB, dir string, hz int, d time.Duration) string {
	t.Helper()
	const rate = 8000
	n := int(d.Seconds() * rate)
	data := make([]byte, 44+2*n)
	copy(data[0:], "RIFF")
	binary.LittleEndian.PutUint32(data[4:], uint32(36+2*n))
	copy(data[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(data[16:], 16)
	binary.LittleEndian.PutUint16(data[20:], 1) // PCM
	binary.LittleEndian.PutUint16(data[22:], 1) // mono
	binary.LittleEndian.PutUint32(data[24:], rate)
	binary.LittleEndian.PutUint32(data[28:], 2*rate)
	binary.LittleEndian.PutUint16(data[32:], 2)
	binary.LittleEndian.PutUint16(data[34:], 16)
	copy(data[36:], "data")
	binary.LittleEndian.PutUint32(data[40:], uint32(2*n))
	for i := range n {
		v := int16(8000 * math.Sin(2*math.Pi*float64(hz)*float64(i)/rate))
		binary.LittleEndian.PutUint16(data[44+2*i:], uint16(v))
	}
	p := filepath.Join(dir, "tone-"+strconv.Itoa(hz)+".wav")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// ReadWAV returns the samples and rate of a 16-bit mono PCM WAV (what
// baresip's sndfile writes). A file still being written is read as far as
// it goes.
func ReadWAV(path string) ([]int16, int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, 0, errors.New("not a WAV file")
	}
	rate, bits, ch := 0, 0, 0
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:]))
		body := b[off+8:]
		switch id {
		case "fmt ":
			if len(body) < 16 {
				return nil, 0, errors.New("short fmt chunk")
			}
			ch = int(binary.LittleEndian.Uint16(body[2:]))
			rate = int(binary.LittleEndian.Uint32(body[4:]))
			bits = int(binary.LittleEndian.Uint16(body[14:]))
		case "data":
			if bits != 16 || ch != 1 {
				return nil, 0, errors.New("want 16-bit mono PCM, got " + strconv.Itoa(bits) + "-bit " + strconv.Itoa(ch) + " channels")
			}
			if size > len(body) || size == 0 {
				size = len(body) // still being written
			}
			s := make([]int16, size/2)
			for i := range s {
				s[i] = int16(binary.LittleEndian.Uint16(body[2*i:]))
			}
			return s, rate, nil
		}
		off += 8 + size + size%2
	}
	return nil, 0, errors.New("no data chunk")
}

// ToneShare is the share (0..1) of the energy of samples that lies at hz
// (Goertzel over 20 ms blocks, ±1 bin): about 1 for a clean tone at hz,
// about 0 when hz is absent. Silence gives 0.
func ToneShare(samples []int16, rate, hz int) float64 {
	const block = 160 // 20 ms at 8 kHz; 50 Hz bins
	var at, total float64
	for off := 0; off+block <= len(samples); off += block {
		x := samples[off : off+block]
		var e float64
		for _, v := range x {
			e += float64(v) * float64(v)
		}
		total += e
		for _, f := range []float64{float64(hz) - 50, float64(hz), float64(hz) + 50} {
			at += goertzel(x, rate, f)
		}
	}
	if total == 0 {
		return 0
	}
	return math.Min(1, at/total)
}

// goertzel returns the energy of x at frequency f, scaled so that a pure
// tone at f yields the block's total energy.
func goertzel(x []int16, rate int, f float64) float64 {
	n := float64(len(x))
	k := math.Round(n * f / float64(rate))
	w := 2 * math.Pi * k / n
	c := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range x {
		s0 := float64(v) + c*s1 - s2
		s2, s1 = s1, s0
	}
	p := s1*s1 + s2*s2 - c*s1*s2
	return 2 * p / n
}
