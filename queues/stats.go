package queues

import "time"

// Counters are additive service counters.
type Counters struct {
	Offered          int // entered the queue
	Answered         int
	AnsweredInSL     int // answered within the threshold
	Abandoned        int
	AbandonedAfterSL int // abandoned after the threshold
	AnswerWait       time.Duration
	Handled          int
	HandleTime       time.Duration
}

func (c *Counters) add(o Counters) {
	c.Offered += o.Offered
	c.Answered += o.Answered
	c.AnsweredInSL += o.AnsweredInSL
	c.Abandoned += o.Abandoned
	c.AbandonedAfterSL += o.AbandonedAfterSL
	c.AnswerWait += o.AnswerWait
	c.Handled += o.Handled
	c.HandleTime += o.HandleTime
}

// SL is the service level: answered within threshold over answered plus
// abandoned after threshold. With no such contacts it is 1 (nothing missed).
func (c Counters) SL() float64 {
	d := c.Answered + c.AbandonedAfterSL
	if d == 0 {
		return 1
	}
	return float64(c.AnsweredInSL) / float64(d)
}

// ASA is the average speed of answer.
func (c Counters) ASA() time.Duration {
	if c.Answered == 0 {
		return 0
	}
	return c.AnswerWait / time.Duration(c.Answered)
}

// AHT is the average handle time, zero without data.
func (c Counters) AHT() time.Duration {
	if c.Handled == 0 {
		return 0
	}
	return c.HandleTime / time.Duration(c.Handled)
}

const buckets = 60

// Stats keeps today's counters and 60 one-minute buckets.
type Stats struct {
	Threshold time.Duration
	loc       *time.Location
	day       int   // yyyymmdd of today in loc
	dayFrom   int64 // [dayFrom, dayTo) in unix ns is day: no calendar math
	dayTo     int64
	today     Counters
	bucket    [buckets]Counters
	minute    [buckets]int64 // the minute (unix/60) each bucket holds
}

// NewStats returns statistics with the SL threshold; days roll over at
// midnight in loc (nil = UTC).
func NewStats(threshold time.Duration, loc *time.Location) *Stats {
	if loc == nil {
		loc = time.UTC
	}
	s := &Stats{Threshold: threshold, loc: loc}
	for i := range s.minute {
		s.minute[i] = -1
	}
	return s
}

func (s *Stats) at(now time.Time) *Counters {
	if ns := now.UnixNano(); ns < s.dayFrom || ns >= s.dayTo {
		lt := now.In(s.loc)
		y, m, d := lt.Date()
		if day := y*10000 + int(m)*100 + d; day != s.day {
			s.day = day
			s.today = Counters{}
		}
		// Cache [now, next midnight), cut at the next zone change, so
		// later times of the same day skip the calendar math.
		to := time.Date(y, m, d+1, 0, 0, 0, 0, s.loc)
		if _, end := lt.ZoneBounds(); !end.IsZero() && end.Before(to) {
			to = end
		}
		s.dayFrom, s.dayTo = ns, to.UnixNano()
	}
	min := now.Unix() / 60
	b := &s.bucket[min%buckets]
	if s.minute[min%buckets] != min {
		s.minute[min%buckets] = min
		*b = Counters{}
	}
	return b
}

func (s *Stats) record(now time.Time, c Counters) {
	b := s.at(now)
	b.add(c)
	s.today.add(c)
}

// Entered records a contact entering the queue.
func (s *Stats) Entered(now time.Time) { s.record(now, Counters{Offered: 1}) }

// Answered records an answer after waited.
func (s *Stats) Answered(now time.Time, waited time.Duration) {
	c := Counters{Answered: 1, AnswerWait: waited}
	if waited <= s.Threshold {
		c.AnsweredInSL = 1
	}
	s.record(now, c)
}

// Abandoned records a citizen leaving after waited.
func (s *Stats) Abandoned(now time.Time, waited time.Duration) {
	c := Counters{Abandoned: 1}
	if waited > s.Threshold {
		c.AbandonedAfterSL = 1
	}
	s.record(now, c)
}

// Handled records one finished contact's handle time (talk + wrap-up).
func (s *Stats) Handled(now time.Time, d time.Duration) {
	s.record(now, Counters{Handled: 1, HandleTime: d})
}

// Today returns today's counters (as of now).
func (s *Stats) Today(now time.Time) Counters {
	s.at(now)
	return s.today
}

// Window sums the last d (rounded up to whole minutes, at most 60) of
// buckets, including the current minute.
func (s *Stats) Window(now time.Time, d time.Duration) Counters {
	n := int64((d + time.Minute - 1) / time.Minute)
	if n > buckets {
		n = buckets
	}
	cur := now.Unix() / 60
	var c Counters
	for m := cur - n + 1; m <= cur; m++ {
		i := ((m % buckets) + buckets) % buckets
		if s.minute[i] == m {
			c.add(s.bucket[i])
		}
	}
	return c
}

// EstimatedWait is the expected wait of the contact at 1-based position
// given the recent average handle time and the number of staffed agents
// (each holding slots contacts at once): position*aht/(staffed*slots).
func EstimatedWait(position int, aht time.Duration, staffed, slots int) time.Duration {
	if position <= 0 {
		return 0
	}
	if staffed < 1 {
		staffed = 1
	}
	if slots < 1 {
		slots = 1
	}
	return time.Duration(int64(aht) * int64(position) / int64(staffed*slots))
}
