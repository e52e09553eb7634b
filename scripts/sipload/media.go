package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"strconv"

	"github.com/emiago/diago/audio"
)

// speechFile is the raw PCMA the citizens speak in -media stream mode.
const speechFile = "speech.pcma"

const pcapLine = `  <nop><action><exec play_pcap_audio="pcap/g711a.pcap"/></action></nop>` + "\n"

// citizenMedia rewrites citizen.xml for the audio mode: no audio at all;
// "pcap": SIPp's play_pcap_audio, one sender thread per call; "stream":
// SIPp's rtp_stream, whose sender threads each pace -rtp_threadtasks calls
// (far less of the shared CPU goes to the load generator).
func citizenMedia(b []byte, speak bool, mode string) []byte {
	switch {
	case !speak:
		return bytes.ReplaceAll(b, []byte(pcapLine), nil)
	case mode == "stream":
		b = bytes.ReplaceAll(b, []byte(pcapLine),
			[]byte(`  <nop><action><exec rtp_stream="`+speechFile+`,-1,8,PCMA/8000"/></action></nop>`+"\n"))
		return bytes.ReplaceAll(b, []byte("[auto_media_port]"), []byte("[rtpstream_audio_port]"))
	}
	return b
}

// writeSpeech writes 4 s of A-law "speech" (a 440 Hz sine under a slow
// envelope, so the payload changes frame to frame) for rtp_stream.
func writeSpeech(path string) error {
	const n = 4 * 8000
	pcm := make([]byte, 2*n)
	for i := range n {
		env := float64(i%8000) / 8000 // 1 s ramp
		v := 8000 * env * math.Sin(2*math.Pi*440*float64(i)/8000)
		binary.LittleEndian.PutUint16(pcm[2*i:], uint16(int16(v)))
	}
	out := make([]byte, n)
	if _, err := audio.EncodeAlawTo(out, pcm); err != nil {
		return fmt.Errorf("speech: %w", err)
	}
	return os.WriteFile(path, out, 0o644)
}

const rmemDefaultPath = "/proc/sys/net/core/rmem_default"

// setRmemDefault sets the default socket receive buffer for the run and
// returns the function that puts the old value back.
func setRmemDefault(n int) (restore func(), err error) {
	old, err := os.ReadFile(rmemDefaultPath)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(rmemDefaultPath, []byte(strconv.Itoa(n)), 0o644); err != nil {
		return nil, fmt.Errorf("-rmemdefault needs root: %w", err)
	}
	return func() { _ = os.WriteFile(rmemDefaultPath, bytes.TrimSpace(old), 0o644) }, nil
}
