package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
)

// sharedStores returns a MongoDB URI and a Redis URL that several Banshi
// processes can share: BANSHI_TEST_MONGODB_URI and BANSHI_TEST_REDIS_URL when
// set, otherwise a FerretDB (platformtest.FerretDB) and a miniredis served
// by this test process over loopback. Banshi's own embedded
// engine cannot be shared: it locks its data folder (platform.OpenMongo).
func sharedStores(t *testing.T) (mongoURI, redisURL string) {
	t.Helper()
	mongoURI = os.Getenv("BANSHI_TEST_MONGODB_URI")
	if mongoURI == "" {
		mongoURI = "mongodb://" + platformtest.FerretDB(t) + "/"
	}
	redisURL = os.Getenv("BANSHI_TEST_REDIS_URL") // keys under the env's random prefix
	if redisURL == "" {
		redisURL = "redis://" + miniredis.RunT(t).Addr()
	}
	return mongoURI, redisURL
}

// backend is one Banshi process behind rollingProxy, with what the proxy's
// health checks saw of it.
type backend struct {
	name   string
	target *url.URL
	ready  atomic.Bool

	mu          sync.Mutex
	first503    time.Time // first /readyz that answered 503 (after it was ready once)
	firstRefuse time.Time // first /readyz whose connection was refused
	wasReady    bool
	served      int           // requests the proxy got an answer for from it
	servedAfter map[int]int64 // requests answered per second since the SIGTERM mark
	mark        time.Time
}

// check asks /readyz once and updates ready and the timeline.
func (b *backend) check(c *http.Client) {
	resp, err := c.Get(b.target.String() + "/readyz")
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if err != nil {
		b.ready.Store(false)
		if b.wasReady && b.firstRefuse.IsZero() && errors.Is(err, syscall.ECONNREFUSED) {
			b.firstRefuse = now
		}
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		b.wasReady = true
		b.ready.Store(true)
		return
	}
	b.ready.Store(false)
	if b.wasReady && b.first503.IsZero() {
		b.first503 = now
	}
}

// rollingProxy is what nginx or a Kubernetes Service does in front of
// Banshi: it checks every backend's /readyz every interval and sends each
// request to the next ready backend (round robin); with none ready it
// answers 502.
type rollingProxy struct {
	backends []*backend
	next     atomic.Uint64
	failures sync.Map // description → count, for the failure report
}

func (p *rollingProxy) pick() *backend {
	n := len(p.backends)
	start := int(p.next.Add(1))
	for i := range n {
		if b := p.backends[(start+i)%n]; b.ready.Load() {
			return b
		}
	}
	return nil
}

type backendKey struct{}

func (p *rollingProxy) handler() http.Handler {
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			b := r.In.Context().Value(backendKey{}).(*backend)
			r.SetURL(b.target)
			r.Out.Host = r.In.Host
		},
		ModifyResponse: func(resp *http.Response) error {
			b := resp.Request.Context().Value(backendKey{}).(*backend)
			b.mu.Lock()
			b.served++
			if !b.mark.IsZero() {
				b.servedAfter[int(time.Since(b.mark)/time.Second)]++
			}
			b.mu.Unlock()
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			b := r.Context().Value(backendKey{}).(*backend)
			p.fail(fmt.Sprintf("%s: %v", b.name, err))
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := p.pick()
		if b == nil {
			p.fail("no ready backend")
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), backendKey{}, b)))
	})
}

func (p *rollingProxy) fail(what string) {
	n, _ := p.failures.LoadOrStore(what, new(atomic.Int64))
	n.(*atomic.Int64).Add(1)
}

