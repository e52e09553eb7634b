package queues

import "time"

// StatsState is the whole state of a Stats, for engine snapshots: a Stats
// restored from it records and answers exactly as the original.
type StatsState struct {
	Threshold time.Duration
	Day       int
	DayFrom   int64
	DayTo     int64
	Today     Counters
	Bucket    [buckets]Counters
	Minute    [buckets]int64
}

// State returns s's state.
func (s *Stats) State() StatsState {
	return StatsState{Threshold: s.Threshold, Day: s.day, DayFrom: s.dayFrom, DayTo: s.dayTo,
		Today: s.today, Bucket: s.bucket, Minute: s.minute}
}

// RestoreStats returns statistics with state st whose days roll over at
// midnight in loc (nil = UTC), as NewStats.
func RestoreStats(st StatsState, loc *time.Location) *Stats {
	s := NewStats(st.Threshold, loc)
	s.day, s.dayFrom, s.dayTo = st.Day, st.DayFrom, st.DayTo
	s.today, s.bucket, s.minute = st.Today, st.Bucket, st.Minute
	return s
}
