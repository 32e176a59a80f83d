package main

import (
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"banshi/internal/platform"
	"banshi/internal/sim"
	"banshi/payments"
	"banshi/payments/alipay"
	"banshi/payments/wechatpay"
)

// Development's payment identities (the simulators know them).
const (
	devWeChatPayMchID = "1900000109"
)

// payChannels are the configured payment channels, what Banshi is at each
// (merchant and app ids a callback must name), and where their callbacks
// come.
type payChannels struct {
	providers []payments.Provider
	merchants map[string]payments.Merchant
	notify    map[string]string
}

// paymentChannels builds the WeChat Pay and Alipay adapters: in development
// against the in-process simulators (a.WeChatPaySim, a.AlipaySim, built
// here with keys minted once in the data folder), otherwise against the
// channels named by the settings; a channel without its merchant setting is
// off.
func (a *App) paymentChannels(cfg platform.Config, clock platform.Clock) (payChannels, error) {
	pc := payChannels{merchants: map[string]payments.Merchant{}, notify: map[string]string{
		payments.ProviderWeChatPay: cfg.PublicURL + "/api/v1/hooks/wechatpay",
		payments.ProviderAlipay:    cfg.PublicURL + "/api/v1/hooks/alipay",
	}}
	log := a.log.With("component", "payments")
	wcfg := wechatpay.Config{
		MchID: cfg.WeChatPayMchID, MiniProgramAppID: cfg.MiniAppID, AppAppID: cfg.OpenAppID,
		SerialNo: cfg.WeChatPaySerialNo, APIv3Key: string(cfg.WeChatPayAPIv3Key), PublicKeyID: cfg.WeChatPayPubKeyID,
		PlatformCertificates: cfg.WeChatPayCerts, BaseURL: cfg.WeChatPayBaseURL,
		NotifyURL: pc.notify[payments.ProviderWeChatPay], Clock: clock, Log: log, Breaker: a.breakers.wechatpay, WrapTransport: a.traceTransport,
	}
	acfg := alipay.Config{
		AppID: cfg.AlipayAppID, SellerID: cfg.AlipaySellerID, BaseURL: cfg.AlipayBaseURL,
		NotifyURL: pc.notify[payments.ProviderAlipay], TempDir: filepath.Join(cfg.DataDir, "tmp"), Clock: clock, Log: log,
		Breaker:       a.breakers.alipay,
		WrapTransport: a.traceTransport,
	}
	switch {
	case cfg.Sim:
		if err := a.paymentSimulators(cfg, clock, &wcfg, &acfg); err != nil {
			return pc, err
		}
	case !cfg.Production() && strings.Contains(cfg.WeChatPayBaseURL+cfg.AlipayBaseURL, "/sim/") &&
		cfg.WeChatPayMchID == "" && cfg.AlipayAppID == "":
		// Development against `banshi sim` (the simulators alone): the data
		// folder's identities, which that simulator knows too.
		if err := devPayIdentities(cfg.DataDir, &wcfg, &acfg); err != nil {
			return pc, err
		}
		if !strings.Contains(cfg.WeChatPayBaseURL, "/sim/") {
			wcfg.MchID = ""
		}
		if !strings.Contains(cfg.AlipayBaseURL, "/sim/") {
			acfg.AppID = ""
		}
	default:
		var err error
		if cfg.WeChatPayMchID != "" {
			if wcfg.PrivateKeyPEM, err = readPEM("BANSHI_WECHATPAY_PRIVATE_KEY", cfg.WeChatPayPrivateKey); err != nil {
				return pc, err
			}
			if cfg.WeChatPayPubKey != "" {
				if wcfg.PublicKeyPEM, err = readPEM("BANSHI_WECHATPAY_PUBLIC_KEY", cfg.WeChatPayPubKey); err != nil {
					return pc, err
				}
			}
		}
		if cfg.AlipayAppID != "" {
			if acfg.PrivateKey, err = readPEM("BANSHI_ALIPAY_PRIVATE_KEY", cfg.AlipayPrivateKey); err != nil {
				return pc, err
			}
			if acfg.AlipayPublicKey, err = readPEM("BANSHI_ALIPAY_PUBLIC_KEY", cfg.AlipayPublicKey); err != nil {
				return pc, err
			}
		}
	}
	if wcfg.MchID != "" {
		p, err := wechatpay.New(wcfg)
		if err != nil {
			return pc, fmt.Errorf("BANSHI_WECHATPAY_*: %w", err)
		}
		pc.providers = append(pc.providers, p)
		pc.merchants[payments.ProviderWeChatPay] = payments.Merchant{ID: wcfg.MchID, AppIDs: nonEmpty(wcfg.MiniProgramAppID, wcfg.AppAppID)}
	}
	if acfg.AppID != "" {
		if err := os.MkdirAll(acfg.TempDir, 0o700); err != nil {
			return pc, fmt.Errorf("payments temp folder: %w", err)
		}
		p, err := alipay.New(acfg)
		if err != nil {
			return pc, fmt.Errorf("BANSHI_ALIPAY_*: %w", err)
		}
		pc.providers = append(pc.providers, p)
		pc.merchants[payments.ProviderAlipay] = payments.Merchant{ID: acfg.SellerID, AppIDs: []string{acfg.AppID}}
	}
	return pc, nil
}

