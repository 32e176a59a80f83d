package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"banshi/internal/platform"
)

// defineServe is `banshi serve`: no flags, every setting comes from the
// environment.
func defineServe(_ *flag.FlagSet, e env) func(context.Context) error {
	return func(ctx context.Context) error { return serve(ctx, e.getenv, e.stdout, e.log, false) }
}

// defineWorker is `banshi worker`: Banshi's background work (outbox
// dispatch, sweepers) without the API, for a deployment that runs them apart;
// it listens on BANSHI_ADDR with /healthz, /readyz and /metrics only.
func defineWorker(_ *flag.FlagSet, e env) func(context.Context) error {
	return func(ctx context.Context) error { return serve(ctx, e.getenv, e.stdout, e.log, true) }
}

// serve loads the configuration, opens the stores, wires Banshi and serves
// until ctx ends — the API, or with worker only the operators' routes — and
// runs the background work; then /readyz turns 503 while the API serves on
// for BANSHI_SHUTDOWN_DELAY (a worker does not wait), and then it drains in-flight requests, stops the
// background work and closes the stores.
func serve(ctx context.Context, getenv func(string) string, stdout io.Writer, log *slog.Logger, worker bool) error {
	cfg, err := platform.LoadConfig(getenv)
	if err != nil {
		return err
	}
	if err := cfg.CheckProduction(); err != nil {
		return err
	}
	if err := cfg.FillDevSecrets(); err != nil {
		return err
	}
	log.Info("starting banshi", cfg.Printable()...)

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Addr, err)
	}
	role := "serve"
	if worker {
		role = "worker"
	}
	tp, stopTracing, err := setupTracing(ctx, cfg, role, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer func() {
		// Last: flush the spans of the drain and of the background work.
		tctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := stopTracing(tctx); err != nil {
			log.Warn("tracing shutdown", "err", err)
		}
	}()
	configureWeChatSDKTraced(cfg, tp)
	app, err := buildTraced(ctx, cfg, log, tp)
	if err != nil {
		ln.Close()
		return err
	}
	defer app.Close()

	srv := app.HTTP.HTTPServer(cfg.Addr)
	if worker {
		srv.Handler = app.HTTP.OpsHandler()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	app.StartBackground(ctx)
	log.Info("banshi serving", "addr", ln.Addr().String(), "public_url", cfg.PublicURL, "worker", worker)
	if cfg.Sim && !worker {
		printDemo(stdout, cfg, app)
	}

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	// Readiness first: /readyz answers 503 while every other route still
	// serves for the shutdown delay, so a proxy or Kubernetes that still
	// routes here stops doing so before the listener closes.
	// A worker takes no traffic: it has nothing to wait for.
	app.HTTP.StartDraining()
	if cfg.ShutdownDelay > 0 && !worker {
		log.Info("shutting down: /readyz answers 503; serving on for the shutdown delay", "delay", cfg.ShutdownDelay.String())
		select {
		case err := <-errc:
			return fmt.Errorf("serve: %w", err)
		case <-time.After(cfg.ShutdownDelay):
		}
	}
	log.Info("shutting down: draining in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	app.Wait()
	log.Info("stopped cleanly")
	return nil
}

func printDemo(w io.Writer, cfg platform.Config, app *App) {
	fmt.Fprintf(w, `
Banshi is running in development mode at %[1]s
  embedded stores: MongoDB=%[2]t Redis=%[3]t; WeChat simulator at %[1]s/sim/wechat
  Try it (README.md has the whole walkthrough):
    curl -s -X POST %[1]s/sim/wechat/users -d '{}'
`, cfg.PublicURL, app.Mongo.Embedded, app.Redis.Embedded)
	for _, line := range app.DemoLines {
		fmt.Fprintln(w, "  "+line)
	}
	fmt.Fprintln(w)
}
