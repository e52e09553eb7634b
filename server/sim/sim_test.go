package sim

import (
	"reflect"
	"testing"
	"time"

	"onecall/router"
)

func smallConfig() router.Config {
	q := func(id, skill string) router.QueueDef {
		return router.QueueDef{ID: id, Skills: []router.SkillReq{{Skill: skill, Min: 2}, {Skill: "ko", Min: 3}},
			SLTarget: 0.8, SLThreshold: 20 * time.Second, MaxWaiting: 2000, MaxWait: time.Hour,
			WrapUpVoice: 10 * time.Second, WrapUpChat: 5 * time.Second}
	}
	always := router.Schedule{Always: true}
	return router.Config{
		Queues: []router.QueueDef{q("labor", "labor"), q("health", "health"), q("general", "general")},
		Hotlines: []router.HotlineDef{
			{Number: "1350", DefaultQueue: "labor", Schedule: always},
			{Number: "1577-1000", DefaultQueue: "health", Schedule: always},
			{Number: "110", DefaultQueue: "general", Schedule: always},
		},
		MissedOfferNotReady: true,
	}
}

// A simulated day closes every contact exactly once, answers most of them
// and is the same day for the same seed.
func TestDayClosesEveryContactOnce(t *testing.T) {
	o := Options{Config: smallConfig(), Agents: 60, Contacts: 3000, Seed: 7}
	a, err := Run(o)
	if err != nil {
		t.Fatal(err)
	}
	if a.Arrived != 3000 {
		t.Fatalf("arrived %d, want 3000", a.Arrived)
	}
	if a.NeverClosed != 0 || a.ClosedTwice != 0 {
		t.Fatalf("never closed %d, closed twice %d", a.NeverClosed, a.ClosedTwice)
	}
	if got := a.Answered + a.Abandoned + a.Refused + a.Callbacks + a.Other; got != a.Arrived {
		t.Fatalf("outcomes add up to %d, want %d", got, a.Arrived)
	}
	if a.Answered < a.Arrived/2 {
		t.Fatalf("answered only %d of %d with ample staff", a.Answered, a.Arrived)
	}
	b, err := Run(o)
	if err != nil {
		t.Fatal(err)
	}
	strip := func(r Result) Result {
		r.Wall, r.EventsPerSec, r.HeapBytes, r.ApplyP99, r.ApplyMax = 0, 0, 0, 0, 0
		return r
	}
	if !reflect.DeepEqual(strip(a), strip(b)) {
		t.Fatalf("same seed, different day:\n%+v\n%+v", strip(a), strip(b))
	}
}

// A 20x surge on one line hurts that line's service level, but nothing is
// lost: every surge contact still ends exactly once.
func TestSurgeLosesNothing(t *testing.T) {
	o := Options{Config: smallConfig(), Agents: 60, Contacts: 3000, Seed: 3,
		Surge: &Surge{Number: "1350", Factor: 20, From: 10, To: 12}}
	r, err := Run(o)
	if err != nil {
		t.Fatal(err)
	}
	if r.Arrived <= 3000 {
		t.Fatalf("surge added no contacts: %d", r.Arrived)
	}
	if r.NeverClosed != 0 || r.ClosedTwice != 0 {
		t.Fatalf("never closed %d, closed twice %d", r.NeverClosed, r.ClosedTwice)
	}
	var labor, health QueueResult
	for _, q := range r.Queues {
		switch q.Queue {
		case "labor":
			labor = q
		case "health":
			health = q
		}
	}
	if labor.Arrived <= 2*health.Arrived {
		t.Fatalf("surge line got %d contacts vs %d on a calm line", labor.Arrived, health.Arrived)
	}
	if labor.SL >= health.SL {
		t.Fatalf("surge line SL %.2f not below calm line SL %.2f", labor.SL, health.SL)
	}
}

func TestDayProfilePeaksAtTenToNoon(t *testing.T) {
	if len(hourShare) != 12 {
		t.Fatal("hour profile must cover 08-20")
	}
	sum, peak := 0.0, hourShare[2]+hourShare[3]
	for _, s := range hourShare {
		sum += s
	}
	if sum < 0.999 || sum > 1.001 {
		t.Fatalf("hour shares sum to %v", sum)
	}
	if peak < 0.259 || peak > 0.261 {
		t.Fatalf("10-12 h carries %v of the day, want 0.26", peak)
	}
}

