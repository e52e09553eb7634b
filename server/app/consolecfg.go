package app

import (
	"onecall/configs"
	"onecall/console"
)

// consoleNames gives the agent view its labels: queue names, line (agency)
// names with their menu choices as topics, and disposition labels.
func consoleNames(cfg *configs.Bundle) console.Names {
	n := console.Names{Queues: map[string]console.Label{}, Lines: map[string]console.LineNames{},
		Dispositions: map[string]console.Label{}}
	for _, q := range cfg.Queues {
		n.Queues[q.ID] = console.Label{Ko: q.NameKo, En: q.NameEn}
	}
	for _, h := range cfg.Hotlines.Numbers {
		l := console.LineNames{Label: console.Label{Ko: h.AgencyKo, En: h.AgencyEn}}
		if len(h.Menu) > 0 {
			l.Topics = map[string]console.Label{}
			for _, m := range h.Menu {
				l.Topics[m.Digit] = console.Label{Ko: m.LabelKo, En: m.LabelEn}
			}
		}
		n.Lines[h.Number] = l
	}
	n.Skills = map[string]console.Label{}
	for _, k := range append(append([]configs.Skill(nil), cfg.Skills.Topics...), cfg.Skills.Languages...) {
		n.Skills[k.ID] = console.Label{Ko: k.NameKo, En: k.NameEn}
	}
	for code, l := range cfg.Hotlines.DispositionLabels {
		n.Dispositions[code] = console.Label{Ko: l.Ko, En: l.En}
	}
	return n
}

// consoleCanned is the canned replies (상용구) by line, "*" for every line.
func consoleCanned(cfg *configs.Bundle) map[string][]console.Label {
	out := map[string][]console.Label{}
	for num, list := range cfg.Canned() {
		for _, c := range list {
			out[num] = append(out[num], console.Label{Ko: c.Ko, En: c.En})
		}
	}
	return out
}

// dispositionRequired lists the queues with disposition_required.
func dispositionRequired(cfg *configs.Bundle) map[string]bool {
	out := map[string]bool{}
	for _, q := range cfg.Queues {
		if q.DispositionRequired {
			out[q.ID] = true
		}
	}
	return out
}
