package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/silenceper/wechat/v2/cache"
	"github.com/silenceper/wechat/v2/credential"
	"github.com/silenceper/wechat/v2/miniprogram"
	miniconfig "github.com/silenceper/wechat/v2/miniprogram/config"
	"github.com/silenceper/wechat/v2/miniprogram/subscribe"

	"banshi/internal/platform"
)

// Config names the apps Banshi acts as and where WeChat is.
type Config struct {
	APIBase       string // e.g. https://api.weixin.qq.com or http://127.0.0.1:8080/sim/wechat
	MiniAppID     string
	MiniAppSecret string
	OpenAppID     string // Open Platform mobile app (app login)
	OpenAppSecret string
	State         string // miniprogram_state for subscribe messages: developer|trial|formal
	// Breaker guards every call (logins, token fetches, sends); nil: none.
	// An open breaker's refusal is ErrUpstream with Until, at once.
	Breaker *platform.Breaker
}

// Client is Banshi's client of the WeChat API. Stable access tokens and
// subscribe sends go through silenceper/wechat (pointed at APIBase with
// ConfigureSDK); the logins, which carry the app secrets in the URL, and the
// city-service calls the SDK lacks go through http with the same client.
// No error it returns carries a secret, a code or an access token.
type Client struct {
	cfg    Config
	http   *http.Client
	log    *slog.Logger
	mini   *miniprogram.MiniProgram
	tokens credential.AccessTokenContextHandle
	cache  cache.Cache
}

// stableTokenKey is where silenceper's StableAccessToken caches the token.
func stableTokenKey(appID string) string {
	return credential.CacheKeyMiniProgramPrefix + "_stable_access_token_" + appID
}

// New returns a client. Access tokens are the stable kind (several
// replicas share one without invalidating each other) cached in tokenCache.
func New(cfg Config, client *http.Client, tokenCache cache.Cache, log *slog.Logger) *Client {
	mini := miniprogram.NewMiniProgram(&miniconfig.Config{AppID: cfg.MiniAppID, AppSecret: cfg.MiniAppSecret, Cache: tokenCache, UseStableAK: true})
	tokens := credential.NewStableAccessToken(cfg.MiniAppID, cfg.MiniAppSecret, credential.CacheKeyMiniProgramPrefix, tokenCache)
	mini.SetAccessTokenContextHandle(tokens)
	return &Client{cfg: cfg, http: client, log: log, mini: mini, tokens: tokens, cache: tokenCache}
}

// Identity of a WeChat user as a login code resolves it.
type User struct {
	OpenID     string
	UnionID    string
	SessionKey string // mini-program only; never leaves the server
}

// upstream wraps a transport failure (network, timeout, non-200).
func upstream(op string, err error) error {
	return ErrUpstream.Wrap(fmt.Errorf("%s: %w", op, err))
}

// withToken runs call with the cached access token; on 40001/42001 it drops
// the cached token and tries once more with a fresh one.
func (w *Client) withToken(ctx context.Context, call func(token string) error) error {
	return w.guarded(func() error { return w.withTokenOnce(ctx, call) })
}

func (w *Client) withTokenOnce(ctx context.Context, call func(token string) error) error {
	for attempt := 0; ; attempt++ {
		token, err := w.tokens.GetAccessTokenContext(ctx)
		if err != nil {
			return upstream("access token", redact(err))
		}
		err = call(token)
		if attempt == 0 && isTokenError(err) {
			w.log.WarnContext(ctx, "wechat access token refused, refreshing", "err", err)
			_ = cache.DeleteContext(ctx, w.cache, stableTokenKey(w.cfg.MiniAppID))
			continue
		}
		return err
	}
}

// guarded runs op (one operation: a token fetch and a call, or a login)
// through the breaker. WeChat being down (ErrUpstream: transport, time-out,
// non-200, system error) is a failure; any errcode answer is WeChat working.
// A refusal of the open breaker is ErrUpstream with Until.
func (w *Client) guarded(op func() error) error {
	if w.cfg.Breaker == nil {
		return op()
	}
	err := w.cfg.Breaker.Do(op, func(err error) bool { return errors.Is(err, ErrUpstream) })
	if oe, ok := platform.BreakerRejection(err); ok {
		return ErrUpstream.WithUntil(oe.Until).Wrap(oe)
	}
	return err
}

// postJSON posts body to a token-protected path and decodes the answer into
// out, turning a non-zero errcode into an error.
func (w *Client) postJSON(ctx context.Context, path, token string, body, out any) error {
	return w.call(ctx, http.MethodPost, path, url.Values{"access_token": {token}}, body, out)
}

