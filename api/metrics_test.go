package api

import (
	"bufio"
	"math/rand/v2"
	"net/http/httptest"
	"strings"
	"testing"

	"banshi/internal/platform/platformtest"
)

// seriesCount counts the banshi_http_* series /metrics exposes.
func seriesCount(t *testing.T, s *Server) int {
	t.Helper()
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	n := 0
	sc := bufio.NewScanner(rec.Body)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "banshi_http_") {
			n++
		}
	}
	return n
}

func randomToken(n int) string {
	const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := make([]byte, n)
	for i := range b {
		b[i] = letters[rand.IntN(len(letters))]
	}
	return string(b)
}

// TestMetricsSeriesStayBounded: requests with methods and paths of the
// client's choosing add no series to /metrics. Unknown methods collapse into
// method="other" and unmatched paths into route="unmatched", so an
// unauthenticated client cannot grow the scrape without bound.
func TestMetricsSeriesStayBounded(t *testing.T) {
	rdb, prefix := platformtest.Redis(t)
	s := New(Deps{Log: platformtest.Logger(), Redis: rdb, RedisPrefix: prefix, Mongo: fakePinger{}, RedisPing: fakePinger{}})
	send := func(n int) {
		for range n {
			method := strings.ToUpper(randomToken(1 + rand.IntN(40)))
			path := "/" + randomToken(1+rand.IntN(30))
			if rand.IntN(2) == 0 {
				path = "/api/v1/" + randomToken(10)
			}
			s.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(method, path, nil))
			// a known route with an unknown method
			s.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(method, "/healthz", nil))
		}
	}
	send(20)
	seriesCount(t, s) // the scrape itself is a series
	before := seriesCount(t, s)
	send(200)
	if after := seriesCount(t, s); after != before {
		t.Fatalf("series grew from %d to %d with random methods and paths", before, after)
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{`method="other",route="unmatched",status="404"`, `method="other",route="/healthz",status="405"`} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("no series with %s", want)
		}
	}
}
