package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"banshi/api"
	"banshi/applications"
	"banshi/appointments"
	"banshi/console"
	"banshi/enterprises"
	"banshi/evaluations"
	"banshi/integrations"
	"banshi/internal/account"
	"banshi/internal/observe"
	"banshi/internal/observe/tracing"
	"banshi/internal/pages"
	"banshi/internal/platform"
	"banshi/internal/session"
	"banshi/internal/sim"
	"banshi/internal/staff"
	"banshi/internal/wechat"
	"banshi/licences"
	"banshi/notify"
	"banshi/notify/fcm"
	"banshi/notify/subscribe"
	"banshi/payments"
	"banshi/privacy"
)

// App is Banshi wired: the stores, the services and the HTTP server.
type App struct {
	Mongo     *platform.Mongo
	Redis     *platform.Redis
	HTTP      *api.Server
	WeChatSim *sim.WeChat     // nil unless simulators are on
	DeptSim   *sim.Department // nil unless simulators are on
	FCMSim    *sim.FCM        // nil unless simulators (and FCM) are on
	// WeChatPaySim and AlipaySim are the payment channels in development
	// (nil otherwise).
	WeChatPaySim *sim.WeChatPay
	AlipaySim    *sim.Alipay
	Payments     *payments.Service
	Privacy      *privacy.Service
	Clock        *platform.OffsetClock // development's movable clock; nil unless simulators are on
	Accounts     *account.Store
	Sessions     *session.Store
	Booking      *appointments.Service
	Apps         *applications.Service
	Registry     *integrations.Registry
	Outbox       *notify.Outbox
	Evals        *evaluations.Service
	Licences     *licences.Service
	DemoLines    []string // what start-up prints about demo data

	log        *slog.Logger
	weChatHTTP *http.Client
	tracer     trace.TracerProvider // nil: no tracing
	apiDeps    api.Deps             // what HTTP was built from (tests build variants)
	bg         sync.WaitGroup
	tasks      []func(ctx context.Context)
	metrics    observe.Set // the services' series, on apiDeps.Registry
	breakers   upstreamBreakers
}

// build opens the stores and wires every service. The caller closes the App.
// The WeChat SDK's process-wide settings must have been made first, once per
// process (configureWeChatSDK); build only uses them.
func build(ctx context.Context, cfg platform.Config, log *slog.Logger) (*App, error) {
	return buildTraced(ctx, cfg, log, nil)
}

// buildTraced is build with the stores, the HTTP server and the outbound
// calls traced by tp (cmd/banshi/tracing.go); nil or off: nothing traced.
func buildTraced(ctx context.Context, cfg platform.Config, log *slog.Logger, tp trace.TracerProvider) (*App, error) {
	mdb, err := platform.OpenMongo(ctx, string(cfg.MongoURI), cfg.MongoDatabase, cfg.DataDir, log,
		platform.WithCommandMonitor(tracing.MongoMonitor(tp)))
	if err != nil {
		return nil, err
	}
	rdb, err := platform.OpenRedis(ctx, string(cfg.RedisURL), log)
	if err == nil {
		if err = traceRedis(tp, rdb); err != nil {
			_ = rdb.Close()
		}
	}
	if err != nil {
		_ = mdb.Close(context.Background())
		return nil, err
	}
	app := &App{Mongo: mdb, Redis: rdb, log: log, tracer: tp, weChatHTTP: tracedClient(tp, wechat.NewHTTPClient(5*time.Second))}
	// Start-up (index builds, the demo seed) may take longer than the
	// deadline of one store call in serving (platform.StoreTimeout).
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if err := app.wire(wctx, cfg); err != nil {
		app.Close()
		return nil, err
	}
	return app, nil
}

