// Package account owns citizens: the person behind one or more WeChat logins
// (linked through every WeChat id they log in with), their real-name identity
// (实名认证) and their level of assurance, and the encryption of that identity
// at rest.
//
// Names and ID numbers are never stored in clear: each is kept AES-256-GCM
// encrypted and bound to its user and field (a ciphertext moved elsewhere
// does not open), as a masked form for display (4401**********1234, *三), and
// the ID number also as an HMAC blind index (see Cipher, MigratePII; keys rotate by RotatePII, the blind-index key never does).
// "One ID number, one person" is decided by inserting a claim whose _id is
// that blind index (DESIGN.md invariant 1); a declaration (level 2) yields to
// a proof (levels 3 and 4), whose holder ProvenOwner names. No step needs a
// multi-document transaction, and every step is idempotent so a retry (or
// the revocation sweeper) finishes what a crash interrupted.
//
// Validation helpers (ValidateIDNumber, ValidateName) implement GB 11643-1999
// resident ID numbers and Chinese names, including dotted minority names.
package account
