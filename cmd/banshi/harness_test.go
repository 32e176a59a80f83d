package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"banshi/internal/account"
	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
)

// stack is one Banshi wired exactly as main wires it, with the simulators on,
// served by httptest. One per test binary: silenceper's URL rewriting is
// process-wide, so every test shares this stack and keeps to its own users.
type stack struct {
	app *App
	srv *httptest.Server
	url string
	cfg platform.Config
}

var (
	stackOnce sync.Once
	theStack  *stack
	stackErr  error
)

const testRedisPrefix = "banshitest:"

func testEnv(dataDir, publicURL string) map[string]string {
	env := map[string]string{
		"BANSHI_ENV":          "development", // required with an external store (BANSHI_TEST_REDIS_URL)
		"BANSHI_DATA_DIR":     dataDir,
		"BANSHI_PUBLIC_URL":   publicURL,
		"BANSHI_RATE_LOGIN":   "300",
		"BANSHI_RATE_API":     "100",
		"BANSHI_REDIS_PREFIX": testRedisPrefix + platformtest.RandomID() + ":",
		"BANSHI_SEED_DEMO":    "true",
		// The tests give logins distinct client IPs through X-Forwarded-For
		// (nextClientIP): the test client is the trusted proxy.
		"BANSHI_TRUSTED_PROXIES":  "127.0.0.1/32",
		"BANSHI_RATE_STAFF_LOGIN": "100",
	}
	if url := os.Getenv("BANSHI_TEST_REDIS_URL"); url != "" {
		env["REDIS_URL"] = url
	}
	if uri := os.Getenv("BANSHI_TEST_MONGODB_URI"); uri != "" {
		env["MONGODB_URI"] = uri
		env["MONGODB_DATABASE"] = "banshi_test_" + platformtest.RandomID()
	}
	return env
}

func getenv(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

func testLog() *slog.Logger { return platformtest.Logger() }

// buildApp builds a Banshi of its own from env (configuration, development
// secrets, every service) for tests that need other stores or settings than
// the shared stack's; the caller closes it. The WeChat SDK's process-wide
// settings are made for it only with configureSDK (a process that also
// uses the shared stack keeps the shared stack's).
func buildApp(t testing.TB, env map[string]string, configureSDK bool) (*App, platform.Config) {
	t.Helper()
	cfg, err := platform.LoadConfig(getenv(env))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.FillDevSecrets(); err != nil {
		t.Fatal(err)
	}
	if configureSDK {
		configureWeChatSDK(cfg)
	}
	app, err := build(context.Background(), cfg, testLog())
	if err != nil {
		t.Fatal(err)
	}
	return app, cfg
}

// newStack builds the shared stack.
func getStack(t *testing.T) *stack {
	t.Helper()
	stackOnce.Do(func() {
		dir, err := os.MkdirTemp("", "banshi-e2e-")
		if err != nil {
			stackErr = err
			return
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			stackErr = err
			return
		}
		env := testEnv(dir, "http://"+ln.Addr().String())
		cfg, err := platform.LoadConfig(getenv(env))
		if err != nil {
			stackErr = err
			return
		}
		if err := cfg.FillDevSecrets(); err != nil {
			stackErr = err
			return
		}
		configureWeChatSDK(cfg)
		// Everything the stack logs is also kept, for tests of what reaches the log.
		log := slog.New(slog.NewMultiHandler(testLog().Handler(), slog.NewJSONHandler(&stackLog, &slog.HandlerOptions{Level: slog.LevelDebug})))
		app, err := build(context.Background(), cfg, log)
		if err != nil {
			stackErr = err
			return
		}
		srv := httptest.NewUnstartedServer(app.HTTP.Handler())
		srv.Listener.Close()
		srv.Listener = ln
		srv.Start()
		theStack = &stack{app: app, srv: srv, url: srv.URL, cfg: cfg}
	})
	if stackErr != nil {
		t.Fatalf("test stack: %v", stackErr)
	}
	return theStack
}

// stackLog keeps what the shared stack logs (JSON lines).
var stackLog logCapture

// logCapture is a goroutine-safe log sink.
type logCapture struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *logCapture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Write(p)
}

// Len is how much has been logged so far.
func (c *logCapture) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Len()
}

// Since returns what was logged after Len returned from.
func (c *logCapture) Since(from int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()[from:]
}