func (a *App) wire(ctx context.Context, cfg platform.Config) error {
	log := a.log
	redisPrefix := cfg.RedisPrefix
	var clock platform.Clock = platform.SystemClock{}
	if cfg.Sim {
		// Development: one clock for Banshi and the simulators, which the
		// clock control (/sim/clock) moves forward.
		a.Clock = platform.NewOffsetClock()
		clock = a.Clock
	}
	piiKey, err := cfg.PIIKey.Key32()
	if err != nil {
		return fmt.Errorf("BANSHI_PII_KEY: %w", err)
	}
	cipher, err := account.KeyringFromConfig(piiKey, string(cfg.PIIKeys), cfg.PIISealKey)
	if err != nil {
		return err
	}
	log.Info("PII keyring", "key_ids", cipher.KeyIDs(), "current", cipher.CurrentKeyID())
	sessions := session.NewStore(a.Redis.Client, session.Config{
		Prefix: redisPrefix, Secret: []byte(cfg.SessionSecret), PreviousSecret: []byte(cfg.SessionSecretPrevious), Idle: cfg.SessionIdle, Max: cfg.SessionMax,
	}, clock)
	inbox := notify.NewInbox(a.Mongo.DB, clock)
	if err := inbox.EnsureIndexes(ctx); err != nil {
		return fmt.Errorf("inbox indexes: %w", err)
	}
	// Everything citizens are told goes through the outbox: the inbox at
	// once, and each channel the citizen's preferences pick.
	channelNames := enabledChannels(cfg)
	prefs := notify.NewPreferenceStore(a.Mongo.DB, clock, notify.PreferencesConfig{
		Kinds: slices.Concat(appointments.MessageKinds(), applications.MessageKinds(), payments.BillMessageKinds(),
			payments.MessageKinds(), evaluations.MessageKinds(), enterprises.MessageKinds()),
		Channels: channelNames, QuietChannels: quietChannels,
	})
	outbox := notify.NewOutbox(notify.OutboxDeps{
		DB: a.Mongo.DB, Redis: a.Redis.Client, RedisPrefix: redisPrefix, Inbox: inbox, Router: prefs,
		Channels: channelNames, Clock: clock, Log: log.With("component", "outbox"),
	}, notify.OutboxConfig{})
	if err := outbox.EnsureIndexes(ctx); err != nil {
		return fmt.Errorf("outbox indexes: %w", err)
	}
	// One registry for /metrics: the API's series, the outbox's and the
	// services' business series (internal/observe).
	reg := prometheus.NewRegistry()
	a.metrics = observe.Register(reg, outbox.Depth)
	a.breakers = newBreakers(cfg, reg, log) // BANSHI_BREAKER_*
	// A revoked declaration is told to the declarer and ends their sessions.
	accounts := account.NewStore(a.Mongo.DB, cipher, clock, account.WithLogger(log.With("component", "account")),
		account.WithNotifier(outbox), account.WithSessions(sessions))
	if err := accounts.EnsureIndexes(ctx); err != nil {
		return fmt.Errorf("account indexes: %w", err)
	}
	// Once per start-up, in the background (reads take either format meanwhile).
	a.tasks = append(a.tasks, func(ctx context.Context) { migratePII(ctx, accounts, log) })
	a.tasks = append(a.tasks, func(ctx context.Context) { accounts.RunRevocationSweeper(ctx, time.Minute) })

	if cfg.Sim {
		a.WeChatSim = sim.NewWeChat(sim.WeChatOptions{Clock: clock, Log: log.With("component", "sim")})
		a.WeChatSim.AddMiniApp(cfg.MiniAppID, string(cfg.MiniAppSecret))
		a.WeChatSim.AddOpenApp(cfg.OpenAppID, string(cfg.OpenAppSecret))
	}
	wc := wechat.New(wechat.Config{
		APIBase: weChatBase(cfg), MiniAppID: cfg.MiniAppID, MiniAppSecret: string(cfg.MiniAppSecret),
		OpenAppID: cfg.OpenAppID, OpenAppSecret: string(cfg.OpenAppSecret), State: cfg.TemplateStatus,
		Breaker: a.breakers.wechat,
	}, a.weChatHTTP, wechat.NewRedisCache(a.Redis.Client, redisPrefix+"wx:"), log.With("component", "wechat"))

	checkinKey, err := cfg.CheckinKey.HexKey(16)
	if err != nil {
		return fmt.Errorf("BANSHI_CHECKIN_KEY: %w", err)
	}
	var checkinPrevious []byte
	if cfg.CheckinKeyPrevious != "" {
		if checkinPrevious, err = cfg.CheckinKeyPrevious.HexKey(16); err != nil {
			return fmt.Errorf("BANSHI_CHECKIN_KEY_PREVIOUS: %w", err)
		}
	}
	// The booking engine asks the enterprises service (wired later) who acts
	// for an enterprise.
	entMembers := &lateMembers{}
	booking, err := appointments.NewService(appointments.Deps{
		DB: a.Mongo.DB, Redis: a.Redis.Client, RedisPrefix: redisPrefix, Clock: clock,
		Log: log.With("component", "appointments"), Notifier: outbox, People: peopleDirectory{accounts},
		Levels: levels{accounts}, LevelRaised: sessionLevels{sessions, log}.raised, CheckinKey: checkinKey, CheckinKeyPrevious: checkinPrevious,
		Enterprises: entMembers, MaxPerEnterpriseDay: cfg.EnterpriseBookingsPerDay,
		Metrics: a.metrics.Appointments,
	})
	if err != nil {
		return err
	}
	if err := booking.EnsureIndexes(ctx); err != nil {
		return fmt.Errorf("appointment indexes: %w", err)
	}
	if cfg.SeedDemo {
		if err := booking.SeedDemo(ctx); err != nil {
			return fmt.Errorf("seed demo appointments data: %w", err)
		}
	}
	staffSvc, err := staff.NewService(staff.Deps{
		DB: a.Mongo.DB, Redis: a.Redis.Client, RedisPrefix: redisPrefix, Clock: clock,
		Log: log.With("component", "staff"), SessionSecret: []byte(cfg.SessionSecret),
		SessionSecretPrevious: []byte(cfg.SessionSecretPrevious), RefuseDemo: cfg.Production(),
		LoginPerAccount: cfg.RateStaffLogin,
	})
	if err != nil {
		return err
	}
	if err := staffSvc.EnsureIndexes(ctx); err != nil {
		return fmt.Errorf("staff indexes: %w", err)
	}
	if cfg.SeedDemo {
		if err := staffSvc.SeedDemo(ctx, appointments.DemoHallTianhe); err != nil {
			return fmt.Errorf("seed demo staff: %w", err)
		}
		a.DemoLines = append(a.DemoLines,
			"demo staff (password "+staff.DemoPassword+"): "+staff.DemoAdmin+" (admin), "+staff.DemoStaff+" (hall_staff of "+appointments.DemoHallTianhe+"), "+staff.DemoFinance+" (finance)")
	}
	if cfg.Production() {
		names, err := staffSvc.DemoAccounts(ctx)
		if err != nil {
			return fmt.Errorf("look for demo staff accounts: %w", err)
		}
		if len(names) > 0 {
			log.Warn("demo staff accounts exist in this production database; their logins are refused: disable or delete them",
				"accounts", names)
		}
	}
	a.tasks = append(a.tasks, func(ctx context.Context) { booking.RunSweeper(ctx, time.Minute) })

	// Department systems and the application events they report.
	box, err := platform.NewSecretBox(piiKey, "banshi integration secrets v1")
	if err != nil {
		return err
	}
	registry := integrations.NewRegistry(a.Mongo.DB, box, clock)
	verifier := platform.NewHookVerifier(registry, platform.NewRedisNonces(a.Redis.Client, redisPrefix), clock)
	owners := provenOwners{accounts}
	apps, err := applications.NewService(applications.Deps{
		DB: a.Mongo.DB, Clock: clock, Log: log.With("component", "applications"), Index: cipher,
		Owners: owners, Notifier: outbox, PageChanged: pageViews{sessions, log}.drop,
	})
	if err != nil {
		return err
	}
	if err := apps.EnsureIndexes(ctx); err != nil {
		return err
	}
	a.tasks = append(a.tasks, func(ctx context.Context) { apps.RunSweeper(ctx, time.Minute) })
	// Bills departments issue (查): the same owners, outbox and page.
	bills, err := payments.NewBills(payments.BillsDeps{
		DB: a.Mongo.DB, Clock: clock, Log: log.With("component", "bills"), Index: cipher,
		Owners: owners, Notifier: outbox, PageChanged: pageViews{sessions, log}.drop,
	})
	if err != nil {
		return err
	}
	if err := bills.EnsureIndexes(ctx); err != nil {
		return err
	}
	if cfg.SeedDemo {
		if err := bills.SeedDemo(ctx, integrations.DemoID); err != nil {
			return fmt.Errorf("seed demo bills: %w", err)
		}
		line := "demo bills (GET " + cfg.PublicURL + "/api/v1/bills/{bill_no}?code={verification code}):"
		for _, d := range payments.DemoBills() {
			line += " " + d.BillNo + " code " + d.Code + " (" + d.What + ");"
		}
		a.DemoLines = append(a.DemoLines, line)
	}
	if cfg.Sim {
		a.DeptSim = sim.NewDepartment(sim.DepartmentOptions{BanshiURL: cfg.PublicURL, Clock: clock, Log: log.With("component", "sim")})
	}
	if cfg.SeedDemo {
		// The in-process simulator signs for the demo department; a secret
		// is shown once, so an existing one is rotated to learn a fresh one.
		secret, err := registry.SeedDemo(ctx, cfg.PublicURL+"/sim/department/"+integrations.DemoID+"/events", a.DeptSim != nil)
		if err != nil {
			return fmt.Errorf("seed demo integration: %w", err)
		}
		if a.DeptSim != nil {
			a.DeptSim.SetSecret(integrations.DemoID, secret)
			a.DemoLines = append(a.DemoLines, "demo department system: "+integrations.DemoID+
				" (applications, bills, licences); the department simulator signs its events: POST "+
				cfg.PublicURL+"/sim/department/"+integrations.DemoID+"/applications")
		}
	}

	// The external channels: department systems' callbacks, and the
	// citizens' channels of enabledChannels.
	channels := []notify.Channel{integrations.NewOutbound(registry, departmentClient(a.tracer), clock)}
	leases := platform.NewLeases(a.Mongo.DB, clock) // periodic duties, one replica at a time
	subs, err := subscribe.New(subscribe.Deps{DB: a.Mongo.DB, Sender: wc, Users: miniUsers{accounts}, Clock: clock,
		Log: log.With("component", "subscribe")})
	if err != nil {
		return err
	}
	if err := subs.EnsureIndexes(ctx); err != nil {
		return err
	}
	if cfg.SeedDemo {
		if err := subs.SeedDemo(ctx); err != nil {
			return fmt.Errorf("seed demo subscribe templates: %w", err)
		}
	}
	if a.WeChatSim != nil {
		// The simulated mini-program added the demo templates in its console.
		for _, t := range subscribe.DemoTemplates() {
			a.WeChatSim.AddTemplate(cfg.MiniAppID, t.TemplateID, t.Keys(), t.Enums())
		}
	}
	channels = append(channels, subs.Channel())
	devices := fcm.NewDevices(a.Mongo.DB, clock)
	if err := devices.EnsureIndexes(ctx); err != nil {
		return err
	}
	if cfg.FCM {
		ch, err := a.fcmChannel(ctx, cfg, devices, clock)
		if err != nil {
			return err
		}
		channels = append(channels, ch)
		a.tasks = append(a.tasks, func(ctx context.Context) {
			leases.RunEvery(ctx, "fcm.purge", platform.LeaseRun{Log: log}, time.Hour, func(ctx context.Context) error {
				n, err := ch.Purge(ctx)
				if n > 0 {
					log.Info("fcm records purged", "records", n)
				}
				return err
			})
		})
	}

	// 查缴办: bills from departments, orders through WeChat Pay and Alipay.
	pay, err := a.paymentChannels(cfg, clock)
	if err != nil {
		return err
	}
	// 电子证照: licences departments issue, signed with SM2 (cmd/banshi/licences.go).
	licSigner, err := licenceSigner(cfg, log)
	if err != nil {
		return err
	}
	lics, err := licences.NewService(licences.Deps{DB: a.Mongo.DB, Clock: clock, Log: log.With("component", "licences"),
		Cipher: cipher, Owners: owners, Keys: registry, Scopes: registry, Signer: licSigner, Metrics: a.metrics.Licences})
	if err != nil {
		return err
	}
	if err := lics.EnsureIndexes(ctx); err != nil {
		return err
	}
	if cfg.SeedDemo {
		if err := a.seedDemoLicenceKey(ctx, registry, cfg.PublicURL); err != nil {
			return err
		}
	}
	a.Licences = lics
	licRoutes := api.LicenceRoutes{Hooks: api.HookRoutes{Verifier: verifier, Scopes: registry}, Licences: lics, Keys: registry}
	if licSigner != nil {
		licRoutes.SigningKey, licRoutes.SigningFingerprint = licSigner.PublicKeyPEM(), licSigner.Fingerprint()
	}

	// 企业专属网页: claims checked against the 市场监管 registry.
	ents, err := enterprises.NewService(enterprises.Deps{DB: a.Mongo.DB, People: accounts, Sealer: cipher, Clock: clock,
		Notifier: outbox, Owners: accounts,
		Registry: enterprises.NewRegistryClient(cfg.RegistryBase, tracedClientOrNil(a.tracer, enterprises.DefaultRegistryTimeout)), Log: log.With("component", "enterprises"),
		Page: enterprises.PageSources{Applications: enterpriseApplications{apps}, Bills: enterpriseBills{bills},
			Appointments: enterpriseAppointments{booking}, Licences: enterpriseLicences{lics}}})
	if err != nil {
		return err
	}
	if err := ents.EnsureIndexes(ctx); err != nil {
		return err
	}
	entMembers.svc = ents
	a.tasks = append(a.tasks, func(ctx context.Context) {
		leases.RunEvery(ctx, "enterprises.cascades", platform.LeaseRun{Log: log}, time.Minute, func(ctx context.Context) error {
			n, err := ents.FinishCascades(ctx)
			if n > 0 {
				log.Info("enterprise member cascades finished", "members", n)
			}
			return err
		})
	})

	paySvc, err := payments.NewService(payments.Deps{
		DB: a.Mongo.DB, Clock: clock, Log: log.With("component", "payments"), Bills: bills, Index: cipher,
		Owners: owners, Payers: payers{accounts}, Notifier: outbox, Providers: pay.providers,
		Merchants: pay.merchants, NotifyURLs: pay.notify, Redis: a.Redis.Client, RedisPrefix: redisPrefix,
		Members: ents, Metrics: a.metrics.Payments,
	}, payments.Config{HandleDeadline: cfg.PayHandleDeadline, SweepLease: cfg.PayLease})
	if err != nil {
		return err
	}
	if err := paySvc.EnsureIndexes(ctx); err != nil {
		return err
	}
	a.Payments = paySvc
	byName := map[string]payments.Provider{}
	for _, p := range pay.providers {
		byName[p.Name()] = p
	}
	recon, err := payments.NewReconciler(payments.ReconcilerDeps{
		DB: a.Mongo.DB, Clock: clock, Log: log.With("component", "reconcile"), Providers: byName, Actions: paySvc,
		Metrics: a.metrics.Payments, Lease: cfg.PayLease,
	})
	if err != nil {
		return err
	}
	if err := recon.EnsureIndexes(ctx); err != nil {
		return err
	}
	a.tasks = append(a.tasks, func(ctx context.Context) { recon.RunDaily(ctx, leases) })
	a.tasks = append(a.tasks, func(ctx context.Context) { paySvc.RunSweeper(ctx, leases, cfg.PaySweepEvery) })

	// 好差评: ratings of finished applications and completed visits, their
	// default ratings and the rectification of 差评s.
	evals, err := a.evaluations(ctx, cfg, clock, apps, booking, ents, owners, leases, outbox)
	if err != nil {
		return err
	}

	// Personal-data rights (PIPL): consents, export, deletion.
	realname := account.NewRealname(wc, accounts, a.Redis.Client, redisPrefix, cipher, clock, log)
	pageStore := pages.NewStore(a.Mongo.DB, clock)
	parts := privacyParts{db: a.Mongo.DB, clock: clock, log: log.With("component", "privacy"), accounts: accounts,
		realname: realname, sessions: sessions, booking: booking, inbox: inbox, prefs: prefs, subs: subs,
		devices: devices, pages: pageStore, apps: apps, bills: bills, ents: ents, lics: lics, evals: evals}
	consents := parts.consents()
	licRoutes.Consents = consents
	if err := consents.EnsureIndexes(ctx); err != nil {
		return err
	}
	rights, err := parts.service(consents)
	if err != nil {
		return err
	}
	a.Privacy = rights
	if err := rights.EnsureIndexes(ctx); err != nil {
		return err
	}
	a.tasks = append(a.tasks, func(ctx context.Context) { rights.RunSweeper(ctx, leases, time.Minute) })

	apptRoutes := api.NewAppointmentRoutes(booking, time.Second)
	citizenPages := pages.NewCitizens(pageStore, accounts, booking, inbox,
		appointmentsSection{booking}, applicationsSection{apps}, billsSection{bills}, messagesSection{inbox})
	a.Accounts, a.Sessions, a.Booking, a.Apps, a.Registry = accounts, sessions, booking, apps, registry
	staffRoutes := api.StaffRoutes{Auth: staffSvc, Desk: booking, CatalogChanged: apptRoutes.Changed}

	licRoutes.Staff = staffRoutes
	// The staff console (/console/) and the halls' queue displays.
	con, err := console.New(console.Deps{Log: log.With("component", "console"), Auth: staffSvc, Desk: booking,
		Boards: booking, Counter: booking, Calendar: booking, CatalogChanged: apptRoutes.Changed,
		Catalog: booking, Accounts: staffSvc,
		Licences: lics, Tickets: evals, Finance: &console.Finance{Orders: paySvc, Recon: recon},
		Integrations: registry, Outbox: outbox, AuditLog: staffSvc, EvaluationStats: evals,
		Dashboard: &console.Dashboard{Appointments: booking, Messages: outbox, Payments: paySvc, Clock: clock},
		Secret:    []byte(cfg.SessionSecret), PreviousSecret: []byte(cfg.SessionSecretPrevious),
		Development: cfg.Env == platform.EnvDevelopment})
	if err != nil {
		return err
	}
	trusted, err := platform.ParseTrustedProxies(cfg.TrustedProxies)
	if err != nil {
		return fmt.Errorf("BANSHI_TRUSTED_PROXIES: %w", err)
	}
	deps := api.Deps{
		Tracer:         a.tracer,
		TrustedProxies: trusted,
		Log:            log,
		Limits:         api.Limits{BodyBytes: cfg.BodyLimit, LoginPerIP: cfg.RateLogin, APIPerUser: cfg.RateAPI, StaffPerUser: cfg.RateStaff},
		Redis:          a.Redis.Client,
		RedisPrefix:    redisPrefix,
		Mongo:          a.Mongo,
		RedisPing:      a.Redis,
		Auth:           account.NewAuth(wc, accounts, sessions, log),
		Realname:       realname,
		Consents:       consents,
		Sessions:       sessions,
		Pages:          citizenPages,
		Features: []api.Feature{apptRoutes, staffRoutes, api.MessageRoutes{Inbox: inbox},
			api.PreferenceRoutes{Preferences: prefs},
			api.SubscribeRoutes{Subscriptions: subs, Consents: consents}, api.DeviceRoutes{Devices: devices},
			api.OutboxRoutes{Staff: staffRoutes, Outbox: outbox},
			api.IntegrationRoutes{Staff: staffRoutes, Registry: registry},
			api.HookRoutes{Verifier: verifier, Scopes: registry, Applications: apps, Bills: bills},
			api.ApplicationRoutes{Apps: apps}, api.BillRoutes{Bills: bills, LookupPerIP: cfg.RateBillLookup},
			api.PaymentRoutes{Staff: staffRoutes, Orders: paySvc}, api.QueueRoutes{Staff: staffRoutes, Queue: booking},
			api.ReconcileRoutes{Staff: staffRoutes, Recon: recon}, api.EnterpriseRoutes{Enterprises: ents, Staff: staffRoutes},
			api.PrivacyRoutes{Consents: consents, Privacy: rights},
			api.EvaluationRoutes{Staff: staffRoutes, Evals: evals},
			licRoutes, con},
	}
	if cfg.Push {
		push, err := wechat.NewPush(wechat.PushConfig{
			Token: string(cfg.PushToken), EncodingAESKey: string(cfg.PushAESKey), AppID: cfg.MiniAppID, Safe: cfg.PushSafe,
		})
		if err != nil {
			return fmt.Errorf("BANSHI_WECHAT_PUSH_*: %w", err)
		}
		// Subscribe popups, changes and delivery results keep the credits.
		deps.WeChatPush = wechat.NewPushEvents(a.Mongo.DB, push, clock, log.With("component", "wechat_push"), subs)
		if a.WeChatSim != nil {
			// The simulated WeChat pushes the mini-program's events to this Banshi.
			if err := a.WeChatSim.SetPush(cfg.MiniAppID, sim.PushConfig{
				URL: cfg.PublicURL + "/api/v1/hooks/wechat", Token: string(cfg.PushToken),
				EncodingAESKey: string(cfg.PushAESKey), Safe: cfg.PushSafe, Format: "json",
			}); err != nil {
				return err
			}
		}
	}
	if a.WeChatSim != nil {
		parts := map[string]sim.Part{"/sim/wechat/": a.WeChatSim, "/sim/clock": sim.NewClock(a.Clock),
			"/sim/department/": a.DeptSim}
		if a.FCMSim != nil {
			parts["/sim/fcm/"] = a.FCMSim
		}
		if a.WeChatPaySim != nil {
			parts["/sim/wechatpay/"] = a.WeChatPaySim
		}
		if a.AlipaySim != nil {
			parts["/sim/alipay/"] = a.AlipaySim
		}
		// The enterprise registry (市场监管), with the demo enterprise whose
		// legal representative is the walkthrough's 张三.
		registry := sim.NewRegistry()
		if _, err := registry.Add(sim.DemoEnterprise()); err != nil {
			return err
		}
		parts["/sim/registry/"] = registry
		deps.Sim = sim.Mount(parts)
	}
	// Every process dispatches the outbox (a `banshi worker` too); the
	// outbox's series join the API's on one registry.
	deps.Registry = reg
	dispatcher := notify.NewDispatcher(outbox, channels, notify.DispatcherConfig{
		Log: log.With("component", "outbox"), Metrics: a.metrics.Outbox,
		Lease: cfg.OutboxLease, // BANSHI_OUTBOX_LEASE
	})
	a.tasks = append(a.tasks, func(ctx context.Context) {
		if err := dispatcher.Run(ctx); err != nil {
			log.Error("outbox dispatcher stopped", "err", err)
		}
	}, func(ctx context.Context) { outbox.RunReconciler(ctx, leases, 5*time.Minute) })
	a.Outbox = outbox
	a.apiDeps = deps
	a.HTTP = api.New(deps)
	return nil
}

