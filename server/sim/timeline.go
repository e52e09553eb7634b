package sim

import (
	"time"

	"onecall/router"
)

// SlotEvery is the width of a Timeline interval.
const SlotEvery = 15 * time.Minute

// Timeline is the day per 15-minute interval, from 08:00 to the last
// contact's end: each queue's figures, the waiting contacts and the agents'
// occupancy.
type Timeline struct {
	Start time.Time // of the first interval
	// Queues holds each queue's intervals (index i starts at
	// Start + i*SlotEvery); a contact counts in the interval it arrived in,
	// in the queue it was answered or abandoned from.
	Queues map[string][]Slot
	// PeakWaiting is the most contacts waiting at once in each interval.
	PeakWaiting []int
	// Occupancy is the share of the staffed agents' time (ready, offered,
	// talking or wrapping up) spent talking or wrapping up, per interval;
	// -1 where no agent was staffed.
	Occupancy []float64
}

// Slot is one queue's figures in one interval.
type Slot struct {
	Arrived, Answered, Abandoned int
	InSL, SLBase                 int // answered within the threshold; answered + abandoned after it
	WaitSum                      time.Duration
}

// SL is the slot's service level, or -1 when nothing counted toward it.
func (s Slot) SL() float64 {
	if s.SLBase == 0 {
		return -1
	}
	return float64(s.InSL) / float64(s.SLBase)
}

// Len is the number of intervals.
func (t Timeline) Len() int { return len(t.PeakWaiting) }

// timeline accumulates a Timeline while the day runs.
type timeline struct {
	Timeline
	last           time.Time // agent time integrated up to here
	agentState     map[router.AgentID]router.AgentState
	staffed, busy  int       // agents now staffed, and of them talking or wrapping up
	staffedT, busT []float64 // agent-seconds per interval
}

func newTimeline(start time.Time) *timeline {
	return &timeline{Timeline: Timeline{Start: start, Queues: map[string][]Slot{}}, last: start,
		agentState: map[router.AgentID]router.AgentState{}}
}

func (t *timeline) index(at time.Time) int {
	if at.Before(t.Start) {
		return 0
	}
	return int(at.Sub(t.Start) / SlotEvery)
}

// grow makes interval i exist everywhere.
func (t *timeline) grow(i int) {
	for len(t.PeakWaiting) <= i {
		t.PeakWaiting = append(t.PeakWaiting, 0)
		t.staffedT = append(t.staffedT, 0)
		t.busT = append(t.busT, 0)
	}
}

func (t *timeline) slot(queue string, arrived time.Time) *Slot {
	i := t.index(arrived)
	t.grow(i)
	s := t.Queues[queue]
	for len(s) <= i {
		s = append(s, Slot{})
	}
	t.Queues[queue] = s
	return &s[i]
}

// advance integrates the agents' time up to now.
func (t *timeline) advance(now time.Time) {
	for t.last.Before(now) {
		i := t.index(t.last)
		t.grow(i)
		end := t.Start.Add(time.Duration(i+1) * SlotEvery)
		if end.After(now) {
			end = now
		}
		d := end.Sub(t.last).Seconds()
		t.staffedT[i] += float64(t.staffed) * d
		t.busT[i] += float64(t.busy) * d
		t.last = end
	}
}

func (t *timeline) waiting(now time.Time, n int) {
	i := t.index(now)
	t.grow(i)
	t.PeakWaiting[i] = max(t.PeakWaiting[i], n)
}

func staffedState(s router.AgentState) bool {
	return s == router.Ready || s == router.Reserved || s == router.Busy || s == router.WrapUp
}

func busyState(s router.AgentState) bool { return s == router.Busy || s == router.WrapUp }

func (t *timeline) agent(id router.AgentID, s router.AgentState) {
	old := t.agentState[id]
	t.agentState[id] = s
	t.staffed += b2i(staffedState(s)) - b2i(staffedState(old))
	t.busy += b2i(busyState(s)) - b2i(busyState(old))
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (t *timeline) finish() Timeline {
	n := len(t.PeakWaiting)
	for q, s := range t.Queues {
		for len(s) < n {
			s = append(s, Slot{})
		}
		t.Queues[q] = s
	}
	t.Occupancy = make([]float64, n)
	for i := range n {
		t.Occupancy[i] = -1
		if t.staffedT[i] > 0 {
			t.Occupancy[i] = t.busT[i] / t.staffedT[i]
		}
	}
	return t.Timeline
}
