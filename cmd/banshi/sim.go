package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"banshi/internal/platform"
	"banshi/internal/sim"
)

// defineSim is `banshi sim`: it serves the protocol simulators alone
// (banshi sim --addr :9100), for pointing a Banshi
// (BANSHI_WECHAT_API_BASE=http://host:9100/sim/wechat) or a client at them.
//
// Started from the folder a development Banshi uses, it needs no flags: the
// app ids come from the environment like Banshi's, and the app secrets from
// the same data folder (BANSHI_DATA_DIR, default ./.banshi, created when
// missing), so the two agree. The flags override them.
func defineSim(fs *flag.FlagSet, e env) func(context.Context) error {
	addr := fs.String("addr", ":9100", "listen address")
	miniApp := fs.String("mini-appid", "", "mini-program appid (default: BANSHI_WECHAT_MINI_APPID or the demo app)")
	miniSecret := fs.String("mini-secret", "", "mini-program secret (default: BANSHI_WECHAT_MINI_SECRET or the data folder's)")
	openApp := fs.String("app-appid", "", "Open Platform mobile app appid (default: BANSHI_WECHAT_APP_APPID or the demo app)")
	openSecret := fs.String("app-secret", "", "Open Platform mobile app secret (default: BANSHI_WECHAT_APP_SECRET or the data folder's)")
	pushURL := fs.String("push-url", "", "where the mini-program's message push goes, e.g. http://127.0.0.1:8080/api/v1/hooks/wechat (token and EncodingAESKey: BANSHI_WECHAT_PUSH_* or the data folder's, safe mode as BANSHI_WECHAT_PUSH_SAFE)")
	banshiURL := fs.String("banshi-url", "http://127.0.0.1:8080", "where the department simulator posts its signed events (Banshi's base URL)")
	return func(ctx context.Context) error {
		cfg, err := platform.LoadConfig(e.getenv)
		if err != nil {
			return err
		}
		if cfg.Production() {
			return errors.New("banshi sim is for development and tests: BANSHI_ENV=production refuses it")
		}
		if err := cfg.FillDevSecrets(); err != nil {
			return err
		}
		u, err := url.Parse(*banshiURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usageError{fmt.Sprintf("sim: --banshi-url %q is not an http(s) URL", *banshiURL)}
		}
		apps := simApps{
			miniApp: or(*miniApp, cfg.MiniAppID), miniSecret: or(*miniSecret, string(cfg.MiniAppSecret)),
			openApp: or(*openApp, cfg.OpenAppID), openSecret: or(*openSecret, string(cfg.OpenAppSecret)),
			push:      sim.PushConfig{URL: *pushURL, Token: string(cfg.PushToken), EncodingAESKey: string(cfg.PushAESKey), Safe: cfg.PushSafe},
			banshiURL: *banshiURL, dataDir: cfg.DataDir,
		}
		// The FCM service account of this data folder: a Banshi started
		// from it signs with the same key the simulator trusts.
		if apps.fcmKey, err = platform.DevServiceAccount(cfg.DataDir, or(cfg.FCMProject, devFCMProject)); err != nil {
			return fmt.Errorf("development FCM service account: %w", err)
		}
		return runSim(ctx, *addr, apps, e.stdout, e.log)
	}
}

func or(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

// simApps are the WeChat apps the simulator knows, where the mini-program's
// message push goes, and the Banshi its department simulator reports to.
type simApps struct {
	miniApp, miniSecret, openApp, openSecret, banshiURL string
	dataDir                                             string // the payment simulators' merchant keys are this folder's
	push                                                sim.PushConfig
	fcmKey                                              []byte // the service account the FCM simulator trusts
}

// runSim serves the simulators on addr until ctx ends.
func runSim(ctx context.Context, addr string, apps simApps, stdout io.Writer, log *slog.Logger) error {
	clock := platform.NewOffsetClock()
	w := sim.NewWeChat(sim.WeChatOptions{Clock: clock, Log: log})
	w.AddMiniApp(apps.miniApp, apps.miniSecret)
	w.AddOpenApp(apps.openApp, apps.openSecret)
	if apps.push.URL != "" {
		if err := w.SetPush(apps.miniApp, apps.push); err != nil {
			return err
		}
	}
	dept := sim.NewDepartment(sim.DepartmentOptions{BanshiURL: apps.banshiURL, Clock: clock, Log: log})
	parts := map[string]sim.Part{"/sim/wechat/": w, "/sim/clock": sim.NewClock(clock), "/sim/department/": dept}
	if apps.fcmKey != nil {
		f := sim.NewFCM(sim.FCMOptions{Clock: clock, AuthClock: platform.SystemClock{}, Log: log})
		if err := f.AddServiceAccount(apps.fcmKey); err != nil {
			return err
		}
		parts["/sim/fcm/"] = f
	}
	if apps.dataDir != "" {
		ps, err := newPaySims(apps.dataDir, nonEmpty(apps.miniApp, apps.openApp), clock, log)
		if err != nil {
			return err
		}
		defer ps.wechat.Close()
		defer ps.alipay.Close()
		parts["/sim/wechatpay/"], parts["/sim/alipay/"] = ps.wechat, ps.alipay
	}
	registry := sim.NewRegistry()
	if _, err := registry.Add(sim.DemoEnterprise()); err != nil {
		return err
	}
	parts["/sim/registry/"] = registry
	h := sim.Mount(parts)
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	host := addr
	if strings.HasPrefix(host, ":") {
		host = "127.0.0.1" + host
	}
	log.Info("simulators serving", "addr", addr, "wechat_api_base", "http://"+host+"/sim/wechat", "fcm_endpoint", "http://"+host+"/sim/fcm/v1",
		"wechat_mini_appid", apps.miniApp, "wechat_app_appid", apps.openApp)
	fmt.Fprintf(stdout, `
Simulators serving at http://%[1]s
  WeChat API base: http://%[1]s/sim/wechat   (the phone's control endpoints are under it too)
  clock control:   http://%[1]s/sim/clock    (moves the simulators' clock only, not another process's)
  FCM endpoint:    http://%[1]s/sim/fcm/v1    (messages a phone got: GET http://%[1]s/sim/fcm/messages?token=…)
  registry:        http://%[1]s/sim/registry/enterprises/{uscc}   (市场监管; add: POST …/sim/registry/control/enterprises)
  WeChat Pay:      http://%[1]s/sim/wechatpay   Alipay: http://%[1]s/sim/alipay   (merchant keys of this folder's data directory)
  departments:     http://%[1]s/sim/department/{integration id}   signs events and posts them to %[4]s
                   (tell it an integration's secret first: PUT …/sim/department/{id} {"secret":"…"})
  apps: mini-program %[2]s, mobile app %[3]s, with the secrets of this folder's data directory
  Point a Banshi started from this folder at it:
    BANSHI_SIM=false BANSHI_WECHAT_API_BASE=http://%[1]s/sim/wechat BANSHI_FCM_ENDPOINT=http://%[1]s/sim/fcm/v1 \
      BANSHI_WECHATPAY_BASE_URL=http://%[1]s/sim/wechatpay BANSHI_ALIPAY_BASE_URL=http://%[1]s/sim/alipay go run ./cmd/banshi

`, host, apps.miniApp, apps.openApp, apps.banshiURL)
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
