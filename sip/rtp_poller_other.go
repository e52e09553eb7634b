//go:build !linux

package sip

import (
	"context"
	"errors"
	"net/netip"
	"sync/atomic"
	"syscall"

	"github.com/emiago/diago"
)

// rtpPoller is Linux only (epoll); elsewhere every leg reads from its own
// goroutine.
type rtpPoller struct{ legs atomic.Int64 }

func newRTPPoller() (*rtpPoller, error)                             { return nil, errors.New("sip: no RTP poller on this system") }
func (p *rtpPoller) add(*diagoLeg) bool                             { return false }
func (p *rtpPoller) run(context.Context)                            {}
func pollable(*diago.DialogMedia) (*rtpPair, syscall.RawConn, bool) { return nil, nil, false }

func (c *guardedConn) initSend() {}

func (c *guardedConn) sendNow([]byte, netip.AddrPort) (int, error, bool) { return 0, nil, false }

type sender struct{}
