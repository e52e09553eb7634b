//go:build onecall_noguard

package sip

// rtpGuardOff: this benchmark-only build (tag onecall_noguard) passes every
// received RTP and RTCP packet to the call, from any source, as before the
// source check existed. See rtp_guard_on.go.
const rtpGuardOff = true
