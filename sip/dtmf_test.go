package sip

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// pcapRTP extracts (timestamp, payload) of RTP packets with payload type pt
// from a classic libpcap file of Ethernet/IPv4/UDP frames.
func pcapRTP(t *testing.T, path string, pt uint8) (ts []uint32, payloads [][]byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 24 {
		t.Fatal("short pcap")
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if binary.BigEndian.Uint32(b) == 0xa1b2c3d4 {
		bo = binary.BigEndian
	}
	link := bo.Uint32(b[20:24])
	for p := 24; p+16 <= len(b); {
		incl := int(bo.Uint32(b[p+8 : p+12]))
		frame := b[p+16 : min(p+16+incl, len(b))]
		p += 16 + incl
		switch link {
		case 1: // Ethernet
			if len(frame) < 14 {
				continue
			}
			frame = frame[14:]
		case 113: // Linux cooked
			if len(frame) < 16 {
				continue
			}
			frame = frame[16:]
		}
		if len(frame) < 20 || frame[0]>>4 != 4 || frame[9] != 17 {
			continue
		}
		ihl := int(frame[0]&0x0f) * 4
		udp := frame[ihl:]
		if len(udp) < 8+12 {
			continue
		}
		rtp := udp[8:]
		if rtp[0]>>6 != 2 || rtp[1]&0x7f != pt {
			continue
		}
		cc := int(rtp[0] & 0x0f)
		hdr := 12 + 4*cc
		if len(rtp) < hdr {
			continue
		}
		ts = append(ts, binary.BigEndian.Uint32(rtp[4:8]))
		payloads = append(payloads, rtp[hdr:])
	}
	return ts, payloads
}

// TestDTMFStockPcaps is the regression test for diago's defect: SIPp's
// stock RFC 4733 pcaps start each event with duration 0, which diago's
// reader drops. Ours must see exactly one key per file.
func TestDTMFStockPcaps(t *testing.T) {
	files, _ := filepath.Glob("/usr/share/sip-tester/dtmf_2833_*.pcap")
	if len(files) < 12 {
		t.Fatalf("stock pcaps missing (sip-tester not installed?): %v", files)
	}
	names := map[string]rune{"pound": '#', "star": '*'}
	for _, f := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "dtmf_2833_"), ".pcap")
		want, ok := names[name]
		if !ok {
			want = rune(name[0])
		}
		ts, pl := pcapRTP(t, f, 101)
		if len(pl) == 0 {
			t.Fatalf("%s: no telephone-event packets", f)
		}
		if ev, _ := parseRFC4733(pl[0]); ev.Duration != 0 {
			t.Logf("%s: first packet duration %d (expected the stock 0)", f, ev.Duration)
		}
		var d dtmfDetector
		var got []rune
		for i := range pl {
			if k, ok := d.feed(ts[i], pl[i]); ok {
				got = append(got, k)
			}
		}
		if len(got) != 1 || got[0] != want {
			t.Errorf("%s: keys %q, want %q", filepath.Base(f), string(got), string(want))
		}
	}
}

func TestDTMFDetectorEvents(t *testing.T) {
	pkt := func(ev uint8, end bool, dur uint16) []byte {
		b := []byte{ev, 10, byte(dur >> 8), byte(dur)}
		if end {
			b[1] |= 0x80
		}
		return b
	}
	var d dtmfDetector
	steps := []struct {
		ts   uint32
		p    []byte
		want rune
	}{
		{100, pkt(5, false, 0), '5'},
		{100, pkt(5, false, 160), 0},
		{100, pkt(5, true, 800), 0},
		{100, pkt(5, true, 800), 0},   // retransmitted end
		{900, pkt(5, true, 800), '5'}, // lost start: end alone still counts
		{1700, pkt(11, false, 160), '#'},
		{2500, pkt(16, false, 160), 0}, // flash: not a key
		{2600, []byte{1, 2}, 0},        // short
	}
	for i, s := range steps {
		k, ok := d.feed(s.ts, s.p)
		if (s.want == 0) == ok || (ok && k != s.want) {
			t.Errorf("step %d: got %q %v, want %q", i, k, ok, s.want)
		}
	}
}

func TestParseInfoDTMF(t *testing.T) {
	cases := []struct {
		ct, body string
		want     rune
		ok       bool
	}{
		{"application/dtmf-relay", "Signal=5\r\nDuration=160\r\n", '5', true},
		{"Application/DTMF-Relay; charset=x", "signal= #\nDuration=100", '#', true},
		{"application/dtmf-relay", "Signal=11\r\n", '#', true},
		{"application/dtmf", "*", '*', true},
		{"application/dtmf-relay", "Duration=160", 0, false},
		{"text/plain", "Signal=5", 0, false},
		{"application/dtmf", "55", 0, false},
	}
	for _, c := range cases {
		k, ok := parseInfoDTMF(c.ct, []byte(c.body))
		if ok != c.ok || k != c.want {
			t.Errorf("%q %q: got %q %v", c.ct, c.body, k, ok)
		}
	}
}

