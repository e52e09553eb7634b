package reports

import (
	"time"

	"onecall/configs"
)

// FromBundle builds the reports' view of a loaded configuration: each
// queue's SL threshold, target and Korean name, each center's name, and
// the center answering each line.
func FromBundle(b *configs.Bundle) Config {
	c := Config{Thresholds: map[string]time.Duration{}, Targets: map[string]float64{}, Names: map[string]string{}}
	for _, q := range b.Queues {
		c.Thresholds[q.ID] = q.ServiceLevel.Within.D()
		c.Targets[q.ID] = q.ServiceLevel.Percent / 100
		c.Names[q.ID] = q.NameKo
	}
	for _, ct := range b.Hotlines.Centers {
		c.Names[ct.ID] = ct.NameKo
	}
	c.CenterOf = func(line string) string {
		if n, ok := b.ResolveNumber(line); ok {
			return n.Center
		}
		return ""
	}
	return c
}
