package app

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/diago/audio"

	"onecall/configs"
	"onecall/internal/testpeers"
	"onecall/router"
	"onecall/sip"
	"onecall/store"
)

// Tones of the recording test: the citizen's and the agent phone's (the
// hold music has almost nothing at either; it does at toneAgent1).
const (
	recToneCitizen = 1100
	recToneAgent   = 1500
)

// fsRecordedConfig is the shipped configuration with line 110 recorded.
func fsRecordedConfig(t *testing.T, onecallReplace ...string) string {
	t.Helper()
	cfg := fsConfig(t, "", onecallReplace...)
	hl := filepath.Join(cfg, "hotlines.yaml")
	b, err := os.ReadFile(hl)
	if err != nil {
		t.Fatal(err)
	}
	const line = "  - number: \"110\"\n"
	if !strings.Contains(string(b), line) {
		t.Fatal("shipped hotlines.yaml has no line 110")
	}
	s := strings.Replace(string(b), line, line+"    recording: {enabled: true}\n", 1)
	if err := os.WriteFile(hl, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// tonePCAP writes a pcap of d of PCMA RTP (20 ms packets, IPv4/UDP over
// Ethernet) carrying a sine of hz, for SIPp's play_pcap_audio.
func tonePCAP(t *testing.T, dir string, hz int, d time.Duration) string {
	t.Helper()
	var b bytes.Buffer
	le := binary.LittleEndian
	hdr := make([]byte, 24)
	le.PutUint32(hdr[0:], 0xa1b2c3d4)
	le.PutUint16(hdr[4:], 2)
	le.PutUint16(hdr[6:], 4)
	le.PutUint32(hdr[16:], 65535)
	le.PutUint32(hdr[20:], 1) // Ethernet
	b.Write(hdr)
	n := int(d / (20 * time.Millisecond))
	pcm := make([]byte, 320)
	alaw := make([]byte, 160)
	for k := range n {
		for i := range 160 {
			v := int16(8000 * math.Sin(2*math.Pi*float64(hz)*float64(k*160+i)/8000))
			le.PutUint16(pcm[2*i:], uint16(v))
		}
		if _, err := audio.EncodeAlawTo(alaw, pcm); err != nil {
			t.Fatal(err)
		}
		pkt := make([]byte, 14+20+8+12+160)
		binary.BigEndian.PutUint16(pkt[12:], 0x0800)
		ip := pkt[14:]
		ip[0], ip[8], ip[9] = 0x45, 64, 17
		binary.BigEndian.PutUint16(ip[2:], uint16(20+8+12+160))
		copy(ip[12:], []byte{127, 0, 0, 1})
		copy(ip[16:], []byte{127, 0, 0, 1})
		var sum uint32
		for i := 0; i < 20; i += 2 {
			sum += uint32(binary.BigEndian.Uint16(ip[i:]))
		}
		for sum > 0xffff {
			sum = sum&0xffff + sum>>16
		}
		binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
		udp := ip[20:]
		binary.BigEndian.PutUint16(udp[0:], 6000)
		binary.BigEndian.PutUint16(udp[2:], 6002)
		binary.BigEndian.PutUint16(udp[4:], 8+12+160)
		rtp := udp[8:]
		rtp[0], rtp[1] = 0x80, 8
		binary.BigEndian.PutUint16(rtp[2:], uint16(k))
		binary.BigEndian.PutUint32(rtp[4:], uint32(k*160))
		binary.BigEndian.PutUint32(rtp[8:], 0x1100cafe)
		copy(rtp[12:], alaw)
		at := time.Duration(k) * 20 * time.Millisecond
		rec := make([]byte, 16)
		le.PutUint32(rec[0:], uint32(at/time.Second))
		le.PutUint32(rec[4:], uint32((at%time.Second)/time.Microsecond))
		le.PutUint32(rec[8:], uint32(len(pkt)))
		le.PutUint32(rec[12:], uint32(len(pkt)))
		b.Write(rec)
		b.Write(pkt)
	}
	p := filepath.Join(dir, "tone-"+strconv.Itoa(hz)+".pcap")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// readStereo returns the channels of a 16-bit stereo 8 kHz WAV with a
// 44-byte header (what the recorder writes).
func readStereo(t *testing.T, path string) (left, right []int16) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 44 || string(b[0:4]) != "RIFF" || string(b[8:16]) != "WAVEfmt " || string(b[36:40]) != "data" {
		t.Fatalf("%s: not a canonical WAV", path)
	}
	le := binary.LittleEndian
	if ch, rate, bits := le.Uint16(b[22:]), le.Uint32(b[24:]), le.Uint16(b[34:]); ch != 2 || rate != 8000 || bits != 16 {
		t.Fatalf("%s: %d channels, %d Hz, %d bits; want 2, 8000, 16", path, ch, rate, bits)
	}
	if n := le.Uint32(b[40:]); int(n) != len(b)-44 {
		t.Fatalf("%s: data size %d in the header, %d in the file", path, n, len(b)-44)
	}
	data := b[44:]
	for i := 0; i+4 <= len(data); i += 4 {
		left = append(left, int16(le.Uint16(data[i:])))
		right = append(right, int16(le.Uint16(data[i+2:])))
	}
	return left, right
}

// promptPCM is the consent announcement as a PCMA caller hears it.
func promptPCM(t *testing.T, texts []sip.PromptText) []int16 {
	t.Helper()
	var out []int16
	for _, p := range texts {
		b, err := os.ReadFile(filepath.Join("../../sip/prompts", p.File()))
		if err != nil {
			t.Fatalf("consent prompt %q not generated: %v", p.Text, err)
		}
		// The generator writes 8-bit u-law with a 44+ byte header; find data.
		i := bytes.Index(b, []byte("data"))
		if i < 0 {
			t.Fatalf("%s: no data chunk", p.File())
		}
		ulaw := b[i+8:]
		pcm := make([]byte, 2*len(ulaw))
		if _, err := audio.DecodeUlawTo(pcm, ulaw); err != nil {
			t.Fatal(err)
		}
		alaw := make([]byte, len(ulaw))
		if _, err := audio.EncodeAlawTo(alaw, pcm); err != nil {
			t.Fatal(err)
		}
		if _, err := audio.DecodeAlawTo(pcm, alaw); err != nil {
			t.Fatal(err)
		}
		for j := 0; j+1 < len(pcm); j += 2 {
			out = append(out, int16(binary.LittleEndian.Uint16(pcm[j:])))
		}
	}
	return out
}

// bestCorrelation is the highest normalised correlation of want with got
// shifted by 0..maxShift samples.
func bestCorrelation(got, want []int16, maxShift int) (float64, int) {
	best, at := -1.0, 0
	for s := 0; s <= maxShift && s+len(want) <= len(got); s++ {
		var xy, xx, yy float64
		for i, w := range want {
			g := float64(got[s+i])
			xy += g * float64(w)
			xx += g * g
			yy += float64(w) * float64(w)
		}
		if xx > 0 && yy > 0 {
			if c := xy / math.Sqrt(xx*yy); c > best {
				best, at = c, s
			}
		}
	}
	return best, at
}

func seg(s []int16, from, to time.Duration) []int16 {
	a, b := int(from.Seconds()*8000), int(to.Seconds()*8000)
	a, b = max(0, min(a, len(s))), max(0, min(b, len(s)))
	return s[a:b]
}

// fsHTTP is a signed-in HTTP client of the console API.
func (a *fsApp) fsHTTP(t *testing.T, user string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	body, _ := json.Marshal(map[string]string{"username": user, "password": "demo"})
	resp, err := hc.Post("http://"+a.HTTPAddr()+"/api/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("login %s: %d", user, resp.StatusCode)
	}
	return hc
}

func httpGet(t *testing.T, hc *http.Client, url string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// TestFullStackRecordingWithConsent: line 110 records. A SIPp citizen
// speaking its tone calls; it hears the consent announcement, then agent01's
// phone (its own tone) answers; the agent puts the call on hold from the
// console and resumes it; the citizen hangs up. The call's WAV (0600 in a
// 0700 directory under the data directory, named by contact id) has two
// channels, lasts the call within 1 s, starts with the consent prompt on
// the right channel, carries the citizen's tone on the left and the agent's
// on the right (hold music, not the agent, during the hold). The call record
// has its path, size and duration. A supervisor plays it through the HTTP
// endpoint (range requests: 206 with the file's bytes, one audit entry per
// play); agent01 gets 403.
func TestFullStackRecordingWithConsent(t *testing.T) {
	dataDir := t.TempDir()
	a := fsStartAt(t, fsRecordedConfig(t), dataDir)
	fsTonePhone(t, a, "agent01", recToneAgent)
	waitReady(t, a, "agent01")
	con := a.fsSignIn(t, "agent01")

	pcap := tonePCAP(t, t.TempDir(), recToneCitizen, 40*time.Second)
	cit := testpeers.StartSIPp(t, testpeers.SIPpOptions{Scenario: filepath.Join("testdata", "citizen_tone.xml"),
		Data: struct {
			From, PCAP string
			HoldFor    int
		}{"01077778888", pcap, 24000}, Remote: a.sipUDP(), Service: fsHotline, Timeout: 45 * time.Second})

	var id router.ContactID
	testpeers.WaitFor(t, 30*time.Second, "agent01 talking to the citizen", func() bool {
		v, _ := a.agent(t, "agent01")
		if len(v.Active) == 1 {
			id = v.Active[0]
			c, ok := a.contact(t, id)
			return ok && c.State == router.Talking
		}
		return false
	})
	talkAt := time.Now()
	testpeers.WaitFor(t, 10*time.Second, "3 s of talk", func() bool { return time.Since(talkAt) > 3*time.Second })
	con.mustCall("hold", map[string]any{"contact": uint64(id)})
	holdAt := time.Now()
	testpeers.WaitFor(t, 10*time.Second, "3 s on hold", func() bool { return time.Since(holdAt) > 3*time.Second })
	con.mustCall("resume", map[string]any{"contact": uint64(id)})
	resumeAt := time.Now()
	if err := cit.Wait(t, 50*time.Second); err != nil {
		t.Fatalf("citizen scenario failed: %v", err)
	}

	rec := a.callRecordTo(t, 10*time.Second, fsHotline)
	t.Logf("call record: %+v", rec)
	if rec.Contact != uint64(id) {
		t.Fatalf("call record of contact %d, want %d", rec.Contact, id)
	}
	want := filepath.Join(dataDir, "recordings", rec.Started.Format("2006-01-02"), strconv.FormatUint(rec.Contact, 10)+".wav")
	if rec.RecordingPath != want {
		t.Fatalf("recording path %q, want %q", rec.RecordingPath, want)
	}
	fi, err := os.Stat(rec.RecordingPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || fi.Size() != rec.RecordingBytes {
		t.Fatalf("recording mode %v size %d; want 0600 and the record's %d", fi.Mode().Perm(), fi.Size(), rec.RecordingBytes)
	}
	for _, d := range []string{filepath.Dir(want), filepath.Join(dataDir, "recordings")} {
		di, err := os.Stat(d)
		if err != nil || di.Mode().Perm() != 0o700 {
			t.Fatalf("directory %s: mode %v (%v), want 0700", d, di.Mode().Perm(), err)
		}
	}

	left, right := readStereo(t, rec.RecordingPath)
	got := time.Duration(len(left)) * time.Second / 8000
	call := rec.Ended.Sub(rec.Started)
	t.Logf("recording %s (%d bytes, record says %s), call %s", got, fi.Size(), rec.RecordingDuration, call)
	if d := got - call; d > time.Second || d < -time.Second {
		t.Fatalf("recording lasts %s, the call %s: want within 1 s", got, call)
	}
	if d := rec.RecordingDuration - got; d > 20*time.Millisecond || d < -20*time.Millisecond {
		t.Fatalf("call record says %s, the file holds %s", rec.RecordingDuration, got)
	}

	// The consent announcement opens the right channel: each 250 ms of the
	// prompt is found, in order, within 1 s after where the block before it
	// put it. The recording keeps wall time (frames the media clock missed
	// are silence in it) while the prompt goes on from where a stall left
	// it, so on a loaded machine the prompt slips later block by block.
	line, ok := a.cfg.ResolveNumber(fsHotline)
	if !ok || !line.Recorded() {
		t.Fatal("line 110 not recorded in the test configuration")
	}
	consent := promptPCM(t, consentSay(line))
	const block = 2000
	matched, blocks, last := 0, 0, 0
	for b := 0; b+block <= len(consent); b += block {
		blocks++
		from := b + last
		if from+block+8000 > len(right) {
			break
		}
		c, sh := bestCorrelation(right[from:], consent[b:b+block], 8000)
		if c > 0.95 {
			matched++
			last += sh
		}
	}
	t.Logf("consent prompt: %d of %d blocks of 250 ms found in order (slipped %d ms in all)", matched, blocks, last/8)
	if blocks < 20 || matched < blocks*9/10 {
		t.Fatalf("the recording does not start with the consent prompt: %d of %d blocks", matched, blocks)
	}

	// Who is on which channel: offsets in the file from the call's start.
	start := rec.Started
	talk := seg(right, talkAt.Sub(start)+500*time.Millisecond, holdAt.Sub(start))
	held := seg(right, holdAt.Sub(start)+500*time.Millisecond, resumeAt.Sub(start)-500*time.Millisecond)
	after := seg(right, resumeAt.Sub(start)+500*time.Millisecond, rec.Ended.Sub(start)-500*time.Millisecond)
	citizen := seg(left, talkAt.Sub(start), rec.Ended.Sub(start)-500*time.Millisecond)
	shares := map[string]float64{
		"right agent (talk)":   testpeers.ToneShare(talk, 8000, recToneAgent),
		"right agent (after)":  testpeers.ToneShare(after, 8000, recToneAgent),
		"right agent (hold)":   testpeers.ToneShare(held, 8000, recToneAgent),
		"right music (hold)":   testpeers.ToneShare(held, 8000, 660),
		"left citizen":         testpeers.ToneShare(citizen, 8000, recToneCitizen),
		"left agent":           testpeers.ToneShare(citizen, 8000, recToneAgent),
		"right citizen (talk)": testpeers.ToneShare(talk, 8000, recToneCitizen),
	}
	t.Logf("tone shares: %v (talk %d, hold %d, after %d samples)", shares, len(talk), len(held), len(after))
	if shares["right agent (talk)"] < 0.6 || shares["right agent (after)"] < 0.6 {
		t.Fatalf("agent's tone missing on the right channel: %v", shares)
	}
	if shares["right agent (hold)"] > 0.05 || shares["right music (hold)"] < 0.3 {
		t.Fatalf("the right channel is not the hold music during the hold: %v", shares)
	}
	if shares["left citizen"] < 0.6 || shares["left agent"] > 0.05 || shares["right citizen (talk)"] > 0.05 {
		t.Fatalf("channels mixed up: %v", shares)
	}
	if len(held) < 8000 {
		t.Fatalf("hold window of %d samples in the recording", len(held))
	}

	// The hold, the resume and the recording are steps of the call record
	// (the agent leg's steps) and of the contact's history.
	var steps []string
	for _, l := range rec.Legs {
		if l.Role == "agent" {
			for _, st := range l.Steps {
				steps = append(steps, st.Mode)
			}
		}
	}
	if strings.Join(steps, ",") != "hold,resume" {
		t.Fatalf("agent leg steps %v, want hold, resume", steps)
	}
	testpeers.WaitFor(t, 5*time.Second, "hold, resume and recorded in the contact's history", func() bool {
		evs, err := a.Store().ContactEvents(t.Context(), uint64(id))
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]string{}
		for _, e := range evs {
			seen[e.State] = e.Agent + " " + e.Reason
		}
		return seen["hold"] == "agent01 console" && seen["resume"] == "agent01 console" &&
			strings.Contains(seen["recorded"], "consent played")
	})

	// Playback: supervisors with ranges (audited once per play), agents 403.
	base := "http://" + a.HTTPAddr()
	url := base + "/api/contacts/" + strconv.FormatUint(rec.Contact, 10) + "/recording"
	sup := a.fsHTTP(t, "super01")
	resp, body := httpGet(t, sup, base+"/api/contacts/"+strconv.FormatUint(rec.Contact, 10)+"/history")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"url":"/api/contacts/`) {
		t.Fatalf("history: %d %s", resp.StatusCode, body)
	}
	file, _ := os.ReadFile(rec.RecordingPath)
	resp, body = httpGet(t, sup, url, "Range", "bytes=0-99")
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, file[:100]) || resp.Header.Get("Content-Type") != "audio/wav" {
		t.Fatalf("range 0-99: %d %s, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
	}
	resp, body = httpGet(t, sup, url, "Range", "bytes=1000-1999")
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, file[1000:2000]) ||
		resp.Header.Get("Content-Range") != "bytes 1000-1999/"+strconv.Itoa(len(file)) {
		t.Fatalf("range 1000-1999: %d %q, %d bytes", resp.StatusCode, resp.Header.Get("Content-Range"), len(body))
	}
	ag := a.fsHTTP(t, "agent01")
	if resp, _ := httpGet(t, ag, url); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("agent01 got %d for the recording, want 403", resp.StatusCode)
	}
	plays, err := a.Store().Audit(t.Context(), store.AuditQuery{Action: "recording_play"})
	if err != nil {
		t.Fatal(err)
	}
	if len(plays) != 1 || plays[0].Actor != "super01" || plays[0].Target != "contact:"+strconv.FormatUint(rec.Contact, 10) {
		t.Fatalf("recording_play audit entries: %+v; want one by super01 for the contact", plays)
	}

	// The recorder's totals are in /metrics: one recording, its frames
	// (50 a second), nothing failed.
	_, m := scrape(t, base, "")
	frames := sample(m, "onecall_recording_frames_written_total")
	if sample(m, "onecall_recordings_started_total") != 1 || sample(m, "onecall_recordings_failed_total") != 0 ||
		frames < 50*(call.Seconds()-1) {
		t.Fatalf("recording metrics:\n%s", grepLines(m, "onecall_recording"))
	}
}

