// Package notify tells citizens what concerns them, on every channel they
// have, without losing or repeating a message when a process dies.
//
// A Message (an appointment confirmed, an application's progress, a payment's
// outcome) is published to the Outbox with an ID derived from what it is
// about. Publishing stores it in the in-app inbox and one delivery per
// external channel the Router picks, each keyed "<message id>|<channel>", so
// publishing again stores nothing twice. Dispatchers in any number of
// processes claim due deliveries with conditional updates, send them through
// their Channel with bounded concurrency, and record the outcome: sent,
// skipped (nothing to deliver there), failed (retried with exponential
// backoff and jitter) or dead (permanent, or still failing at the deadline).
// Delivery is at least once: a process killed between a send and its record
// repeats at most the deliveries it had in flight.
package notify
