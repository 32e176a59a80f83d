package staff

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"golang.org/x/crypto/bcrypt"

	"banshi/internal/platform"
)

// Roles (platform's, named here for callers of this package).
const (
	RoleAdmin     = platform.RoleAdmin     // everything, at every hall
	RoleHallStaff = platform.RoleHallStaff // appointments of their halls
	RoleFinance   = platform.RoleFinance   // payments and reconciliation
)

// Account is a staff account as the API shows it (never the password hash).
type Account struct {
	Username    string    `json:"username" bson:"_id"`
	DisplayName string    `json:"display_name" bson:"display_name"`
	Role        string    `json:"role" bson:"role"`
	HallIDs     []string  `json:"hall_ids" bson:"hall_ids"`
	Disabled    bool      `json:"disabled" bson:"disabled"`
	CreatedAt   time.Time `json:"created_at" bson:"created_at"`
}

// HasRole reports whether the account has one of roles.
func (a Account) HasRole(roles ...string) bool { return slices.Contains(roles, a.Role) }

// CanAccessHall reports whether the account may work at hallID: admins
// everywhere, hall staff at their halls, finance nowhere.
func (a Account) CanAccessHall(hallID string) bool {
	switch a.Role {
	case RoleAdmin:
		return true
	case RoleHallStaff:
		return slices.Contains(a.HallIDs, hallID)
	}
	return false
}

// Require returns ErrForbidden unless a has one of roles.
func Require(a Account, roles ...string) error {
	if !a.HasRole(roles...) {
		return ErrForbidden
	}
	return nil
}

type accountDoc struct {
	Account      `bson:",inline"`
	PasswordHash string `bson:"password_hash"`
	SessionGen   int64  `bson:"session_gen"`
}

// NewAccount is what CreateAccount takes.
type NewAccount struct {
	Username    string   `json:"username"`
	Password    string   `json:"password"`
	DisplayName string   `json:"display_name"`
	Role        string   `json:"role"`
	HallIDs     []string `json:"hall_ids"`
}

// Deps is everything the Service needs. DB, Redis, Clock and SessionSecret
// are required.
type Deps struct {
	DB            *mongo.Database
	Redis         redis.UniversalClient
	RedisPrefix   string // put in front of every Redis key
	Clock         platform.Clock
	Log           *slog.Logger // nil: discard
	SessionSecret []byte       // HMAC key for session tokens at rest, at least 16 bytes
	// SessionSecretPrevious is the session secret before a rotation (nil:
	// none): sessions opened under it are still found until they end.
	SessionSecretPrevious []byte
	SessionIdle           time.Duration // sliding idle expiry [2 h]
	SessionMax            time.Duration // absolute session cap [12 h]
	BcryptCost            int           // [bcrypt.DefaultCost]; tests may use bcrypt.MinCost
	LoginPerAccount       int           // login attempts per username per minute [10]
	BcryptSlots           int           // password comparisons at once in this process [half the CPUs, at least 1]
	// RefuseDemo (production): the demo accounts never log in, nor does any
	// account whose password is DemoPassword.
	RefuseDemo bool
}

// Service manages staff accounts, sessions and the audit log.
type Service struct {
	accounts *mongo.Collection
	audit    *mongo.Collection
	rdb      redis.UniversalClient
	prefix   string
	clock    platform.Clock
	log      *slog.Logger
	digest   *platform.Digester // session tokens under the session secret
	// prevDigest digests under the session secret before a rotation (nil: none).
	prevDigest *platform.Digester
	idle       time.Duration
	maxAge     time.Duration
	cost       int
	dummy      []byte // a hash to compare against for unknown users (equal timing)
	noDemo     bool   // Deps.RefuseDemo

	limiter    *redis_rate.Limiter
	perAccount int
	slots      chan struct{}               // bcrypt slots
	compare    func(hash, pw []byte) error // bcrypt.CompareHashAndPassword; tests count calls
}

