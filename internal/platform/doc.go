// Package platform holds what every feature stands on: the configuration read
// from the environment, the MongoDB and Redis clients (real or embedded), the
// secrets kept in the data folder in development, and the injected clock.
package platform
