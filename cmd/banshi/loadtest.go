package main

import (
	"context"
	"flag"
	"log/slog"

	"banshi/internal/loadtest"
	"banshi/internal/platform"
)

// defineLoadTest is `banshi loadtest` (BENCHMARKS.md):
//
//	go run ./cmd/banshi loadtest --redis redis://127.0.0.1:6379/0 --duration 8s --rounds 3 --concurrency 32
//	go run ./cmd/banshi loadtest --redis redis://127.0.0.1:6379/0 --soak 5m --rate 150
//
// The load test lives in internal/loadtest; this adapter only hands it the
// flags and startForLoad, so it drives Banshi exactly as main wires it.
func defineLoadTest(fs *flag.FlagSet, e env) func(context.Context) error {
	o := loadtest.DefaultOptions()
	o.Register(fs)
	return func(ctx context.Context) error {
		if err := o.Validate(); err != nil {
			return usageError{"loadtest: " + err.Error()}
		}
		return loadtest.Run(ctx, o, startForLoad, e.stdout, e.log)
	}
}

// startForLoad is the loadtest.Starter: the WeChat SDK's process-wide
// settings and build, as serve makes them, and the parts of the App the load
// test drives and checks. Call it once per process (configureWeChatSDK).
func startForLoad(ctx context.Context, cfg platform.Config, log *slog.Logger) (*loadtest.Stack, error) {
	configureWeChatSDK(cfg)
	app, err := build(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	return &loadtest.Stack{
		Server:        app.HTTP.HTTPServer,
		Redis:         app.Redis.Client,
		RedisEmbedded: app.Redis.Embedded,
		DB:            app.Mongo.DB,
		MongoEmbedded: app.Mongo.Embedded,
		Accounts:      app.Accounts,
		Sessions:      app.Sessions,
		Catalog:       app.Booking,
		Close:         app.Close,
	}, nil
}
