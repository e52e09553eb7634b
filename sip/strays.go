package sip

import (
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// strayAnswers remembers the offers we gave up on without a CANCEL (the
// phone sent no provisional response, so RFC 3261 9.1 allows none). If such
// a phone answers anyway, its 2xx reaches no transaction; sipgo hands it to
// onStrayResponse, which ACKs it and hangs up with BYE, so the phone neither
// retransmits the 2xx nor believes it is in a call.
//
// Concurrency: remember is called by offer goroutines, take by sipgo's
// transaction layer; mu guards m.
type strayAnswers struct {
	mu sync.Mutex
	m  map[string]strayOffer // by Call-ID
}

type strayOffer struct {
	d     *sipgo.DialogClientSession
	until time.Time
}

// strayWindow is how long an abandoned INVITE can still be answered: its
// transaction would have lived 64*T1 (Timer B, 32 s).
const strayWindow = 32 * time.Second

func (s *strayAnswers) remember(d *sipgo.DialogClientSession, now time.Time) {
	if d == nil || d.InviteRequest == nil || d.InviteRequest.CallID() == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]strayOffer{}
	}
	for id, o := range s.m {
		if now.After(o.until) {
			delete(s.m, id)
		}
	}
	s.m[d.InviteRequest.CallID().Value()] = strayOffer{d: d, until: now.Add(strayWindow)}
}

// take returns and forgets the abandoned offer with this Call-ID.
func (s *strayAnswers) take(callID string, now time.Time) *sipgo.DialogClientSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.m[callID]
	if !ok {
		return nil
	}
	delete(s.m, callID)
	if now.After(o.until) {
		return nil
	}
	return o.d
}

// onStrayResponse is sipgo's handler for responses that match no
// transaction (retransmissions, mostly): a 2xx to an INVITE we abandoned is
// ACKed and hung up.
func (s *Service) onStrayResponse(res *sip.Response) {
	cseq, id := res.CSeq(), res.CallID()
	if !res.IsSuccess() || cseq == nil || cseq.MethodName != sip.INVITE || id == nil {
		return
	}
	d := s.strays.take(id.Value(), time.Now())
	if d == nil {
		return
	}
	s.log.Info("agent phone answered an abandoned offer; hanging up", "call_id", id.Value())
	d.InviteResponse = res
	go hangUpCrossed(d) // not on the transport's goroutine
}
