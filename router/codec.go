package router

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"time"
)

// The codec turns every Event and every Command into bytes and back, so a
// cluster can replicate the engine by its input (the events, in a log) and
// carry its output (the commands) to the nodes concerned. An encoding is
//
//	<version> <type tag> <JSON of the value>
//
// e.g. `1 OfferAccepted {"Contact":7,"Agent":"a1"}`. The tag is the Go type
// name; events and commands have separate tables, so a command's bytes never
// decode as an event. A decoder refuses other versions, unknown tags and bad
// JSON with an error wrapping ErrCodec; it never panics. The codec is pure.
//
// Every event and command type must have an entry below: codec_test.go
// checks the tables against the types that implement Event and Command in
// this package's source, so a new type without an entry fails the tests.

// CodecVersion is the version of the encoding EncodeEvent and EncodeCommand
// write. Decoders accept only this version.
const CodecVersion = 1

// ErrCodec wraps every decoding and encoding failure.
var ErrCodec = errors.New("router: bad encoding")

type codecTable struct {
	tags map[reflect.Type]string
	dec  map[string]func([]byte) (any, error)
}

func decodeAs[T any](b []byte) (any, error) {
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return v, nil
}

func (t *codecTable) add(v any, dec func([]byte) (any, error)) {
	rt := reflect.TypeOf(v)
	t.tags[rt] = rt.Name()
	t.dec[rt.Name()] = dec
}

func newTable() *codecTable {
	return &codecTable{tags: map[reflect.Type]string{}, dec: map[string]func([]byte) (any, error){}}
}

// eventCodec and commandCodec are built once and never changed.
var eventCodec = func() *codecTable {
	t := newTable()
	t.add(ContactArrived{}, decodeAs[ContactArrived])
	t.add(ContactAbandoned{}, decodeAs[ContactAbandoned])
	t.add(ContactEnded{}, decodeAs[ContactEnded])
	t.add(ContactTransferred{}, decodeAs[ContactTransferred])
	t.add(ContactMoved{}, decodeAs[ContactMoved])
	t.add(CallbackRequested{}, decodeAs[CallbackRequested])
	t.add(AgentLoggedIn{}, decodeAs[AgentLoggedIn])
	t.add(AgentLoggedOut{}, decodeAs[AgentLoggedOut])
	t.add(AgentStateRequested{}, decodeAs[AgentStateRequested])
	t.add(OfferAccepted{}, decodeAs[OfferAccepted])
	t.add(OfferRejected{}, decodeAs[OfferRejected])
	t.add(WrapUpDone{}, decodeAs[WrapUpDone])
	t.add(Tick{}, decodeAs[Tick])
	t.add(ConfigReloaded{}, decodeConfigReloaded)
	t.add(AgentUpserted{}, decodeAs[AgentUpserted])
	t.add(ConsultRequested{}, decodeAs[ConsultRequested])
	t.add(ConsultUpdated{}, decodeAs[ConsultUpdated])
	t.add(NodeLost{}, decodeAs[NodeLost])
	return t
}()

var commandCodec = func() *codecTable {
	t := newTable()
	t.add(Offer{}, decodeAs[Offer])
	t.add(OfferWithdrawn{}, decodeAs[OfferWithdrawn])
	t.add(Connected{}, decodeAs[Connected])
	t.add(Announce{}, decodeAs[Announce])
	t.add(Overflowed{}, decodeAs[Overflowed])
	t.add(CallbackOffered{}, decodeAs[CallbackOffered])
	t.add(ContactClosed{}, decodeAs[ContactClosed])
	t.add(AgentStateChanged{}, decodeAs[AgentStateChanged])
	t.add(ContactStateChanged{}, decodeAs[ContactStateChanged])
	t.add(QueueStats{}, decodeAs[QueueStats])
	t.add(Transferred{}, decodeAs[Transferred])
	t.add(ConsultChanged{}, decodeAs[ConsultChanged])
	return t
}()

// EncodeEvent encodes ev (see the codec's format above).
func EncodeEvent(ev Event) ([]byte, error) { return AppendEvent(nil, ev) }

// AppendEvent appends ev's encoding to dst.
func AppendEvent(dst []byte, ev Event) ([]byte, error) {
	var v any = ev
	if cr, ok := ev.(ConfigReloaded); ok {
		v = wireConfig(cr.Config)
	}
	return eventCodec.append(dst, ev, v)
}

// DecodeEvent decodes an encoding written by EncodeEvent.
func DecodeEvent(b []byte) (Event, error) {
	v, err := eventCodec.decode(b)
	if err != nil {
		return nil, err
	}
	return v.(Event), nil
}

