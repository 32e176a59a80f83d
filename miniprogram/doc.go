// Package miniprogram speaks to WeChat for Banshi: mini-program login
// (code2session), app login (Open Platform OAuth), the real-name check
// (checkrealnameinfo), face verification and subscribe messages. It reaches
// WeChat through silenceper/wechat v2 where the SDK has the call, and through
// plain HTTP where it has not, always with a timeout and bounded retries, with
// access tokens cached in Redis.
//
// It also holds the two services built on those calls: Auth (login, sessions)
// and Realname (levels 2 to 4).
package miniprogram
