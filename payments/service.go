package payments

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"golang.org/x/sync/singleflight"

	"banshi/internal/platform"
)

// Payer is what the order service needs to know of a citizen who pays.
type Payer struct {
	UserID     string
	Level      int    // real-name level (1..4)
	MiniOpenID string // the mini-program openid ("" when the citizen never logged in there)
}

// Payers looks citizens up for the order service.
type Payers interface {
	Payer(ctx context.Context, userID string) (Payer, error)
}

// Merchant is who Banshi is at one channel: a callback or a query naming
// another merchant or app is not about Banshi's orders.
type Merchant struct {
	ID     string   // WeChat mchid; Alipay seller id ("" = not checked)
	AppIDs []string // WeChat appids; Alipay app_id
}

// Deps is what the order service needs.
type Deps struct {
	DB        *mongo.Database
	Clock     platform.Clock
	Log       *slog.Logger // nil: discard
	Bills     *Bills
	Index     Indexer
	Owners    Owners
	Payers    Payers
	Notifier  Notifier
	Providers []Provider
	// Merchants by provider name; a provider without one is not checked.
	Merchants map[string]Merchant
	// NotifyURLs are the callback URLs given to the channels, by provider
	// name (Banshi's /api/v1/hooks/wechatpay and /api/v1/hooks/alipay).
	NotifyURLs map[string]string
	// Redis, optional, remembers which orders are paid so that a channel's
	// duplicate callbacks are acknowledged without reading MongoDB (paid.go).
	Redis       redis.UniversalClient
	RedisPrefix string
	// Members, optional, lets members of an enterprise pay its bills
	// without the notice's code (enterprise_payers.go).
	Members EnterpriseMembers
	// Metrics, optional, counts payments, refunds and refused callbacks
	// (metrics.go).
	Metrics *Metrics
}

// Config tunes the service; zero fields take the defaults in brackets.
type Config struct {
	OrderTTL       time.Duration // an order is payable this long [15 min]
	HandleDeadline time.Duration // the department must accept a payment within [24 h]
	QueryAfter     time.Duration // a citizen's read of a paying order older than this asks the channel [10 s]
	SweepAfter     time.Duration // the sweeper asks the channel about orders paying this long [1 min]
	// SweepLease is how long the sweeper's lease (SweepLease) holds without
	// a renewal: after its holder dies, another process sweeps once it
	// lapses [30 s].
	SweepLease time.Duration
}

// Service is 缴 and 办: citizens' orders for bills, the channels'
// callbacks, the department's handling with automatic refunds, finance's
// refunds, and the sweeper that finishes what a lost callback or a crash
// left open.
type Service struct {
	orders    *mongo.Collection
	refunds   *mongo.Collection
	idem      *mongo.Collection
	bills     *Bills
	clock     platform.Clock
	log       *slog.Logger
	index     Indexer
	owners    Owners
	members   EnterpriseMembers
	payers    Payers
	notify    Notifier
	providers map[string]Provider
	merchants map[string]Merchant
	notifyURL map[string]string
	cfg       Config
	rdb       redis.UniversalClient
	rprefix   string
	// flight joins concurrent deliveries of the same callback in this
	// process: one applies it, the others share its answer.
	flight  singleflight.Group
	metrics *Metrics
}

