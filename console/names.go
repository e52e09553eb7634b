package console

// Label is a name in Korean and English.
type Label struct {
	Ko string `json:"ko"`
	En string `json:"en"`
}

// LineNames names one hotline number (the agency behind it) and the topics
// (IVR or chat-page choices) it offers, by topic id.
type LineNames struct {
	Label
	Topics map[string]Label `json:"topics,omitempty"`
}

// Names are the labels the agent view shows for internal ids. Sent in the
// snapshot as "names" (docs/console-protocol.md).
type Names struct {
	Queues       map[string]Label     `json:"queues"`
	Lines        map[string]LineNames `json:"lines"`
	Dispositions map[string]Label     `json:"dispositions,omitempty"`
	// Skills names skill ids (topics and languages) for the routing
	// explanation.
	Skills map[string]Label `json:"skills,omitempty"`
}
