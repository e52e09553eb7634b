package sip

import (
	"embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/emiago/diago/audio"
)

//go:embed prompts/*.wav
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

func loadPrompts() (promptSet, error) {
	entries, err := fs.ReadDir(promptFS, "prompts")
	if err != nil {
		return nil, err
	}
	ps := promptSet{}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".wav") {
			continue
		}
		b, err := promptFS.ReadFile("prompts/" + e.Name())
		if err != nil {
			return nil, err
		}
		pcm, err := parseWAV(b)
		if err != nil {
			return nil, fmt.Errorf("prompt %s: %w", e.Name(), err)
		}
		c := &clip{name: strings.TrimSuffix(e.Name(), ".wav")}
		c.ulaw = make([]byte, len(pcm)/2)
		c.alaw = make([]byte, len(pcm)/2)
		if _, err := audio.EncodeUlawTo(c.ulaw, pcm); err != nil {
			return nil, err
		}
		if _, err := audio.EncodeAlawTo(c.alaw, pcm); err != nil {
			return nil, err
		}
		ps[c.name] = c
	}
	return ps, nil
}

// get returns lang_name, falling back to Korean, then to name itself.
func (ps promptSet) get(lang, name string) *clip {
	if c, ok := ps[lang+"_"+name]; ok {
		return c
	}
	if c, ok := ps["ko_"+name]; ok {
		return c
	}
	return ps[name]
}

var errWAV = errors.New("not a 16-bit PCM 8000 Hz mono WAV")

// parseWAV returns the little-endian 16-bit PCM samples of a RIFF/WAVE file.
// Only 8000 Hz mono 16-bit PCM is accepted.
func parseWAV(b []byte) ([]byte, error) {
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, errWAV
	}
	fmtOK := false
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
			if (format != 1 && format != 0xFFFE) || channels != 1 || rate != 8000 || bits != 16 {
				return nil, errWAV
			}
			fmtOK = true
		case "data":
			if !fmtOK {
				return nil, errWAV
			}
			return b[body : body+size&^1], nil
		}
		p = body + size + size&1
	}
	return nil, errWAV
}
