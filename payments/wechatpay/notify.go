package wechatpay

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	wechat "github.com/go-pay/gopay/wechat/v3"

	"banshi/payments"
)

// Callback limits.
const (
	// MaxNotifyAge is how far a callback's Wechatpay-Timestamp may be from
	// the adapter's clock, either way.
	MaxNotifyAge = 5 * time.Minute
	// certRefreshGap is the shortest interval between two certificate
	// downloads caused by callbacks naming an unknown serial.
	certRefreshGap = time.Minute
	// MaxNotifyBody is the largest callback body the adapter reads; the
	// handler should read at most this many bytes.
	MaxNotifyBody = 64 << 10
)

// notifyEnvelope is the outer, signed JSON of a callback.
type notifyEnvelope struct {
	ID           string `json:"id"`
	CreateTime   string `json:"create_time"`
	ResourceType string `json:"resource_type"`
	EventType    string `json:"event_type"`
	Summary      string `json:"summary"`
	Resource     *struct {
		OriginalType   string `json:"original_type"`
		Algorithm      string `json:"algorithm"`
		Ciphertext     string `json:"ciphertext"`
		AssociatedData string `json:"associated_data"`
		Nonce          string `json:"nonce"`
	} `json:"resource"`
}

// notVerified is ErrNotVerified with why (never a signature or key).
func notVerified(why string) error {
	return fmt.Errorf("wechatpay callback: %s: %w", why, payments.ErrNotVerified)
}

// malformed is ErrMalformed with why.
func malformed(why string) error {
	return fmt.Errorf("wechatpay callback: %s: %w", why, payments.ErrMalformed)
}

// ParseNotification verifies a WeChat Pay callback and only then parses it:
// Wechatpay-Timestamp within MaxNotifyAge of the adapter's clock, the key
// named by Wechatpay-Serial (the WeChat Pay public key, or a platform
// certificate — downloaded again when an unknown certificate serial
// appears), the RSA-SHA256 signature over "timestamp\nnonce\nbody\n", then
// the envelope, then the AES-256-GCM resource opened with the APIv3 key (a
// resource that does not open is not verified either). body must be the
// exact bytes received. Payments (TRANSACTION.SUCCESS) fill Trade; refunds
// (REFUND.SUCCESS / ABNORMAL / CLOSED) fill Refund and the order ids of
// Trade. Errors: payments.ErrNotVerified (refuse, record nothing),
// payments.ErrMalformed (verified but not understood, or another merchant's).
func (p *Provider) ParseNotification(ctx context.Context, h http.Header, body []byte) (payments.Notification, error) {
	ts, nonce := h.Get(wechat.HeaderTimestamp), h.Get(wechat.HeaderNonce)
	sig, serial := h.Get(wechat.HeaderSignature), h.Get(wechat.HeaderSerial)
	if ts == "" || nonce == "" || sig == "" || serial == "" {
		return payments.Notification{}, notVerified("missing Wechatpay-Timestamp, -Nonce, -Signature or -Serial")
	}
	if t := h.Get(wechat.HeaderSignatureType); t != "" && t != wechat.Authorization {
		return payments.Notification{}, notVerified("unsupported Wechatpay-Signature-Type")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return payments.Notification{}, notVerified("Wechatpay-Timestamp is not a number")
	}
	if age := p.clock.Now().Sub(time.Unix(sec, 0)); age > MaxNotifyAge || age < -MaxNotifyAge {
		return payments.Notification{}, notVerified("Wechatpay-Timestamp more than 5 minutes off")
	}
	if len(body) > MaxNotifyBody {
		return payments.Notification{}, notVerified("body too large")
	}
	key := p.callbackKey(serial)
	if key == nil {
		return payments.Notification{}, notVerified("unknown Wechatpay-Serial")
	}
	if wechat.V3VerifySignByPK(ts, nonce, string(body), sig, key) != nil {
		return payments.Notification{}, notVerified("signature does not verify")
	}

	// Verified: from here on the bytes are WeChat's.
	var env notifyEnvelope
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&env); err != nil {
		return payments.Notification{}, malformed("envelope is not JSON")
	}
	if env.ResourceType != "encrypt-resource" || env.Resource == nil || env.Resource.Algorithm != "AEAD_AES_256_GCM" {
		return payments.Notification{}, malformed("not an AEAD_AES_256_GCM encrypted resource")
	}
	plain, err := p.open(env.Resource.Ciphertext, env.Resource.Nonce, env.Resource.AssociatedData)
	if err != nil {
		return payments.Notification{}, err
	}
	n := payments.Notification{ID: env.ID}
	switch {
	case env.EventType == "TRANSACTION.SUCCESS":
		var t wechat.V3DecryptPayResult
		if err := json.Unmarshal(plain, &t); err != nil {
			return payments.Notification{}, malformed("transaction is not JSON")
		}
		if t.Mchid != p.cfg.MchID {
			return payments.Notification{}, malformed("transaction of another merchant")
		}
		if t.OutTradeNo == "" || t.TransactionId == "" || t.Amount == nil || t.TradeState != "SUCCESS" {
			return payments.Notification{}, malformed("transaction without out_trade_no, transaction_id, amount or SUCCESS state")
		}
		n.Kind = payments.NotifyPayment
		n.Trade = payments.Trade{
			OrderNo: t.OutTradeNo, ChannelTradeNo: t.TransactionId, State: payments.TradePaid,
			AmountFen: int64(t.Amount.Total), PaidFen: int64(t.Amount.PayerTotal),
			MerchantID: t.Mchid, AppID: t.Appid,
		}
		if t.Payer != nil {
			n.Trade.PayerID = t.Payer.Openid
		}
		at, err := time.Parse(time.RFC3339, t.SuccessTime)
		if err != nil {
			return payments.Notification{}, malformed("success_time is not RFC 3339")
		}
		n.Trade.PaidAt = at.UTC()
	case strings.HasPrefix(env.EventType, "REFUND."):
		var r wechat.V3DecryptRefundResult
		if err := json.Unmarshal(plain, &r); err != nil {
			return payments.Notification{}, malformed("refund is not JSON")
		}
		if r.Mchid != p.cfg.MchID {
			return payments.Notification{}, malformed("refund of another merchant")
		}
		if r.OutTradeNo == "" || r.OutRefundNo == "" || r.Amount == nil {
			return payments.Notification{}, malformed("refund without out_trade_no, out_refund_no or amount")
		}
		state := map[string]string{"SUCCESS": payments.RefundSucceeded, "ABNORMAL": payments.RefundFailed, "CLOSED": payments.RefundFailed}[r.RefundStatus]
		if state == "" || "REFUND."+r.RefundStatus != env.EventType {
			return payments.Notification{}, malformed("refund_status does not match event_type")
		}
		n.Kind = payments.NotifyRefund
		n.Trade = payments.Trade{OrderNo: r.OutTradeNo, ChannelTradeNo: r.TransactionId, MerchantID: r.Mchid, AmountFen: int64(r.Amount.Total)}
		n.Refund = payments.Refund{
			OrderNo: r.OutTradeNo, RefundNo: r.OutRefundNo, ChannelRefundNo: r.RefundId,
			State: state, AmountFen: int64(r.Amount.Refund),
		}
		if state == payments.RefundSucceeded {
			at, err := time.Parse(time.RFC3339, r.SuccessTime)
			if err != nil {
				return payments.Notification{}, malformed("success_time is not RFC 3339")
			}
			n.Refund.SucceededAt = at.UTC()
		}
	default:
		return payments.Notification{}, malformed("unknown event_type")
	}
	return n, nil
}

