package router

import (
	"bytes"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var (
	t0   = time.Date(2026, 12, 7, 1, 2, 3, 4000, time.UTC)
	t1   = t0.Add(90 * time.Second)
	prio = 3
)

// codecEvents holds one value of every event type, every field set (the
// round trip checks that no field is left at its zero value, so a field
// the codec drops shows up).
func codecEvents() []Event {
	return []Event{
		ContactArrived{Contact: 7, Channel: Chat, Number: "110", Queue: "q1", Skills: []SkillReq{{Skill: "ko", Min: 2}},
			Language: "en", Priority: 2, Arrived: t0, Citizen: "010-1234", Attrs: map[string]string{"ivr": "2"}, Callback: true},
		ContactAbandoned{Contact: 7},
		ContactEnded{Contact: 7, Reason: EndCompleted},
		ContactTransferred{Contact: 7, ToQueue: "q2", ToAgent: "a2", ToNumber: "1350", Note: "tax", By: "a1"},
		ContactMoved{Contact: 7, ToQueue: "q2", Priority: &prio, By: "sup"},
		CallbackRequested{Contact: 7, Number: "010-1234"},
		AgentLoggedIn{Agent: "a1", Ready: true},
		AgentLoggedOut{Agent: "a1", By: "sup"},
		AgentStateRequested{Agent: "a1", State: NotReady, Reason: "lunch", Next: true, By: "sup"},
		OfferAccepted{Contact: 7, Agent: "a1"},
		OfferRejected{Contact: 7, Agent: "a1", Reason: "busy"},
		WrapUpDone{Agent: "a1"},
		Tick{},
		ConfigReloaded{Config: codecConfig()},
		AgentUpserted{Agent: AgentDef{ID: "a3", Skills: map[string]int{"ko": 5}, Voice: 1, Chat: 2, Queues: []string{"q1"}, Disabled: true}},
		ConsultRequested{Contact: 7, By: "a1", ToQueue: "q2", ToAgent: "a2", ToNumber: "1345", Note: "visa", Language: "vi"},
		ConsultUpdated{Contact: 7, Step: ConsultAnswered, Reason: "picked up"},
		NodeLost{Node: 3},
	}
}

func codecCommands() []Command {
	return []Command{
		Offer{Contact: 7, Agent: "a1", Channel: Voice, Queue: "q1", Number: "110", Deadline: t1, Reason: "a1: ko 5",
			Why:    []Why{{Code: WhySkillMatch, Skill: "ko", Level: 5, Queue: "q1", Agent: "a1", Secs: 3, Value: 4, Of: 9}},
			Waited: 12 * time.Second, Language: "ko", Citizen: "010", Attrs: map[string]string{"name": "김"}},
		OfferWithdrawn{Contact: 7, Agent: "a1", Reason: "timeout"},
		Connected{Contact: 7, Agent: "a1", Channel: Voice, Queue: "q1"},
		Announce{Contact: 7, Channel: Voice, Position: 2, EstimatedWait: time.Minute, NoAgent: true, HidePosition: true, HideWait: true},
		Overflowed{Contact: 7, FromQueue: "q1", ToQueue: "q2", Reason: "full"},
		CallbackOffered{Contact: 7, Reason: "closed", Closed: true},
		ContactClosed{Contact: 7, Channel: Chat, Reason: EndAbandoned, Agent: "a1", At: t1,
			Number: "110", Citizen: "010", Arrived: t0, Attrs: map[string]string{"call_id": "c1"}, Callback: true},
		AgentStateChanged{Agent: "a1", State: WrapUp, Reason: "done", Next: NotReady, At: t1, Active: 1, WrapUntil: t1.Add(time.Minute)},
		ContactStateChanged{Contact: 7, State: Waiting, Queue: "q1", Agent: "a1", Reason: "arrived", At: t0,
			Channel: Voice, Number: "110", Citizen: "010", Arrived: t0},
		QueueStats{Stats: QueueSnapshot{Queue: "q1", Waiting: 3, LongestWait: time.Minute, SLToday: 0.8, SL15m: 0.5, SL60m: 0.75,
			ASA: 9 * time.Second, Offered: 10, Answered: 8, Abandoned: 1, AgentsByState: map[AgentState]int{Ready: 2, Busy: 3},
			EstimatedWait: 2 * time.Minute, SLTodayN: 9, SL15mN: 4, Callbacks: 1}},
		Transferred{Contact: 7, Channel: Voice, From: "a1", Talked: true, By: "a1", FromQueue: "q1", ToQueue: "q2",
			ToAgent: "a2", ToNumber: "1350", Note: "n", Reason: "r", At: t1},
		ConsultChanged{Contact: 7, Step: ConsultStarted, By: "a1", Agent: "a2", Queue: "q2", Number: "1345", Note: "n",
			Reason: "r", Deadline: t1, At: t0, Language: "vi"},
	}
}

func codecConfig() Config {
	var week [7][]Span
	week[time.Monday] = []Span{{From: 540, To: 1080}}
	return Config{
		Queues: []QueueDef{{ID: "q1", Skills: []SkillReq{{Skill: "ko", Min: 1}}, Priority: 1, Weight: 2, Strategy: MostSkilled,
			SLTarget: 0.8, SLThreshold: 20 * time.Second, MaxWaiting: 50, MaxWait: time.Hour, OnFull: FullOverflow, FullTarget: "q2",
			Escalation: []EscalationStep{{After: time.Minute, Relax: []SkillReq{{Skill: "ko", Min: 1}}, AddQueue: "q2", OfferCallback: true}},
			Overflow:   []OverflowTarget{{Queue: "q2", After: 30 * time.Second, Guarded: true}}, WrapUpVoice: 10 * time.Second,
			WrapUpChat: 5 * time.Second, OfferVoice: 15 * time.Second, OfferChat: 30 * time.Second, AnnounceEvery: time.Minute,
			HidePosition: true, AgingPerMinute: 1, ChatWhileBusy: true}},
		Hotlines: []HotlineDef{
			{Number: "110", DefaultQueue: "q1", Schedule: Schedule{Weekly: week, Holidays: map[string]bool{"2026-12-25": true},
				HolidayOpen: []Span{{From: 600, To: 720}}, Location: time.FixedZone("KST", 9*3600)}, Closed: ClosedOverflow, ClosedTarget: "q2"},
			{Number: "1350", DefaultQueue: "q1", Schedule: Schedule{Always: true}},
		},
		Agents:               []AgentDef{{ID: "a1", Skills: map[string]int{"ko": 5}, Voice: 1, Chat: 3}},
		MissedOfferNotReady:  true,
		PreferredAgentWindow: time.Hour,
		PreferredAgentWait:   20 * time.Second,
		MaxTalk:              4 * time.Hour,
		MaxWrapUp:            30 * time.Minute,
		MaxWaiting:           24 * time.Hour,
		DefaultAHT:           3 * time.Minute,
		StatsEvery:           time.Second,
		CallbackWait:         2 * time.Minute,
	}
}

// sourceTypes lists the types of this package's non-test source that have
// a method named method (event or command): the types the codec must cover.
func sourceTypes(t *testing.T, method string) []string {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv == nil || fn.Name.Name != method || len(fn.Recv.List) != 1 {
				continue
			}
			if id, ok := fn.Recv.List[0].Type.(*ast.Ident); ok {
				out = append(out, id.Name)
			}
		}
	}
	slices.Sort(out)
	return out
}

