// Package reports builds the historical reports a center is run on: per
// line, queue, center or agent, per 15 minutes, hour or day — offered,
// answered, abandoned, service level, speed of answer, handle time,
// transfers and dispositions — from the contacts the store keeps, and
// renders them as CSV, JSON or an HTML page with charts.
//
// The aggregation (Builder) is pure and deterministic: contacts in, rows
// out, no I/O or clock. Handler reads the store and serves the API;
// `onecall report` is the command-line face. Concurrency: a Builder is used
// by one goroutine; Handler is safe for concurrent requests.
package reports