// open decrypts a callback resource with the APIv3 key. A ciphertext that
// does not authenticate is ErrNotVerified.
func (p *Provider) open(ciphertext, nonce, associated string) ([]byte, error) {
	ct, err := base64.StdEncoding.DecodeString(ciphertext)
	if err != nil {
		return nil, malformed("ciphertext is not base64")
	}
	block, err := aes.NewCipher([]byte(p.cfg.APIv3Key))
	if err != nil {
		return nil, malformed("APIv3 key unusable") // checked by New: cannot happen
	}
	gcm, err := cipher.NewGCMWithNonceSize(block, len(nonce))
	if err != nil || len(nonce) == 0 {
		return nil, malformed("bad nonce")
	}
	plain, err := gcm.Open(nil, []byte(nonce), ct, []byte(associated))
	if err != nil {
		return nil, notVerified("resource does not authenticate with the APIv3 key")
	}
	return plain, nil
}

// callbackKey returns the key that serial names, downloading the platform
// certificates again (at most once per certRefreshGap) when certificate mode
// meets an unknown certificate serial; nil when there is none.
func (p *Provider) callbackKey(serial string) *rsa.PublicKey {
	if err := p.ready(); err != nil {
		p.log.Warn("wechatpay: platform certificates unavailable for a callback")
	}
	p.mu.RLock()
	key := p.verifyKeys[serial]
	p.mu.RUnlock()
	if key != nil || !p.cfg.PlatformCertificates || strings.HasPrefix(serial, "PUB_KEY_ID_") {
		return key
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if key := p.verifyKeys[serial]; key != nil {
		return key
	}
	if p.clock.Now().Sub(p.lastRefresh) < certRefreshGap {
		return nil
	}
	if err := p.loadCertsLocked(); err != nil {
		p.log.Warn("wechatpay: platform certificates could not be refreshed")
		return nil
	}
	p.certsLoaded = true
	return p.verifyKeys[serial]
}

// AckNotification answers WeChat that the callback was received: 200
// {"code":"SUCCESS","message":"成功"}.
func (p *Provider) AckNotification(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(`{"code":"SUCCESS","message":"成功"}`))
}

// RefuseNotification answers a callback that was not accepted (not
// verified, or not recorded): WeChat then retries on its schedule. status
// should be 4xx for a refused callback, 5xx for a failure to record it.
func RefuseNotification(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"code":"FAIL","message":"失败"}`))
}