func tableTags(tb *codecTable) []string {
	var out []string
	for _, tag := range tb.tags {
		out = append(out, tag)
	}
	slices.Sort(out)
	return out
}

func typeNames[T any](vs []T) []string {
	var out []string
	for _, v := range vs {
		out = append(out, reflect.TypeOf(v).Name())
	}
	slices.Sort(out)
	return out
}

// Every type that implements Event or Command has a codec entry and a
// sample in this test: adding an event without one fails here.
func TestCodecCoversEveryType(t *testing.T) {
	for _, c := range []struct {
		method  string
		table   *codecTable
		samples []string
	}{
		{"event", eventCodec, typeNames(codecEvents())},
		{"command", commandCodec, typeNames(codecCommands())},
	} {
		src := sourceTypes(t, c.method)
		if len(src) < 10 {
			t.Fatalf("found only %d %s types in the source: %v", len(src), c.method, src)
		}
		if got := tableTags(c.table); !slices.Equal(got, src) {
			t.Errorf("%s codec table %v, source types %v: add the missing entries to codec.go", c.method, got, src)
		}
		if !slices.Equal(c.samples, src) {
			t.Errorf("%s samples %v, source types %v: add a sample to codec_test.go", c.method, c.samples, src)
		}
	}
}

func checkAllFieldsSet(t *testing.T, v any) {
	t.Helper()
	rv := reflect.ValueOf(v)
	for i := range rv.NumField() {
		if rv.Field(i).IsZero() {
			t.Errorf("%T sample: field %s is zero; set it so the round trip covers it", v, rv.Type().Field(i).Name)
		}
	}
}

