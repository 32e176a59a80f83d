package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"banshi/internal/platform"
	"banshi/internal/sim"
)

// runSim serves the protocol simulators alone (banshi sim --addr :9100), for
// pointing a Banshi (BANSHI_WECHAT_API_BASE=http://host:9100/sim/wechat) or a
// client at them.
func runSim(ctx context.Context, args []string, log *slog.Logger) error {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	addr := fs.String("addr", ":9100", "listen address")
	miniApp := fs.String("mini-appid", platform.DemoMiniAppID, "mini-program appid")
	miniSecret := fs.String("mini-secret", "demo-mini-secret", "mini-program secret")
	openApp := fs.String("app-appid", platform.DemoOpenAppID, "Open Platform mobile app appid")
	openSecret := fs.String("app-secret", "demo-app-secret", "Open Platform mobile app secret")
	pushURL := fs.String("push-url", "", "where the mini-program's message push goes, e.g. http://127.0.0.1:8080/api/v1/hooks/wechat (then give the token and EncodingAESKey with PUT /sim/wechat/apps/{appid}/push)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	w := sim.NewWeChat(sim.WeChatOptions{Clock: platform.SystemClock{}, Log: log})
	w.AddMiniApp(*miniApp, *miniSecret)
	w.AddOpenApp(*openApp, *openSecret)
	if err := w.SetPush(*miniApp, sim.PushConfig{URL: *pushURL}); err != nil {
		return err
	}
	srv := &http.Server{Addr: *addr, Handler: w.Handler(), ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("simulators serving", "addr", *addr, "wechat_api_base", fmt.Sprintf("http://127.0.0.1%s/sim/wechat", *addr))
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
