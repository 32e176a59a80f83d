// Package wechatpay is the WeChat Pay API v3 channel adapter: a
// payments.Provider built on go-pay/gopay v1.5.123 (wechat/v3), pointed at
// the real https://api.mch.weixin.qq.com or, through gopay's SetProxyHost,
// at the simulator of internal/sim (http://host:port/sim/wechatpay).
//
// What gopay does not do, the adapter does (reference payments.md):
//
//   - gopay reports WeChat's HTTP errors in rsp.Code with err == nil: every
//     call checks rsp.Code; 5xx and 429 become payments.ErrChannelUnavailable,
//     other refusals a *payments.ChannelError with WeChat's code;
//   - callbacks are verified BEFORE anything parses them: the
//     Wechatpay-Timestamp must be within 5 minutes of the adapter's clock
//     (gopay does not check it), the RSA-SHA256 signature over
//     "timestamp\nnonce\nbody\n" must verify with the key Wechatpay-Serial
//     names — the WeChat Pay public key (PUB_KEY_ID_…) or a platform
//     certificate downloaded from /v3/certificates (refreshed, at most once a
//     minute, when an unknown certificate serial appears: old and new coexist
//     during a rotation) — and only then is the envelope parsed and its
//     resource opened with AES-256-GCM (a resource that does not open is
//     refused like a bad signature);
//   - the trade bill is downloaded by the adapter itself (gopay's
//     V3BillDownLoadBill reads the whole file into memory) with a signed
//     request, read as a stream through bufio, its SHA-1 checked against the
//     tradebill answer and its totals against its rows once the last row has
//     been read; yuan amounts are parsed as decimal strings into fen and
//     milli-fen, never through floats;
//   - no error or log line carries a key, a signature or a PEM: the private
//     and public keys are parsed here first, because gopay's PEM decoder
//     quotes the PEM in its errors.
//
// Request timestamps (the Authorization header and the client payment
// parameters) come from the wall clock, as gopay makes them and WeChat
// checks them; the callback age is judged by the injected clock, which in
// development is the clock the simulator shares.
package wechatpay
