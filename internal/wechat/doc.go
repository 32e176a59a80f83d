// Package wechat is Banshi's client of the WeChat server API: mini-program
// login (code2session), app login (Open Platform OAuth), the real-name check
// (checkrealnameinfo), face verification (with WeChat's cert_hash) and
// subscribe messages; and the receiver of WeChat's message push (消息推送),
// which verifies every push (signature, safe mode's msg_signature and AES
// decryption) before it parses it, and records each event once.
//
// Stable access tokens and subscribe sends go through silenceper/wechat v2
// (sub-packages only); the logins, which carry the app secrets in the URL,
// and the city-service calls the SDK lacks go through plain HTTP. Every call
// has a timeout and bounded retries; no error this package returns carries a
// secret, a login code or an access token. It knows nothing of Banshi's
// users: login and real-name levels are account logic (internal/account),
// and any feature (notify, payments) may use this package without importing
// them.
package wechat
