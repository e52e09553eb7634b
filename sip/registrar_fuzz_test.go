package sip

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// FuzzRegistrarServe feeds arbitrary bytes through sipgo's parser into
// ValidateRequest and, for REGISTERs, the whole registrar decision (digest
// parsing, nonce check, bindings): nothing may panic, every request gets a
// response, and nothing registers without a valid digest.
func FuzzRegistrarServe(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "torture", "*", "*.dat"))
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK1\r\n" +
		"From: <sip:agent01@127.0.0.1>;tag=1\r\nTo: <sip:agent01@127.0.0.1>\r\nCall-ID: x\r\nCSeq: 2 REGISTER\r\n" +
		"Contact: <sip:agent01@127.0.0.1:5062>;expires=60, *\r\nExpires: 0\r\nRequire: path\r\nMax-Forwards: 0\r\n" +
		"Authorization: Digest username=\"agent01\", realm=\"onecall\", nonce=\"AAAA\", uri=\"sip:127.0.0.1\", " +
		"response=\"00\", algorithm=SHA-256, qop=auth, nc=00000001, cnonce=\"c\"\r\nContent-Length: 0\r\n\r\n"))
	reg, _ := newTestRegistrar(f, nil)
	f.Fuzz(func(t *testing.T, data []byte) {
		msg, err := sip.ParseMessage(data)
		if err != nil {
			return
		}
		req, ok := msg.(*sip.Request)
		if !ok {
			return
		}
		res := ValidateRequest(req, "path")
		if req.Method != sip.REGISTER || res != nil {
			return
		}
		res = reg.serve(req)
		if res == nil {
			t.Fatal("no response")
		}
		if res.StatusCode == 200 {
			t.Fatalf("registered without a valid digest:\n%s", data)
		}
	})
}
