// Package appointments is hall appointment booking (政务服务预约): halls,
// departments, service items with their guides, schedules and the calendar
// of closures, public holidays and make-up working days; availability; the
// booking engine; cancellation; check-in with short codes and signed QR
// payloads; queue numbers; staff lists and CSV export; the no-show policy
// and day-before reminders; admin writes, JSON import and the demo seed.
//
// # Time
//
// Instants are stored in UTC. Hall days, opening hours and dates
// ("YYYY-MM-DD") are Asia/Shanghai. The clock is injected (platform.Clock).
// Slots are not stored: a slot ID "<schedule>.<YYYYMMDD>.<HHMM>" is computed
// from the schedule, the hall's hours and lunch break, and the calendar, so a
// closure applies at once.
//
// # Exactness (DESIGN.md invariant 1)
//
// Capacity and the per-person rules hold under any concurrency, across any
// number of processes sharing MongoDB and Redis, because each is decided by
// inserting a document with a deterministic _id (see arbiter.go):
//
//   - a seat is "<slot id>#<n>" for n in [0, capacity);
//   - one active booking per person, service and day is "<user>|<service>|<date>";
//   - at most MaxActive (3) active bookings per person are "<user>|<k>", k < MaxActive.
//
// Redis is only the fast path in front (fastpath.go): a Lua script hands out
// seat numbers from a per-slot pool and turns a full slot away without
// touching MongoDB. When the pool is missing (first use, expiry, FLUSHALL,
// or a schedule change, which renames it) it is rebuilt from the seat
// documents; when it is wrong, the seat insert meets a duplicate key and the
// booking takes the next number; when Redis is down, seats are chosen from
// MongoDB alone. Redis never decides, and its "full" is never kept as an
// Idempotency-Key's answer.
//
// # No transactions (DESIGN.md invariant 2)
//
// A booking writes, in this order: the seat lease in Redis, the idempotency
// record (when a key is given), the day lock, a user slot, the seat, a
// check-in code, and last the appointment document (status booked), which is
// the commit. Every arbiter names the appointment ID generated up front. A
// failing booking deletes what it took, but only once it knows its
// appointment was not stored: a commit whose reply was lost is decided by
// inserting a failed tombstone under its ID (see booking.commit), and while
// that is unknown nothing is released. A crash can leave arbiters whose
// appointment was never written: the next insert that meets one looks the
// holder up and, once the arbiter is older than AbandonAfter (2 minutes),
// writes a "failed" tombstone under the appointment ID — so the original,
// were it merely slow, fails at its commit — and takes the arbiter over. A
// seat lease never confirmed returns to the pool when it expires. Leaving
// "booked" (cancel, check-in, no-show) releases the personal arbiters;
// cancellation also deletes the seat and returns its number at once, and
// marks the appointment released last, so the sweeper finishes a release a
// crash interrupted. Staff may cancel with a reason at any time
// (CancelByStaff); a booking left on a day the calendar closes is cancelled
// by the sweeper, never made a no-show.
//
// # Errors
//
// Methods return the sentinel errors of errors.go (Code gives their API
// codes); bad input is ErrInvalid (a platform.Invalid error) naming the
// field, and changes nothing.
package appointments