// quietChannels are the channels quiet hours hold reminders back on: a
// phone's push buzzes at night; a WeChat service notice waits in the chat.
var quietChannels = []string{"fcm"}

// enabledChannels names the external channels this configuration delivers
// on (the inbox always receives).
func enabledChannels(cfg platform.Config) []string {
	out := []string{subscribe.ChannelName}
	if cfg.FCM {
		out = append(out, fcm.ChannelName)
	}
	return out
}

// fcmChannel builds the FCM channel: with the configured service account,
// or in development with the data folder's (minted once, shared with `banshi
// sim`) against the in-process simulator.
func (a *App) fcmChannel(ctx context.Context, cfg platform.Config, devices *fcm.Devices, clock platform.Clock) (*fcm.Channel, error) {
	endpoint := cfg.FCMEndpoint
	if endpoint == "" {
		endpoint = "https://fcm.googleapis.com/v1"
		if cfg.Sim {
			endpoint = cfg.PublicURL + "/sim/fcm/v1"
		}
	}
	var key []byte
	var err error
	if cfg.FCMCredentials != "" {
		if key, err = os.ReadFile(cfg.FCMCredentials); err != nil {
			return nil, fmt.Errorf("BANSHI_FCM_CREDENTIALS: %w", err)
		}
	} else {
		if cfg.Production() {
			return nil, errors.New("BANSHI_FCM_CREDENTIALS is required in production")
		}
		if key, err = platform.DevServiceAccount(cfg.DataDir, or(cfg.FCMProject, devFCMProject)); err != nil {
			return nil, fmt.Errorf("development FCM service account: %w", err)
		}
		if key, err = platform.WithTokenURI(key, sim.FCMTokenURI(endpoint)); err != nil {
			return nil, err
		}
	}
	if cfg.Sim {
		a.FCMSim = sim.NewFCM(sim.FCMOptions{Clock: clock, AuthClock: platform.SystemClock{}, Log: a.log.With("component", "sim")})
		if err := a.FCMSim.AddServiceAccount(key); err != nil {
			return nil, err
		}
	}
	sender, err := fcm.NewSender(ctx, fcm.Config{Endpoint: endpoint, ProjectID: cfg.FCMProject, CredentialsJSON: key,
		Breaker:    a.breakers.fcm,
		HTTPClient: tracedClientOrNil(a.tracer, 0)})
	if err != nil {
		return nil, fmt.Errorf("BANSHI_FCM_*: %w", err)
	}
	ch := fcm.NewChannel(a.Mongo.DB, devices, sender, clock, a.log.With("component", "fcm"))
	if err := ch.EnsureIndexes(ctx); err != nil {
		return nil, err
	}
	return ch, nil
}

