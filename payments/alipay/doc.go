// Package alipay is the Alipay channel adapter: a payments.Provider built on
// go-pay/gopay v1.5.123 (package alipay, public-key mode), pointed at the
// real https://openapi.alipay.com/gateway.do or, through a host-rewriting
// http.RoundTripper (gopay's Alipay client has no proxy-host setter), at
// the simulator of internal/sim (http://host:port/sim/alipay).
//
// What gopay does not do, the adapter does (reference payments.md):
//
//   - gopay verifies synchronous answers only in certificate mode: the
//     adapter keeps the exact bytes of every answer (the transport tees
//     them) and verifies the RSA2 signature over the inner
//     "<method>_response" object with the Alipay public key, for successes
//     and for the refusals it acts on (a trade Alipay does not know, a
//     trade in a state that cannot be closed); an answer that does not
//     verify is payments.ErrChannelUnavailable — the outcome is unknown;
//   - a non-200 answer, a transport failure and code 20000 are
//     ErrChannelUnavailable; other codes a *payments.ChannelError with
//     Alipay's sub_code (ACQ.TRADE_NOT_EXIST, ACQ.TRADE_STATUS_ERROR, …);
//   - notifications are verified BEFORE any field is trusted: the form is
//     parsed from the exact body (a parameter given twice is refused),
//     sign_type must be RSA2 and gopay's VerifySign (every field but sign
//     and sign_type, empty ones dropped, sorted) must pass with the Alipay
//     public key; then app_id (and seller_id when configured) must be ours
//     and every amount must be an exact yuan string;
//   - yuan strings and int64 fen meet only in this package, converted as
//     decimal strings, never through floats;
//   - the trade bill is downloaded into a temporary file (a zip needs
//     random access), and its detail CSV is decoded from GBK and read row by
//     row; its totals are checked against its rows;
//   - no error or log line carries a key or a signature: keys are parsed
//     here first, because gopay's PEM decoder quotes the PEM in its errors.
//
// App (alipay_app) and WAP (alipay_wap) payments call nothing: the order
// string and the gateway URL are signed locally; the trade exists at Alipay
// only once the payer opens them, and stays payable until its time_expire
// (closing a trade Alipay does not know yet does not stop a later payment:
// always set ExpiresAt).
package alipay
