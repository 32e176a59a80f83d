package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"banshi/api"
	"banshi/internal/account"
	"banshi/internal/platform"
)

// runLoadTest measures Banshi's routes against the bare Echo + one Redis GET
// baseline, in one process, on loopback (BENCHMARKS.md):
//
//	go run ./cmd/banshi loadtest --redis redis://127.0.0.1:6379/0 --duration 10s --concurrency 32
//
// It starts Banshi in development mode with a throw-away data folder (the
// embedded MongoDB) and the given Redis (keys under a random prefix, deleted
// afterwards), logs a simulated citizen in, and drives each target for the
// duration with closed-loop workers.
func runLoadTest(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	redisURL := fs.String("redis", "redis://127.0.0.1:6379/0", "Redis URL (empty: embedded miniredis)")
	duration := fs.Duration("duration", 10*time.Second, "how long each target is driven")
	conc := fs.Int("concurrency", 32, "concurrent closed-loop workers")
	rounds := fs.Int("rounds", 2, "alternating rounds of each target")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "banshi-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	prefix := fmt.Sprintf("banshiload:%d:", time.Now().UnixNano())
	env := map[string]string{
		"BANSHI_DATA_DIR": dir, "BANSHI_PUBLIC_URL": "http://" + ln.Addr().String(),
		"REDIS_URL": *redisURL, "BANSHI_REDIS_PREFIX": prefix,
		"BANSHI_RATE_API": "1000000000", "BANSHI_RATE_LOGIN": "1000000000",
	}
	cfg, err := platform.LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		return err
	}
	if err := cfg.FillDevSecrets(); err != nil {
		return err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	app, err := build(ctx, cfg, quiet)
	if err != nil {
		return err
	}
	defer app.Close()
	defer func() { // delete this run's keys; never flush a shared server
		c := app.Redis.Client
		for _, pat := range []string{prefix + "*", "rate:" + prefix + "*"} {
			iter := c.Scan(context.Background(), 0, pat, 1000).Iterator()
			for iter.Next(context.Background()) {
				c.Del(context.Background(), iter.Val())
			}
		}
	}()
	srv := app.HTTP.HTTPServer(ln.Addr().String())
	go srv.Serve(ln)
	defer srv.Close()

	bareLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	bareKey := prefix + "bare"
	if err := app.Redis.Client.Set(ctx, bareKey, "hello", time.Hour).Err(); err != nil {
		return err
	}
	bare := &http.Server{Handler: api.BareRedisGet(app.Redis.Client, bareKey), ReadHeaderTimeout: 5 * time.Second}
	go bare.Serve(bareLn)
	defer bare.Close()

	base := "http://" + ln.Addr().String()
	token, err := demoLogin(ctx, base)
	if err != nil {
		return fmt.Errorf("log the load citizen in: %w", err)
	}
	log.Info("load test ready", "redis_embedded", app.Redis.Embedded, "mongo_embedded", app.Mongo.Embedded)

	targets := []loadTarget{
		{name: "GET /api/v1/me (Banshi, valid session)", url: base + "/api/v1/me", token: token},
		{name: "GET /bare (Echo + one Redis GET)", url: "http://" + bareLn.Addr().String() + "/bare"},
	}
	results := make([][]loadResult, len(targets))
	for range *rounds {
		for i, t := range targets {
			r, err := drive(ctx, t, *conc, *duration)
			if err != nil {
				return err
			}
			results[i] = append(results[i], r)
		}
	}
	fmt.Fprintf(stdout, "concurrency %d, %s per round, %d rounds, Redis %s\n", *conc, *duration, *rounds, map[bool]string{true: "embedded", false: "real"}[app.Redis.Embedded])
	best := make([]float64, len(targets))
	for i, t := range targets {
		for _, r := range results[i] {
			fmt.Fprintf(stdout, "%-45s %9.0f req/s  p50 %6.2f ms  p99 %6.2f ms  errors %d\n", t.name, r.rps, ms(r.p50), ms(r.p99), r.errors)
			best[i] = max(best[i], r.rps)
		}
	}
	fmt.Fprintf(stdout, "ratio (best /me ÷ best bare): %.2f\n", best[0]/best[1])
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

type loadTarget struct {
	name, url, token string
}

type loadResult struct {
	rps      float64
	p50, p99 time.Duration
	errors   int
}

// drive runs conc closed-loop workers against t for d.
func drive(ctx context.Context, t loadTarget, conc int, d time.Duration) (loadResult, error) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc * 2, MaxConnsPerHost: conc * 2}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(d)
	var (
		mu   sync.Mutex
		lats []time.Duration
		errs int
		wg   sync.WaitGroup
	)
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local []time.Duration
			bad := 0
			for time.Now().Before(deadline) && ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, t.url, nil)
				if t.token != "" {
					req.Header.Set("Authorization", "Bearer "+t.token)
				}
				s := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					bad++
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					bad++
					continue
				}
				local = append(local, time.Since(s))
			}
			mu.Lock()
			lats = append(lats, local...)
			errs += bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if len(lats) == 0 {
		return loadResult{}, errors.New(t.name + ": no successful request")
	}
	slices.Sort(lats)
	return loadResult{
		rps: float64(len(lats)) / elapsed.Seconds(),
		p50: lats[len(lats)/2], p99: lats[len(lats)*99/100], errors: errs,
	}, nil
}

// demoLogin registers a simulated WeChat user, logs in through the
// mini-program and declares an identity; it returns the session token.
func demoLogin(ctx context.Context, base string) (string, error) {
	post := func(path, token string, body any, out any) error {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 300 {
			return fmt.Errorf("%s: %d %s", path, resp.StatusCode, raw)
		}
		if out != nil {
			return json.Unmarshal(raw, out)
		}
		return nil
	}
	id := account.WithCheckDigit("44010619900101" + fmt.Sprintf("%03d", time.Now().Nanosecond()%1000))
	var u struct{ OpenID string }
	if err := post("/sim/wechat/users", "", map[string]string{"real_name": "李四", "id_number": id}, &u); err != nil {
		return "", err
	}
	var c struct{ Code string }
	if err := post("/sim/wechat/codes", "", map[string]string{"openid": u.OpenID, "kind": "miniprogram"}, &c); err != nil {
		return "", err
	}
	var l struct{ Token string }
	if err := post("/api/v1/auth/miniprogram/login", "", map[string]string{"code": c.Code}, &l); err != nil {
		return "", err
	}
	if err := post("/api/v1/me/realname/declare", l.Token, map[string]string{"name": "李四", "id_number": id}, nil); err != nil {
		return "", err
	}
	return l.Token, nil
}
