package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// defineHealthcheck is `banshi healthcheck`: the container's health check
// (the image has no shell or curl). It asks the Banshi in this container
// (BANSHI_ADDR's port on loopback, or --url) for /readyz and succeeds only on
// 200; --live asks /healthz instead (the process answers at all).
func defineHealthcheck(fs *flag.FlagSet, e env) func(context.Context) error {
	target := fs.String("url", "", "base URL to check (default: http://127.0.0.1:<port of BANSHI_ADDR>)")
	live := fs.Bool("live", false, "check liveness (/healthz) rather than readiness (/readyz)")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	return func(ctx context.Context) error {
		base := *target
		if base == "" {
			addr := e.getenv("BANSHI_ADDR")
			if addr == "" {
				addr = ":8080"
			}
			_, port, err := net.SplitHostPort(addr)
			if err != nil {
				return usageError{fmt.Sprintf("healthcheck: BANSHI_ADDR %q: %v", addr, err)}
			}
			base = "http://127.0.0.1:" + port
		}
		path := "/readyz"
		if *live {
			path = "/healthz"
		}
		ctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(base, "/")+path, nil)
		if err != nil {
			return usageError{fmt.Sprintf("healthcheck: %v", err)}
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("healthcheck: %w", err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		if res.StatusCode != http.StatusOK {
			return errors.New("healthcheck: " + path + " answered " + res.Status + ": " + strings.TrimSpace(string(body)))
		}
		fmt.Fprintf(e.stdout, "%s ok\n", path)
		return nil
	}
}
