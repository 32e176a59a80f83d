package platform

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Environments Banshi knows.
const (
	EnvDevelopment = "development"
	EnvProduction  = "production"
)

// Secret is a configuration value that never prints: fmt (%v, %s, %q,
// %#v) and log/slog show it masked.
type Secret string

// secretMask is what a set secret prints as.
const secretMask = "******"

// String masks the secret so a printed config never leaks it.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return secretMask
}

// GoString masks the secret for %#v.
func (s Secret) GoString() string { return s.String() }

// LogValue masks the secret for log/slog (whose JSON handler would otherwise
// write the underlying string).
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// SecretURL is a store URL (MONGODB_URI, REDIS_URL) that may carry
// credentials: fmt and log/slog show it with them removed (RedactURL).
type SecretURL string

// String returns the URL without its credentials.
func (u SecretURL) String() string { return RedactURL(string(u)) }

// GoString returns the URL without its credentials, for %#v.
func (u SecretURL) GoString() string { return u.String() }

// LogValue returns the URL without its credentials, for log/slog.
func (u SecretURL) LogValue() slog.Value { return slog.StringValue(u.String()) }

// Config is every setting Banshi reads from the environment. Zero values are
// replaced by defaults in LoadConfig.
type Config struct {
	Env           string    // BANSHI_ENV: development (default with embedded stores) or production; required with an external store
	Addr          string    // BANSHI_ADDR, default :8080
	DataDir       string    // BANSHI_DATA_DIR, default ./.banshi
	MongoURI      SecretURL // MONGODB_URI; empty means embedded FerretDB
	MongoDatabase string    // MONGODB_DATABASE, default banshi
	RedisURL      SecretURL // REDIS_URL; empty means embedded miniredis
	RedisPrefix   string    // BANSHI_REDIS_PREFIX: starts every Redis key, default "banshi:"
	Sim           bool      // BANSHI_SIM: mount the simulators (default on in development)
	WeChatAPIBase string    // BANSHI_WECHAT_API_BASE; empty means the in-process simulator
	PublicURL     string    // BANSHI_PUBLIC_URL: how clients reach us; default http://127.0.0.1<addr>
	PIIKey        Secret    // BANSHI_PII_KEY: 64 hex characters (AES-256 key; the blind-index key is derived)
	PIIKeys       Secret    // BANSHI_PII_KEYS: further PII keys "id:hex,...", the last current (account.KeyringFromConfig)
	PIISealKey    string    // BANSHI_PII_SEAL_KEY: the id of the key new data is sealed under; "" = the last key
	SessionSecret Secret    // BANSHI_SESSION_SECRET: HMAC key for hashing session tokens at rest
	// SessionSecretPrevious (BANSHI_SESSION_SECRET_PREVIOUS) is the session
	// secret before a rotation: sessions (citizens' and staff's) opened
	// under it, and console forms rendered under it, still work. Remove it
	// once the longest session cap has passed.
	SessionSecretPrevious Secret
	CheckinKey            Secret // BANSHI_CHECKIN_KEY: HMAC key signing appointment check-in QR payloads
	// CheckinKeyPrevious (BANSHI_CHECKIN_KEY_PREVIOUS) is the key before
	// the last rotation: QR codes it signed still check in (a citizen's
	// saved screenshot) while new ones are signed with CheckinKey. Remove
	// it once the overlap (the booking window) has passed.
	CheckinKeyPrevious Secret
	RateLogin          int           // BANSHI_RATE_LOGIN: logins per client IP per minute, default 30
	RateAPI            int           // BANSHI_RATE_API: API calls per user per minute, default 600
	RateStaff          int           // BANSHI_RATE_STAFF: staff API calls per staff account per minute, default 300
	RateStaffLogin     int           // BANSHI_RATE_STAFF_LOGIN: login attempts per staff account per minute, default 10
	RateBillLookup     int           // BANSHI_RATE_BILL_LOOKUP: bill lookups by verification code per client IP per minute, default 20
	TrustedProxies     string        // BANSHI_TRUSTED_PROXIES: CIDRs whose X-Forwarded-For is believed; none by default
	SessionIdle        time.Duration // BANSHI_SESSION_IDLE: sliding idle expiry, default 2h
	SessionMax         time.Duration // BANSHI_SESSION_MAX: absolute session cap, default 7 days
	BodyLimit          int64         // BANSHI_BODY_LIMIT: request body bytes, default 65536
	SeedDemo           bool          // BANSHI_SEED_DEMO: seed demo data into an empty database (default on in development)

	MiniAppID      string // BANSHI_WECHAT_MINI_APPID
	MiniAppSecret  Secret // BANSHI_WECHAT_MINI_SECRET
	OpenAppID      string // BANSHI_WECHAT_APP_APPID (Open Platform mobile app)
	OpenAppSecret  Secret // BANSHI_WECHAT_APP_SECRET
	TemplateStatus string // BANSHI_WECHAT_MINIPROGRAM_STATE: developer|trial|formal

	Push       bool   // BANSHI_WECHAT_PUSH: receive WeChat's message push at /api/v1/hooks/wechat (default on in development)
	PushToken  Secret // BANSHI_WECHAT_PUSH_TOKEN: the push Token of WeChat's console, 3 to 32 letters or digits
	PushAESKey Secret // BANSHI_WECHAT_PUSH_AES_KEY: the EncodingAESKey of WeChat's console, 43 characters
	PushSafe   bool   // BANSHI_WECHAT_PUSH_SAFE: accept only safe-mode (encrypted) pushes (default true)

	FCM            bool   // BANSHI_FCM: app push through Firebase Cloud Messaging (default on)
	FCMEndpoint    string // BANSHI_FCM_ENDPOINT: the FCM HTTP v1 base (default https://fcm.googleapis.com/v1; the simulator in development)
	FCMCredentials string // BANSHI_FCM_CREDENTIALS: path to the service-account JSON (development mints one in the data folder)
	FCMProject     string // BANSHI_FCM_PROJECT: the Firebase project (default: the credential's project_id)

	// Payments (查缴办). In development both channels are the simulators,
	// with keys minted once in the data folder; outside development a
	// channel is on when its merchant setting is given.
	WeChatPayMchID      string        // BANSHI_WECHATPAY_MCHID: 商户号
	WeChatPaySerialNo   string        // BANSHI_WECHATPAY_SERIAL_NO: the merchant API certificate's serial
	WeChatPayPrivateKey string        // BANSHI_WECHATPAY_PRIVATE_KEY: path to apiclient_key.pem
	WeChatPayAPIv3Key   Secret        // BANSHI_WECHATPAY_APIV3_KEY: the 32-byte APIv3 key
	WeChatPayPubKeyID   string        // BANSHI_WECHATPAY_PUBLIC_KEY_ID: PUB_KEY_ID_… of the WeChat Pay public key
	WeChatPayPubKey     string        // BANSHI_WECHATPAY_PUBLIC_KEY: path to the WeChat Pay public key PEM
	WeChatPayCerts      bool          // BANSHI_WECHATPAY_PLATFORM_CERTS: also verify with platform certificates (default false)
	WeChatPayBaseURL    string        // BANSHI_WECHATPAY_BASE_URL: the API host (default https://api.mch.weixin.qq.com)
	AlipayAppID         string        // BANSHI_ALIPAY_APP_ID
	AlipayPrivateKey    string        // BANSHI_ALIPAY_PRIVATE_KEY: path to the app's private key PEM
	AlipayPublicKey     string        // BANSHI_ALIPAY_PUBLIC_KEY: path to the Alipay public key PEM
	AlipaySellerID      string        // BANSHI_ALIPAY_SELLER_ID: the merchant's PID (2088…)
	AlipayBaseURL       string        // BANSHI_ALIPAY_BASE_URL: the gateway (default Alipay's)
	PayHandleDeadline   time.Duration // BANSHI_PAY_HANDLE_DEADLINE: a department must accept a payment within this, else it is refunded (default 24h)
	// PayLease is BANSHI_PAY_LEASE: how long the payment sweeper's lease
	// and a reconciliation run's lease hold without a renewal (the daily
	// reconciliation's schedule: twice as long); after the process holding
	// one dies, another takes the duty over once it lapses (default 30s).
	PayLease time.Duration
	// PaySweepEvery is BANSHI_PAY_SWEEP_EVERY: how often the payment
	// sweeper runs (default 15s; 2s with the in-process simulators).
	PaySweepEvery time.Duration

	// ShutdownDelay is BANSHI_SHUTDOWN_DELAY: on SIGTERM, how long /readyz
	// answers 503 while requests are still served, so a proxy or Kubernetes
	// stops routing here before the listener closes (default 5s in
	// production, 0 in development; "0" turns it off).
	ShutdownDelay time.Duration
	// OutboxLease is BANSHI_OUTBOX_LEASE: how long an outbox dispatcher's
	// claim lasts; after a process dies, its claimed deliveries are sent by
	// another one once it lapses (default 2m; keep it above a send's 20 s
	// time-out).
	OutboxLease time.Duration
	// BreakerFailures is BANSHI_BREAKER_FAILURES: consecutive failures of
	// an upstream (WeChat, WeChat Pay, Alipay, FCM) that open its circuit
	// breaker (default 5, at most 1000).
	BreakerFailures int
	// BreakerOpen is BANSHI_BREAKER_OPEN: how long an open breaker refuses
	// calls before it lets one probe through (default 10s, 1s to 10m).
	BreakerOpen time.Duration

	// RegistryBase is BANSHI_REGISTRY_BASE: the 市场监管 enterprise
	// registry's base URL (GET {base}/enterprises/{uscc}); development's
	// default is the simulator, <public URL>/sim/registry; required in
	// production.
	RegistryBase string

	// 好差评 (evaluations).
	EvalDefaultDays int    // BANSHI_EVAL_DEFAULT_DAYS: natural days after a result before an unrated one is rated 基本满意 by default (default 7)
	EvalRectifyDays int    // BANSHI_EVAL_RECTIFY_DAYS: working days a department has to answer a 差评 (default 5)
	EvalRegion      string // BANSHI_EVAL_REGION: the GB/T 2260 division code recorded on evaluations (default 440100)
	// EnterpriseBookingsPerDay is BANSHI_ENTERPRISE_BOOKINGS_PER_DAY: booked
	// appointments one enterprise may hold on a day (default 5).
	EnterpriseBookingsPerDay int
	// LicenceSM2Key is BANSHI_LICENCE_SM2_KEY: the PEM text (PKCS#8) of
	// Banshi's SM2 private key, which signs licence show tokens and annotated
	// copies. Development mints one into <data dir>/keys/licences/ when it is
	// not set; production without it refuses showing and copies (503).
	LicenceSM2Key Secret

	// OTelEndpoint is BANSHI_OTEL_ENDPOINT: the OTLP/HTTP collector traces
	// are sent to, e.g. http://collector:4318 (/v1/traces is appended to a
	// URL without a path). Empty (the default): tracing is off. The
	// standard OTEL_EXPORTER_OTLP_ENDPOINT alone does not turn it on.
	OTelEndpoint string
	// OTelSampleRatio is BANSHI_OTEL_SAMPLE_RATIO: the share of traces
	// kept, 0 to 1 (default 1 in development, 0.1 in production).
	OTelSampleRatio float64
}