func TestCodecRoundTrip(t *testing.T) {
	for _, ev := range codecEvents() {
		checkAllFieldsSet(t, ev)
		b, err := EncodeEvent(ev)
		if err != nil {
			t.Fatalf("encode %T: %v", ev, err)
		}
		got, err := DecodeEvent(b)
		if err != nil {
			t.Fatalf("decode %T %s: %v", ev, b, err)
		}
		if !reflect.DeepEqual(got, ev) {
			t.Errorf("%T round trip:\n got %#v\nwant %#v", ev, got, ev)
		}
		if _, err := DecodeCommand(b); !errors.Is(err, ErrCodec) {
			t.Errorf("%T decoded as a command: %v", ev, err)
		}
	}
	for _, c := range codecCommands() {
		checkAllFieldsSet(t, c)
		b, err := EncodeCommand(c)
		if err != nil {
			t.Fatalf("encode %T: %v", c, err)
		}
		got, err := DecodeCommand(b)
		if err != nil {
			t.Fatalf("decode %T %s: %v", c, b, err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Errorf("%T round trip:\n got %#v\nwant %#v", c, got, c)
		}
		if _, err := DecodeEvent(b); !errors.Is(err, ErrCodec) {
			t.Errorf("%T decoded as an event: %v", c, err)
		}
	}
}

// A named zone comes back as the same zone; an unknown name keeps its offset.
func TestCodecScheduleLocation(t *testing.T) {
	seoul, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		t.Fatal(err)
	}
	for _, loc := range []*time.Location{seoul, time.FixedZone("XYZ", -3*3600), time.UTC} {
		cfg := Config{Hotlines: []HotlineDef{{Number: "110", Schedule: Schedule{Location: loc}}}}
		b, err := EncodeEvent(ConfigReloaded{Config: cfg})
		if err != nil {
			t.Fatal(err)
		}
		ev, err := DecodeEvent(b)
		if err != nil {
			t.Fatal(err)
		}
		got := ev.(ConfigReloaded).Config.Hotlines[0].Schedule.Location
		ref := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
		if got.String() != loc.String() || ref.In(got).Format(time.RFC3339) != ref.In(loc).Format(time.RFC3339) {
			t.Errorf("location %v came back as %v", loc, got)
		}
	}
}

func TestCodecRejectsBadInput(t *testing.T) {
	for _, in := range []string{
		"", "1", "1 ", "1 Tick", "2 Tick {}", "x Tick {}", "1 Nope {}", "1 Offer {}", "1 ContactArrived {",
		`1 ContactArrived {"Contact":"x"}`, "1 Tick {} trailing",
	} {
		if ev, err := DecodeEvent([]byte(in)); !errors.Is(err, ErrCodec) {
			t.Errorf("DecodeEvent(%q) = %v, %v; want ErrCodec", in, ev, err)
		}
	}
	type notAnEvent struct{ Event }
	if _, err := EncodeEvent(notAnEvent{}); !errors.Is(err, ErrCodec) {
		t.Errorf("encoding an unregistered type: %v", err)
	}
}

const codecGolden = "testdata/codec/golden.txt"