// healthLoop checks every backend every interval until ctx ends.
func (p *rollingProxy) healthLoop(ctx context.Context, interval time.Duration) {
	c := &http.Client{Timeout: 3 * time.Second}
	var wg sync.WaitGroup
	for _, b := range p.backends {
		wg.Go(func() {
			t := time.NewTicker(interval)
			defer t.Stop()
			for {
				b.check(c)
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		})
	}
	wg.Wait()
}

// TestRollingRestartUnderLoad is issue 15's rolling restart: two `banshi
// serve` processes on one MongoDB and one Redis behind a proxy that routes
// only to backends whose /readyz answers 200, a steady load of public
// (GET /api/v1/halls) and authenticated (GET /api/v1/me) requests, and a
// SIGTERM to one process mid-load. It proves: no request fails (no refused
// connection, no 502, no answer but 200), the stopped process exits 0, its
// /readyz answered 503 before its listener closed, and the other process
// carries the load afterwards.
func TestRollingRestartUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two processes and runs a load for seconds")
	}
	const (
		rate          = 200 // requests per second, half of each kind
		before, after = 3 * time.Second, 5 * time.Second
		delay         = 1500 * time.Millisecond // BANSHI_SHUTDOWN_DELAY: ≫ the proxy's 100 ms checks
	)
	mongoURI, redisURL := sharedStores(t)
	dir := t.TempDir() // one data folder: both read the same development secrets
	base := testEnv(dir, "")
	for k, v := range map[string]string{
		"MONGODB_URI":           mongoURI,
		"MONGODB_DATABASE":      "banshi_rolling_" + platformtest.RandomID(),
		"REDIS_URL":             redisURL,
		"BANSHI_RATE_API":       "1000000", // the load is one user's
		"BANSHI_SHUTDOWN_DELAY": delay.String(),
	} {
		base[k] = v
	}
	if url := os.Getenv("BANSHI_TEST_REDIS_URL"); url != "" {
		c, err := platform.NewRedisClient(url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cleanRedis(c, base["BANSHI_REDIS_PREFIX"]); c.Close() })
	}
	var procs []*process
	var backends []*backend
	for _, name := range []string{"a", "b"} {
		addr := freeAddr(t)
		env := map[string]string{"BANSHI_ADDR": addr, "BANSHI_PUBLIC_URL": "http://" + addr}
		for k, v := range base {
			if env[k] == "" {
				env[k] = v
			}
		}
		// One after the other: the first seeds the demo data and mints the
		// data folder's keys, the second finds them.
		p := startProcess(t, dir, env, "serve")
		waitUp(t, p, "http://"+addr+"/readyz")
		u, _ := url.Parse("http://" + addr)
		procs = append(procs, p)
		backends = append(backends, &backend{name: name, target: u, servedAfter: map[int]int64{}})
	}
	victim, survivor := procs[0], procs[1]

	// A citizen logged in on the first process (its WeChat simulator knows
	// the code); the session is in the shared stores, good on both.
	token := simLogin(t, backends[0].target.String())

	proxy := &rollingProxy{backends: backends}
	hctx, hcancel := context.WithCancel(context.Background())
	hdone := make(chan struct{})
	go func() { defer close(hdone); proxy.healthLoop(hctx, 100*time.Millisecond) }()
	defer func() { hcancel(); <-hdone }()
	front := httptest.NewServer(proxy.handler())
	defer front.Close()
	deadline := time.Now().Add(10 * time.Second)
	for !(backends[0].ready.Load() && backends[1].ready.Load()) {
		if time.Now().After(deadline) {
			t.Fatal("the proxy never saw both backends ready")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The load: one request every 1/rate s, each in its own goroutine.
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	var sent, failed atomic.Int64
	var failMu sync.Mutex
	var failures []string
	var load sync.WaitGroup
	stop := make(chan struct{})
	go func() {
		tick := time.NewTicker(time.Second / rate)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			sent.Add(1)
			load.Go(func() {
				path, auth := "/api/v1/halls", ""
				if i%2 == 1 {
					path, auth = "/api/v1/me", "Bearer "+token
				}
				req, _ := http.NewRequest("GET", front.URL+path, nil)
				if auth != "" {
					req.Header.Set("Authorization", auth)
				}
				resp, err := client.Do(req)
				what := ""
				if err != nil {
					what = err.Error()
				} else {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						what = fmt.Sprintf("%s %d", path, resp.StatusCode)
					}
				}
				if what != "" {
					failed.Add(1)
					failMu.Lock()
					if len(failures) < 20 {
						failures = append(failures, what)
					}
					failMu.Unlock()
				}
			})
		}
	}()

	time.Sleep(before)
	sentAtTerm := sent.Load()
	termAt := time.Now()
	for _, b := range backends {
		b.mu.Lock()
		b.mark = termAt
		b.mu.Unlock()
	}
	if err := victim.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var exitErr error
	var exitedAt time.Time
	select {
	case exitErr = <-victim.done:
		exitedAt = time.Now()
		victim.done <- exitErr // for startProcess's cleanup
	case <-time.After(after + 30*time.Second):
		t.Fatalf("the SIGTERMed process did not exit\n%s", victim.Output())
	}
	if rest := after - time.Since(termAt); rest > 0 {
		time.Sleep(rest)
	}
	close(stop)
	load.Wait()
	select {
	case err := <-survivor.done:
		survivor.done <- err
		t.Fatalf("the other process ended: %v", err)
	default:
	}

	a, b := backends[0], backends[1]
	a.mu.Lock()
	defer a.mu.Unlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	var proxyFailures []string
	proxy.failures.Range(func(k, v any) bool {
		proxyFailures = append(proxyFailures, fmt.Sprintf("%s ×%d", k, v.(*atomic.Int64).Load()))
		return true
	})
	t.Logf("sent %d requests (%d before the SIGTERM), failed %d; served by a %d (per second after SIGTERM %v), by b %d (%v)",
		sent.Load(), sentAtTerm, failed.Load(), a.served, a.servedAfter, b.served, b.servedAfter)
	t.Logf("a: /readyz 503 %s after SIGTERM, listener closed %s after, exited %s after (shutdown delay %s)",
		a.first503.Sub(termAt).Round(time.Millisecond), a.firstRefuse.Sub(termAt).Round(time.Millisecond),
		exitedAt.Sub(termAt).Round(time.Millisecond), delay)

	if exitErr != nil {
		t.Errorf("the SIGTERMed process exited with %v, want 0", exitErr)
	}
	if n := failed.Load(); n != 0 {
		t.Errorf("%d of %d requests failed, e.g. %s; proxy: %s", n, sent.Load(), strings.Join(failures, "; "), strings.Join(proxyFailures, "; "))
	}
	if sent.Load() < int64(rate*(before+after)/time.Second)/2 {
		t.Errorf("only %d requests sent: the load did not run", sent.Load())
	}
	if a.first503.IsZero() {
		t.Error("the proxy never saw the stopped process's /readyz answer 503")
	} else if !a.firstRefuse.IsZero() && !a.first503.Before(a.firstRefuse) {
		t.Errorf("/readyz 503 at %s, connections refused from %s: readiness must turn first", a.first503, a.firstRefuse)
	}
	if a.firstRefuse.IsZero() {
		t.Error("the proxy never saw the stopped process's listener close")
	}
	if a.served == 0 || b.served == 0 {
		t.Errorf("both processes must have served before the SIGTERM: a %d, b %d", a.served, b.served)
	}
	var bAfter int64
	for s, n := range b.servedAfter {
		if time.Duration(s)*time.Second > delay+time.Second {
			bAfter += n
		}
	}
	if bAfter == 0 {
		t.Error("the other process served nothing once the stopped one was gone")
	}
}

// simLogin logs a new simulated citizen in on the Banshi at base (through
// its WeChat simulator) and returns the session token.
func simLogin(t *testing.T, base string) string {
	t.Helper()
	post := func(path, body string) map[string]any {
		resp, err := http.Post(base+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode/100 != 2 {
			t.Fatalf("POST %s: %d %v %v", path, resp.StatusCode, m, err)
		}
		return m
	}
	openid, _ := post("/sim/wechat/users", `{}`)["openid"].(string)
	code, _ := post("/sim/wechat/codes", `{"openid":"`+openid+`","kind":"miniprogram"}`)["code"].(string)
	token, _ := post("/api/v1/auth/miniprogram/login", `{"code":"`+code+`"}`)["token"].(string)
	if openid == "" || code == "" || token == "" {
		t.Fatalf("sim login: openid %q code %q token %q", openid, code, token)
	}
	return token
}