// NewService checks d and returns the service.
func NewService(d Deps) (*Service, error) {
	switch {
	case d.DB == nil:
		return nil, errors.New("staff: Deps.DB is required")
	case d.Redis == nil:
		return nil, errors.New("staff: Deps.Redis is required")
	case d.Clock == nil:
		return nil, errors.New("staff: Deps.Clock is required")
	case len(d.SessionSecret) < 16:
		return nil, errors.New("staff: Deps.SessionSecret must be at least 16 bytes")
	}
	s := &Service{
		accounts: d.DB.Collection("staff_accounts"), audit: d.DB.Collection("staff_audit"),
		rdb: d.Redis, prefix: d.RedisPrefix, clock: d.Clock, log: d.Log,
		digest: platform.NewDigester(d.SessionSecret), idle: d.SessionIdle, maxAge: d.SessionMax, cost: d.BcryptCost,
		noDemo: d.RefuseDemo, limiter: redis_rate.NewLimiter(d.Redis), perAccount: d.LoginPerAccount,
		compare: bcrypt.CompareHashAndPassword,
	}
	if len(d.SessionSecretPrevious) > 0 {
		s.prevDigest = platform.NewDigester(d.SessionSecretPrevious)
	}
	if s.perAccount <= 0 {
		s.perAccount = 10
	}
	slots := d.BcryptSlots
	if slots <= 0 {
		slots = max(1, runtime.GOMAXPROCS(0)/2)
	}
	s.slots = make(chan struct{}, slots)
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.idle <= 0 {
		s.idle = 2 * time.Hour
	}
	if s.maxAge <= 0 {
		s.maxAge = 12 * time.Hour
	}
	if s.maxAge < s.idle {
		s.maxAge = s.idle
	}
	if s.cost == 0 {
		s.cost = bcrypt.DefaultCost
	}
	dummy, err := bcrypt.GenerateFromPassword([]byte("not a password of anyone"), s.cost)
	if err != nil {
		return nil, fmt.Errorf("staff: bcrypt cost %d: %w", s.cost, err)
	}
	s.dummy = dummy
	return s, nil
}

// EnsureIndexes creates the audit log's indexes. Idempotent.
func (s *Service) EnsureIndexes(ctx context.Context) error {
	for _, keys := range []bson.D{
		{{Key: "at", Value: -1}},
		{{Key: "actor", Value: 1}, {Key: "at", Value: -1}},
		// "what happened to this appointment / order / account", and a
		// hall's log: the console's audit filters.
		{{Key: "target", Value: 1}, {Key: "at", Value: -1}},
		{{Key: "hall_id", Value: 1}, {Key: "at", Value: -1}},
	} {
		if _, err := s.audit.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: keys}); err != nil {
			return fmt.Errorf("staff indexes: %w", err)
		}
	}
	return nil
}

func checkPassword(p string) error {
	if len(p) < 8 || len(p) > 72 {
		return invalid("password", "length", "密码应为 8 至 72 个字节")
	}
	return nil
}

func (n *NewAccount) validate() error {
	n.Username = strings.ToLower(strings.TrimSpace(n.Username))
	if !platform.ValidStaffUsername(n.Username) {
		return invalid("username", "format", "用户名应为 3 至 32 个小写字母、数字、点、下划线或连字符")
	}
	if err := checkPassword(n.Password); err != nil {
		return err
	}
	if len([]rune(n.DisplayName)) > 50 {
		return invalid("display_name", "length", "显示名称最多 50 个字")
	}
	switch n.Role {
	case RoleAdmin, RoleFinance:
		if len(n.HallIDs) > 0 {
			return invalid("hall_ids", "role", "只有大厅工作人员账号才能指定大厅")
		}
	case RoleHallStaff:
		if len(n.HallIDs) == 0 || len(n.HallIDs) > 50 {
			return invalid("hall_ids", "range", "大厅工作人员账号须指定 1 至 50 个大厅")
		}
		for _, h := range n.HallIDs {
			if !platform.ValidCatalogID(h) {
				return invalid("hall_ids", "format", "大厅编号格式错误")
			}
		}
	default:
		return invalid("role", "enum", "角色应为 admin、hall_staff 或 finance")
	}
	if n.HallIDs == nil {
		n.HallIDs = []string{}
	}
	return nil
}