// devFCMProject is development's Firebase project (the simulator's).
const devFCMProject = "banshi-dev"

// StartBackground starts the background workers; they stop when ctx ends.
func (a *App) StartBackground(ctx context.Context) {
	for _, t := range a.tasks {
		a.bg.Add(1)
		go func() {
			defer a.bg.Done()
			t(ctx)
		}()
	}
}

// Wait waits for the background workers to stop.
func (a *App) Wait() { a.bg.Wait() }

// Close closes the stores.
func (a *App) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Mongo.Close(ctx); err != nil {
		a.log.Warn("close mongodb", "err", err)
	}
	if err := a.Redis.Close(); err != nil {
		a.log.Warn("close redis", "err", err)
	}
	if a.WeChatPaySim != nil {
		a.WeChatPaySim.Close()
	}
	if a.AlipaySim != nil {
		a.AlipaySim.Close()
	}
}

// migratePII re-seals identities of earlier releases bound to their user
// and field (account.Store.MigratePII) and logs what it did.
func migratePII(ctx context.Context, accounts *account.Store, log *slog.Logger) {
	rep, err := accounts.MigratePII(ctx)
	switch {
	case err != nil && ctx.Err() == nil:
		log.Warn("PII migration stopped; the next start-up goes on", "err", err, "resealed", rep.Resealed)
	case rep != (account.MigrationReport{}):
		log.Info("PII migration", "resealed", rep.Resealed, "skipped", rep.Skipped, "failed", rep.Failed)
	}
}

