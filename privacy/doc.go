// Package privacy gives citizens their rights over their personal data
// (个人信息保护法, PIPL): the consents they gave and may withdraw (art. 15),
// a copy of everything Banshi links to them (art. 45), and deletion (art.
// 47): what Banshi alone holds is erased, what another duty requires is kept
// without the link to the person, and the person is told which categories
// were kept and why.
//
// The package owns the procedure, not the data: every feature that holds
// personal data takes part through a Source (export) and an Eraser
// (deletion), wired in cmd/banshi. Deletion is resumable: each step is
// idempotent and a request interrupted by a crash is finished by the
// sweeper (one replica at a time, under a lease).
package privacy
