package chat

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"
)

//go:embed web
var webFS embed.FS

func itoa(n int) string { return strconv.Itoa(n) }

func (s *Service) initHTTP() {
	s.upgrader = websocket.Upgrader{
		ReadBufferSize:    1024,
		WriteBufferSize:   1024,
		WriteBufferPool:   new(syncPool),
		CheckOrigin:       s.checkOrigin,
		EnableCompression: false,
	}
	fa := []string{"'self'"}
	for _, o := range s.opts.FrameAncestors {
		if o = strings.TrimSpace(o); o != "" && !strings.ContainsAny(o, ";,\r\n") {
			fa = append(fa, o)
		}
	}
	s.csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; " +
		"base-uri 'none'; form-action 'self'; object-src 'none'; frame-ancestors " + strings.Join(fa, " ")
	type topicJ struct {
		ID string `json:"id"`
		KO string `json:"ko"`
		EN string `json:"en"`
	}
	type hotJ struct {
		Number string   `json:"number"`
		KO     string   `json:"ko"`
		EN     string   `json:"en"`
		Topics []topicJ `json:"topics"`
		// RetentionDays is the line's own retention, when it has one.
		RetentionDays *int `json:"retention_days,omitempty"`
	}
	hs := make([]hotJ, 0, len(s.opts.Hotlines))
	for _, h := range s.opts.Hotlines {
		j := hotJ{Number: h.Number, KO: h.NameKO, EN: h.NameEN, Topics: []topicJ{}, RetentionDays: h.RetentionDays}
		for _, t := range h.Topics {
			j.Topics = append(j.Topics, topicJ{t.ID, t.NameKO, t.NameEN})
		}
		hs = append(hs, j)
	}
	s.hotJSON, _ = json.Marshal(map[string]any{"v": ProtocolVersion, "hotlines": hs, "max_text_bytes": s.opts.MaxTextBytes, "retention_days": s.opts.RetentionDays})

	static, _ := fs.Sub(webFS, "web")
	mux := http.NewServeMux()
	page := func(w http.ResponseWriter, r *http.Request) {
		if n := r.PathValue("number"); n != "" {
			if _, _, ok := s.lookup(n, ""); !ok {
				http.NotFound(w, r)
				return
			}
		}
		s.headers(w)
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, static, "index.html")
	}
	mux.HandleFunc("GET /chat", page)
	mux.HandleFunc("GET /chat/{$}", page)
	mux.HandleFunc("GET /chat/{number}", page)
	mux.HandleFunc("GET /chat/widget.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		http.ServeFileFS(w, r, static, "widget.js")
	})
	mux.HandleFunc("GET /chat/hotlines.json", func(w http.ResponseWriter, r *http.Request) {
		s.headers(w)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(s.hotJSON)
	})
	mux.HandleFunc("GET /chat/transcript", s.serveTranscript)
	mux.HandleFunc("GET /chat/hours/{number}", s.serveHours)
	mux.Handle("GET /chat/static/", http.StripPrefix("/chat/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.headers(w)
		serveStatic(static, w, r)
	})))
	mux.HandleFunc("GET /ws/chat", s.serveWS)
	s.mux = mux
}

// ServeHTTP serves /chat, /chat/{number}, /chat/widget.js, /chat/static/...,
// /chat/hotlines.json, /chat/transcript and /ws/chat.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Service) headers(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", s.csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

func (s *Service) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true // not a browser
	}
	for _, o := range s.opts.AllowedOrigins {
		if strings.EqualFold(o, origin) {
			return true
		}
	}
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

// allowNewChat applies the per-IP new-chat rate; on refusal it returns the
// seconds to wait.
func (s *Service) allowNewChat(ip string) (int, bool) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.ipLim[ip]
	if !ok {
		if len(s.ipLim) >= 100000 { // forget idle addresses (full buckets)
			for k, v := range s.ipLim {
				if v.TokensAt(now) >= float64(s.opts.NewChatBurst) {
					delete(s.ipLim, k)
				}
			}
		}
		l = rate.NewLimiter(rate.Limit(s.opts.NewChatsPerIP), s.opts.NewChatBurst)
		s.ipLim[ip] = l
	}
	r := l.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return int(d/time.Second) + 1, false
	}
	return 0, true
}

// callbacksOn says whether number places callbacks.
func (s *Service) callbacksOn(number string) bool {
	h, _, ok := s.lookup(number, "")
	return ok && h.Callbacks
}

func (s *Service) lookup(number, topic string) (Hotline, Topic, bool) {
	for _, h := range s.opts.Hotlines {
		if h.Number != number {
			continue
		}
		if topic == "" {
			if len(h.Topics) > 0 {
				return h, h.Topics[0], true
			}
			return h, Topic{}, true
		}
		for _, t := range h.Topics {
			if t.ID == topic {
				return h, t, true
			}
		}
		return Hotline{}, Topic{}, false
	}
	return Hotline{}, Topic{}, false
}

// serveTranscript answers GET /chat/transcript with the header
// "Authorization: Bearer <resume token>": the chat as UTF-8 plain text.
func (s *Service) serveTranscript(w http.ResponseWriter, r *http.Request) {
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !validToken(token) {
		http.Error(w, "resume token required", http.StatusUnauthorized)
		return
	}
	hash := hashToken(token)
	s.mu.Lock()
	cv := s.convs[s.byHash[hash]]
	s.mu.Unlock()
	var rec contactRec
	if cv != nil {
		cv.mu.Lock()
		rec = cv.rec
		cv.mu.Unlock()
	} else {
		var err error
		if rec, err = s.be.contactByHash(r.Context(), hash); err != nil || rec.ResumeHash != hash {
			http.Error(w, "unknown or expired token", http.StatusUnauthorized)
			return
		}
	}
	if rec.State == "ended" && !rec.Ended.IsZero() && s.now().After(rec.Ended.Add(s.opts.ResumeTTL)) {
		http.Error(w, "unknown or expired token", http.StatusUnauthorized)
		return
	}
	msgs, err := s.Transcript(r.Context(), rec.ID)
	if err != nil {
		http.Error(w, "transcript unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="chat-%d.txt"`, rec.ID))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(FormatTranscript(rec.Number, rec.Language, msgs)))
}

// FormatTranscript renders msgs as plain text, one message per line block,
// times in KST.
func FormatTranscript(number, lang string, msgs []Message) string {
	kst := time.FixedZone("KST", 9*3600)
	var b strings.Builder
	if lang == "en" {
		fmt.Fprintf(&b, "Chat transcript, hotline %s\n\n", number)
	} else {
		fmt.Fprintf(&b, "상담 기록, %s\n\n", number)
	}
	for _, m := range msgs {
		who := m.Alias
		switch m.Sender {
		case SenderCitizen:
			who = map[bool]string{true: "Me", false: "나"}[lang == "en"]
		case SenderSystem:
			who = "*"
		}
		fmt.Fprintf(&b, "[%s] %s: %s\n", m.Sent.In(kst).Format("2006-01-02 15:04:05"), who, m.Text)
	}
	return b.String()
}
