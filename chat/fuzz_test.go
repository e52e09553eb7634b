package chat

import (
	"errors"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// FuzzClientFrame sends arbitrary frames after a start: the server must
// answer (error frames included) and keep the connection, except for
// invalid UTF-8 (1007) and oversized frames (1009); it must never crash.
//
//	go test -run '^$' -fuzz FuzzClientFrame -fuzztime 60s ./chat/
func FuzzClientFrame(f *testing.F) {
	for _, s := range []string{
		`{"type":"msg","id":"1","text":"안녕"}`, `{"type":`, `[]`, `null`, `{"type":"msg","text":123}`,
		`{"type":"rate","score":-1}`, `{"type":"resume","token":"x"}`, `{"type":"read","seq":999999999999}`,
		`{"type":"callback","phone":"+82 10 1234 5678"}`, `{"type":"leave_message","text":""}`, "\xff\xfe",
		`{"type":"typing"}`, `{"type":"end"}`, `{"type":"start","number":"110"}`, `{"type":"msg","text":"<script>"}`,
	} {
		f.Add([]byte(s))
	}
	e := newEnv(f, func(c *envConfig) {
		c.opts.NewChatBurst = 1 << 30
		c.opts.MsgBurst = 1 << 30
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		c := e.dial(t)
		c.start("110", "general")
		if err := c.c.WriteMessage(websocket.TextMessage, data); err != nil {
			t.Fatal(err)
		}
		if err := c.c.WriteJSON(map[string]any{"type": "ping"}); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			fr, err := c.read(time.Until(deadline))
			if err != nil {
				var ce *websocket.CloseError
				if errors.As(err, &ce) && ((ce.Code == websocket.CloseInvalidFramePayloadData && !utf8.Valid(data)) ||
					ce.Code == websocket.CloseMessageTooBig) {
					return
				}
				t.Fatalf("input %q: %v", data, err)
			}
			if fr["type"] == "pong" {
				if !utf8.Valid(data) {
					t.Fatalf("invalid UTF-8 %q accepted", data)
				}
				return
			}
		}
	})
}
