package configs

// validateRecording checks a line's recording block: its retention is
// >= 0 and no longer than the line's own retention (the purge removes
// recordings with the rest of a contact's personal data at the latest);
// a referral line answers no call, so it records none.
func (b *Bundle) validateRecording(at func(path ...any) func(string, ...any), what string, n *Number) {
	r := n.Recording
	if r == nil {
		return
	}
	if r.Enabled && n.Referral != "" {
		at("recording", "enabled")("%s: a referral line answers no call: nothing to record", what)
	}
	if r.RetentionDays == nil {
		return
	}
	if *r.RetentionDays < 0 {
		at("recording", "retention_days")("%s: recording.retention_days must be >= 0", what)
		return
	}
	if line := b.LineRetentionDays(n); *r.RetentionDays > line {
		at("recording", "retention_days")("%s: recording.retention_days %d exceeds the line's retention (%d days): "+
			"recordings go with the contact's personal data at the latest", what, *r.RetentionDays, line)
	}
}

// LineRetentionDays is how many days n's contacts keep their personal data:
// its retention_days, else privacy.transcript_retention_days.
func (b *Bundle) LineRetentionDays(n *Number) int {
	if n.RetentionDays != nil {
		return *n.RetentionDays
	}
	return b.Server.Privacy.TranscriptRetentionDays
}

// RecordingRetentionDays is how many days n's recordings are kept, and
// whether the line sets a retention of its own for them (shorter than
// LineRetentionDays).
func (b *Bundle) RecordingRetentionDays(n *Number) (int, bool) {
	if n.Recording != nil && n.Recording.RetentionDays != nil {
		return *n.Recording.RetentionDays, true
	}
	return b.LineRetentionDays(n), false
}