// Demo WeChat identities used with the in-process simulator.
const (
	DemoMiniAppID = "wxdemo0000miniapp"
	DemoOpenAppID = "wxdemo00000openapp"
)

// LoadConfig reads the configuration through getenv (os.Getenv in main, a map in
// tests) and applies defaults. It returns an error naming every malformed
// value; MONGODB_URI and REDIS_URL are parsed as OpenMongo and OpenRedis will
// use them (without touching the network), and no error quotes a secret or a
// URL's credentials. An external store (MONGODB_URI or REDIS_URL) without an
// explicit BANSHI_ENV is refused: development is the default only for a
// Banshi that runs on its embedded stores.
func LoadConfig(getenv func(string) string) (Config, error) {
	var errs []error
	str := func(key, def string) string {
		if v := strings.TrimSpace(getenv(key)); v != "" {
			return v
		}
		return def
	}
	integer := func(key string, def int) int {
		v := getenv(key)
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			errs = append(errs, fmt.Errorf("%s must be a positive integer, got %q", key, v))
			return def
		}
		return n
	}
	duration := func(key string, def time.Duration) time.Duration {
		v := getenv(key)
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("%s must be a positive duration like 2h, got %q", key, v))
			return def
		}
		return d
	}
	boolean := func(key string, def bool) bool {
		v := getenv(key)
		if v == "" {
			return def
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s must be true or false, got %q", key, v))
			return def
		}
		return b
	}

	c := Config{
		Env:                   str("BANSHI_ENV", EnvDevelopment),
		Addr:                  str("BANSHI_ADDR", ":8080"),
		DataDir:               str("BANSHI_DATA_DIR", "./.banshi"),
		MongoURI:              SecretURL(str("MONGODB_URI", "")),
		MongoDatabase:         str("MONGODB_DATABASE", "banshi"),
		RedisURL:              SecretURL(str("REDIS_URL", "")),
		RedisPrefix:           str("BANSHI_REDIS_PREFIX", "banshi:"),
		WeChatAPIBase:         strings.TrimRight(str("BANSHI_WECHAT_API_BASE", ""), "/"),
		PublicURL:             strings.TrimRight(str("BANSHI_PUBLIC_URL", ""), "/"),
		PIIKey:                Secret(str("BANSHI_PII_KEY", "")),
		PIIKeys:               Secret(str("BANSHI_PII_KEYS", "")),
		PIISealKey:            strings.TrimSpace(str("BANSHI_PII_SEAL_KEY", "")),
		SessionSecret:         Secret(str("BANSHI_SESSION_SECRET", "")),
		CheckinKey:            Secret(str("BANSHI_CHECKIN_KEY", "")),
		CheckinKeyPrevious:    Secret(str("BANSHI_CHECKIN_KEY_PREVIOUS", "")),
		SessionSecretPrevious: Secret(str("BANSHI_SESSION_SECRET_PREVIOUS", "")),
		RateLogin:             integer("BANSHI_RATE_LOGIN", 30),
		RateAPI:               integer("BANSHI_RATE_API", 600),
		RateStaff:             integer("BANSHI_RATE_STAFF", 300),
		RateStaffLogin:        integer("BANSHI_RATE_STAFF_LOGIN", 10),
		RateBillLookup:        integer("BANSHI_RATE_BILL_LOOKUP", 20),
		TrustedProxies:        str("BANSHI_TRUSTED_PROXIES", ""),
		SessionIdle:           duration("BANSHI_SESSION_IDLE", 2*time.Hour),
		SessionMax:            duration("BANSHI_SESSION_MAX", 7*24*time.Hour),
		BodyLimit:             int64(integer("BANSHI_BODY_LIMIT", 64<<10)),

		MiniAppID:      str("BANSHI_WECHAT_MINI_APPID", ""),
		MiniAppSecret:  Secret(str("BANSHI_WECHAT_MINI_SECRET", "")),
		OpenAppID:      str("BANSHI_WECHAT_APP_APPID", ""),
		OpenAppSecret:  Secret(str("BANSHI_WECHAT_APP_SECRET", "")),
		TemplateStatus: str("BANSHI_WECHAT_MINIPROGRAM_STATE", "formal"),
	}
	switch c.Env {
	case EnvDevelopment, EnvProduction:
	default:
		errs = append(errs, fmt.Errorf("BANSHI_ENV must be development or production, got %q", c.Env))
	}
	if strings.TrimSpace(getenv("BANSHI_ENV")) == "" && (c.MongoURI != "" || c.RedisURL != "") {
		// Without this, a deployment that forgot BANSHI_ENV would mount the
		// simulators and seed demo staff with a published password into its
		// real database.
		errs = append(errs, errors.New("BANSHI_ENV is not set but MONGODB_URI or REDIS_URL names an external store: "+
			"Banshi would run in development mode against it (simulators mounted, demo staff with a published password seeded); "+
			"set BANSHI_ENV=production, or BANSHI_ENV=development to develop against that store on purpose"))
	}
	dev := c.Env != EnvProduction
	c.Sim = boolean("BANSHI_SIM", dev)
	c.SeedDemo = boolean("BANSHI_SEED_DEMO", dev)
	if c.PublicURL == "" {
		host := c.Addr
		if strings.HasPrefix(host, ":") {
			host = "127.0.0.1" + host
		}
		c.PublicURL = "http://" + host
	}
	if dev {
		if c.MiniAppID == "" {
			c.MiniAppID = DemoMiniAppID
		}
		if c.OpenAppID == "" {
			c.OpenAppID = DemoOpenAppID
		}
	}
	c.Push = boolean("BANSHI_WECHAT_PUSH", dev)
	c.PushToken = Secret(str("BANSHI_WECHAT_PUSH_TOKEN", ""))
	c.PushAESKey = Secret(str("BANSHI_WECHAT_PUSH_AES_KEY", ""))
	c.PushSafe = boolean("BANSHI_WECHAT_PUSH_SAFE", true)
	if t := string(c.PushToken); t != "" && !ValidPushToken(t) {
		errs = append(errs, errors.New("BANSHI_WECHAT_PUSH_TOKEN must be 3 to 32 letters or digits (as WeChat's console requires)"))
	}
	if k := string(c.PushAESKey); k != "" && !validAESKey(k) {
		errs = append(errs, errors.New("BANSHI_WECHAT_PUSH_AES_KEY must be the 43-character EncodingAESKey of WeChat's console"))
	}
	c.FCM = boolean("BANSHI_FCM", true)
	c.FCMEndpoint = str("BANSHI_FCM_ENDPOINT", "")
	c.FCMCredentials = str("BANSHI_FCM_CREDENTIALS", "")
	c.FCMProject = str("BANSHI_FCM_PROJECT", "")
	c.WeChatPayMchID = str("BANSHI_WECHATPAY_MCHID", "")
	c.WeChatPaySerialNo = str("BANSHI_WECHATPAY_SERIAL_NO", "")
	c.WeChatPayPrivateKey = str("BANSHI_WECHATPAY_PRIVATE_KEY", "")
	c.WeChatPayAPIv3Key = Secret(str("BANSHI_WECHATPAY_APIV3_KEY", ""))
	c.WeChatPayPubKeyID = str("BANSHI_WECHATPAY_PUBLIC_KEY_ID", "")
	c.WeChatPayPubKey = str("BANSHI_WECHATPAY_PUBLIC_KEY", "")
	c.WeChatPayCerts = boolean("BANSHI_WECHATPAY_PLATFORM_CERTS", false)
	c.WeChatPayBaseURL = str("BANSHI_WECHATPAY_BASE_URL", "")
	c.AlipayAppID = str("BANSHI_ALIPAY_APP_ID", "")
	c.AlipayPrivateKey = str("BANSHI_ALIPAY_PRIVATE_KEY", "")
	c.AlipayPublicKey = str("BANSHI_ALIPAY_PUBLIC_KEY", "")
	c.AlipaySellerID = str("BANSHI_ALIPAY_SELLER_ID", "")
	c.AlipayBaseURL = str("BANSHI_ALIPAY_BASE_URL", "")
	c.PayHandleDeadline = duration("BANSHI_PAY_HANDLE_DEADLINE", 24*time.Hour)
	c.PayLease = duration("BANSHI_PAY_LEASE", 30*time.Second)
	sweepEvery := 15 * time.Second
	if c.Sim {
		sweepEvery = 2 * time.Second // development: the walkthrough sees handling within moments
	}
	c.PaySweepEvery = duration("BANSHI_PAY_SWEEP_EVERY", sweepEvery)
	c.OutboxLease = duration("BANSHI_OUTBOX_LEASE", 2*time.Minute)
	c.BreakerFailures = integer("BANSHI_BREAKER_FAILURES", 5)
	if c.BreakerFailures > 1000 {
		errs = append(errs, fmt.Errorf("BANSHI_BREAKER_FAILURES must be from 1 to 1000, got %d", c.BreakerFailures))
	}
	c.BreakerOpen = duration("BANSHI_BREAKER_OPEN", 10*time.Second)
	if c.BreakerOpen < time.Second || c.BreakerOpen > 10*time.Minute {
		errs = append(errs, fmt.Errorf("BANSHI_BREAKER_OPEN must be a duration from 1s to 10m, got %s", c.BreakerOpen))
	}
	c.ShutdownDelay = 5 * time.Second
	if dev {
		c.ShutdownDelay = 0
	}
	if v := strings.TrimSpace(getenv("BANSHI_SHUTDOWN_DELAY")); v != "" {
		if d, err := time.ParseDuration(v); err != nil || d < 0 || d > 10*time.Minute {
			errs = append(errs, fmt.Errorf("BANSHI_SHUTDOWN_DELAY must be a duration from 0 to 10m like 5s, got %q", v))
		} else {
			c.ShutdownDelay = d
		}
	}
	c.RegistryBase = strings.TrimRight(str("BANSHI_REGISTRY_BASE", ""), "/")
	c.EnterpriseBookingsPerDay = integer("BANSHI_ENTERPRISE_BOOKINGS_PER_DAY", 5)
	if c.RegistryBase == "" && dev {
		c.RegistryBase = c.PublicURL + "/sim/registry"
	}
	c.LicenceSM2Key = Secret(str("BANSHI_LICENCE_SM2_KEY", ""))
	if e := c.RegistryBase; e != "" {
		if u, err := url.Parse(e); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, errors.New("BANSHI_REGISTRY_BASE must be an http(s) URL"))
		}
	}
	c.OTelEndpoint = str("BANSHI_OTEL_ENDPOINT", "")
	if e := c.OTelEndpoint; e != "" {
		if u, err := url.Parse(e); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			errs = append(errs, errors.New("BANSHI_OTEL_ENDPOINT must be the http(s) URL of an OTLP/HTTP collector without credentials, such as http://collector:4318"))
		}
	}
	c.OTelSampleRatio = 1
	if !dev {
		c.OTelSampleRatio = 0.1
	}
	if v := strings.TrimSpace(getenv("BANSHI_OTEL_SAMPLE_RATIO")); v != "" {
		if r, err := strconv.ParseFloat(v, 64); err != nil || !(r >= 0 && r <= 1) {
			errs = append(errs, fmt.Errorf("BANSHI_OTEL_SAMPLE_RATIO must be a number from 0 to 1 like 0.1, got %q", v))
		} else {
			c.OTelSampleRatio = r
		}
	}
	c.EvalDefaultDays = integer("BANSHI_EVAL_DEFAULT_DAYS", 7)
	c.EvalRectifyDays = integer("BANSHI_EVAL_RECTIFY_DAYS", 5)
	c.EvalRegion = str("BANSHI_EVAL_REGION", "440100")
	if !regionCode.MatchString(c.EvalRegion) {
		errs = append(errs, errors.New("BANSHI_EVAL_REGION must be a 6-digit GB/T 2260 division code such as 440100"))
	}
	if len(c.WeChatPayAPIv3Key) != 0 && len(c.WeChatPayAPIv3Key) != 32 {
		errs = append(errs, errors.New("BANSHI_WECHATPAY_APIV3_KEY must be the 32-character APIv3 key"))
	}
	if e := c.FCMEndpoint; e != "" {
		if u, err := url.Parse(e); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, errors.New("BANSHI_FCM_ENDPOINT must be an http(s) URL such as https://fcm.googleapis.com/v1"))
		}
	}
	if p := c.FCMProject; p != "" && !ValidProjectID(p) {
		errs = append(errs, errors.New("BANSHI_FCM_PROJECT must be a Firebase project id (6 to 30 lower-case letters, digits and hyphens)"))
	}
	if c.SessionMax < c.SessionIdle {
		errs = append(errs, fmt.Errorf("BANSHI_SESSION_MAX (%s) must not be shorter than BANSHI_SESSION_IDLE (%s)", c.SessionMax, c.SessionIdle))
	}
	if c.PIIKey != "" {
		if _, err := decodeKey(string(c.PIIKey)); err != nil {
			errs = append(errs, fmt.Errorf("BANSHI_PII_KEY: %w", err))
		}
	}
	if _, err := ParseTrustedProxies(c.TrustedProxies); err != nil {
		errs = append(errs, fmt.Errorf("BANSHI_TRUSTED_PROXIES: %w", err))
	}
	if c.MongoURI != "" {
		if err := checkMongoURI(string(c.MongoURI)); err != nil {
			errs = append(errs, fmt.Errorf("MONGODB_URI: %w", err))
		}
	}
	if c.RedisURL != "" {
		if _, err := parseRedisTarget(string(c.RedisURL)); err != nil {
			errs = append(errs, fmt.Errorf("REDIS_URL: %w", err))
		}
	}
	return c, errors.Join(errs...)
}

