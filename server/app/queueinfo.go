package app

import (
	"onecall/configs"
	"onecall/console"
)

// consoleQueues describes every configured queue for the console: names,
// SL target, and the center and institution of the first number (in
// hotlines.yaml order) whose default queue it is; a queue no number routes
// to by default has no center.
func consoleQueues(b *configs.Bundle) []console.QueueInfo {
	centers := make(map[string]configs.Center, len(b.Hotlines.Centers))
	for _, c := range b.Hotlines.Centers {
		centers[c.ID] = c
	}
	insts := make(map[string]configs.Institution, len(b.Hotlines.Institutions))
	for _, in := range b.Hotlines.Institutions {
		insts[in.ID] = in
	}
	centerOf := make(map[string]string)
	for _, n := range b.Hotlines.Numbers {
		if _, ok := centerOf[n.Queue]; !ok && n.Queue != "" && n.Center != "" {
			centerOf[n.Queue] = n.Center
		}
	}
	out := make([]console.QueueInfo, 0, len(b.Queues))
	for _, q := range b.Queues {
		qi := console.QueueInfo{ID: q.ID, NameKo: q.NameKo, NameEn: q.NameEn,
			SLPercent: q.ServiceLevel.Percent, SLWithinMS: q.ServiceLevel.Within.D().Milliseconds(),
			WrapVoiceMS: q.WrapUp.Voice.D().Milliseconds(), WrapChatMS: q.WrapUp.Chat.D().Milliseconds()}
		if q.Interprets != "" {
			qi.Interprets = q.Interprets
			for _, l := range b.Skills.Languages {
				if l.ID == q.Interprets {
					qi.InterpretsKo, qi.InterpretsEn = l.NameKo, l.NameEn
				}
			}
		}
		if c, ok := centers[centerOf[q.ID]]; ok {
			qi.Center, qi.CenterKo, qi.CenterEn = c.ID, c.NameKo, c.NameEn
			in := insts[c.Institution]
			qi.Institution, qi.InstitutionKo, qi.InstitutionEn = c.Institution, in.NameKo, in.NameEn
		}
		out = append(out, qi)
	}
	return out
}
