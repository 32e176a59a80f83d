package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// prefix is where every simulator path lives.
const prefix = "/sim/wechat"

// routeProtocol mounts the WeChat server API.
func (w *WeChat) routeProtocol(mux *http.ServeMux) {
	w.protocol(mux, http.MethodGet, "/sns/jscode2session", w.handleJSCode2Session)
	w.protocol(mux, http.MethodGet, "/sns/oauth2/access_token", w.handleOAuth2AccessToken)
	w.protocol(mux, http.MethodGet, "/cgi-bin/token", w.handleToken)
	w.protocol(mux, http.MethodPost, "/cgi-bin/stable_token", w.handleStableToken)
	w.protocol(mux, http.MethodPost, "/intp/realname/checkrealnameinfo", w.withToken(w.handleCheckRealname))
	w.protocol(mux, http.MethodPost, "/cityservice/face/identify/getverifyid", w.withToken(w.handleGetVerifyID))
	w.protocol(mux, http.MethodPost, "/cityservice/face/identify/queryverifyinfo", w.withToken(w.handleQueryVerifyInfo))
	w.protocol(mux, http.MethodPost, "/cgi-bin/message/subscribe/send", w.withToken(w.handleSubscribeSend))
}

// protocol mounts one protocol endpoint behind the call counter and the
// injected fault.
func (w *WeChat) protocol(mux *http.ServeMux, method, path string, h http.HandlerFunc) {
	mux.HandleFunc(method+" "+prefix+path, func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		w.calls[path]++
		w.mu.Unlock()
		switch down := w.down.Load(); {
		case down < 0:
			// Read the body first: only then does the server notice the
			// client giving up and end the request's context.
			_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxBodyBytes))
			<-r.Context().Done()
			return
		case down > 0:
			status := int(down)
			rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
			rw.WriteHeader(status)
			fmt.Fprintf(rw, "simulated upstream failure: %d %s\n", status, http.StatusText(status))
			return
		}
		h(rw, r)
	})
}

// tokenHandler is a protocol handler that received a valid access token of appID.
type tokenHandler func(rw http.ResponseWriter, r *http.Request, appID string)

// withToken checks the access_token query parameter: missing answers 41001,
// not shaped like a token 40014, unknown or superseded past its overlap
// 40001, expired 42001.
func (w *WeChat) withToken(h tokenHandler) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		tok := r.URL.Query().Get("access_token")
		switch {
		case tok == "":
			writeWXError(rw, errMissingToken, "access_token missing")
			return
		case !tokenShaped(tok):
			writeWXError(rw, errMalformedToken, "invalid access_token")
			return
		}
		now := w.now()
		w.mu.Lock()
		t := w.tokens[tok]
		var appID string
		code := errOK
		switch {
		case t == nil:
			code = errInvalidCredential
		case t.killed || !now.Before(t.expires):
			code = errTokenExpired
		case !t.superseded.IsZero() && !now.Before(t.superseded):
			code = errInvalidCredential
		default:
			appID = t.appID
		}
		w.mu.Unlock()
		switch code {
		case errInvalidCredential:
			writeWXError(rw, code, "invalid credential, access_token is invalid or not latest")
		case errTokenExpired:
			writeWXError(rw, code, "access_token expired")
		default:
			h(rw, r, appID)
		}
	}
}

// tokenShaped reports whether tok could be an access token: 32 to 512
// characters of the URL-safe base64 alphabet (WeChat's are letters, digits,
// '-' and '_', and need 512 characters reserved).
func tokenShaped(tok string) bool {
	if len(tok) < 32 || len(tok) > 512 {
		return false
	}
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// decodeBody reads a JSON request body into v.
func decodeBody(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return err
	}
	if len(body) > maxBodyBytes {
		return fmt.Errorf("body larger than %d bytes", maxBodyBytes)
	}
	return json.Unmarshal(body, v)
}

// blank reports whether s is empty after trimming spaces.
func blank(s string) bool { return strings.TrimSpace(s) == "" }
