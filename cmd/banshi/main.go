// Command banshi runs the Banshi backend-for-frontend.
//
//	banshi [serve]            serve the API (development: embedded stores, simulators, demo data)
//	banshi sim --addr :9100   run the protocol simulators alone
//	banshi loadtest           measure routes against a bare Echo + Redis GET (BENCHMARKS.md)
//
// Configuration comes from the environment; see README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, log); err != nil {
		log.Error("banshi stopped", "err", err.Error())
		os.Exit(1)
	}
}

// run dispatches the subcommand. It returns when ctx is cancelled (after a
// graceful shutdown) or on a start-up failure.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, log *slog.Logger) error {
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, getenv, stdout, log)
	case "sim":
		return runSim(ctx, args, log)
	case "loadtest":
		return runLoadTest(ctx, args, stdout, log)
	case "help":
		fmt.Fprintln(stdout, "usage: banshi [serve] | banshi sim --addr :9100 | banshi loadtest [--redis URL --duration 10s --concurrency 32]")
		return nil
	default:
		return errors.New("unknown command " + cmd + " (want serve or sim)")
	}
}
