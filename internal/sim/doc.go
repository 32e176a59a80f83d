// Package sim holds protocol simulators of the external systems Banshi talks to.
//
// The WeChat simulator (WeChat, built by NewWeChat) answers the WeChat server
// API that Banshi reaches: mini-program login (jscode2session), Open
// Platform app login (sns/oauth2/access_token), access tokens (cgi-bin/token
// and cgi-bin/stable_token, renewed 5 minutes early, force_refresh limited),
// the real-name check (checkrealnameinfo), face verification (getverifyid,
// queryverifyinfo, with WeChat's cert_hash) and subscribe messages (the
// templates and released pages of each mini-program, the data value rules).
// Every protocol path lives under "/sim/wechat", so the SDK's
// "https://api.weixin.qq.com" becomes "http://host:port/sim/wechat".
// Protocol endpoints answer like WeChat: HTTP 200 with errcode and errmsg in
// the JSON body, with WeChat's codes.
//
// It also pushes the mini-program's events to the URL of its push settings
// as WeChat's message push does (signed, plain or safe mode, JSON or XML,
// retried): subscribe popup, change and sent events.
//
// Control endpoints under the same prefix let a test or a demo act as the
// user's phone and as the mini-program's owner in WeChat's console: register
// a WeChat user, obtain login and consent codes, complete a face
// verification, accept, reject or turn off subscribe templates, read the
// messages a user received and the pushes made; add templates, set the
// released pages, the Open Platform binding and the push settings. They
// answer JSON with 4xx statuses and the body {"error":{"code","message"}} on
// bad input.
//
// The department simulator (Department, built by NewDepartment) plays the
// department systems on both sides of the signed protocol of reference
// integrations.md: told an integration's secret, it signs application and
// bill events and posts them to Banshi's hooks, relaying Banshi's answer;
// and it receives Banshi's outbound events at the integration's
// callback_url, verifies their signature, records them and answers accept,
// refuse or timeout as it was told.
//
// The WeChat Pay (WeChatPay) and Alipay (Alipay) simulators answer the
// channels' APIs under "/sim/wechatpay" and "/sim/alipay"; their control
// endpoints play the payer's phone with the pay_params Banshi returned,
// redeliver a success callback N times at once, and put discrepancies into
// a day's trade bill (wechatpay_control.go, alipay_control.go).
//
// All state is in memory, guarded by a mutex, and time comes from an injected
// platform.Clock, so tests can move time. Facts and conventions the simulator
// follows are written in shared/reference/wechat.md; README.md's
// "Simulators" section lists what it reproduces and what it does not.
package sim