// The timeline adds up to the day's totals: arrivals and answers per
// queue over the 15-minute intervals, the peak of waiting contacts, and
// an occupancy between 0 and 1 that is highest around the 10-12 h peak.
func TestTimelineAddsUpToTheDay(t *testing.T) {
	r, err := Run(Options{Config: smallConfig(), Agents: 40, Contacts: 4000, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	tl := r.Timeline
	if tl.Len() < 48 || !tl.Start.Equal(r.Timeline.Start) || tl.Start.Hour() != 8 {
		t.Fatalf("timeline of %d intervals from %v", tl.Len(), tl.Start)
	}
	for _, q := range r.Queues {
		slots := tl.Queues[q.Queue]
		var arrived, answered, abandoned int
		for _, s := range slots {
			arrived += s.Arrived
			answered += s.Answered
			abandoned += s.Abandoned
		}
		if len(slots) != tl.Len() || arrived != q.Arrived || answered != q.Answered || abandoned != q.Abandoned {
			t.Errorf("%s: %d slots; arrived %d/%d answered %d/%d abandoned %d/%d", q.Queue, len(slots), arrived, q.Arrived,
				answered, q.Answered, abandoned, q.Abandoned)
		}
	}
	peak, busiest := 0, 0
	for i, w := range tl.PeakWaiting {
		peak = max(peak, w)
		if tl.Occupancy[i] > 1 || (tl.Occupancy[i] < 0 && tl.Occupancy[i] != -1) {
			t.Fatalf("occupancy %v in interval %d", tl.Occupancy[i], i)
		}
		if tl.Occupancy[i] > tl.Occupancy[busiest] {
			busiest = i
		}
	}
	if peak != r.PeakWaiting {
		t.Errorf("peak waiting %d over the intervals, %d in the day", peak, r.PeakWaiting)
	}
	if h := tl.Start.Add(time.Duration(busiest) * SlotEvery).Hour(); h < 9 || h > 13 || tl.Occupancy[busiest] < 0.3 {
		t.Errorf("busiest interval at %d h with occupancy %.2f", h, tl.Occupancy[busiest])
	}
}

// Two configurations on the same seed get the same contacts (lines, times,
// channels, patience, talk time): without overflow the figures change only
// by what routing does, so the arrivals per line are equal.
func TestSameSeedSameContactsAcrossConfigs(t *testing.T) {
	cfg := smallConfig()
	a, err := Run(Options{Config: cfg, Agents: 30, Contacts: 3000, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Queues = append([]router.QueueDef(nil), cfg.Queues...)
	cfg.Queues[0].WrapUpVoice = 2 * time.Minute // slower wrap-up on labor: a different day for its agents
	b, err := Run(Options{Config: cfg, Agents: 30, Contacts: 3000, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	if a.Arrived != b.Arrived || len(a.Queues) != len(b.Queues) {
		t.Fatalf("arrivals %d vs %d", a.Arrived, b.Arrived)
	}
	for i := range a.Queues {
		if a.Queues[i].Arrived != b.Queues[i].Arrived {
			t.Errorf("%s: %d vs %d arrivals", a.Queues[i].Queue, a.Queues[i].Arrived, b.Queues[i].Arrived)
		}
	}
	if a.Queues[0].ASA == b.Queues[0].ASA {
		t.Errorf("labor's ASA unchanged by a 2-minute wrap-up: %v", a.Queues[0].ASA)
	}
}

// Per line, a contact counts on the number it called wherever it was
// routed: without overflow each line is its queue; with labor overflowing
// to general, line 1350 answers more than the labor queue does (the rest
// in general) and the lines still add up to the day.
func TestLinesCountWhereContactsCalled(t *testing.T) {
	o := Options{Config: smallConfig(), Agents: 45, Contacts: 3000, Seed: 11,
		Surges: []Surge{{Number: "1350", Factor: 10, From: 10, To: 12}}}
	plain, err := Run(o)
	if err != nil {
		t.Fatal(err)
	}
	queueOf := map[string]string{"1350": "labor", "1577-1000": "health", "110": "general"}
	byQueue := map[string]QueueResult{}
	for _, q := range plain.Queues {
		byQueue[q.Queue] = q
	}
	if len(plain.Lines) != 3 {
		t.Fatalf("lines %+v", plain.Lines)
	}
	for _, l := range plain.Lines {
		if q := byQueue[queueOf[l.Line]]; l.Figures != q.Figures || l.Arrived == 0 {
			t.Errorf("line %s %+v, its only queue %+v", l.Line, l.Figures, q.Figures)
		}
	}

	o.Config.Queues = append([]router.QueueDef(nil), o.Config.Queues...)
	o.Config.Queues[0].Overflow = []router.OverflowTarget{{Queue: "general", After: 30 * time.Second}}
	over, err := Run(o)
	if err != nil {
		t.Fatal(err)
	}
	var sum Figures
	lines := map[string]LineResult{}
	for _, l := range over.Lines {
		lines[l.Line] = l
		sum.Arrived += l.Arrived
		sum.Answered += l.Answered
		sum.Abandoned += l.Abandoned
		sum.Refused += l.Refused
	}
	if sum.Arrived != over.Arrived || sum.Answered != over.Answered || sum.Abandoned != over.Abandoned || sum.Refused != over.Refused {
		t.Fatalf("lines add up to %+v, the day is %+v", sum, over)
	}
	byQueue = map[string]QueueResult{}
	for _, q := range over.Queues {
		byQueue[q.Queue] = q
	}
	if l := lines["1350"]; l.Arrived != lineOf(plain, "1350").Arrived {
		t.Errorf("line 1350 got %d contacts with overflow, %d without", l.Arrived, lineOf(plain, "1350").Arrived)
	}
	if l, q := lines["1350"], byQueue["labor"]; l.Answered <= q.Answered {
		t.Errorf("line 1350 answered %d, the labor queue %d: overflow answered none of it in general", l.Answered, q.Answered)
	}
	if l, q := lines["110"], byQueue["general"]; l.Answered >= q.Answered {
		t.Errorf("line 110 answered %d, the general queue %d: general answered none of 1350", l.Answered, q.Answered)
	}
}

func lineOf(r Result, line string) LineResult {
	for _, l := range r.Lines {
		if l.Line == line {
			return l
		}
	}
	return LineResult{}
}
