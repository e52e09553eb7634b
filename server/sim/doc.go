// Package sim drives the real routing engine through a simulated working
// day in virtual time: citizens arrive on the hotlines with the day's shape
// (26 % of contacts between 10 and 12 h), optionally with a surge on one
// line; agents log in, accept or miss offers, talk and wrap up; citizens
// abandon when their patience runs out. It reports service level, speed of
// answer and abandonment per queue, checks that every contact ended exactly
// once and measures the engine's own speed and memory.
//
// It backs `onecall simulate`. Concurrency: a Run is single-goroutine and
// deterministic for a given Options.Seed; nothing is shared between Runs.
package sim
