package sip

import (
	"context"
	"fmt"
	"time"
)

// recordingTap is a leg that can be recorded (diagoLeg).
type recordingTap interface {
	setRecorder(r *recorder)
}

// startRecording begins the call's recording on a recorded line, before
// anything is played, then plays the consent announcement: the file starts
// with it, and the contact enters routing only after it (and the greeting),
// so no agent is rung before the caller has heard it.
func (c *call) startRecording(ctx context.Context) {
	if !c.menu.Record || c.s.opts.RecordDir == "" {
		return
	}
	tap, ok := c.leg.(recordingTap)
	if !ok {
		return
	}
	r, err := startRecorder(c.s.clock, &c.s.recStats, c.s.opts.RecordDir, uint64(c.id), c.leg.Codec(), time.Now())
	if err != nil {
		// The consent is still played: the caller is told what the line
		// does, and the operator sees why this call has no file.
		c.log.Error("recording not started", "err", err)
	} else {
		tap.setRecorder(r)
		c.recorder = r
		c.rec.Recording = r.path
	}
	c.play(ctx, c.lineClip(c.menu.ConsentSay))
}

// stopRecording closes the call's recording and notes its size and
// duration in the call record.
func (c *call) stopRecording() {
	r := c.recorder
	if r == nil {
		return
	}
	c.recorder = nil
	if tap, ok := c.leg.(recordingTap); ok {
		tap.setRecorder(nil)
	}
	path, n, d, err := r.finish(10 * time.Second)
	c.rec.Recording, c.rec.RecordingBytes, c.rec.RecordingDur = path, n, d
	if err != nil {
		c.log.Error("recording incomplete", "path", path, "err", err)
	}
	// The contact's history says the call was recorded (not where: the
	// file is played through the authorised endpoint).
	reason := fmt.Sprintf("%s, %d bytes, consent played", d.Round(time.Second), n)
	if err != nil {
		reason += ", incomplete"
	}
	if c.id != 0 {
		c.history("recorded", "", reason)
	}
}