// NewService returns the service. Errors: a missing dependency.
func NewService(d Deps, cfg Config) (*Service, error) {
	if d.DB == nil || d.Clock == nil || d.Bills == nil || d.Index == nil || d.Owners == nil || d.Payers == nil || d.Notifier == nil {
		return nil, errors.New("payments: DB, Clock, Bills, Index, Owners, Payers and Notifier are required")
	}
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.OrderTTL <= 0 {
		cfg.OrderTTL = 15 * time.Minute
	}
	if cfg.HandleDeadline <= 0 {
		cfg.HandleDeadline = 24 * time.Hour
	}
	if cfg.QueryAfter <= 0 {
		cfg.QueryAfter = 10 * time.Second
	}
	if cfg.SweepAfter <= 0 {
		cfg.SweepAfter = time.Minute
	}
	if cfg.SweepLease <= 0 {
		cfg.SweepLease = 30 * time.Second
	}
	s := &Service{
		orders: d.DB.Collection(CollOrders), refunds: d.DB.Collection(CollRefunds), idem: d.DB.Collection(CollOrderIdem),
		bills: d.Bills, clock: d.Clock, log: log, index: d.Index, owners: d.Owners, members: d.Members, payers: d.Payers, notify: d.Notifier,
		providers: map[string]Provider{}, merchants: d.Merchants, notifyURL: d.NotifyURLs, cfg: cfg,
		rdb: d.Redis, rprefix: d.RedisPrefix, metrics: d.Metrics,
	}
	for _, p := range d.Providers {
		s.providers[p.Name()] = p
	}
	return s, nil
}

// Provider returns the channel of name (nil when not configured).
func (s *Service) Provider(name string) Provider { return s.providers[name] }

// Methods lists the payment methods the configured channels offer.
func (s *Service) Methods() []Method {
	var out []Method
	for _, m := range []Method{WeChatJSAPI, WeChatApp, AlipayApp, AlipayWap} {
		if s.providers[ProviderOf(m)] != nil {
			out = append(out, m)
		}
	}
	return out
}

// EnsureIndexes creates the indexes the sweeper, citizens' lists,
// reconciliation and the dashboard read by. Idempotent.
func (s *Service) EnsureIndexes(ctx context.Context) error {
	for _, ix := range []struct {
		coll *mongo.Collection
		keys bson.D
	}{
		{s.orders, bson.D{{Key: "state", Value: 1}, {Key: "created_at", Value: 1}}},
		{s.orders, bson.D{{Key: "bill_no", Value: 1}}},
		{s.orders, bson.D{{Key: "provider", Value: 1}, {Key: "paid_date", Value: 1}}},
		{s.refunds, bson.D{{Key: "state", Value: 1}}},
		{s.refunds, bson.D{{Key: "order_no", Value: 1}}},
		// The dashboard's payments and refunds per day (stats.go).
		{s.orders, bson.D{{Key: "paid_date", Value: 1}}},
		{s.refunds, bson.D{{Key: "settled_date", Value: 1}}},
	} {
		if _, err := ix.coll.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: ix.keys}); err != nil {
			return fmt.Errorf("payments indexes: %w", err)
		}
	}
	return nil
}

// now is the service clock's time, truncated to what MongoDB keeps.
func (s *Service) now() time.Time { return s.clock.Now().UTC().Truncate(time.Millisecond) }

// loadOrder reads one order. Errors: ErrOrderNotFound.
func (s *Service) loadOrder(ctx context.Context, orderNo string) (orderDoc, error) {
	var d orderDoc
	err := s.orders.FindOne(ctx, bson.M{"_id": orderNo}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return d, ErrOrderNotFound
	}
	if err != nil {
		return d, fmt.Errorf("read order: %w", err)
	}
	return d, nil
}

// errOrderChanged: a compare-and-swap lost to another change.
var errOrderChanged = errors.New("payments: order changed")

// casOrder applies set (and push, when not nil) to d if its version is
// still d's, recording a transition to set["state"] when it changes the
// state. It returns the order as written. Errors: errOrderChanged.
func (s *Service) casOrder(ctx context.Context, d orderDoc, set bson.M, cause string) (orderDoc, error) {
	now := s.now()
	set["version"] = d.Version + 1
	set["updated_at"] = now
	update := bson.M{"$set": set}
	if to, ok := set["state"].(string); ok && to != d.State {
		update["$push"] = bson.M{"transitions": transitionDoc{From: d.State, To: to, Cause: cause, At: now}}
	}
	r, err := s.orders.UpdateOne(ctx, bson.M{"_id": d.ID, "version": d.Version}, update)
	if err != nil {
		return d, fmt.Errorf("update order: %w", err)
	}
	if r.ModifiedCount == 0 {
		return d, errOrderChanged
	}
	return s.loadOrder(ctx, d.ID)
}
