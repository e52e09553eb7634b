package app

import (
	"context"
	"encoding/json"
	"time"

	"onecall/store"
)

// purgeFirstAfter bounds the delay before the first retention purge after
// start.
const purgeFirstAfter = 30 * time.Second

// runPurge runs the retention purge every privacy.purge_every (the first
// run after at most purgeFirstAfter): contacts ended more than
// privacy.transcript_retention_days ago (a line's retention_days in
// hotlines.yaml overrides it for that line's contacts) lose every personal field
// (store.Purge), recordings included; a line's recording.retention_days
// deletes its recordings earlier (store.PurgeRecordings). Each run's figures are logged and appended to the audit
// trail (action "purge", actor "system"). It returns when ctx ends.
func (a *App) runPurge(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	every := time.Duration(a.cfg.Server.Privacy.PurgeEvery)
	first := min(every, purgeFirstAfter)
	t := time.NewTimer(first)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		a.purgeOnce(ctx, time.Now())
		t.Reset(every)
	}
}

// purgeOnce purges what is older than the retention at now and records
// the figures.
func (a *App) purgeOnce(ctx context.Context, now time.Time) {
	days := a.cfg.Server.Privacy.TranscriptRetentionDays
	before := now.Add(-time.Duration(days) * 24 * time.Hour)
	var perLine map[string]time.Time
	for _, n := range a.cfg.Hotlines.Numbers {
		if n.RetentionDays != nil {
			if perLine == nil {
				perLine = map[string]time.Time{}
			}
			perLine[n.Number] = now.Add(-time.Duration(*n.RetentionDays) * 24 * time.Hour)
		}
	}
	// A line's own recording retention (shorter) goes first.
	var recLines map[string]time.Time
	for i := range a.cfg.Hotlines.Numbers {
		n := &a.cfg.Hotlines.Numbers[i]
		if d, own := a.cfg.RecordingRetentionDays(n); own {
			if recLines == nil {
				recLines = map[string]time.Time{}
			}
			recLines[n.Number] = now.Add(-time.Duration(d) * 24 * time.Hour)
		}
	}
	recs, err := a.st.PurgeRecordings(ctx, recLines)
	if err != nil {
		if ctx.Err() == nil {
			a.log.Error("retention purge of recordings failed", "err", err)
		}
		return
	}
	res, err := a.st.PurgeLines(ctx, before, perLine)
	res.Recordings += recs
	if err != nil {
		if ctx.Err() == nil {
			a.log.Error("retention purge failed", "before", before, "err", err)
		}
		return
	}
	a.log.Info("retention purge", "before", before, "retention_days", days, "contacts", res.Contacts,
		"chat_messages", res.ChatMessages, "events", res.Events, "callbacks", res.Callbacks,
		"call_records", res.CallRecords, "recordings", res.Recordings)
	detail, err := json.Marshal(struct {
		Before        time.Time `json:"before"`
		RetentionDays int       `json:"retention_days"`
		store.PurgeResult
	}{before.UTC(), days, res})
	if err != nil {
		a.log.Error("retention purge: audit detail", "err", err)
		return
	}
	if err := a.st.AppendAudit(ctx, store.AuditEntry{At: now, Actor: "system", Action: "purge", Detail: string(detail)}); err != nil && ctx.Err() == nil {
		a.log.Error("retention purge: audit entry not stored", "detail", string(detail), "err", err)
	}
}
