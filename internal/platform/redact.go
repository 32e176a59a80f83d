package platform

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
)

// redactedMark replaces every credential RedactURL removes.
const redactedMark = "***"

// secretOptions are the parts of query option names whose values are
// credentials (MongoDB's tlsCertificateKeyFilePassword and
// authMechanismProperties, which may hold an AWS session token; anything
// named like a password, secret or token).
var secretOptions = []string{"password", "passwd", "pwd", "secret", "token", "authmechanismproperties", "credential"}

// urlParts is a connection URL split for redaction.
type urlParts struct {
	head     string // the scheme and "://" (empty without them)
	userinfo bool   // there is a user information (text before an '@')
	user     string // the user name shown, when the user information is "user:password"
	colon    bool   // the user information is "user:password"
	secret   string // the password, or the whole user information without ':'
	rest     string // hosts, path, options
}

// splitURL splits raw for redaction. The user information is taken up to
// the last '@', so whatever a parser may read as the password (even with
// unescaped '/', '?', '#' or '@' in it) is in secret; a stray '@' in the
// options hides more than needed, never less.
func splitURL(raw string) urlParts {
	start := 0
	if i := strings.Index(raw, "://"); i >= 0 {
		start = i + 3
	}
	p := urlParts{head: raw[:start], rest: raw[start:]}
	at := strings.LastIndex(p.rest, "@")
	if at < 0 {
		return p
	}
	info := p.rest[:at]
	p.rest, p.userinfo = p.rest[at+1:], true
	if u, pw, ok := strings.Cut(info, ":"); ok && !strings.ContainsAny(u, "/?#") {
		p.user, p.colon, p.secret = u, true, pw
		return p
	}
	p.secret = info
	return p
}

// secretOption reports whether a query option's value is a credential.
func secretOption(name string) bool {
	name = strings.ToLower(name)
	for _, s := range secretOptions {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}

// RedactURL returns a store URL (MONGODB_URI, REDIS_URL) fit for logs: the
// password (or a user information without ':') and the values of options
// that carry credentials become "***"; scheme, user name, hosts, ports,
// database and the other options stay. It never fails and needs no valid
// URL: text it cannot tell apart is treated as credentials.
//
//	mongodb://user:pw@h1:27017,h2:27017/db?replicaSet=rs0 → mongodb://user:***@h1:27017,h2:27017/db?replicaSet=rs0
//
// A list of URLs (a Redis Cluster's seeds, "redis://…,redis://…") is
// redacted URL by URL.
func RedactURL(raw string) string {
	list := urlList(raw)
	if len(list) == 1 {
		return redactOne(raw)
	}
	for i, u := range list {
		list[i] = redactOne(u)
	}
	return strings.Join(list, ",")
}

// urlList splits a comma-separated list of URLs, each with its scheme,
// into its URLs. Commas not followed by a scheme (MongoDB's and the
// Sentinels' host lists) stay inside their URL.
func urlList(raw string) []string {
	var out []string
	for _, part := range strings.Split(raw, ",") {
		if len(out) > 0 && !hasScheme(part) {
			out[len(out)-1] += "," + part
			continue
		}
		out = append(out, part)
	}
	return out
}

// hasScheme reports whether s starts with a URL scheme and "://".
func hasScheme(s string) bool {
	i := strings.Index(s, "://")
	if i <= 0 {
		return false
	}
	for _, r := range s[:i] {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// redactOne is RedactURL of one URL.
func redactOne(raw string) string {
	p := splitURL(raw)
	rest := p.rest
	var b strings.Builder
	b.WriteString(p.head)
	switch {
	case p.colon:
		b.WriteString(p.user + ":")
		if p.secret != "" {
			b.WriteString(redactedMark)
		}
		b.WriteString("@")
	case p.userinfo:
		b.WriteString(redactedMark + "@")
	}
	q := strings.IndexByte(rest, '?')
	if q < 0 {
		b.WriteString(rest)
		return b.String()
	}
	b.WriteString(rest[:q+1])
	query, fragment, hasFragment := strings.Cut(rest[q+1:], "#")
	for i, pair := range strings.FieldsFunc(query, func(r rune) bool { return r == '&' || r == ';' }) {
		if i > 0 {
			b.WriteByte('&')
		}
		name, _, hasValue := strings.Cut(pair, "=")
		if hasValue && secretOption(name) {
			pair = name + "=" + redactedMark
		}
		b.WriteString(pair)
	}
	if hasFragment {
		b.WriteString("#" + fragment)
	}
	return b.String()
}

// urlSecrets returns the credentials RedactURL hides in raw, each with the
// forms an error text may quote it in: as written, percent-decoded, and
// escaped as by %q.
func urlSecrets(raw string) []string {
	var plain []string
	for _, one := range urlList(raw) {
		p := splitURL(one)
		rest := p.rest
		plain = append(plain, p.secret)
		if q := strings.IndexByte(rest, '?'); q >= 0 {
			query, _, _ := strings.Cut(rest[q+1:], "#")
			for _, pair := range strings.FieldsFunc(query, func(r rune) bool { return r == '&' || r == ';' }) {
				if name, v, ok := strings.Cut(pair, "="); ok && secretOption(name) {
					plain = append(plain, v)
				}
			}
		}
	}
	var out []string
	add := func(s string) {
		if s != "" && s != redactedMark {
			out = append(out, s)
		}
	}
	for _, s := range plain {
		forms := []string{s}
		if d, err := url.PathUnescape(s); err == nil {
			forms = append(forms, d)
		}
		if d, err := url.QueryUnescape(s); err == nil {
			forms = append(forms, d)
		}
		for _, f := range forms {
			add(f)
			add(strings.Trim(strconv.Quote(f), `"`))
			add(strings.Trim(strconv.QuoteToASCII(f), `"`))
		}
	}
	return out
}

// redact returns text with every credential of the given URLs replaced by
// "***" (the whole URL by its redacted form first, then any credential
// still quoted on its own).
func redact(text string, urls ...string) string {
	for _, u := range urls {
		if u == "" {
			continue
		}
		text = strings.ReplaceAll(text, u, RedactURL(u))
		for _, s := range urlSecrets(u) {
			text = strings.ReplaceAll(text, s, redactedMark)
		}
	}
	return text
}

// redactedError is an error whose text had credentials removed. It keeps
// its cause for errors.Is (context.DeadlineExceeded and the like) but does
// not unwrap to it, so neither errors.As nor a wrapper that prints the chain
// can reach the unredacted text.
type redactedError struct {
	msg   string
	cause error
}

func (e *redactedError) Error() string        { return e.msg }
func (e *redactedError) Is(target error) bool { return errors.Is(e.cause, target) }

// redactError returns err with the credentials of urls removed from its
// text (nil stays nil). Use it on every error that may quote a store URL.
func redactError(err error, urls ...string) error {
	if err == nil {
		return nil
	}
	return &redactedError{msg: redact(err.Error(), urls...), cause: err}
}

// parseError is the error to report when parse rejected the store URL raw,
// worded so that it cannot carry raw's credentials: parse's complaint about
// the redacted URL when that is malformed too (it quotes at most "***"),
// otherwise, since only the credentials can be wrong, a message saying so
// without quoting them.
func parseError(raw string, err error, parse func(string) error) error {
	red := RedactURL(raw)
	if red == raw {
		return redactError(err, raw)
	}
	if rerr := parse(red); rerr != nil {
		return redactError(rerr, raw)
	}
	return errors.New("malformed user name, password or credential option (percent-encode the characters : / ? # @ % in them)")
}
