package sip

import (
	"embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/emiago/diago/audio"
)

//go:embed prompts/*.wav prompts/lines/*.wav prompts/manifest.json prompts/phrases.json
var promptFS embed.FS

// clip is one prompt, pre-encoded in both G.711 laws (no transcoding at
// play time; 160 bytes = 20 ms per frame).
type clip struct {
	name string
	ulaw []byte
	alaw []byte
}

func (c *clip) frames(codec string) []byte {
	if codec == "pcma" {
		return c.alaw
	}
	return c.ulaw
}

// promptSet holds every embedded prompt by name ("ko_menu", "music", ...).
// Read-only after loadPrompts.
type promptSet map[string]*clip

// loadPrompts returns the embedded prompts, decoded once per process: the
// set and its clips are read-only, so every Service shares them (a test
// binary starts hundreds; decoding takes about half a second under -race).
var loadPrompts = sync.OnceValues(decodePrompts)

func decodePrompts() (promptSet, error) {
	ps := promptSet{}
	for _, dir := range []string{"prompts", "prompts/lines"} {
		if err := ps.loadDir(dir); err != nil {
			return nil, err
		}
	}
	return ps, nil
}

// loadDir adds dir's WAV files: "prompts/ko_hold.wav" as "ko_hold",
// "prompts/lines/en-0a1b.wav" as "lines/en-0a1b".
func (ps promptSet) loadDir(dir string) error {
	entries, err := fs.ReadDir(promptFS, dir)
	if err != nil {
		return err
	}
	prefix := strings.TrimPrefix(strings.TrimPrefix(dir, "prompts"), "/")
	if prefix != "" {
		prefix += "/"
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".wav") {
			continue
		}
		b, err := promptFS.ReadFile(dir + "/" + e.Name())
		if err != nil {
			return err
		}
		pcm, err := parseWAV(b)
		if err != nil {
			return fmt.Errorf("prompt %s: %w", e.Name(), err)
		}
		c := &clip{name: prefix + strings.TrimSuffix(e.Name(), ".wav")}
		c.ulaw = make([]byte, len(pcm)/2)
		c.alaw = make([]byte, len(pcm)/2)
		if _, err := audio.EncodeUlawTo(c.ulaw, pcm); err != nil {
			return err
		}
		if _, err := audio.EncodeAlawTo(c.alaw, pcm); err != nil {
			return err
		}
		ps[c.name] = c
	}
	return nil
}

// get returns lang_name, falling back to English (a language without a
// voice), then Korean, then name itself.
func (ps promptSet) get(lang, name string) *clip {
	for _, k := range [...]string{lang + "_" + name, "en_" + name, "ko_" + name} {
		if c, ok := ps[k]; ok {
			return c
		}
	}
	return ps[name]
}

var errWAV = errors.New("not an 8000 Hz mono WAV (16-bit PCM or G.711 u-law)")

// parseWAV returns the little-endian 16-bit PCM samples of a RIFF/WAVE file:
// 8000 Hz mono, 16-bit PCM or 8-bit G.711 u-law (what the generator
// writes: half the size), decoded to PCM.
func parseWAV(b []byte) ([]byte, error) {
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, errWAV
	}
	fmtOK, ulaw := false, false
	for p := 12; p+8 <= len(b); {
		id := string(b[p : p+4])
		size := int(binary.LittleEndian.Uint32(b[p+4 : p+8]))
		body := p + 8
		if size < 0 || body+size > len(b) || body+size < body {
			if id == "data" { // tolerate a truncated/streamed data size
				size = len(b) - body
			} else {
				return nil, errWAV
			}
		}
		switch id {
		case "fmt ":
			if size < 16 {
				return nil, errWAV
			}
			f := b[body:]
			format := binary.LittleEndian.Uint16(f[0:2])
			channels := binary.LittleEndian.Uint16(f[2:4])
			rate := binary.LittleEndian.Uint32(f[4:8])
			bits := binary.LittleEndian.Uint16(f[14:16])
			pcm := (format == 1 || format == 0xFFFE) && bits == 16
			ulaw = format == 7 && bits == 8
			if (!pcm && !ulaw) || channels != 1 || rate != 8000 {
				return nil, errWAV
			}
			fmtOK = true
		case "data":
			if !fmtOK {
				return nil, errWAV
			}
			if ulaw {
				pcm := make([]byte, 2*size)
				if _, err := audio.DecodeUlawTo(pcm, b[body:body+size]); err != nil {
					return nil, err
				}
				return pcm, nil
			}
			return b[body : body+size&^1], nil
		}
		p = body + size + size&1
	}
	return nil, errWAV
}

// toneClip synthesises a cadenced tone: the sum of freqs for on, then
// silence for off (one cycle; the player loops it).
func toneClip(name string, freqs []float64, on, off time.Duration) *clip {
	n := int(int64(on+off) * 8000 / int64(time.Second))
	onN := int(int64(on) * 8000 / int64(time.Second))
	pcm := make([]byte, 2*n)
	for i := 0; i < onN; i++ {
		var v float64
		for _, f := range freqs {
			v += math.Sin(2 * math.Pi * f * float64(i) / 8000)
		}
		s := int16(v / float64(len(freqs)) * 8000) // about -12 dBFS
		binary.LittleEndian.PutUint16(pcm[2*i:], uint16(s))
	}
	c := &clip{name: name, ulaw: make([]byte, n), alaw: make([]byte, n)}
	_, _ = audio.EncodeUlawTo(c.ulaw, pcm)
	_, _ = audio.EncodeAlawTo(c.alaw, pcm)
	return c
}
