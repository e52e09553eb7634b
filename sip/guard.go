package sip

import (
	"net/netip"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo/sip"
)

// dialogPeer is what an in-dialog request (INFO, re-INVITE) must carry to
// be taken as coming from the dialog's peer: the Call-ID alone is not
// enough (it travels in clear to every proxy and log). The peer's From tag
// is the dialog's remote tag, its To tag our local tag, and its source
// address the one the dialog was set up with.
type dialogPeer struct {
	localTag, remoteTag string
	source              netip.Addr // invalid: not checked
}

// serverDialogPeer: the citizen's INVITE came from the peer; we chose the
// To tag of our answer.
func serverDialogPeer(d *diago.DialogServerSession) dialogPeer {
	var p dialogPeer
	if req := d.InviteRequest; req != nil {
		p.remoteTag = fromTag(req)
		p.source = sourceAddr(req.Source())
	}
	if res := d.InviteResponse; res != nil {
		p.localTag = toTag(res)
	}
	return p
}

// clientDialogPeer: we sent the INVITE (our From tag); the phone's answer
// names its To tag and comes from its address.
func clientDialogPeer(d *diago.DialogClientSession) dialogPeer {
	var p dialogPeer
	if req := d.InviteRequest; req != nil {
		p.localTag = fromTag(req)
	}
	if res := d.InviteResponse; res != nil {
		p.remoteTag = toTag(res)
		p.source = sourceAddr(res.Source())
	}
	return p
}

func fromTag(m sip.Message) string {
	if h := m.From(); h != nil {
		v, _ := h.Params.Get("tag")
		return v
	}
	return ""
}

func toTag(m sip.Message) string {
	if h := m.To(); h != nil {
		v, _ := h.Params.Get("tag")
		return v
	}
	return ""
}

// sourceAddr parses "ip:port" (or a bare IP); invalid when it is neither.
func sourceAddr(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap()
	}
	return netip.Addr{}
}

// matches reports whether req belongs to the dialog: both tags and, when
// known, the source address.
func (p dialogPeer) matches(req *sip.Request) bool {
	if p.localTag == "" || p.remoteTag == "" {
		return false
	}
	if fromTag(req) != p.remoteTag || toTag(req) != p.localTag {
		return false
	}
	if p.source.IsValid() && sourceAddr(req.Source()) != p.source {
		return false
	}
	return true
}

// dialogLeg returns the leg of the dialog req is in. known reports whether
// the Call-ID names one of our legs at all; a leg is returned only when the
// tags and the source match too (else the request is counted as a
// wrong-dialog drop).
func (s *Service) dialogLeg(req *sip.Request) (l Leg, known bool) {
	cid := ""
	if h := req.CallID(); h != nil {
		cid = h.Value()
	}
	s.mu.Lock()
	l, known = s.legs[cid]
	p := s.peers[cid]
	s.mu.Unlock()
	if !known {
		return nil, false
	}
	if !p.matches(req) {
		s.drops.add(DropWrongDialog)
		s.log.Info("in-dialog request refused: tags or source do not match the dialog",
			"method", req.Method.String(), "call_id", cid, "source", req.Source())
		return nil, true
	}
	return l, true
}

// respondNoDialog answers 481 Call/Transaction Does Not Exist.
func respondNoDialog(req *sip.Request, tx sip.ServerTransaction) {
	_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
}