// The encodings are pinned: a change to them is a new CodecVersion, since
// a cluster's log and snapshots hold the old bytes.
func TestCodecGolden(t *testing.T) {
	var buf bytes.Buffer
	for _, ev := range codecEvents() {
		b, err := EncodeEvent(ev)
		if err != nil {
			t.Fatal(err)
		}
		buf.WriteString("event ")
		buf.Write(b)
		buf.WriteByte('\n')
	}
	for _, c := range codecCommands() {
		b, err := EncodeCommand(c)
		if err != nil {
			t.Fatal(err)
		}
		buf.WriteString("command ")
		buf.Write(b)
		buf.WriteByte('\n')
	}
	if *update {
		if err := os.MkdirAll(filepath.Dir(codecGolden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(codecGolden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(codecGolden)
	if err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != string(want) {
		t.Errorf("encodings differ from %s (bump CodecVersion if intended, then -update):\n%s", codecGolden, diffLines(string(want), got))
	}
	// The pinned bytes decode to the samples.
	evs, cmds := codecEvents(), codecCommands()
	for i, line := range strings.Split(strings.TrimSpace(string(want)), "\n") {
		kind, enc, _ := strings.Cut(line, " ")
		if kind == "event" {
			got, err := DecodeEvent([]byte(enc))
			if err != nil || !reflect.DeepEqual(got, evs[i]) {
				t.Errorf("golden line %d: %v %#v", i+1, err, got)
			}
		} else {
			got, err := DecodeCommand([]byte(enc))
			if err != nil || !reflect.DeepEqual(got, cmds[i-len(evs)]) {
				t.Errorf("golden line %d: %v %#v", i+1, err, got)
			}
		}
	}
}

// The decoders answer any input with a value or an error, never a panic,
// and what they accept encodes again to a fixed point.
func FuzzDecode(f *testing.F) {
	if b, err := os.ReadFile(codecGolden); err == nil {
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			_, enc, _ := strings.Cut(line, " ")
			f.Add([]byte(enc))
		}
	}
	f.Add([]byte("1 Tick null"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if ev, err := DecodeEvent(b); err == nil {
			again, err := EncodeEvent(ev)
			if err != nil {
				t.Fatalf("decoded %q but cannot encode it: %v", b, err)
			}
			ev2, err := DecodeEvent(again)
			if err != nil {
				t.Fatalf("re-encoding %q does not decode: %v", again, err)
			}
			if third, _ := EncodeEvent(ev2); !bytes.Equal(third, again) {
				t.Fatalf("encoding not stable: %q then %q", again, third)
			}
		} else if !errors.Is(err, ErrCodec) {
			t.Fatalf("error %v does not wrap ErrCodec", err)
		}
		if c, err := DecodeCommand(b); err == nil {
			again, err := EncodeCommand(c)
			if err != nil {
				t.Fatalf("decoded %q but cannot encode it: %v", b, err)
			}
			c2, err := DecodeCommand(again)
			if err != nil {
				t.Fatalf("re-encoding %q does not decode: %v", again, err)
			}
			if third, _ := EncodeCommand(c2); !bytes.Equal(third, again) {
				t.Fatalf("encoding not stable: %q then %q", again, third)
			}
		} else if !errors.Is(err, ErrCodec) {
			t.Fatalf("error %v does not wrap ErrCodec", err)
		}
	})
}

// BenchmarkCodec measures one encode plus one decode of a typical event
// mix (arrivals, accepts, ends, ticks) and of an Offer command.
func BenchmarkCodec(b *testing.B) {
	evs := []Event{codecEvents()[0], OfferAccepted{Contact: 7, Agent: "a1"}, ContactEnded{Contact: 7, Reason: EndCompleted}, Tick{}}
	b.Run("event", func(b *testing.B) {
		var buf []byte
		for i := 0; b.Loop(); i++ {
			var err error
			buf, err = AppendEvent(buf[:0], evs[i%len(evs)])
			if err != nil {
				b.Fatal(err)
			}
			if _, err := DecodeEvent(buf); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("offer", func(b *testing.B) {
		offer := codecCommands()[0]
		var buf []byte
		for b.Loop() {
			var err error
			buf, err = AppendCommand(buf[:0], offer)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := DecodeCommand(buf); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// ContactClosed's contact fields (Number, Citizen, Arrived, Attrs,
// Callback) were added without a new CodecVersion: they are optional, so
// a command encoded before them still decodes, and a node that does not
// know them ignores them.
func TestContactClosedBeforeItsContactFields(t *testing.T) {
	old := `1 ContactClosed {"Contact":7,"Channel":2,"Reason":2,"Agent":"a1","At":"2026-12-07T01:03:33.000004Z"}`
	c, err := DecodeCommand([]byte(old))
	if err != nil {
		t.Fatal(err)
	}
	cl, ok := c.(ContactClosed)
	if !ok || cl.Contact != 7 || cl.Agent != "a1" || cl.Number != "" || cl.Attrs != nil || !cl.Arrived.IsZero() {
		t.Fatalf("decoded %#v", c)
	}
}
