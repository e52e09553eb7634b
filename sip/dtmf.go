package sip

import (
	"encoding/binary"
	"errors"
	"strings"
)

// dtmfEvents maps RFC 4733 event codes 0..15 to keys.
const dtmfEvents = "0123456789*#ABCD"

var errShortEvent = errors.New("sip: RFC 4733 payload shorter than 4 bytes")

// rfc4733Event is one telephone-event payload.
type rfc4733Event struct {
	Event    uint8
	End      bool
	Volume   uint8
	Duration uint16
}

func parseRFC4733(p []byte) (rfc4733Event, error) {
	if len(p) < 4 {
		return rfc4733Event{}, errShortEvent
	}
	return rfc4733Event{
		Event:    p[0],
		End:      p[1]&0x80 != 0,
		Volume:   p[1] & 0x3f,
		Duration: binary.BigEndian.Uint16(p[2:4]),
	}, nil
}

// dtmfDetector turns a stream of telephone-event packets into key presses.
// Unlike diago's reader it does not need a non-zero first duration: a key is
// reported once per event timestamp, on its first packet (start, update or
// end alike), so lost start packets and retransmitted ends are harmless.
// Used by one goroutine (the leg's pump).
type dtmfDetector struct {
	seen    bool
	lastTS  uint32
	lastKey uint8
}

// feed returns the key when this packet starts a new event.
func (d *dtmfDetector) feed(timestamp uint32, payload []byte) (rune, bool) {
	ev, err := parseRFC4733(payload)
	if err != nil || int(ev.Event) >= len(dtmfEvents) {
		return 0, false
	}
	if d.seen && d.lastTS == timestamp && d.lastKey == ev.Event {
		return 0, false
	}
	d.seen, d.lastTS, d.lastKey = true, timestamp, ev.Event
	return rune(dtmfEvents[ev.Event]), true
}

// parseInfoDTMF reads a SIP INFO body: application/dtmf-relay
// ("Signal=5\r\nDuration=160") or application/dtmf ("5").
func parseInfoDTMF(contentType string, body []byte) (rune, bool) {
	ct := strings.ToLower(strings.TrimSpace(strings.SplitN(contentType, ";", 2)[0]))
	switch ct {
	case "application/dtmf-relay":
		for _, line := range strings.Split(string(body), "\n") {
			k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(k), "signal") {
				continue
			}
			return infoKey(strings.TrimSpace(v))
		}
	case "application/dtmf":
		return infoKey(strings.TrimSpace(string(body)))
	}
	return 0, false
}

func infoKey(v string) (rune, bool) {
	if len(v) == 1 {
		if i := strings.IndexByte(dtmfEvents, strings.ToUpper(v)[0]); i >= 0 {
			return rune(dtmfEvents[i]), true
		}
	}
	// Some gateways send the event code: 10 = '*', 11 = '#'.
	switch v {
	case "10":
		return '*', true
	case "11":
		return '#', true
	}
	return 0, false
}
