package reports

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"onecall/planning"
)

// DefaultForecastAHT is the handle time of a forecast interval whose queue
// answered nothing in the weeks read.
const DefaultForecastAHT = 3 * time.Minute

// HistoryForecast forecasts day (midnight in the configuration's zone) per
// queue and 15 minutes from the store's history: the contacts are the mean
// of the same weekday over the previous weeks (one to twelve), the handle
// time is what those weeks' answered contacts of the queue took in that
// interval (the queue's mean over the weeks where the interval answered
// none). Intervals in which no week had a contact are left out. Patience
// is not known from history: plan with Erlang C, or give it.
func HistoryForecast(ctx context.Context, src Source, cfg Config, day time.Time, weeks int) ([]planning.Interval, error) {
	if weeks < 1 || weeks > 12 {
		return nil, errors.New("reports: forecast from 1 to 12 weeks of history")
	}
	type key struct {
		queue  string
		offset time.Duration // from midnight
	}
	type acc struct {
		offered, answered int
		handle            time.Duration
	}
	slots := map[key]*acc{}
	queues := map[string]*acc{}
	for w := 1; w <= weeks; w++ {
		from := day.AddDate(0, 0, -7*w)
		rows, err := Build(ctx, src, cfg.Options(from, from.AddDate(0, 0, 1), ByQueue, 15*time.Minute))
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			k := key{r.Key, r.Start.Sub(from)}
			s := slots[k]
			if s == nil {
				s = &acc{}
				slots[k] = s
			}
			q := queues[r.Key]
			if q == nil {
				q = &acc{}
				queues[r.Key] = q
			}
			for _, a := range []*acc{s, q} {
				a.offered += r.Offered
				a.answered += r.Answered
				a.handle += r.HandleSum
			}
		}
	}
	out := make([]planning.Interval, 0, len(slots))
	for k, s := range slots {
		if s.offered == 0 {
			continue
		}
		aht := DefaultForecastAHT
		if q := queues[k.queue]; s.answered > 0 {
			aht = s.handle / time.Duration(s.answered)
		} else if q.answered > 0 {
			aht = q.handle / time.Duration(q.answered)
		}
		if aht <= 0 {
			aht = DefaultForecastAHT
		}
		out = append(out, planning.Interval{Queue: k.queue, Start: day.Add(k.offset), Length: 15 * time.Minute,
			Contacts: float64(s.offered) / float64(weeks), AHT: aht})
	}
	slices.SortFunc(out, func(a, b planning.Interval) int {
		if c := cmp.Compare(a.Queue, b.Queue); c != 0 {
			return c
		}
		return a.Start.Compare(b.Start)
	})
	return out, nil
}