// Production reports whether Banshi runs in production mode.
func (c Config) Production() bool { return c.Env == EnvProduction }

// CheckProduction returns an error naming every setting production needs and
// lacks, and every development-only feature it refuses. Nil in development.
func (c Config) CheckProduction() error {
	if !c.Production() {
		return nil
	}
	var missing []string
	need := func(name string, v string) {
		if strings.TrimSpace(v) == "" {
			missing = append(missing, name)
		}
	}
	need("MONGODB_URI", string(c.MongoURI))
	need("REDIS_URL", string(c.RedisURL))
	need("BANSHI_WECHAT_API_BASE", c.WeChatAPIBase)
	need("BANSHI_WECHAT_MINI_APPID", c.MiniAppID)
	need("BANSHI_WECHAT_MINI_SECRET", string(c.MiniAppSecret))
	need("BANSHI_WECHAT_APP_APPID", c.OpenAppID)
	need("BANSHI_WECHAT_APP_SECRET", string(c.OpenAppSecret))
	need("BANSHI_PII_KEY", string(c.PIIKey))
	need("BANSHI_SESSION_SECRET", string(c.SessionSecret))
	need("BANSHI_CHECKIN_KEY", string(c.CheckinKey))
	need("BANSHI_REGISTRY_BASE", c.RegistryBase)
	if c.Push {
		need("BANSHI_WECHAT_PUSH_TOKEN", string(c.PushToken))
		if c.PushSafe {
			need("BANSHI_WECHAT_PUSH_AES_KEY", string(c.PushAESKey))
		}
	}
	if c.FCM {
		need("BANSHI_FCM_CREDENTIALS", c.FCMCredentials)
	}
	var errs []string
	if c.FCM && strings.Contains(c.FCMEndpoint, "/sim/") {
		errs = append(errs, "BANSHI_FCM_ENDPOINT names a simulator")
	}
	if strings.Contains(c.WeChatPayBaseURL, "/sim/") {
		errs = append(errs, "BANSHI_WECHATPAY_BASE_URL names a simulator")
	}
	if strings.Contains(c.AlipayBaseURL, "/sim/") {
		errs = append(errs, "BANSHI_ALIPAY_BASE_URL names a simulator")
	}
	if strings.Contains(c.RegistryBase, "/sim/") {
		errs = append(errs, "BANSHI_REGISTRY_BASE names a simulator")
	}
	if len(missing) > 0 {
		errs = append(errs, "missing settings: "+strings.Join(missing, ", "))
	}
	if c.Sim {
		errs = append(errs, "BANSHI_SIM is refused in production (simulators are for development and tests)")
	}
	if c.SeedDemo {
		errs = append(errs, "BANSHI_SEED_DEMO is refused in production")
	}
	if len(errs) > 0 {
		return fmt.Errorf("production mode refuses to start: %s", strings.Join(errs, "; "))
	}
	return nil
}

