package api

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

// TestClientIP: X-Forwarded-For counts only when the peer is a configured
// trusted proxy, and then the client is the right-most address that is not
// a trusted proxy (what the left-most entries say is the client's own claim).
// No trusted proxies (the default): the peer's address, whatever the header.
func TestClientIP(t *testing.T) {
	lb := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24"), netip.MustParsePrefix("127.0.0.1/32")}
	cases := []struct {
		name    string
		trusted []netip.Prefix
		peer    string
		xff     []string
		want    string
	}{
		{"no trusted proxies: header ignored", nil, "127.0.0.1:5000", []string{"198.51.100.7"}, "127.0.0.1"},
		{"private peer is not trusted by default", nil, "10.0.0.5:5000", []string{"198.51.100.7"}, "10.0.0.5"},
		{"untrusted peer", lb, "192.168.1.9:5000", []string{"198.51.100.7"}, "192.168.1.9"},
		{"intranet peer not in the list", lb, "10.0.1.5:5000", []string{"198.51.100.7"}, "10.0.1.5"},
		{"trusted peer", lb, "10.0.0.5:5000", []string{"198.51.100.7"}, "198.51.100.7"},
		{"spoofed left part ignored", lb, "10.0.0.5:5000", []string{"203.0.113.66, 198.51.100.7"}, "198.51.100.7"},
		{"chain of trusted proxies", lb, "127.0.0.1:5000", []string{"203.0.113.66, 198.51.100.7, 10.0.0.9"}, "198.51.100.7"},
		{"several headers", lb, "10.0.0.5:5000", []string{"203.0.113.66", "198.51.100.7, 10.0.0.3"}, "198.51.100.7"},
		{"all trusted", lb, "10.0.0.5:5000", []string{"10.0.0.8, 10.0.0.9"}, "10.0.0.8"},
		{"no header", lb, "10.0.0.5:5000", nil, "10.0.0.5"},
		{"garbage stops at the last trusted hop", lb, "10.0.0.5:5000", []string{"198.51.100.7, not-an-ip"}, "10.0.0.5"},
		{"garbage behind a trusted hop", lb, "10.0.0.5:5000", []string{"bogus, 10.0.0.9"}, "10.0.0.9"},
		{"IPv6", []netip.Prefix{netip.MustParsePrefix("::1/128")}, "[::1]:5000", []string{"2001:db8::7"}, "2001:db8::7"},
		{"IPv4-mapped peer", lb, "[::ffff:10.0.0.5]:5000", []string{"198.51.100.7"}, "198.51.100.7"},
	}
	for _, tc := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.peer
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := clientIPExtractor(tc.trusted)(r); got != tc.want {
			t.Errorf("%s: client IP %q, want %q", tc.name, got, tc.want)
		}
	}
}
