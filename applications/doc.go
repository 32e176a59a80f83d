// Package applications follows citizens' applications (办件) as the
// department systems that handle them report their progress.
//
// A department system registered in package integrations posts signed events
// to Banshi (reference integrations.md): one event per step of an
// application — submitted, accepted, needs_materials (with the one-time list
// of what to bring, 一次性告知), under_review, approved, rejected, delivered,
// withdrawn. The HTTP layer verifies the signature and the source's scope
// before anything here parses the body; Receive then parses it strictly,
// validates every field, and stores it.
//
// Storage (MongoDB, no multi-document transactions):
//
//   - application_events: one document per (source, event_id), _id
//     "<source>|<event_id>": inserting it decides whether the event is new, so
//     a repeated event is a duplicate that changes nothing. It records
//     whether the event has been applied to its application and whether its
//     message has been published.
//   - applications: one document per (source, application_no), _id
//     "<source>|<application_no>", holding the whole timeline ordered by
//     occurred_at. It is changed only by single-document compare-and-swap
//     updates on a version field, so concurrent events for one application
//     are all kept, in any arrival order.
//
// The status of an application is a function of its timeline alone (see
// CurrentIndex): a final status (approved, rejected, delivered, withdrawn) is
// never replaced by an earlier or a non-final one, and among non-final
// statuses the latest by occurred_at wins. Arrival order therefore never
// matters.
//
// Applicants who are people are matched to citizens by the blind index of
// their ID number (the number itself is never stored, the name only masked),
// and only to a citizen who proved that number (real-name level 3 or more):
// a declaration (level 2) is a claim and shows nothing. An application for
// someone not yet registered is kept and appears once they prove the number.
// Enterprise applicants are kept by their USCC.
//
// Every accepted event leads to its message (notify.Message with the
// deterministic ID "application:<source>:<application_no>:<event_id>") for
// the proven owner, if any: published right after the event is applied, and,
// should the process die in between, by the retry of the same event (a
// duplicate finishes what is missing) or by the sweeper, which publishes
// events stored but unpublished for a minute.
package applications