// Printable returns every setting in effect as key/value pairs for the
// start-up log, in the order of Config's fields: secrets as "******" when
// set and "(not set)" when not, URLs without their credentials (hosts,
// ports, database and options stay), and what an empty store URL or WeChat
// API base stands for.
func (c Config) Printable() []any {
	or := func(v, empty string) string {
		if v == "" {
			return empty
		}
		return v
	}
	secret := func(s Secret) string { return or(s.String(), "(not set)") }
	return []any{
		"env", c.Env,
		"addr", c.Addr,
		"data_dir", c.DataDir,
		"mongodb_uri", or(c.MongoURI.String(), "(embedded FerretDB)"),
		"mongodb_database", c.MongoDatabase,
		"redis_url", or(c.RedisURL.String(), "(embedded miniredis)"),
		"redis_prefix", c.RedisPrefix,
		"sim", c.Sim,
		"wechat_api_base", or(RedactURL(c.WeChatAPIBase), "(in-process simulator)"),
		"public_url", RedactURL(c.PublicURL),
		"pii_key", secret(c.PIIKey),
		"pii_keys", secret(c.PIIKeys),
		"pii_seal_key", or(c.PIISealKey, "(the last key)"),
		"session_secret", secret(c.SessionSecret),
		"checkin_key", secret(c.CheckinKey),
		"checkin_key_previous", secret(c.CheckinKeyPrevious),
		"session_secret_previous", secret(c.SessionSecretPrevious),
		"rate_login", c.RateLogin,
		"rate_api", c.RateAPI,
		"rate_staff", c.RateStaff,
		"rate_staff_login", c.RateStaffLogin,
		"rate_bill_lookup", c.RateBillLookup,
		"trusted_proxies", or(c.TrustedProxies, "(none)"),
		"session_idle", c.SessionIdle.String(),
		"shutdown_delay", c.ShutdownDelay.String(),
		"outbox_lease", c.OutboxLease.String(),
		"breaker_failures", c.BreakerFailures,
		"breaker_open", c.BreakerOpen.String(),
		"session_max", c.SessionMax.String(),
		"body_limit", c.BodyLimit,
		"seed_demo", c.SeedDemo,
		"wechat_mini_appid", c.MiniAppID,
		"wechat_mini_secret", secret(c.MiniAppSecret),
		"wechat_app_appid", c.OpenAppID,
		"wechat_app_secret", secret(c.OpenAppSecret),
		"wechat_miniprogram_state", c.TemplateStatus,
		"wechat_push", c.Push,
		"wechat_push_token", secret(c.PushToken),
		"wechat_push_aes_key", secret(c.PushAESKey),
		"wechat_push_safe", c.PushSafe,
		"fcm", c.FCM,
		"fcm_endpoint", or(c.FCMEndpoint, "(default)"),
		"fcm_credentials", or(c.FCMCredentials, "(development: minted in the data folder)"),
		"fcm_project", or(c.FCMProject, "(from the credential)"),
		"wechatpay_mchid", or(c.WeChatPayMchID, "(development: the simulator's)"),
		"wechatpay_serial_no", c.WeChatPaySerialNo,
		"wechatpay_private_key", c.WeChatPayPrivateKey,
		"wechatpay_apiv3_key", secret(c.WeChatPayAPIv3Key),
		"wechatpay_public_key_id", c.WeChatPayPubKeyID,
		"wechatpay_public_key", c.WeChatPayPubKey,
		"wechatpay_platform_certs", c.WeChatPayCerts,
		"wechatpay_base_url", or(c.WeChatPayBaseURL, "(default)"),
		"alipay_app_id", or(c.AlipayAppID, "(development: the simulator's)"),
		"alipay_private_key", c.AlipayPrivateKey,
		"alipay_public_key", c.AlipayPublicKey,
		"alipay_seller_id", c.AlipaySellerID,
		"alipay_base_url", or(c.AlipayBaseURL, "(default)"),
		"pay_handle_deadline", c.PayHandleDeadline.String(),
		"pay_lease", c.PayLease.String(),
		"pay_sweep_every", c.PaySweepEvery.String(),
		"registry_base", or(RedactURL(c.RegistryBase), "(not set)"),
		"eval_default_days", c.EvalDefaultDays,
		"eval_rectify_days", c.EvalRectifyDays,
		"eval_region", c.EvalRegion,
		"enterprise_bookings_per_day", c.EnterpriseBookingsPerDay,
		"licence_sm2_key", or(c.LicenceSM2Key.String(), "(not set: development mints one in the data folder)"),
		"otel_endpoint", or(RedactURL(c.OTelEndpoint), "(not set: tracing off)"),
		"otel_sample_ratio", c.OTelSampleRatio,
	}
}

func validAESKey(k string) bool {
	_, err := DecodeEncodingAESKey(k)
	return err == nil
}

// regionCode is a GB/T 2260 administrative division code.
var regionCode = regexp.MustCompile(`^[1-9][0-9]{5}$`)
