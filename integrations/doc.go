// Package integrations is the registry of department systems (审批系统,
// 非税收入系统, 证照库, ...) that report to Banshi and hear back from it over
// the signed protocol of reference/integrations.md: each has an id, a name,
// the scopes it is granted (which hooks it may call), an optional callback URL
// for Banshi's outbound events, and a signing secret shown once at creation
// and at each rotation (the previous secret keeps working for 24 hours).
// Secrets are kept sealed (platform.SecretBox, bound to the integration and
// to which secret it is). The registry answers the hook verifier
// (platform.HookVerifier) and tells whether a source holds a scope.
package integrations