// paymentSimulators builds development's WeChat Pay and Alipay simulators
// with the data folder's keys and points the adapters' settings at them.
func (a *App) paymentSimulators(cfg platform.Config, clock platform.Clock, w *wechatpay.Config, al *alipay.Config) error {
	ps, err := newPaySims(cfg.DataDir, nonEmpty(cfg.MiniAppID, cfg.OpenAppID), clock, a.log.With("component", "sim"))
	if err != nil {
		return err
	}
	a.WeChatPaySim, a.AlipaySim = ps.wechat, ps.alipay
	if err := devPayIdentities(cfg.DataDir, w, al); err != nil {
		return err
	}
	w.BaseURL, al.BaseURL = cfg.PublicURL+"/sim/wechatpay", cfg.PublicURL+"/sim/alipay"
	return nil
}

// paySims are development's payment channels.
type paySims struct {
	wechat *sim.WeChatPay
	alipay *sim.Alipay
}

// newPaySims builds the WeChat Pay and Alipay simulators that know the
// merchant identities of dataDir (minted there once; a Banshi started from
// the same folder signs with them): in Banshi's process, or in `banshi sim`.
func newPaySims(dataDir string, wechatApps []string, clock platform.Clock, log *slog.Logger) (paySims, error) {
	var ps paySims
	wk, err := sim.LoadOrCreateWeChatPayKeys(filepath.Join(dataDir, "keys", "wechatpay"))
	if err != nil {
		return ps, err
	}
	if ps.wechat, err = sim.NewWeChatPay(sim.WeChatPayOptions{
		Clock: clock, Log: log,
		Merchants: []sim.WeChatPayMerchant{{MchID: devWeChatPayMchID, SerialNo: wk.MerchantSerial,
			PublicKey: &wk.MerchantKey.PublicKey, APIv3Key: wk.APIv3Key, AppIDs: wechatApps}},
		PublicKey: wk.PublicKey, PublicKeyID: wk.PublicKeyID, CertificateKey: wk.CertificateKey,
		SignWith: sim.WeChatPaySignPublicKey, BillsAnyDay: true,
	}); err != nil {
		return ps, err
	}
	ak, err := sim.LoadOrCreateAlipayKeys(filepath.Join(dataDir, "keys", "alipay"))
	if err != nil {
		return ps, err
	}
	if ps.alipay, err = sim.NewAlipay(sim.AlipayOptions{
		Clock: clock, Log: log, AlipayKey: ak.AlipayKey, BillsAnyDay: true,
		Apps: []sim.AlipayApp{{AppID: ak.AppID, PublicKey: &ak.AppKey.PublicKey, SellerID: ak.SellerID}},
	}); err != nil {
		return ps, err
	}
	return ps, nil
}

// devPayIdentities fills the adapters' merchant identities with the data
// folder's development ones (those its simulators know).
func devPayIdentities(dataDir string, w *wechatpay.Config, al *alipay.Config) error {
	wk, err := sim.LoadOrCreateWeChatPayKeys(filepath.Join(dataDir, "keys", "wechatpay"))
	if err != nil {
		return err
	}
	w.MchID, w.SerialNo, w.PrivateKeyPEM, w.APIv3Key = devWeChatPayMchID, wk.MerchantSerial, wk.MerchantKeyPEM, wk.APIv3Key
	w.PublicKeyID, w.PublicKeyPEM = wk.PublicKeyID, wk.PublicKeyPEM
	ak, err := sim.LoadOrCreateAlipayKeys(filepath.Join(dataDir, "keys", "alipay"))
	if err != nil {
		return err
	}
	al.AppID, al.SellerID, al.PrivateKey, al.AlipayPublicKey = ak.AppID, ak.SellerID, ak.AppPrivateKey, ak.AlipayPublic
	return nil
}

// readPEM reads a key file named by setting; errors never quote the key.
func readPEM(setting, path string) (string, error) {
	if path == "" {
		return "", fmt.Errorf("%s is required", setting)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", setting, err)
	}
	if blk, _ := pem.Decode(b); blk == nil {
		return "", errors.New(setting + ": not a PEM file")
	}
	return string(b), nil
}

func nonEmpty(s ...string) []string {
	var out []string
	for _, v := range s {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}
