package app

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"onecall/internal/testpeers"
)

// uaPhone is an agent phone that can do what baresip 1.0 cannot: hold a
// call, place a second call, and complete an attended transfer by REFER
// with Replaces (RFC 5589). It is a small SIP user agent on sipgo/diago in
// test code only: it registers with digest, answers the offers it gets and
// speaks its own tone on every answered leg.
type uaPhone struct {
	t      *testing.T
	user   string
	dg     *diago.Diago
	port   int
	server string // onecall's UDP address
	tone   string // WAV the phone speaks
	calls  chan *diago.DialogServerSession
	// ringOnly phones ring and never answer (rung gets the call).
	ringOnly bool
	rung     chan *diago.DialogServerSession
	// reject, when set, is the final response to every call.
	reject atomic.Int32
}

// startUAPhone registers user (demo password) at the App from a fresh
// UDP port and serves incoming calls (auto-answer).
func startUAPhone(t *testing.T, a *fsApp, user string, hz int) *uaPhone {
	t.Helper()
	return startUAPhoneOpts(t, a, user, hz, false)
}

// startUAPhoneOpts is startUAPhone; ringOnly phones never answer.
func startUAPhoneOpts(t *testing.T, a *fsApp, user string, hz int, ringOnly bool) *uaPhone {
	t.Helper()
	p := startUAPhoneAt(t, "127.0.0.1", a.sipUDP(), user, hz, ringOnly)
	a.stopFirst(t)
	return p
}

// startUAPhoneAt is startUAPhoneOpts for a phone on host (a loopback
// address) that registers with, and calls through, server (onecall or a
// proxy in front).
func startUAPhoneAt(t *testing.T, host, server, user string, hz int, ringOnly bool) *uaPhone {
	t.Helper()
	port := testpeers.FreeSIPPort(t)
	ua, err := sipgo.NewUA(sipgo.WithUserAgent(user), sipgo.WithUserAgentHostname(host))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua.Close() })
	log := slog.New(slog.DiscardHandler)
	dg := diago.NewDiago(ua, diago.WithLogger(log),
		diago.WithTransport(diago.Transport{Transport: "udp", BindHost: host, BindPort: port}))
	p := &uaPhone{t: t, user: user, dg: dg, port: port, server: server,
		tone: testpeers.ToneWAV(t, t.TempDir(), hz, 120*time.Second), calls: make(chan *diago.DialogServerSession, 4),
		ringOnly: ringOnly, rung: make(chan *diago.DialogServerSession, 4)}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := dg.ServeBackground(ctx, func(d *diago.DialogServerSession) {
		if code := int(p.reject.Load()); code != 0 {
			_ = d.Respond(code, "Rejected", nil)
			return
		}
		if p.ringOnly {
			_ = d.Ringing()
			p.rung <- d
			<-d.Context().Done()
			return
		}
		med, err := d.Answer(diago.AnswerOptions{})
		if err != nil {
			return
		}
		go p.speak(med)
		p.calls <- d
		<-d.Context().Done()
	}); err != nil {
		t.Fatalf("test phone serve: %v", err)
	}
	shost, sport := splitAddr(t, server)
	reg, err := dg.RegisterTransaction(ctx, sip.Uri{Scheme: "sip", User: user, Host: shost, Port: sport},
		diago.RegisterOptions{Username: user, Password: "demo", Expiry: 300 * time.Second})
	if err != nil {
		t.Fatalf("test phone register: %v", err)
	}
	rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
	defer rcancel()
	// sipgo signals the UDP listener ready before it puts it in its
	// connection pool (ListenAndServe, then TransportUDP.Serve): a REGISTER
	// sent in between binds the phone's port for a client connection and
	// fails "address already in use". Retry that one error only.
	testpeers.WaitFor(t, 10*time.Second, "test phone "+user+" registered", func() bool {
		err := reg.Register(rctx)
		if err != nil && strings.Contains(err.Error(), "address already in use") {
			return false
		}
		if err != nil {
			t.Fatalf("test phone %s register: %v", user, err)
		}
		return true
	})
	return p
}

func splitAddr(t *testing.T, addr string) (string, int) {
	t.Helper()
	i := strings.LastIndexByte(addr, ':')
	port, err := strconv.Atoi(addr[i+1:])
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	return addr[:i], port
}

// speak plays the phone's tone on an answered leg until it ends.
func (p *uaPhone) speak(med *diago.DialogMedia) {
	pb, err := med.PlaybackCreate()
	if err != nil {
		return
	}
	_, _ = pb.PlayFile(p.tone)
}

