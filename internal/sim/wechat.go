package sim

import (
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"banshi/internal/platform"
)

// Lifetimes and limits of the simulated WeChat server.
const (
	codeTTL             = 5 * time.Minute // login and realname consent codes
	tokenOverlap        = 5 * time.Minute // a superseded access token keeps working this long
	verifyIDTTL         = time.Hour       // face verify_id
	defaultTokenTTL     = 7200 * time.Second
	loginPerMinute      = 100 // jscode2session calls per user per minute before 45011
	sweepEvery          = time.Minute
	maxBodyBytes        = 1 << 20
	retainExpiredTokens = 24 * time.Hour   // answer 42001 rather than 40001 this long after expiry
	forceRefreshPerDay  = 20               // stable_token force_refresh calls per app per day before 45009
	forceRefreshGap     = 30 * time.Second // shortest interval between two force_refresh calls
)

// Code kinds accepted by POST /sim/wechat/codes.
const (
	kindMiniProgram = "miniprogram"
	kindApp         = "app"
)

// WeChatOptions configures the simulator.
type WeChatOptions struct {
	MiniApps map[string]string // appid -> secret for mini-programs (jscode2session, tokens, realname, face, subscribe)
	OpenApps map[string]string // appid -> secret for Open Platform mobile apps (/sns/oauth2/access_token)
	Clock    platform.Clock    // nil => platform.SystemClock{}
	Log      *slog.Logger      // nil => discard
	TokenTTL time.Duration     // access_token expires_in; 0 => 7200s
}

// WeChat simulates the WeChat server API and the user's phone. Build it with
// NewWeChat and serve Handler. Safe for concurrent use.
type WeChat struct {
	clock    platform.Clock
	log      *slog.Logger
	tokenTTL time.Duration

	down atomic.Int64 // 0 healthy, >0 HTTP status, -1 hang

	pushClient *http.Client   // message pushes to the mini-programs' servers
	pushing    sync.WaitGroup // pushes being delivered

	mu            sync.Mutex
	miniApps      map[string]string   // appid -> secret
	apps          map[string]*miniApp // appid -> console settings of a mini-program
	openApps      map[string]string
	users         map[string]*wxUser // by mini-program openid
	unionIDs      map[string]bool
	codes         map[string]*loginCode
	realnameCodes map[string]*realnameCode
	tokens        map[string]*accessToken
	latestToken   map[string]string // appid -> newest /cgi-bin/token token
	stableToken   map[string]string // appid -> current stable_token token
	forceRefresh  map[string]forceWindow
	verifies      map[string]*faceVerify
	credits       map[creditKey]int
	messages      map[string][]sentMessage // by openid
	loginWindows  map[string]rateWindow    // by openid
	calls         map[string]int           // protocol path -> calls
	nextMsgID     int64
	lastSweep     time.Time
	pushes        []*pushRecord // the latest maxPushRecords pushes
	pushSeq       int
}

// wxUser is one WeChat user: a unionid, the mini-program openid, and the
// identity WeChat Pay holds for the real-name check (may be empty).
type wxUser struct {
	openID   string
	unionID  string
	realName string
	idNumber string
}

// loginCode is a one-time login code a user's phone obtained. A used code
// is kept until it expires, so that its reuse answers 40163.
type loginCode struct {
	openID  string
	kind    string
	appID   string
	expires time.Time
	used    bool
}

// realnameCode is a one-time consent code for checkrealnameinfo.
type realnameCode struct {
	openID  string
	expires time.Time
}

// accessToken is an issued client_credential token.
type accessToken struct {
	appID      string
	expires    time.Time
	superseded time.Time // zero while current; from then on the token answers 40001
	killed     bool      // ExpireAccessTokens
}

// faceVerify is one face verification started by getverifyid.
type faceVerify struct {
	openID   string
	outSeqNo string
	certType string
	certName string
	certNo   string
	expires  time.Time
	outcome  string // "", "success" or "fail"
}

// creditKey names one user's one-time subscription credits for a template.
type creditKey struct {
	openID     string
	templateID string
}

// sentMessage is a delivered subscribe message.
type sentMessage struct {
	TemplateID       string               `json:"template_id"`
	Page             string               `json:"page"`
	Data             map[string]dataValue `json:"data"`
	MiniprogramState string               `json:"miniprogram_state"`
	SentAt           time.Time            `json:"sent_at"`
}

