// Package planning answers the planner's question "how many agents does this
// interval need?" with queueing theory: Erlang C (M/M/N, callers wait for
// ever) and Erlang A (M/M/N+M, callers abandon after an exponential
// patience), and turns a forecast of contacts and handle times per queue and
// 15-minute interval into a staffing plan.
//
// It is pure and deterministic like router/, queues/ and agents/: no I/O,
// clock, goroutines or randomness. The binary's `onecall staffing` reads the
// forecast and writes the plan; `onecall simulate --erlang` checks the
// simulator (the real routing engine) against the same formulas.
package planning
