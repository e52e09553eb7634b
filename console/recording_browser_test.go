package console

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"onecall/internal/testpeers"
	"onecall/store"
)

// A supervisor opens a recorded contact's history page: the events are
// listed, the player points at the recording endpoint with its length, the
// read is audited, and the page has no serious axe-core violation. An
// agent's page says supervisors only.
func TestBrowserContactHistoryPlayer(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	// One second of stereo 8 kHz 16-bit silence.
	wav := make([]byte, 44+32000)
	copy(wav, "RIFF")
	binary.LittleEndian.PutUint32(wav[4:], uint32(len(wav)-8))
	copy(wav[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(wav[16:], 16)
	binary.LittleEndian.PutUint16(wav[20:], 1)
	binary.LittleEndian.PutUint16(wav[22:], 2)
	binary.LittleEndian.PutUint32(wav[24:], 8000)
	binary.LittleEndian.PutUint32(wav[28:], 32000)
	binary.LittleEndian.PutUint16(wav[32:], 4)
	binary.LittleEndian.PutUint16(wav[34:], 16)
	copy(wav[36:], "data")
	binary.LittleEndian.PutUint32(wav[40:], 32000)
	path := filepath.Join(t.TempDir(), "5.wav")
	if err := os.WriteFile(path, wav, 0o600); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-time.Hour)
	for _, r := range []store.Record{
		store.ContactUpsert{ID: 5, Channel: "voice", Hotline: "1332", Queue: "finance", Citizen: "01012345678", State: "ended",
			Arrived: at, Ended: at.Add(time.Minute)},
		store.ContactEvent{Contact: 5, At: at, State: "waiting", Queue: "finance"},
		store.ContactEvent{Contact: 5, At: at.Add(10 * time.Second), State: "talking", Queue: "finance", Agent: "agent01"},
		store.CallRecord{CallID: "c5", Contact: 5, Started: at, Ended: at.Add(time.Minute), RecordingPath: path,
			RecordingBytes: int64(len(wav)), RecordingDuration: time.Second},
	} {
		if err := e.st.Durable(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	browser := testpeers.Chromium(t, chromedp.WindowSize(1366, 768))
	sup := openWallboard(t, browser, e.srv.URL+"/", "super01", "#super")
	testpeers.Run(t, sup.ctx, "contact page", chromedp.Navigate(e.srv.URL+"/console/contact?id=5"))
	sup.poll("history and player", `!document.getElementById('rec').hidden &&
		document.querySelectorAll('#events tbody tr').length === 2 &&
		document.getElementById('player').getAttribute('src') === '/api/contacts/5/recording' &&
		document.getElementById('rec-meta').textContent.includes('0:01')`)
	testpeers.AxeSerious(t, sup.ctx, "contact history with player")
	entries, err := e.st.Audit(ctx, store.AuditQuery{Action: "history_read", Actor: "super01"})
	if err != nil || len(entries) == 0 || entries[0].Target != "contact:5" {
		t.Fatalf("history read not audited: %+v %v", entries, err)
	}

	ag := openWallboard(t, browser, e.srv.URL+"/", "agent01", "#agent")
	testpeers.Run(t, ag.ctx, "contact page as agent", chromedp.Navigate(e.srv.URL+"/console/contact?id=5"))
	ag.poll("refused", `document.getElementById('status').textContent.includes('Supervisors only') &&
		document.getElementById('rec').hidden`)
}
