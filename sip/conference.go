package sip

import (
	"errors"

	"onecall/router"
)

// The conference step of a consult: the citizen, the agent and the
// consulted party in one mix.

// ErrNoConference means the conference step is not available.
var ErrNoConference = errors.New("sip: conference is not available")

// conference mixes the three legs (call goroutine; the consult answered).
func (c *call) conference() error {
	return ErrNoConference
}

// leaveConference drops the consulted party from the conference: agent
// and citizen talk on.
func (c *call) leaveConference(reason string) error {
	c.dropConsult()
	_ = c.consultUpdate(router.ConsultLeft, reason)
	c.bridge()
	return nil
}

// unmix takes the call's legs out of the conference mix, if any.
func (c *call) unmix() {}