// dataValue is one template field as delivered.
type dataValue struct {
	Value string `json:"value"`
}

// rateWindow counts calls in one clock minute.
type rateWindow struct {
	minute int64
	count  int
}

// NewWeChat returns a simulator with the given apps and no users.
func NewWeChat(opts WeChatOptions) *WeChat {
	w := &WeChat{
		clock:         opts.Clock,
		log:           opts.Log,
		tokenTTL:      opts.TokenTTL,
		miniApps:      make(map[string]string),
		apps:          make(map[string]*miniApp),
		openApps:      make(map[string]string),
		users:         make(map[string]*wxUser),
		unionIDs:      make(map[string]bool),
		codes:         make(map[string]*loginCode),
		realnameCodes: make(map[string]*realnameCode),
		tokens:        make(map[string]*accessToken),
		latestToken:   make(map[string]string),
		stableToken:   make(map[string]string),
		forceRefresh:  make(map[string]forceWindow),
		verifies:      make(map[string]*faceVerify),
		credits:       make(map[creditKey]int),
		messages:      make(map[string][]sentMessage),
		loginWindows:  make(map[string]rateWindow),
		calls:         make(map[string]int),
		nextMsgID:     2000000000,
		pushClient:    &http.Client{Timeout: pushTimeout},
	}
	if w.clock == nil {
		w.clock = platform.SystemClock{}
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	if w.tokenTTL <= 0 {
		w.tokenTTL = defaultTokenTTL
	}
	for id, secret := range opts.MiniApps {
		w.miniApps[id] = secret
		w.apps[id] = newMiniApp()
	}
	for id, secret := range opts.OpenApps {
		w.openApps[id] = secret
	}
	return w
}

// AddMiniApp registers (or re-keys) a mini-program appid with its secret. A
// new mini-program is bound to an Open Platform account, has the
// DefaultReleasedPages and no subscribe templates.
func (w *WeChat) AddMiniApp(appid, secret string) {
	w.mu.Lock()
	w.miniApps[appid] = secret
	if w.apps[appid] == nil {
		w.apps[appid] = newMiniApp()
	}
	w.mu.Unlock()
}

// AddOpenApp registers (or re-keys) an Open Platform mobile app with its secret.
func (w *WeChat) AddOpenApp(appid, secret string) {
	w.mu.Lock()
	w.openApps[appid] = secret
	w.mu.Unlock()
}

// SetDown injects a fault into every protocol endpoint (control endpoints keep
// working): 0 is healthy; a status > 0 answers that HTTP status with a short
// body; -1 hangs each request until its context ends, like an unreachable
// upstream.
func (w *WeChat) SetDown(status int) {
	w.down.Store(int64(status))
}

// ExpireAccessTokens makes every access token issued so far answer 42001.
// Tokens issued afterwards work as usual.
func (w *WeChat) ExpireAccessTokens() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, t := range w.tokens {
		t.killed = true
	}
}

// Calls reports how many protocol requests reached path (without the
// "/sim/wechat" prefix, e.g. "/cgi-bin/token"), counting faulted ones.
func (w *WeChat) Calls(path string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.calls[path]
}

// Handler serves the protocol and control endpoints, all under "/sim/wechat/".
func (w *WeChat) Handler() http.Handler {
	mux := http.NewServeMux()
	w.routeProtocol(mux)
	w.routeControl(mux)
	return mux
}

// now returns the clock's time in UTC.
func (w *WeChat) now() time.Time { return w.clock.Now().UTC() }

// sweepLocked drops expired codes and verifications, and tokens long expired,
// at most once a minute. Callers hold w.mu.
func (w *WeChat) sweepLocked(now time.Time) {
	if now.Sub(w.lastSweep) < sweepEvery {
		return
	}
	w.lastSweep = now
	for k, c := range w.codes {
		if !now.Before(c.expires) {
			delete(w.codes, k)
		}
	}
	for k, c := range w.realnameCodes {
		if !now.Before(c.expires) {
			delete(w.realnameCodes, k)
		}
	}
	for k, v := range w.verifies {
		if !now.Before(v.expires) {
			delete(w.verifies, k)
		}
	}
	for k, t := range w.tokens {
		if now.Sub(t.expires) > retainExpiredTokens {
			delete(w.tokens, k)
		}
	}
	for k, rw := range w.loginWindows {
		if rw.minute < now.Unix()/60 {
			delete(w.loginWindows, k)
		}
	}
}
