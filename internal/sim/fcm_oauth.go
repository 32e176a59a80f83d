package sim

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Google's OAuth 2.0 token endpoint, as the SDK's service-account flow uses
// it (RFC 7523 JWT-bearer grant, RS256).

const (
	jwtBearerGrant  = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	scopeMessaging  = "https://www.googleapis.com/auth/firebase.messaging"
	scopeCloud      = "https://www.googleapis.com/auth/cloud-platform"
	maxJWTLifetime  = time.Hour
	jwtClockSkew    = 5 * time.Minute // iat may be this far in the future
	maxAssertionLen = 8192
)

// jwtHeader is the JOSE header of an assertion.
type jwtHeader struct {
	Alg string `json:"alg"`
	Typ string `json:"typ"`
	Kid string `json:"kid"`
}

// jwtClaims are the claims of an assertion the endpoint checks.
type jwtClaims struct {
	Iss   string `json:"iss"`
	Scope string `json:"scope"`
	Aud   string `json:"aud"`
	Iat   int64  `json:"iat"`
	Exp   int64  `json:"exp"`
	Sub   string `json:"sub,omitempty"`
}

// parsedJWT is an assertion split and decoded, its signature not yet checked.
type parsedJWT struct {
	header       jwtHeader
	claims       jwtClaims
	signingInput string // "<header>.<claims>" as received
	signature    []byte
}

// parseJWT splits a compact JWS and decodes its header and claims. It checks
// the form only (three base64url parts, JSON objects, alg RS256, the claims'
// types), not the signature nor the values.
func parseJWT(assertion string) (parsedJWT, error) {
	var p parsedJWT
	if len(assertion) > maxAssertionLen {
		return p, errors.New("JWT too long")
	}
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return p, errors.New("not a compact JWS")
	}
	dec := base64.RawURLEncoding.Strict()
	hb, err := dec.DecodeString(parts[0])
	if err != nil {
		return p, errors.New("header is not base64url")
	}
	cb, err := dec.DecodeString(parts[1])
	if err != nil {
		return p, errors.New("claims are not base64url")
	}
	if p.signature, err = dec.DecodeString(parts[2]); err != nil {
		return p, errors.New("signature is not base64url")
	}
	if err := json.Unmarshal(hb, &p.header); err != nil {
		return p, errors.New("header is not a JSON object")
	}
	if p.header.Alg != "RS256" {
		return p, errors.New("alg must be RS256")
	}
	if err := json.Unmarshal(cb, &p.claims); err != nil {
		return p, errors.New("claims are not a JSON object of the expected types")
	}
	p.signingInput = parts[0] + "." + parts[1]
	return p, nil
}

// verifyRS256 checks sig over input with key.
func verifyRS256(key *rsa.PublicKey, input string, sig []byte) bool {
	sum := sha256.Sum256([]byte(input))
	return rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], sig) == nil
}

// oauthError is Google's OAuth 2.0 error body.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

func writeOAuthError(rw http.ResponseWriter, status int, code, desc string) {
	writeJSON(rw, status, oauthError{Error: code, Description: desc})
}

func writeJSON(rw http.ResponseWriter, status int, v any) {
	rw.Header().Set("Content-Type", "application/json; charset=utf-8")
	rw.WriteHeader(status)
	_ = json.NewEncoder(rw).Encode(v)
}

// readBody reads a request body of at most maxBodyBytes.
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxBodyBytes {
		return nil, errors.New("body too large")
	}
	return b, nil
}

// requestURL is the URL the request was sent to: what a JWT's aud must name.
func requestURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.Path
}

// handleToken is the JWT-bearer grant.
func (f *FCM) handleToken(rw http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		writeOAuthError(rw, http.StatusBadRequest, "invalid_request", "Request body too large")
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		writeOAuthError(rw, http.StatusBadRequest, "invalid_request", "Malformed request body")
		return
	}
	switch gt := form.Get("grant_type"); {
	case gt == "":
		writeOAuthError(rw, http.StatusBadRequest, "invalid_request", "Missing required parameter: grant_type")
		return
	case gt != jwtBearerGrant:
		writeOAuthError(rw, http.StatusBadRequest, "unsupported_grant_type", "Invalid grant_type: "+clipString(gt, 64))
		return
	}
	assertion := form.Get("assertion")
	if assertion == "" {
		writeOAuthError(rw, http.StatusBadRequest, "invalid_request", "Missing required parameter: assertion")
		return
	}
	tok, expiresIn, code, desc := f.exchange(assertion, requestURL(r))
	if code != "" {
		writeOAuthError(rw, http.StatusBadRequest, code, desc)
		return
	}
	writeJSON(rw, http.StatusOK, map[string]any{"access_token": tok, "expires_in": expiresIn, "token_type": "Bearer"})
}

// exchange checks an assertion sent to aud and issues an access token, or
// answers an OAuth error code and description.
func (f *FCM) exchange(assertion, aud string) (token string, expiresIn int, code, desc string) {
	p, err := parseJWT(assertion)
	if err != nil {
		return "", 0, "invalid_grant", "Invalid JWT: " + err.Error()
	}
	c := p.claims
	f.mu.Lock()
	acct := f.accounts[c.Iss]
	f.mu.Unlock()
	now := f.authNow()
	iat, exp := time.Unix(c.Iat, 0), time.Unix(c.Exp, 0)
	switch {
	case acct == nil:
		return "", 0, "invalid_grant", "Invalid grant: account not found"
	case p.header.Kid != "" && p.header.Kid != acct.keyID:
		return "", 0, "invalid_grant", "Invalid JWT Signature."
	case !verifyRS256(acct.key, p.signingInput, p.signature):
		return "", 0, "invalid_grant", "Invalid JWT Signature."
	case c.Aud != aud:
		return "", 0, "invalid_grant", "Invalid JWT: Failed audience check. The right audience is " + aud
	case c.Iat == 0 || c.Exp == 0 || !exp.After(iat) || exp.Sub(iat) > maxJWTLifetime || iat.After(now.Add(jwtClockSkew)):
		return "", 0, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim."
	case !exp.After(now):
		return "", 0, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim."
	case !hasScope(c.Scope):
		return "", 0, "invalid_scope", "Invalid OAuth scope or ID token audience provided."
	}
	token = "ya29.c." + randomURLSafe(120)
	f.mu.Lock()
	f.sweepTokensLocked(now)
	f.tokens[token] = &fcmAccessToken{email: c.Iss, project: acct.project, expires: now.Add(f.tokenTTL)}
	f.mu.Unlock()
	return token, int(f.tokenTTL/time.Second) - 1, "", ""
}

// hasScope reports whether a JWT's space-separated scope allows sending.
func hasScope(scope string) bool {
	for _, s := range strings.Fields(scope) {
		if s == scopeMessaging || s == scopeCloud {
			return true
		}
	}
	return false
}

// sweepTokensLocked forgets access tokens expired for a day.
func (f *FCM) sweepTokensLocked(now time.Time) {
	if len(f.tokens) < 1000 {
		return
	}
	for k, t := range f.tokens {
		if now.Sub(t.expires) > 24*time.Hour {
			delete(f.tokens, k)
		}
	}
}

func clipString(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