// call sends a request to path with the query q (every value escaped) and,
// when body is not nil, body as JSON; it decodes the answer into out and
// turns a non-zero errcode into an error (classify). Transport failures,
// non-200 answers and unreadable answers are ErrUpstream, their message
// scrubbed of the URL's query (redact): it carries secrets, codes and tokens.
func (w *Client) call(ctx context.Context, method, path string, q url.Values, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, w.cfg.APIBase+path+"?"+q.Encode(), rd)
	if err != nil {
		return upstream(path, redact(err))
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := w.http.Do(req)
	if err != nil {
		return upstream(path, redact(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return upstream(path, redact(err))
	}
	if resp.StatusCode != http.StatusOK {
		return upstream(path, fmt.Errorf("HTTP %d", resp.StatusCode))
	}
	var ce struct {
		ErrCode int    `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if err := json.Unmarshal(raw, &ce); err != nil {
		return upstream(path, fmt.Errorf("bad JSON answer: %w", err))
	}
	if ce.ErrCode != 0 {
		return classify(ce.ErrCode, scrub(ce.ErrMsg))
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return upstream(path, fmt.Errorf("bad JSON answer: %w", err))
		}
	}
	return nil
}

// RealnameResult is WeChat's verdict on a name and ID number for an openid.
type RealnameResult struct {
	VerifyOpenID   string `json:"verify_openid"`
	VerifyRealName string `json:"verify_real_name"`
}

// Match reports whether both the openid's real name and the name+ID pair
// match. verify_openid may hold several results joined by ";": every one must
// be V_OP_NM_MA (a V_OP_NM_UM or V_OP_NA beside it is not a match).
// verify_real_name is only filled when verify_openid is V_OP_NM_MA, and must
// be V_NM_ID_MA.
func (r RealnameResult) Match() bool {
	if r.VerifyRealName != "V_NM_ID_MA" {
		return false
	}
	for _, v := range strings.Split(r.VerifyOpenID, ";") {
		if strings.TrimSpace(v) != "V_OP_NM_MA" {
			return false
		}
	}
	return true
}

// CheckRealname calls checkrealnameinfo. Errors: ErrCodeInvalid (consent code
// invalid or used: errcode 80113),
// ErrUpstream, ErrUpstreamBusy, *APIError (ErrUpstreamRefused).
func (w *Client) CheckRealname(ctx context.Context, openID, name, idNumber, code string) (RealnameResult, error) {
	var res RealnameResult
	err := w.withToken(ctx, func(token string) error {
		return w.postJSON(ctx, "/intp/realname/checkrealnameinfo", token, map[string]string{
			"openid": openID, "real_name": name, "cred_id": idNumber, "cred_type": "1", "code": code,
		}, &res)
	})
	return res, err
}

// FaceStart asks for a verify_id for a face verification of the given
// identity. Errors: ErrUpstream, ErrUpstreamBusy, *APIError (ErrUpstreamRefused).
func (w *Client) FaceStart(ctx context.Context, openID, outSeqNo, name, idNumber string) (string, error) {
	var res struct {
		VerifyID string `json:"verify_id"`
	}
	err := w.withToken(ctx, func(token string) error {
		return w.postJSON(ctx, "/cityservice/face/identify/getverifyid", token, map[string]any{
			"out_seq_no": outSeqNo, "openid": openID,
			"cert_info": map[string]string{"cert_type": CertTypeIDCard, "cert_name": name, "cert_no": idNumber},
		}, &res)
	})
	if err == nil && res.VerifyID == "" {
		err = upstream("getverifyid", errors.New("answer without verify_id"))
	}
	return res.VerifyID, err
}

// FaceQuery asks for the result of a face verification of the identity given
// to FaceStart (name and idNumber exactly as sent there: WeChat checks their
// CertHash); 10000 means verified. Errors: ErrFaceMismatch (in an
// ErrUpstreamRefused) when WeChat says the identity, openid or out_seq_no are
// not those of the verify_id; ErrUpstream, ErrUpstreamBusy, *APIError
// (ErrUpstreamRefused).
func (w *Client) FaceQuery(ctx context.Context, openID, verifyID, outSeqNo, name, idNumber string) (int, error) {
	certHash := CertHash(CertTypeIDCard, name, idNumber)
	var res struct {
		VerifyRet int `json:"verify_ret"`
	}
	err := w.withToken(ctx, func(token string) error {
		return w.postJSON(ctx, "/cityservice/face/identify/queryverifyinfo", token, map[string]string{
			"verify_id": verifyID, "out_seq_no": outSeqNo, "cert_hash": certHash, "openid": openID,
		}, &res)
	})
	// WeChat answers an errcode rather than a verify_ret when cert_info,
	// openid or out_seq_no do not match the verify_id; its page does not
	// name the code, so every errcode that is not about WeChat itself, the
	// quota or the token means it.
	var we *APIError
	if errors.As(err, &we) && !isGeneric(we.Code) {
		return 0, ErrUpstreamRefused.Wrap(fmt.Errorf("%w: %w", ErrFaceMismatch, we))
	}
	return res.VerifyRet, err
}

// SendSubscribe sends a subscribe message through the SDK (which has no
// context variant). Errors: *APIError (ErrUpstreamRefused) (43101 no credit, 47003 bad data, ...),
// ErrUpstream.
func (w *Client) SendSubscribe(ctx context.Context, openID, templateID, page string, data map[string]string) error {
	msg := &subscribe.Message{ToUser: openID, TemplateID: templateID, Page: page, MiniprogramState: w.cfg.State, Lang: "zh_CN",
		Data: map[string]*subscribe.DataItem{}}
	for k, v := range data {
		msg.Data[k] = &subscribe.DataItem{Value: v}
	}
	return w.withToken(ctx, func(string) error {
		err := w.mini.GetSubscribe().Send(msg)
		if err == nil {
			return nil
		}
		if code, msg, ok := commonError(err); ok {
			return classify(code, scrub(msg))
		}
		// silenceper's error of a non-200 answer is "http get error :
		// uri=<the URL, access token included> , statusCode=502".
		return upstream("subscribe/send", redact(err))
	})
}