// TestFullStackNoRecordingWhenOff: the shipped 110 does not record: a call
// plays no consent announcement and leaves no file and no path.
func TestFullStackNoRecordingWhenOff(t *testing.T) {
	dataDir := t.TempDir()
	a := fsStart(t, dataDir)
	citizen := fsStartSipp(t, a.sipUDP(), fsHotline, fsCitizen{From: "01033335555", Audio: true, HoldFor: 3000})
	if err := citizen.Wait(t, 20*time.Second); err != nil {
		t.Fatalf("citizen scenario failed: %v", err)
	}
	rec := a.callRecordTo(t, 5*time.Second, fsHotline)
	if rec.RecordingPath != "" || rec.RecordingBytes != 0 {
		t.Fatalf("call record of an unrecorded line has a recording: %+v", rec)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "recordings")); !os.IsNotExist(err) {
		t.Fatalf("recordings directory on a data directory with no recorded call: %v", err)
	}
	prompts, _ := a.callEndedLog(t, rec.Contact)["prompts"].([]any)
	if len(prompts) == 0 {
		t.Fatal("no prompts listed in the call's log record")
	}
	for _, p := range consentSay(&configs.Number{Recording: &configs.Recording{Enabled: true,
		ConsentKo: configs.DefaultConsentKo, ConsentEn: configs.DefaultConsentEn}, Language: "ko"}) {
		for _, q := range prompts {
			if s, _ := q.(string); strings.Contains(s, p.Key()) {
				t.Fatalf("consent prompt %s played on an unrecorded line (prompts %v)", p.Key(), prompts)
			}
		}
	}
}