func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv(envMainArgs); ok {
		os.Exit(mainAsProcess(args))
	}
	code := m.Run()
	if theStack != nil {
		cleanRedis(theStack.app.Redis.Client, theStack.cfg.RedisPrefix)
		theStack.srv.Close()
		if theStack.app.Mongo.Embedded {
			theStack.app.Close()
		} else {
			_ = theStack.app.Mongo.DB.Drop(context.Background())
			theStack.app.Close()
		}
	}
	os.Exit(code)
}

// cleanRedis deletes the keys under prefix (never a FLUSH: the server may be
// shared), including redis_rate's, which it prefixes with "rate:".
func cleanRedis(c redis.UniversalClient, prefix string) {
	ctx := context.Background()
	var keys []string
	for _, pattern := range []string{prefix + "*", "rate:" + prefix + "*"} {
		iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
	}
	for _, k := range keys {
		c.Del(ctx, k)
	}
}

// answer is a decoded HTTP answer.
type answer struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    []byte
}

func (a answer) errCode() string {
	e, _ := a.Body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func (a answer) errField(k string) string {
	e, _ := a.Body["error"].(map[string]any)
	s, _ := e[k].(string)
	return s
}

func (a answer) str(path ...string) string {
	var v any = a.Body
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return fmt.Sprint(int64(x))
	case nil:
		return ""
	default:
		return fmt.Sprint(x)
	}
}

// try sends a request and never fails the test itself (safe in goroutines);
// body may be a string or []byte (sent raw) or a value (sent as JSON).
func (s *stack) try(method, path, token string, body any, hdr ...string) (answer, error) {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = bytes.NewBufferString(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, s.url+path, r)
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	a := answer{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	_ = json.Unmarshal(raw, &a.Body)
	return a, nil
}

// utcTimestamp is an RFC 3339 time in UTC ("Z"): answers show +08:00.
var utcTimestamp = regexp.MustCompile(`"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z"`)

// call is try that fails the test on a transport error, and on a Banshi
// answer that shows a time in UTC rather than in Asia/Shanghai (+08:00):
// every answer of every test is checked.
func (s *stack) call(t testing.TB, method, path, token string, body any, hdr ...string) answer {
	t.Helper()
	a, err := s.try(method, path, token, body, hdr...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if strings.HasPrefix(path, "/api/") {
		if m := utcTimestamp.Find(a.Raw); m != nil {
			t.Errorf("%s %s answers a UTC time %s; answers show +08:00", method, path, m)
		}
	}
	return a
}

func (s *stack) must(t testing.TB, want int, a answer) answer {
	t.Helper()
	if a.Status != want {
		t.Fatalf("status %d, want %d: %s", a.Status, want, a.Raw)
	}
	return a
}

// person is a WeChat user registered in the simulator with a WeChat Pay identity.
type person struct {
	OpenID, UnionID, Name, IDNumber string
}

// newIDNumber returns a random valid ID number (Guangzhou, born 1990).
func newIDNumber() string {
	return account.WithCheckDigit(fmt.Sprintf("440106199%d%02d%02d%03d", rand.IntN(10), 1+rand.IntN(12), 1+rand.IntN(28), rand.IntN(1000)))
}

func (s *stack) newPerson(t testing.TB) person {
	t.Helper()
	p := person{Name: "张三", IDNumber: newIDNumber()}
	a := s.must(t, 201, s.call(t, "POST", "/sim/wechat/users", "", map[string]string{"real_name": p.Name, "id_number": p.IDNumber}))
	p.OpenID, p.UnionID = a.str("openid"), a.str("unionid")
	return p
}

func (s *stack) code(t testing.TB, p person, kind string) string {
	t.Helper()
	return s.must(t, 200, s.call(t, "POST", "/sim/wechat/codes", "", map[string]string{"openid": p.OpenID, "kind": kind})).str("code")
}

// login logs p in through the mini-program and returns the token.
func (s *stack) login(t testing.TB, p person) (string, answer) {
	t.Helper()
	a := s.must(t, 200, s.call(t, "POST", "/api/v1/auth/miniprogram/login", "", map[string]string{"code": s.code(t, p, "miniprogram")}))
	return a.str("token"), a
}

// count returns the number of documents in a collection of the stack's database.
func (s *stack) count(t *testing.T, coll string) int64 {
	t.Helper()
	n, err := s.app.Mongo.DB.Collection(coll).CountDocuments(context.Background(), map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