// offered waits for the next call the phone answered.
func (p *uaPhone) offered(d time.Duration) *diago.DialogServerSession {
	p.t.Helper()
	select {
	case s := <-p.calls:
		return s
	case <-time.After(d):
		p.t.Fatalf("%s: no call answered within %s", p.user, d)
	}
	return nil
}

// dial calls user at onecall (a consult from the phone), answering
// onecall's 407 digest challenge with the phone's own credentials, and
// waits for the answer; the error carries the final response when it was
// refused.
func (p *uaPhone) dial(user string, d time.Duration) (*diago.DialogClientSession, error) {
	return p.dialAs(user, p.user, "demo", d)
}

// dialAs is dial answering the challenge as authUser with password; an
// empty password does not answer it (the 407 is the final response).
func (p *uaPhone) dialAs(user, authUser, password string, d time.Duration) (*diago.DialogClientSession, error) {
	host, port := splitAddr(p.t, p.server)
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	s, med, err := p.dg.Invite(ctx, sip.Uri{Scheme: "sip", User: user, Host: host, Port: port},
		diago.InviteOptions{Username: authUser, Password: password})
	if err != nil {
		return nil, err
	}
	go p.speak(med)
	return s, nil
}

// refusal is the final status code of a refused dial (0: not a response).
func refusal(err error) int {
	var e *sipgo.ErrDialogResponse
	if errors.As(err, &e) {
		return e.Res.StatusCode
	}
	var e2 sipgo.ErrDialogResponse
	if errors.As(err, &e2) {
		return e2.Res.StatusCode
	}
	return 0
}

// replaces is the Refer-To of an attended transfer: target with the
// consult dialog's Replaces (Call-ID, onecall's tag as to-tag, the phone's
// as from-tag), escaped as URI headers are.
func replaces(target string, callID, toTag, fromTag string) string {
	v := callID + ";to-tag=" + toTag + ";from-tag=" + fromTag
	v = strings.NewReplacer(";", "%3B", "=", "%3D", "@", "%40").Replace(v)
	return "<" + target + "?Replaces=" + v + ">"
}

// serverTags returns the Call-ID, the remote (onecall's) and local tags
// of a dialog onecall placed to the phone.
func serverTags(s *diago.DialogServerSession) (callID, remote, local string) {
	callID = s.InviteRequest.CallID().Value()
	remote, _ = s.InviteRequest.From().Params.Get("tag")
	local, _ = s.InviteResponse.To().Params.Get("tag")
	return
}

// tagsOf returns the Call-ID, the remote (onecall's) and local tags of a
// dialog the phone placed.
func tagsOf(s *diago.DialogClientSession) (callID, remote, local string) {
	callID = s.InviteRequest.CallID().Value()
	local, _ = s.InviteRequest.From().Params.Get("tag")
	remote, _ = s.InviteResponse.To().Params.Get("tag")
	return
}

// refer sends REFER in the citizen dialog (the one onecall placed to the
// phone) with referTo, and returns the sipfrag status of the final NOTIFY.
func refer(t *testing.T, d *diago.DialogServerSession, referTo string) (int, error) {
	t.Helper()
	return referWith(t, referTo, func(ctx context.Context, uri sip.Uri, h []sip.Header, on func(int)) error {
		return d.ReferOptions(ctx, uri, diago.ReferServerOptions{Headers: h, OnNotify: on})
	})
}

// referConsult sends REFER in the consult dialog (the one the phone
// placed), as refer does.
func referConsult(t *testing.T, d *diago.DialogClientSession, referTo string) (int, error) {
	t.Helper()
	return referWith(t, referTo, func(ctx context.Context, uri sip.Uri, h []sip.Header, on func(int)) error {
		return d.ReferOptions(ctx, uri, diago.ReferClientOptions{Headers: h, OnNotify: on})
	})
}

func referWith(t *testing.T, referTo string, send func(context.Context, sip.Uri, []sip.Header, func(int)) error) (int, error) {
	t.Helper()
	notified := make(chan int, 4)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var uri sip.Uri
	if err := sip.ParseUri(strings.Trim(strings.SplitN(referTo, "?", 2)[0], "<>"), &uri); err != nil {
		t.Fatal(err)
	}
	err := send(ctx, uri, []sip.Header{sip.NewHeader("Refer-To", referTo)}, func(code int) { notified <- code })
	if err != nil {
		return 0, err
	}
	for {
		select {
		case code := <-notified:
			if code >= 200 {
				return code, nil
			}
		case <-ctx.Done():
			return 0, errors.New("no final NOTIFY within 10 s")
		}
	}
}
