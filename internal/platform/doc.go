// Package platform holds what every feature stands on: the configuration read
// from the environment, the MongoDB and Redis clients (real or embedded), the
// secrets kept in the data folder in development, and the injected clock; and
// the primitives background workers and stores share: unique-key claims with
// stale-holder takeover (Claim), named leases for background work (Leases),
// token digests (TokenDigest), the staff role names and the identifier
// patterns several packages check.
package platform
