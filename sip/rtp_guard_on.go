//go:build !onecall_noguard

package sip

// rtpGuardOff is true only in binaries built with the onecall_noguard tag,
// for benchmarks that measure what the RTP source check costs
// (scripts/sipload -serve -noguard). Never in a shipped build: there is no
// configuration key for it.
const rtpGuardOff = false
