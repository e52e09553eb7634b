package sip

import "github.com/emiago/diago/audio"

// G.711 per-sample conversion for the mixer (mixer.go): decoding is a
// 256-entry table per law, encoding a table over every 16-bit sample (64 KiB
// per law), so the mixer's inner loops are one load per sample. The tables
// are built once from the same encoder and decoder that encode the prompts
// (diago's audio package), so prompts and mixed audio agree bit for bit; they
// are read-only after package initialisation.
var (
	ulawToLinear = buildDecode(audio.DecodeUlawTo)
	alawToLinear = buildDecode(audio.DecodeAlawTo)
	linearToUlaw = buildEncode(audio.EncodeUlawTo)
	linearToAlaw = buildEncode(audio.EncodeAlawTo)
)

// g711Law selects a codec's tables; ok is false for a codec that is not
// G.711.
func g711Law(codec string) (dec *[256]int16, enc *[65536]uint8, ok bool) {
	switch codec {
	case "pcmu", "PCMU":
		return ulawToLinear, linearToUlaw, true
	case "pcma", "PCMA":
		return alawToLinear, linearToAlaw, true
	}
	return nil, nil, false
}

func buildDecode(decode func(lpcm, code []byte) (int, error)) *[256]int16 {
	var t [256]int16
	code := make([]byte, 256)
	for i := range code {
		code[i] = byte(i)
	}
	pcm := make([]byte, 512)
	if _, err := decode(pcm, code); err != nil {
		panic(err) // the buffers are sized for it
	}
	for i := range t {
		t[i] = int16(uint16(pcm[2*i]) | uint16(pcm[2*i+1])<<8)
	}
	return &t
}

func buildEncode(encode func(code, lpcm []byte) (int, error)) *[65536]uint8 {
	var t [65536]uint8
	pcm := make([]byte, 2*len(t))
	for i := range t {
		pcm[2*i], pcm[2*i+1] = byte(i), byte(i>>8)
	}
	if _, err := encode(t[:], pcm); err != nil {
		panic(err) // the buffers are sized for it
	}
	return &t
}

// encodeSample indexes an encode table by a linear sample.
func encodeSample(enc *[65536]uint8, s int16) uint8 { return enc[uint16(s)] }
