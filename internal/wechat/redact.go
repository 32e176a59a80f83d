package wechat

import (
	"errors"
	"regexp"
)

// Secrets travel in WeChat's URLs: the app secret and the login code in
// jscode2session and oauth2/access_token, the access token in every other
// call. Go's *url.Error and silenceper's own errors ("http get error :
// uri=…") print the whole URL, and the error of a failed call ends up in the
// log. So no error leaves this package carrying a URL's query or a
// credential-like parameter: redact is applied to every transport error.

var (
	// urlQuery matches the query (and fragment) of an http(s) URL.
	urlQuery = regexp.MustCompile(`(https?://[^\s?#"']*)[?#][^\s"']*`)
	// credentialParam matches a credential-like parameter wherever it is.
	credentialParam = regexp.MustCompile(`(?i)\b(access_token|secret|appsecret|js_code|code|refresh_token)=[^&\s"']*`)
)

// scrub removes URL queries and credential-like parameters from s.
func scrub(s string) string {
	s = urlQuery.ReplaceAllString(s, "$1?REDACTED")
	return credentialParam.ReplaceAllString(s, "$1=REDACTED")
}

// redact returns an error with err's message scrubbed and nothing of err in
// its chain (a *url.Error in the chain would still print the URL).
func redact(err error) error {
	if err == nil {
		return nil
	}
	return errors.New(scrub(err.Error()))
}
