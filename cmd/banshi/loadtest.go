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
	"runtime/pprof"
	"slices"
	"sync"
	"time"

	"banshi/api"
	"banshi/appointments"
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
	crowd := fs.Int("crowd", 2000, "booking attempts in the flash crowd (0: skip)")
	seats := fs.Int("seats", 100, "seats of the flash-crowd slot")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the measured rounds to this file")
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
	configureWeChatSDK(cfg)
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

	svcID, err := firstService(ctx, base, "hall-tianhe")
	if err != nil {
		return err
	}
	targets := []loadTarget{
		{name: "GET /api/v1/me (Banshi, valid session)", url: base + "/api/v1/me", token: token},
		{name: "GET availability (dates, public)", url: base + "/api/v1/halls/hall-tianhe/availability?service_id=" + svcID},
		{name: "GET /bare (Echo + one Redis GET)", url: "http://" + bareLn.Addr().String() + "/bare"},
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
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
	bareBest := best[len(best)-1]
	for i, t := range targets[:len(targets)-1] {
		fmt.Fprintf(stdout, "ratio %-45s %.2f of bare\n", t.name, best[i]/bareBest)
	}
	if *crowd > 0 {
		return flashCrowd(ctx, app, base, *crowd, *seats, stdout)
	}
	return nil
}

// firstService returns the ID of the first service item of hallID.
func firstService(ctx context.Context, base, hallID string) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/halls/"+hallID+"/services", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var body struct {
		Services []struct{ ID string } `json:"services"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || len(body.Services) == 0 {
		return "", fmt.Errorf("no services at %s: %v", hallID, err)
	}
	return body.Services[0].ID, nil
}

// flashCrowd prepares crowd level-3 citizens with sessions (directly in the
// stores: the WeChat round trips are not what is measured), then releases
// crowd concurrent POST /api/v1/appointments for one slot of seats seats at
// once, and proves from MongoDB that exactly seats were booked.
func flashCrowd(ctx context.Context, app *App, base string, crowd, seats int, stdout io.Writer) error {
	slotID, serviceID, err := appointments.PrepareFlashCrowd(ctx, app.Booking, seats)
	if err != nil {
		return fmt.Errorf("prepare flash crowd: %w", err)
	}
	tokens := make([]string, crowd)
	seed := time.Now().UnixNano()
	for i := range tokens {
		uid := fmt.Sprintf("crowd-%d-%d", seed, i)
		u, err := app.Accounts.LoginWeChat(ctx, account.ChannelMiniProgram, "u"+uid, "o"+uid)
		if err != nil {
			return err
		}
		id := account.WithCheckDigit(fmt.Sprintf("440106%04d%02d%02d%03d", 1950+i%50, 1+i%12, 1+i%28, (seed/1000+int64(i))%1000))
		if _, err := app.Accounts.RaiseLevel(ctx, u.ID, account.Identity{Name: "王五", IDNumber: id}, 3); err != nil {
			return fmt.Errorf("raise level of crowd member %d: %w", i, err)
		}
		if tokens[i], _, err = app.Sessions.Create(ctx, u.ID, "miniprogram", 3); err != nil {
			return err
		}
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: crowd, MaxConnsPerHost: crowd}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	body := []byte(`{"slot_id":"` + slotID + `","service_id":"` + serviceID + `"}`)
	lats := make([]time.Duration, crowd)
	codes := make([]int, crowd)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range crowd {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/appointments", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+tokens[i])
			req.Header.Set("Content-Type", "application/json")
			<-start
			t := time.Now()
			resp, err := client.Do(req)
			lats[i] = time.Since(t)
			if err != nil {
				codes[i] = -1
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			codes[i] = resp.StatusCode
		}()
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	total := time.Since(t0)
	count := map[int]int{}
	for _, c := range codes {
		count[c]++
	}
	slices.Sort(lats)
	booked, err := app.Mongo.DB.Collection("appointments").CountDocuments(ctx, map[string]any{"slot_id": slotID, "status": "booked"})
	if err != nil {
		return err
	}
	seatDocs, err := app.Mongo.DB.Collection("appt_seats").CountDocuments(ctx, map[string]any{"slot_id": slotID})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "flash crowd: %d concurrent POST /api/v1/appointments for %d seats: total %.2f s, p50 %.0f ms, p99 %.0f ms; answers %v; MongoDB: %d booked appointments, %d seat documents\n",
		crowd, seats, total.Seconds(), ms(lats[len(lats)/2]), ms(lats[len(lats)*99/100]), count, booked, seatDocs)
	if count[http.StatusCreated] != seats || booked != int64(seats) {
		return fmt.Errorf("flash crowd booked %d (MongoDB %d), want exactly %d", count[http.StatusCreated], booked, seats)
	}
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
