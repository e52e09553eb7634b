package configs

import "onecall/router"

// Schedule is n's opening schedule in Asia/Seoul with the shared public
// holidays (the one RouterConfig gives the router).
func (b *Bundle) Schedule(n *Number) router.Schedule {
	holidays := make(map[string]bool, len(b.Hotlines.Holidays))
	for _, h := range b.Hotlines.Holidays {
		holidays[h.Date] = true
	}
	return n.Hours.schedule(Seoul(), holidays)
}

// HolidayNames maps each public holiday's date to its name.
func (b *Bundle) HolidayNames() map[string]string {
	m := make(map[string]string, len(b.Hotlines.Holidays))
	for _, h := range b.Hotlines.Holidays {
		m[h.Date] = h.Name
	}
	return m
}