func FuzzParseInfoDTMF(f *testing.F) {
	f.Add("application/dtmf-relay", []byte("Signal=5\r\nDuration=160"))
	f.Add("application/dtmf", []byte("#"))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		if k, ok := parseInfoDTMF(ct, body); ok && !strings.ContainsRune(dtmfEvents, k) {
			t.Fatalf("key %q outside the DTMF alphabet", k)
		}
	})
}

func FuzzDTMFDetector(f *testing.F) {
	f.Add(uint32(1), []byte{5, 0x8a, 0, 0})
	f.Fuzz(func(t *testing.T, ts uint32, p []byte) {
		var d dtmfDetector
		if k, ok := d.feed(ts, p); ok && !strings.ContainsRune(dtmfEvents, k) {
			t.Fatalf("key %q outside the DTMF alphabet", k)
		}
	})
}

func TestParseWAVPrompts(t *testing.T) {
	ps, err := loadPrompts()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"music", "ko_greeting", "en_greeting", "ko_invalid", "ko_afterhours",
		"ko_hold", "ko_position", "ko_minutes", "ko_callback", "ko_goodbye", "en_d0", "ko_d9"} {
		c := ps[name]
		if c == nil || len(c.ulaw) < 1600 || len(c.ulaw) != len(c.alaw) {
			t.Errorf("prompt %s missing or too short", name)
		}
	}
	if _, err := parseWAV([]byte("RIFF\x00\x00\x00\x00WAVEfmt ")); err == nil {
		t.Error("truncated WAV accepted")
	}
}

func FuzzParseWAV(f *testing.F) {
	b, _ := promptFS.ReadFile("prompts/music.wav")
	f.Add(b[:200])
	f.Add([]byte("RIFF\x10\x00\x00\x00WAVEdata\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		pcm, err := parseWAV(b)
		if err == nil && len(pcm)%2 != 0 {
			t.Fatal("odd PCM length")
		}
	})
}

func TestMaskAndHeaderSafe(t *testing.T) {
	if got := maskNumber("01012345678"); got != "010****5678" {
		t.Errorf("mask = %q", got)
	}
	if got := maskNumber("123"); got != "***" {
		t.Errorf("mask short = %q", got)
	}
	if got := headerSafe("010\r\nVia: evil<sip:x>\"1"); got != "010Viaevilsipx1" {
		t.Errorf("headerSafe = %q", got)
	}
}

func TestSDPHold(t *testing.T) {
	cases := map[string]bool{
		"v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 8\r\na=sendonly\r\n": true,
		"v=0\r\nm=audio 4000 RTP/AVP 8\r\na=inactive\r\n":                      true,
		"v=0\r\nc=IN IP4 0.0.0.0\r\nm=audio 4000 RTP/AVP 8\r\n":                true,
		"v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 8\r\na=sendrecv\r\n": false,
		"v=0\r\nm=audio 4000 RTP/AVP 8\r\na=recvonly\r\n":                      false,
	}
	for body, want := range cases {
		if got := sdpHold([]byte(body)); got != want {
			t.Errorf("sdpHold(%q) = %v", body, got)
		}
	}
}

func BenchmarkDTMFDetector(b *testing.B) {
	p := []byte{5, 10, 0, 160}
	var d dtmfDetector
	for i := 0; b.Loop(); i++ {
		d.feed(uint32(i/8), p)
	}
}

// The caller's number comes from a trunk's P-Asserted-Identity (tel: or
// sip:, with or without a display name), else from the From user.
func TestCallerNumber(t *testing.T) {
	mk := func(pai string) *sip.Request {
		req := sip.NewRequest(sip.INVITE, sip.Uri{User: "120", Host: "127.0.0.1"})
		req.AppendHeader(&sip.FromHeader{Address: sip.Uri{User: "01099998888", Host: "127.0.0.1"}})
		if pai != "" {
			req.AppendHeader(sip.NewHeader("P-Asserted-Identity", pai))
		}
		return req
	}
	for pai, want := range map[string]string{
		"":                   "01099998888",
		"<tel:+82517771234>": "+82517771234",
		`"Busan" <sip:0517771234@trunk.example;user=phone>`: "0517771234",
		"sip:0212345678@trunk":                              "0212345678",
		"<urn:uuid:1234>":                                   "01099998888",
	} {
		if got := callerNumber(mk(pai)); got != want {
			t.Errorf("P-Asserted-Identity %q: caller %q, want %q", pai, got, want)
		}
	}
}
