// Package sip is onecall's voice front end: SIP trunks in (UDP, TCP, TLS), the
// per-hotline IVR, queue media (hold music, place-in-line announcements,
// virtual hold), offers to agent phones, the caller/agent bridge and in-call
// control (hold, resume, hang up, blind transfer). The registrar and digest
// policy (registrar*.go, digest*.go) live in the same package but belong to
// their own files.
//
// Built on sipgo v1.7.3 and diago v0.42.1; diago stays behind the Leg
// interface (media.go), so a patch or an upgrade touches one file. We work
// around diago's defects here: our own RFC 4733 reader (diago drops events
// whose first packet has duration 0), SIP INFO DTMF (diago answers 488),
// and a BYE after a 2xx that is never ACKed.
//
// Concurrency: each call is one blocking script (call.go) running in the
// goroutine diago gives its INVITE; its context is the dialog's. Each leg
// has one RTP reader goroutine (the pump) that detects DTMF and forwards
// audio to the bridged peer; only one writer (a prompt player or the peer's
// pump) feeds a leg at a time. Router commands arrive through Sink.Deliver
// on the hub goroutine and are copied into small per-call mailboxes without
// blocking. Console control (Hold, Resume, Hangup, Transfer) is posted to the
// same mailbox. ContactAbandoned / ContactEnded are submitted exactly once
// per contact, in the script's defers.
//
// Media sockets: each Service owns its RTP port pool (ports.go: a FIFO
// ring over the whole range with a quarantine) and hands diago guarded
// sockets through the RTPListen hook of our vendored copy
// (third_party/diago/ONECALL.md). A guarded socket passes to diago only the
// packets from the peer's SDP address (rtp_guard.go). An INVITE's SDP is
// checked before any port is allocated (sdp_check.go).
package sip
