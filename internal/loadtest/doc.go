// Package loadtest is the `banshi loadtest` command (BENCHMARKS.md). It
// measures, in one process over loopback HTTP, how much of a bare Echo
// server doing one Redis GET (the baseline) Banshi's own read routes reach —
// GET /api/v1/me with a valid session, and a hall's availability — by
// driving each with closed-loop workers in alternating rounds and comparing
// the best round of each. Then it releases a flash crowd — many concurrent
// POST /api/v1/appointments for one slot — and measures its latencies and
// proves from MongoDB that exactly the slot's seats were booked.
//
// Or, with a soak length, it runs a soak instead (soak.go): a realistic mix
// of citizen routes started at a fixed rate (open loop) for minutes, with
// each route's percentiles and errors and samples of the process's memory
// and goroutines, to show that latencies and resources stay flat.
//
// Banshi is started by a Starter the command passes in, so the load test
// drives it exactly as main wires it. Only the load command imports this
// package; no feature package carries load-generation code.
package loadtest