// CreateAccount adds an account. The api lets only admins call it.
// Errors: ErrInvalid (naming the field: username, password, display_name,
// role, hall_ids), ErrExists.
func (s *Service) CreateAccount(ctx context.Context, n NewAccount) (Account, error) {
	if err := n.validate(); err != nil {
		return Account{}, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(n.Password), s.cost)
	if err != nil {
		return Account{}, fmt.Errorf("hash password: %w", err)
	}
	doc := accountDoc{
		Account: Account{Username: n.Username, DisplayName: n.DisplayName, Role: n.Role, HallIDs: n.HallIDs,
			CreatedAt: s.clock.Now().UTC().Truncate(time.Millisecond)},
		PasswordHash: string(hash),
	}
	if _, err := s.accounts.InsertOne(ctx, doc); err != nil {
		if platform.IsDuplicateKey(err) {
			return Account{}, ErrExists
		}
		return Account{}, fmt.Errorf("create account: %w", err)
	}
	a := doc.Account
	a.CreatedAt = platform.Local(a.CreatedAt)
	return a, nil
}

func (s *Service) find(ctx context.Context, username string) (*accountDoc, error) {
	var d accountDoc
	err := s.accounts.FindOne(ctx, bson.M{"_id": username}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read account: %w", err)
	}
	d.CreatedAt = platform.Local(d.CreatedAt)
	return &d, nil
}

// GetAccount returns one account. Errors: ErrNotFound.
func (s *Service) GetAccount(ctx context.Context, username string) (Account, error) {
	d, err := s.find(ctx, strings.ToLower(username))
	if err != nil {
		return Account{}, err
	}
	return d.Account, nil
}

// ListAccounts returns every account by username. Errors: storage only.
func (s *Service) ListAccounts(ctx context.Context) ([]Account, error) {
	cur, err := s.accounts.Find(ctx, bson.M{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	var docs []accountDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	out := make([]Account, len(docs))
	for i, d := range docs {
		out[i] = d.Account
		out[i].CreatedAt = platform.Local(d.CreatedAt)
	}
	return out, nil
}

// SetPassword changes the password and ends every session of the account.
// Errors: ErrInvalid (password), ErrNotFound.
func (s *Service) SetPassword(ctx context.Context, username, password string) error {
	if err := checkPassword(password); err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.cost)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	return s.update(ctx, username, bson.M{"$set": bson.M{"password_hash": string(hash)}, "$inc": bson.M{"session_gen": 1}})
}

// SetDisabled disables (ending every session) or re-enables an account.
// Errors: ErrNotFound.
func (s *Service) SetDisabled(ctx context.Context, username string, disabled bool) error {
	u := bson.M{"$set": bson.M{"disabled": disabled}}
	if disabled {
		u["$inc"] = bson.M{"session_gen": 1}
	}
	return s.update(ctx, username, u)
}

// RevokeAll ends every session of the account at once. Errors: ErrNotFound.
func (s *Service) RevokeAll(ctx context.Context, username string) error {
	return s.update(ctx, username, bson.M{"$inc": bson.M{"session_gen": 1}})
}

func (s *Service) update(ctx context.Context, username string, u bson.M) error {
	res, err := s.accounts.UpdateOne(ctx, bson.M{"_id": strings.ToLower(username)}, u)
	if err != nil {
		return fmt.Errorf("update account: %w", err)
	}
	if res.MatchedCount == 0 {
		return ErrNotFound
	}
	return nil
}
