package console

// QueueInfo is what the wallboard and the agent view show about a queue
// besides its live statistics: its names in both UI languages, its
// service-level target and the center and institution that answer it.
// Static for the life of the Service (config), sent in every snapshot.
type QueueInfo struct {
	ID     string `json:"id"`
	NameKo string `json:"name_ko,omitempty"`
	NameEn string `json:"name_en,omitempty"`
	// SLPercent % of contacts answered within SLWithinMS is the target.
	SLPercent  float64 `json:"sl_percent"`
	SLWithinMS int64   `json:"sl_within_ms"`
	// Center and Institution group queues on the wallboard ("" = other).
	Center        string `json:"center,omitempty"`
	CenterKo      string `json:"center_ko,omitempty"`
	CenterEn      string `json:"center_en,omitempty"`
	Institution   string `json:"institution,omitempty"`
	InstitutionKo string `json:"institution_ko,omitempty"`
	InstitutionEn string `json:"institution_en,omitempty"`
	// WrapVoiceMS, WrapChatMS are the queue's wrap-up time per channel
	// (wrap_up): the agent view counts each contact's wrap-up down from
	// when it ended. The engine applies the same times.
	WrapVoiceMS int64 `json:"wrap_voice_ms,omitempty"`
	WrapChatMS  int64 `json:"wrap_chat_ms,omitempty"`
	// Interprets is the language of an interpreter queue (queues.yaml
	// interprets), with its names: the agent view's interpreter picker
	// lists these languages.
	Interprets   string `json:"interprets,omitempty"`
	InterpretsKo string `json:"interprets_ko,omitempty"`
	InterpretsEn string `json:"interprets_en,omitempty"`
}