// The scheduled purge deletes recordings by the line's recording retention:
// 1332 ships recording.retention_days 30 (its other personal data stays 90
// days). A recorded 1332 call ended 40 days ago loses its file and path at
// the next run, keeping the citizen's number; one ended 10 days ago keeps
// its file, and so does a 110 call ended 40 days ago (110 keeps recordings
// with the rest, 90 days). The run's figures count the recording.
func TestScheduledPurgeDeletesRecordingsByLine(t *testing.T) {
	cfg := fsConfig(t, "", "transcript_retention_days: 90", "transcript_retention_days: 90\n  purge_every: 1s")
	dataDir := t.TempDir()
	a := fsStartAt(t, cfg, dataDir)
	st := a.Store()
	ctx := t.Context()
	now := time.Now()
	dir := filepath.Join(dataDir, "recordings", "seed")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	seed := func(id uint64, line string, ended time.Time) string {
		p := filepath.Join(dir, strconv.FormatUint(id, 10)+".wav")
		if err := os.WriteFile(p, []byte("RIFF"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := st.Enqueue(store.ContactUpsert{ID: id, Channel: "voice", Hotline: line, Citizen: "010-4321-8765", State: "ended",
			Arrived: ended.Add(-time.Minute), Ended: ended}); err != nil {
			t.Fatal(err)
		}
		if err := st.Durable(ctx, store.CallRecord{CallID: "seed", Contact: id, Started: ended.Add(-time.Minute), Ended: ended,
			RecordingPath: p, RecordingBytes: 4, RecordingDuration: time.Second}); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const oldID, newID, otherID = 9_100_001, 9_100_002, 9_100_003
	old := seed(oldID, "1332", now.Add(-40*24*time.Hour))
	fresh := seed(newID, "1332", now.Add(-10*24*time.Hour))
	other := seed(otherID, "110", now.Add(-40*24*time.Hour))

	testpeers.WaitFor(t, 40*time.Second, "the 1332 recording ended 40 days ago deleted by the scheduled purge", func() bool {
		_, err := os.Stat(old)
		return os.IsNotExist(err)
	})
	for _, p := range []string{fresh, other} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("recording %s deleted: %v", p, err)
		}
	}
	if _, err := st.Recording(ctx, oldID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("purged recording still listed: %v", err)
	}
	c, err := st.Contact(ctx, oldID)
	if err != nil || c.Citizen == "" {
		t.Fatalf("the 1332 contact lost its other personal data too early: %+v %v", c, err)
	}
	var recs int64
	testpeers.WaitFor(t, 10*time.Second, "a purge audit entry counting the recording", func() bool {
		entries, err := st.Audit(ctx, store.AuditQuery{Action: "purge", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		recs = 0
		for _, e := range entries {
			var f store.PurgeResult
			if json.Unmarshal([]byte(e.Detail), &f) == nil {
				recs += f.Recordings
			}
		}
		return recs >= 1
	})
	if recs != 1 {
		t.Fatalf("purge figures count %d recordings, want 1", recs)
	}
}
