package sip

import (
	"math"
	"testing"
)

// TestG711Tables checks the tables against G.711 itself: every code
// decodes to a value that encodes back to the same code (but µ-law's
// negative zero), and every sample encodes to the code whose value is
// nearest to it within the law's step at that level.
func TestG711Tables(t *testing.T) {
	for _, law := range []string{"pcmu", "pcma"} {
		dec, enc, ok := g711Law(law)
		if !ok {
			t.Fatalf("%s: not G.711", law)
		}
		for c := range 256 {
			if got := encodeSample(enc, dec[c]); got != uint8(c) && !(law == "pcmu" && c == 0x7F) {
				t.Errorf("%s: code %#x decodes to %d which encodes to %#x", law, c, dec[c], got)
			}
		}
		// Known anchors: silence and full scale.
		if law == "pcmu" && (dec[0xFF] != 0 || dec[0x80] != 32124 || dec[0x00] != -32124) {
			t.Errorf("pcmu anchors: %d %d %d", dec[0xFF], dec[0x80], dec[0x00])
		}
		if law == "pcma" && (dec[0xD5] != 8 || dec[0xAA] != 32256 || dec[0x2A] != -32256) {
			t.Errorf("pcma anchors: %d %d %d", dec[0xD5], dec[0xAA], dec[0x2A])
		}
		for i := range 65536 {
			s := int16(uint16(i))
			d := math.Abs(float64(dec[encodeSample(enc, s)]) - float64(s))
			// The quantisation error stays under ~1/16 of the level
			// (plus the smallest step near zero), clipping aside.
			if lim := math.Abs(float64(s))/16 + 16; d > lim && math.Abs(float64(s)) < 32000 {
				t.Fatalf("%s: %d encodes to %d (error %.0f > %.0f)", law, s, dec[encodeSample(enc, s)], d, lim)
			}
		}
	}
	if _, _, ok := g711Law("opus"); ok {
		t.Error("opus taken for G.711")
	}
}