// weChatBase is where Banshi reaches WeChat: the configured base, or the
// in-process simulator in development.
func weChatBase(cfg platform.Config) string {
	if cfg.WeChatAPIBase == "" && cfg.Sim {
		return cfg.PublicURL + "/sim/wechat"
	}
	return cfg.WeChatAPIBase
}

// configureWeChatSDK makes silenceper's process-wide settings (its URL
// rewriting and HTTP client) for cfg. Call it once per process, before build:
// a second Banshi in the same process must use the same WeChat base.
func configureWeChatSDK(cfg platform.Config) {
	wechat.ConfigureSDK(weChatBase(cfg), wechat.NewHTTPClient(5*time.Second))
}

// evaluations wires 好差评 (its service, the indexes of the queries it makes
// of applications and appointments, its sweeper) and keeps it on the App.
func (a *App) evaluations(ctx context.Context, cfg platform.Config, clock platform.Clock, apps *applications.Service,
	booking *appointments.Service, ents *enterprises.Service, owners provenOwners, leases *platform.Leases, outbox *notify.Outbox) (*evaluations.Service, error) {
	evals, err := evaluations.NewService(evaluations.Deps{DB: a.Mongo.DB, Clock: clock, Log: a.log.With("component", "evaluations"),
		Subjects: evalSubjects{apps: apps, booking: booking}, Identities: owners, Acting: ents,
		Calendar: booking, Notifier: outbox, Metrics: a.metrics.Evaluations}, evaluations.Config{DefaultAfterDays: cfg.EvalDefaultDays,
		RectifyWorkingDays: cfg.EvalRectifyDays, Region: cfg.EvalRegion})
	if err != nil {
		return nil, err
	}
	for _, ensure := range []func(context.Context) error{evals.EnsureIndexes, apps.EnsureEvaluationIndexes, booking.EnsureEvaluationIndexes} {
		if err := ensure(ctx); err != nil {
			return nil, err
		}
	}
	a.tasks = append(a.tasks, func(ctx context.Context) { evals.RunSweeper(ctx, leases, time.Minute) })
	a.Evals = evals
	return evals, nil
}
