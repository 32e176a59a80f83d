// Package session keeps login sessions in Redis. A client holds an opaque
// random token (32 bytes, base64url); Redis holds only its HMAC, so a copy of
// the Redis data cannot be replayed as a login. Sessions slide: each use
// pushes the idle expiry forward, never past the absolute cap. Every session
// of a user can be revoked at once.
package session
