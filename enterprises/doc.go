// Package enterprises binds enterprises to the citizens who act for them
// (企业专属网页). An enterprise is known by its unified social credit code
// (USCC, GB 32100) and described by the 市场监管 registration record, which
// RegistryClient reads over HTTP. Service.Claim lets the registered legal
// representative (法定代表人), proven by face verification (real-name level
// 4), claim the enterprise; Service.Mine lists the enterprises a citizen acts
// for. A claim is a document whose _id is the USCC (DESIGN.md invariant 1),
// so an enterprise has one claimant however many claim it at once.
//
// Members (members.go and the files beside it): the legal representative
// appoints up to MaxAdministrators administrators, who with the legal
// representative invite agents with a scope and a validity (Invite);
// invitees accept or decline (Accept, Decline); bindings are ended with a
// cascade to what they granted (End) or given another validity
// (ChangeValidity); every change is in the enterprise's audit trail
// (Audit). ActorOf, ActsFor and MayActFor tell other features who acts for
// an enterprise now. EnterprisePage assembles the enterprise page; the
// policy catalog (policies.go) is maintained by admins.
package enterprises
