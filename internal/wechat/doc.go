// Package wechat is Banshi's client of the WeChat server API: mini-program
// login (code2session), app login (Open Platform OAuth), the real-name check
// (checkrealnameinfo), face verification and subscribe messages. It reaches
// WeChat through silenceper/wechat v2 where the SDK has the call, and through
// plain HTTP where it has not, always with a timeout and bounded retries, with
// stable access tokens cached in Redis. It knows nothing of Banshi's users:
// login and real-name levels are account logic (internal/account), and any
// feature (notify, payments) may use this package without importing them.
package wechat