// EncodeCommand encodes c (see the codec's format above).
func EncodeCommand(c Command) ([]byte, error) { return AppendCommand(nil, c) }

// AppendCommand appends c's encoding to dst.
func AppendCommand(dst []byte, c Command) ([]byte, error) {
	return commandCodec.append(dst, c, c)
}

// DecodeCommand decodes an encoding written by EncodeCommand.
func DecodeCommand(b []byte) (Command, error) {
	v, err := commandCodec.decode(b)
	if err != nil {
		return nil, err
	}
	return v.(Command), nil
}

func (t *codecTable) append(dst []byte, x, v any) ([]byte, error) {
	tag, ok := t.tags[reflect.TypeOf(x)]
	if !ok {
		return dst, fmt.Errorf("%w: no codec entry for %T", ErrCodec, x)
	}
	dst = strconv.AppendInt(dst, CodecVersion, 10)
	dst = append(dst, ' ')
	dst = append(dst, tag...)
	dst = append(dst, ' ')
	js, err := json.Marshal(v)
	if err != nil {
		return dst, fmt.Errorf("%w: %T: %v", ErrCodec, x, err)
	}
	return append(dst, js...), nil
}

func (t *codecTable) decode(b []byte) (any, error) {
	i := 0
	for i < len(b) && b[i] != ' ' {
		i++
	}
	if i == len(b) {
		return nil, fmt.Errorf("%w: no version", ErrCodec)
	}
	if v, err := strconv.Atoi(string(b[:i])); err != nil || v != CodecVersion {
		return nil, fmt.Errorf("%w: version %q, want %d", ErrCodec, b[:i], CodecVersion)
	}
	b = b[i+1:]
	i = 0
	for i < len(b) && b[i] != ' ' {
		i++
	}
	if i == len(b) {
		return nil, fmt.Errorf("%w: no type tag", ErrCodec)
	}
	dec, ok := t.dec[string(b[:i])]
	if !ok {
		return nil, fmt.Errorf("%w: unknown type %q", ErrCodec, b[:i])
	}
	v, err := dec(b[i+1:])
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCodec, b[:i], err)
	}
	return v, nil
}

// Config travels in ConfigReloaded. Everything in it is plain data except a
// schedule's *time.Location, which goes by name and UTC offset: a known zone
// name (Asia/Seoul) loads the zone again, any other becomes a fixed zone.

type configWire struct {
	Config
	Hotlines []hotlineWire
}

type hotlineWire struct {
	HotlineDef
	Schedule scheduleWire
}

type scheduleWire struct {
	Schedule
	Location *zoneWire
}

type zoneWire struct {
	Name   string
	Offset int // seconds east of UTC on 2000-01-01
}

func wireConfig(c Config) configWire {
	w := configWire{Config: c}
	if c.Hotlines != nil {
		w.Hotlines = make([]hotlineWire, len(c.Hotlines))
	}
	for i, h := range c.Hotlines {
		w.Hotlines[i] = hotlineWire{HotlineDef: h, Schedule: scheduleWire{Schedule: h.Schedule}}
		if loc := h.Schedule.Location; loc != nil {
			_, off := time.Date(2000, 1, 1, 0, 0, 0, 0, loc).Zone()
			w.Hotlines[i].Schedule.Location = &zoneWire{Name: loc.String(), Offset: off}
		}
	}
	return w
}

func decodeConfigReloaded(b []byte) (any, error) {
	var w configWire
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, err
	}
	return ConfigReloaded{Config: configFromWire(w)}, nil
}

func configFromWire(w configWire) Config {
	c := w.Config
	c.Hotlines = nil
	if w.Hotlines != nil {
		c.Hotlines = make([]HotlineDef, len(w.Hotlines))
	}
	for i, h := range w.Hotlines {
		d := h.HotlineDef
		d.Schedule = h.Schedule.Schedule
		d.Schedule.Location = nil
		if z := h.Schedule.Location; z != nil {
			d.Schedule.Location = zone(z.Name, z.Offset)
		}
		c.Hotlines[i] = d
	}
	return c
}

func zone(name string, off int) *time.Location {
	switch name {
	case "UTC":
		return time.UTC
	case "Local":
		return time.Local
	}
	if loc, err := time.LoadLocation(name); err == nil && name != "" {
		if _, o := time.Date(2000, 1, 1, 0, 0, 0, 0, loc).Zone(); o == off {
			return loc
		}
	}
	return time.FixedZone(name, off)
}
