package loadtest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"

	"banshi/internal/platform"
)

// Run performs the load test with o against a Banshi started by start, and
// writes the report to w; log gets the load test's own progress (Banshi
// itself logs nothing during the run: its per-request log lines would be
// measured too).
//
// Banshi runs in development mode with a throw-away data folder (the
// embedded MongoDB, deleted afterwards), the Redis of o.RedisURL with every
// key under a random prefix (deleted afterwards; never a flush), and rate
// limits raised so they never refuse (the limiter still runs on every
// request).
//
// With o.Soak set it runs the soak (soak.go) instead of the rounds and the
// flash crowd.
//
// Errors: invalid options, a failure to start or to prepare, a target with
// no successful request, a flash crowd that did not book exactly its
// seats, or a soak with any error.
func Run(ctx context.Context, o Options, start Starter, w io.Writer, log *slog.Logger) error {
	if err := o.Validate(); err != nil {
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
	defer ln.Close()
	prefix := fmt.Sprintf("banshiload:%d:", time.Now().UnixNano())
	const unlimited = "1000000000"
	env := map[string]string{
		// A development Banshi against the given Redis, on purpose.
		"BANSHI_ENV":      platform.EnvDevelopment,
		"BANSHI_DATA_DIR": dir, "BANSHI_PUBLIC_URL": "http://" + ln.Addr().String(),
		"REDIS_URL": o.RedisURL, "BANSHI_REDIS_PREFIX": prefix,
		"BANSHI_RATE_API": unlimited, "BANSHI_RATE_LOGIN": unlimited,
		"BANSHI_RATE_STAFF": unlimited, "BANSHI_RATE_STAFF_LOGIN": unlimited,
	}
	cfg, err := platform.LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		return err
	}
	if err := cfg.FillDevSecrets(); err != nil {
		return err
	}
	st, err := start(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer st.Close()
	defer deleteKeys(st.Redis, prefix)

	srv := st.Server(ln.Addr().String())
	go func() { _ = srv.Serve(ln) }()
	defer shutdown(srv) // before the keys are deleted: no handler writes after that

	base := "http://" + ln.Addr().String()
	if o.Soak > 0 {
		log.Info("soak ready", "redis_embedded", st.RedisEmbedded, "mongo_embedded", st.MongoEmbedded)
		return soak(ctx, st, base, o, w, log)
	}

	bareLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	bareKey := prefix + "bare"
	if err := st.Redis.Set(ctx, bareKey, "hello", time.Hour).Err(); err != nil {
		return err
	}
	bare := &http.Server{Handler: Baseline(st.Redis, bareKey), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = bare.Serve(bareLn) }()
	defer bare.Close()

	token, err := loginCitizen(ctx, base)
	if err != nil {
		return fmt.Errorf("log the load citizen in: %w", err)
	}
	svcID, err := firstService(ctx, base, "hall-tianhe")
	if err != nil {
		return err
	}
	log.Info("load test ready", "redis_embedded", st.RedisEmbedded, "mongo_embedded", st.MongoEmbedded)

	targets := []target{
		{name: "GET /api/v1/me (Banshi, valid session)", url: base + "/api/v1/me", token: token},
		{name: "GET availability (dates, public)", url: base + "/api/v1/halls/hall-tianhe/availability?service_id=" + svcID},
		{name: "GET /bare (Echo + one Redis GET)", url: "http://" + bareLn.Addr().String() + "/bare"},
	}
	results, err := rounds(ctx, o, st.Redis, targets)
	if err != nil {
		return err
	}
	report(w, o, st.RedisEmbedded, targets, results)
	if o.Crowd > 0 {
		log.Info("preparing flash crowd", "citizens", o.Crowd, "seats", o.Seats)
		return flashCrowd(ctx, st, base, o.Crowd, o.Seats, w)
	}
	return nil
}

// rounds drives every target in turn, o.Rounds times, under a CPU profile
// when o asks for one. results[i] holds target i's rounds.
func rounds(ctx context.Context, o Options, rdb redis.UniversalClient, targets []target) ([][]result, error) {
	if o.CPUProfile != "" {
		f, err := os.Create(o.CPUProfile)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
		defer pprof.StopCPUProfile()
	}
	results := make([][]result, len(targets))
	for range o.Rounds {
		for i, t := range targets {
			before := readCPU(ctx, rdb)
			r, err := drive(ctx, t, o.Concurrency, o.Duration)
			if err != nil {
				return nil, err
			}
			after := readCPU(ctx, rdb)
			if n := time.Duration(r.answers); n > 0 {
				r.cpuProc = (after.proc - before.proc) / n
				if before.redisOK && after.redisOK {
					r.cpuRedis = (after.redis - before.redis) / n
				}
			}
			results[i] = append(results[i], r)
		}
	}
	return results, nil
}

// report writes every round of every target, then each target's best round
// as a ratio of the baseline's (the last target), and the ratio of their
// median CPU cost per answer (a steadier figure: see readCPU).
func report(w io.Writer, o Options, redisEmbedded bool, targets []target, results [][]result) {
	kind := "real"
	if redisEmbedded {
		kind = "embedded"
	}
	fmt.Fprintf(w, "concurrency %d, %s per round, %d rounds, Redis %s\n", o.Concurrency, o.Duration, o.Rounds, kind)
	best := make([]float64, len(targets))
	cpu := make([]time.Duration, len(targets))
	for i, t := range targets {
		var costs []time.Duration
		for _, r := range results[i] {
			fmt.Fprintf(w, "%-45s %9.0f req/s  p50 %6.2f ms  p99 %6.2f ms  errors %d  %5d B/answer  CPU/answer %5.1f µs + Redis %4.1f µs\n",
				t.name, r.rps, ms(r.p50), ms(r.p99), r.errors, r.bytes, us(r.cpuProc), us(r.cpuRedis))
			best[i] = max(best[i], r.rps)
			costs = append(costs, r.cpuProc+r.cpuRedis)
		}
		slices.Sort(costs)
		cpu[i] = costs[len(costs)/2]
	}
	last := len(targets) - 1
	for i, t := range targets[:last] {
		fmt.Fprintf(w, "ratio %-45s %.2f of bare (best rounds); CPU per answer %.1f µs against %.1f µs: %.2f\n",
			t.name, best[i]/best[last], us(cpu[i]), us(cpu[last]), float64(cpu[last])/float64(max(cpu[i], 1)))
	}
}

// us is d in microseconds, for reports.
func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }

// shutdown stops srv and waits up to 15 s for the requests it is still
// handling (a soak interrupted mid-run has some), then closes it.
func shutdown(srv *http.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
	_ = srv.Close()
}

// deleteKeys deletes the run's keys: those under prefix and redis_rate's,
// which it puts under "rate:"+prefix. Never a flush: the server may be
// shared. On a Redis Cluster every master is scanned (a SCAN through the
// cluster client sees one node's keys only).
func deleteKeys(c redis.UniversalClient, prefix string) {
	ctx := context.Background()
	scanDel := func(ctx context.Context, node redis.Cmdable) {
		for _, pat := range []string{prefix + "*", "rate:" + prefix + "*"} {
			iter := node.Scan(ctx, 0, pat, 1000).Iterator()
			for iter.Next(ctx) {
				node.Del(ctx, iter.Val())
			}
		}
	}
	if cc, ok := c.(*redis.ClusterClient); ok {
		_ = cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			scanDel(ctx, node)
			return nil
		})
		return
	}
	scanDel(ctx, c)
}
