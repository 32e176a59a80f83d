package api

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/labstack/echo/v4"
)

// clientIPExtractor returns how the server tells a request's client IP (the
// key of the login limits and the IP in the audit log).
//
// The peer's address is the client unless the peer is one of trusted (the
// load balancers and proxies of BANSHI_TRUSTED_PROXIES). Behind trusted
// proxies, X-Forwarded-For is read from the right: each proxy appends the
// address it got the request from, so the right-most address that is not a
// trusted proxy is the client; anything left of it was written by the client
// itself and is ignored. An entry that is not an IP address ends the walk at
// the last trusted hop. Private and loopback peers are not trusted unless
// listed: anyone on the intranet could otherwise choose their IP.
func clientIPExtractor(trusted []netip.Prefix) echo.IPExtractor {
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	return func(r *http.Request) string {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		peer, err := netip.ParseAddr(host)
		if err != nil {
			return host
		}
		client := peer.Unmap()
		if !isTrusted(client) {
			return client.String()
		}
		headers := r.Header.Values(echo.HeaderXForwardedFor)
		for i := len(headers) - 1; i >= 0; i-- {
			entries := strings.Split(headers[i], ",")
			for j := len(entries) - 1; j >= 0; j-- {
				a, err := netip.ParseAddr(strings.TrimSpace(entries[j]))
				if err != nil {
					return client.String()
				}
				client = a.Unmap()
				if !isTrusted(client) {
					return client.String()
				}
			}
		}
		return client.String()
	}
}
