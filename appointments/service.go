package appointments

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

// Deps is everything the Service needs. DB, Redis, Clock and CheckinKey are
// required; the tuning fields take the documented defaults when zero.
type Deps struct {
	DB          *mongo.Database
	Redis       redis.UniversalClient
	RedisPrefix string // put in front of every Redis key, e.g. "banshi:"
	Clock       platform.Clock
	Log         *slog.Logger    // nil: discard
	Notifier    Notifier        // nil: messages are dropped
	People      PeopleDirectory // nil: staff lists show no names
	Levels      Levels          // nil: the caller's level is taken as given
	// LevelRaised is told when Levels showed a level above the caller's (so
	// the session can learn it). Optional.
	LevelRaised func(ctx context.Context, userID string, level int)
	CheckinKey  []byte // HMAC key of check-in QR payloads, at least 16 bytes
	// CheckinKeyPrevious is the key before the last rotation (nil: none):
	// payloads it signed still verify; new ones are signed with CheckinKey.
	CheckinKeyPrevious []byte

	MaxActive int // active bookings per person [3]
	// Enterprises says who may book for an enterprise; nil refuses every
	// booking on behalf of one.
	Enterprises Enterprises
	// MaxPerEnterpriseDay: booked appointments per enterprise and day [5].
	MaxPerEnterpriseDay int
	NoShowLimit         int           // no-shows within NoShowPeriod that suspend booking [2]
	NoShowPeriod        time.Duration // [30 days]
	SuspendFor          time.Duration // [30 days]
	AbandonAfter        time.Duration // an unfinished booking older than this is repaired [2 minutes]
	SeatLease           time.Duration // a seat handed out by Redis returns unless confirmed within [30 s]
	IdempotencyTTL      time.Duration // how long Idempotency-Key answers are kept [24 h]
	Metrics             *Metrics      // nil: nothing counted (metrics.go)
}

// Service is the booking engine and catalog of halls. Safe for concurrent use,
// and any number of Services (processes) may share one MongoDB and one Redis.
type Service struct {
	db       *mongo.Database
	rdb      redis.UniversalClient
	prefix   string
	clock    platform.Clock
	log      *slog.Logger
	notify   Notifier
	people   PeopleDirectory
	levels   Levels
	raised   func(ctx context.Context, userID string, level int)
	ents     Enterprises
	ckey     []byte
	ckeyPrev []byte // nil: no previous key
	cfg      tuning
	cat      *catalogCache
	pool     *seatPool
	flights  singleflight.Group // one seat-pool rebuild or epoch read per key at a time in this process
	leases   *platform.Leases
	redisOK  breaker
	metrics  *Metrics

	halls, depts, services, schedules, calendar *mongo.Collection
	appts, seats, daylocks, userslots, codes    *mongo.Collection
	idem, queue, noshows, penalties, meta       *mongo.Collection
}

type tuning struct {
	maxActive      int
	maxPerEntDay   int
	noShowLimit    int
	noShowPeriod   time.Duration
	suspendFor     time.Duration
	abandonAfter   time.Duration
	seatLease      time.Duration
	idempotencyTTL time.Duration
}

// NewService checks d and returns the service. It does not touch the stores;
// call EnsureIndexes once at start-up.
func NewService(d Deps) (*Service, error) {
	switch {
	case d.DB == nil:
		return nil, errors.New("appointments: Deps.DB is required")
	case d.Redis == nil:
		return nil, errors.New("appointments: Deps.Redis is required")
	case d.Clock == nil:
		return nil, errors.New("appointments: Deps.Clock is required")
	case len(d.CheckinKey) < 16:
		return nil, errors.New("appointments: Deps.CheckinKey must be at least 16 bytes")
	}
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	def := func(v, dv time.Duration) time.Duration {
		if v <= 0 {
			return dv
		}
		return v
	}
	defInt := func(v, dv int) int {
		if v <= 0 {
			return dv
		}
		return v
	}
	s := &Service{
		db: d.DB, rdb: d.Redis, prefix: d.RedisPrefix, clock: d.Clock, log: log,
		notify: d.Notifier, people: d.People, levels: d.Levels, raised: d.LevelRaised, ents: d.Enterprises, ckey: append([]byte(nil), d.CheckinKey...),
		ckeyPrev: append([]byte(nil), d.CheckinKeyPrevious...),
		cfg: tuning{
			maxActive:      defInt(d.MaxActive, 3),
			maxPerEntDay:   defInt(d.MaxPerEnterpriseDay, 5),
			noShowLimit:    defInt(d.NoShowLimit, 2),
			noShowPeriod:   def(d.NoShowPeriod, 30*24*time.Hour),
			suspendFor:     def(d.SuspendFor, 30*24*time.Hour),
			abandonAfter:   def(d.AbandonAfter, 2*time.Minute),
			seatLease:      def(d.SeatLease, 30*time.Second),
			idempotencyTTL: def(d.IdempotencyTTL, 24*time.Hour),
		},
		leases: platform.NewLeases(d.DB, d.Clock), metrics: d.Metrics,

		halls:     d.DB.Collection("appt_halls"),
		depts:     d.DB.Collection("appt_departments"),
		services:  d.DB.Collection("appt_services"),
		schedules: d.DB.Collection("appt_schedules"),
		calendar:  d.DB.Collection("appt_calendar"),
		appts:     d.DB.Collection("appointments"),
		seats:     d.DB.Collection("appt_seats"),
		daylocks:  d.DB.Collection("appt_daylocks"),
		userslots: d.DB.Collection("appt_userslots"),
		codes:     d.DB.Collection("appt_codes"),
		idem:      d.DB.Collection("appt_idem"),
		queue:     d.DB.Collection("appt_queue"),
		noshows:   d.DB.Collection("appt_noshows"),
		penalties: d.DB.Collection("appt_penalties"),
		meta:      d.DB.Collection("appt_meta"),
	}
	s.cat = newCatalogCache(s)
	s.pool = newSeatPool(d.Redis, d.RedisPrefix)
	return s, nil
}

// EnsureIndexes creates the secondary indexes the queries use. Idempotent.
func (s *Service) EnsureIndexes(ctx context.Context) error {
	idx := []struct {
		c    *mongo.Collection
		keys bson.D
	}{
		{s.appts, bson.D{{Key: "user_id", Value: 1}, {Key: "start", Value: -1}}},
		{s.appts, bson.D{{Key: "hall_id", Value: 1}, {Key: "date", Value: 1}, {Key: "start", Value: 1}}},
		{s.appts, bson.D{{Key: "status", Value: 1}, {Key: "end", Value: 1}}},
		{s.seats, bson.D{{Key: "slot_id", Value: 1}}},
		{s.idem, bson.D{{Key: "slot_id", Value: 1}}},
		{s.idem, bson.D{{Key: "expires_at", Value: 1}}},
		{s.noshows, bson.D{{Key: "user_id", Value: 1}, {Key: "at", Value: 1}}},
		{s.depts, bson.D{{Key: "hall_id", Value: 1}}},
		{s.services, bson.D{{Key: "hall_id", Value: 1}, {Key: "department_id", Value: 1}}},
	}
	for _, i := range idx {
		if _, err := i.c.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: i.keys}); err != nil {
			return fmt.Errorf("appointments indexes on %s: %w", i.c.Name(), err)
		}
	}
	return nil
}

func (s *Service) key(parts ...string) string {
	k := s.prefix + "appt"
	for _, p := range parts {
		k += ":" + p
	}
	return k
}
