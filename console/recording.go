package console

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"strconv"
	"strings"

	"onecall/store"
)

// Call recordings: supervisors and admins play a contact's recording from
// its history (the page /console/contact); agents never (403). Every play
// is written to the audit trail (action "recording_play") before the audio
// is served; the range requests a player sends to seek or continue the
// same play are not audited again.

// RecordingStore is the recording part of *store.Store; a Store without it
// has no recordings to play.
type RecordingStore interface {
	Recording(ctx context.Context, contact uint64) (store.Recording, error)
}

// RecordingView describes a contact's recording (never its path).
type RecordingView struct {
	Contact    uint64 `json:"contact"`
	Started    int64  `json:"started,omitempty"` // unix ms
	DurationMS int64  `json:"duration_ms"`
	Bytes      int64  `json:"bytes"`
	URL        string `json:"url"`
}

// ContactHistoryView is GET /api/contacts/{id}/history: the contact's own
// events and its recording, if any.
type ContactHistoryView struct {
	Events    []EventView    `json:"events"`
	Recording *RecordingView `json:"recording,omitempty"`
}

func (s *Service) recordingRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/contacts/{id}/recording", s.authed(RoleSupervisor, s.apiRecording))
	mux.HandleFunc("GET /api/contacts/{id}/history", s.authed(RoleSupervisor, s.apiContactEvents))
	mux.HandleFunc("GET /console/contact", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		static, _ := fs.Sub(webFS, "web")
		http.ServeFileFS(w, r, static, "contact.html")
	})
}

// recordingOf returns the contact's recording; ok false (and the answer
// written) when there is none to play.
func (s *Service) recordingOf(w http.ResponseWriter, r *http.Request) (store.Recording, bool) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		fail(w, http.StatusBadRequest, "bad contact id")
		return store.Recording{}, false
	}
	rs, ok := s.st.(RecordingStore)
	if !ok {
		fail(w, http.StatusNotFound, "no recording")
		return store.Recording{}, false
	}
	rec, err := rs.Recording(r.Context(), id)
	if err != nil {
		if isNotFound(err) {
			fail(w, http.StatusNotFound, "no recording")
		} else {
			fail(w, http.StatusServiceUnavailable, "store unavailable")
		}
		return store.Recording{}, false
	}
	return rec, true
}

// apiRecording serves the WAV with range support (http.ServeContent).
func (s *Service) apiRecording(w http.ResponseWriter, r *http.Request, sess *session) {
	rec, ok := s.recordingOf(w, r)
	if !ok {
		return
	}
	f, err := os.Open(rec.Path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			fail(w, http.StatusNotFound, "recording deleted")
		} else {
			s.log.Error("recording unreadable", "contact", rec.Contact, "err", err)
			fail(w, http.StatusInternalServerError, "recording unreadable")
		}
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		fail(w, http.StatusInternalServerError, "recording unreadable")
		return
	}
	if newPlay(r.Header.Get("Range")) {
		s.audit(auditBy(sess, r, "recording_play", "contact:"+r.PathValue("id"),
			"call_id", rec.CallID, "duration_ms", rec.Duration.Milliseconds(), "range", r.Header.Get("Range")))
	}
	h := w.Header()
	h.Set("Content-Type", "audio/wav")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Disposition", `inline; filename="contact-`+strconv.FormatUint(rec.Contact, 10)+`.wav"`)
	http.ServeContent(w, r, "", st.ModTime(), f)
}

// newPlay reports whether a request starts a play: no range, or a range
// from the first byte (what a player sends first); a later range seeks
// within a play already audited.
func newPlay(rng string) bool {
	rng = strings.TrimSpace(rng)
	return rng == "" || strings.HasPrefix(rng, "bytes=0-")
}

// apiContactEvents is the contact's history for supervisors, with its
// recording (audited as a history read).
func (s *Service) apiContactEvents(w http.ResponseWriter, r *http.Request, sess *session) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		fail(w, http.StatusBadRequest, "bad contact id")
		return
	}
	evs, err := s.st.ContactEvents(r.Context(), id)
	if err != nil {
		fail(w, http.StatusServiceUnavailable, "store unavailable")
		return
	}
	if len(evs) > maxHistoryEvents {
		evs = evs[len(evs)-maxHistoryEvents:]
	}
	out := ContactHistoryView{Events: make([]EventView, 0, len(evs))}
	for _, e := range evs {
		out.Events = append(out.Events, EventView{At: unixMS(e.At), State: e.State, Queue: e.Queue, Agent: e.Agent, Reason: e.Reason})
	}
	if rs, ok := s.st.(RecordingStore); ok {
		if rec, err := rs.Recording(r.Context(), id); err == nil {
			out.Recording = &RecordingView{Contact: id, Started: unixMS(rec.Started), DurationMS: rec.Duration.Milliseconds(),
				Bytes: rec.Bytes, URL: "/api/contacts/" + strconv.FormatUint(id, 10) + "/recording"}
		}
	}
	s.audit(auditBy(sess, r, "history_read", "contact:"+r.PathValue("id"), "events", len(out.Events),
		"recording", out.Recording != nil))
	writeJSON(w, http.StatusOK, out)
}
