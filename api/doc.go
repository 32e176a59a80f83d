// Package api is Banshi's HTTP surface and the only package that imports
// Echo: routes, middleware (request id, access log, recovery, body limit,
// metrics, rate limits, authentication), the mapping of every feature error to
// an HTTP status and the body {"error":{"code","message"}}, handlers per
// feature, and openapi.yaml, the contract clients code against.
package api
