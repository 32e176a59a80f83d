// Package staff holds the accounts of hall and back-office staff: roles
// (admin, hall_staff, finance), the halls a hall_staff account works at,
// password login (bcrypt) returning an opaque session token kept in Redis
// with a sliding idle expiry and an absolute cap, and the audit log of staff
// actions in MongoDB (who, what, when, from which IP).
//
// Sessions: the token ("bss_<username>.<32 random bytes, base64url>") is
// given to the client once; Redis stores only its HMAC-SHA256 under
// "<prefix>staff:{s:<username>}:sess:<hmac>", so a Redis dump reveals no
// usable token. The username names the Redis slot, shared with the
// account's rate-limit bucket, so Authorize reads, slides and limits in one
// round trip (sessions of earlier releases, "bss_<random>" under
// "staff:sess:<hmac>", are still read until they end). Every Authenticate
// re-reads the account, so disabling an account or revoking its sessions (a
// generation counter on the account) takes effect at once.
package staff
