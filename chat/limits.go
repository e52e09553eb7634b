package chat

import (
	"io/fs"
	"net/http"
	"strings"
	"unicode/utf8"
)

// AttrPhoneUnverified is the contact attribute holding a phone number the
// citizen typed on the chat page: shown to agents as unverified, never used
// as the citizen's identity.
const AttrPhoneUnverified = "phone_unverified"

// phoneAttr reads the typed phone number of a stored chat (older rows kept
// it as "phone").
func phoneAttr(a map[string]string) string {
	if p := a[AttrPhoneUnverified]; p != "" {
		return p
	}
	return a["phone"]
}

// reserveChat counts one more live chat; false (nothing counted) when
// MaxChats chats are live.
func (s *Service) reserveChat() bool {
	if n := s.live.Add(1); s.opts.MaxChats > 0 && n > int64(s.opts.MaxChats) {
		s.live.Add(-1)
		return false
	}
	return true
}

// LiveChats is the number of chats not ended.
func (s *Service) LiveChats() int { return int(s.live.Load()) }

// serveStatic serves one file of the embedded web folder: a directory, an
// invalid path (bad UTF-8, "..", empty elements) or a missing file is 404.
func serveStatic(static fs.FS, w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if p == "" || strings.HasSuffix(p, "/") || !utf8.ValidString(p) || !fs.ValidPath(p) {
		http.NotFound(w, r)
		return
	}
	st, err := fs.Stat(static, p)
	if err != nil || st.IsDir() {
		http.NotFound(w, r)
		return
	}
	http.ServeFileFS(w, r, static, p)
}

// frameBudget bounds the frames one citizen connection may send: beyond
// frameRate a second (burst frameBurst) the connection is closed with
// 1008. Every frame type that reaches the agent is further limited on its
// own (messages per chat, typing 1/s, read only when it advances).
const (
	frameRate  = 20
	frameBurst = 60
)
