package appointments

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"banshi/internal/platform"
)

// Idempotency keys for Book.
//
// Redis keeps every key's state ("<body hash>|p" while running, then
// "<body hash>|a|<appointment id>" or "<body hash>|e|<code>[|<until>]"), so
// a replay is answered without MongoDB. A request that gets a seat lease
// also inserts appt_idem "<user>|<key hash>" naming its pre-generated
// appointment ID, before any other effect; the appointment document (booked,
// or failed with the error code) is then the durable answer. Redis can lose
// one key without any sign (a failed write, eviction, a failover) and keep
// the rest, so a key Redis does not know is looked up in MongoDB before
// anything else, the seat pool included: the record that decided is read
// before any fast path. Answers that never reached MongoDB (the slot was
// full, the request was invalid) are re-evaluated after Redis loses them.
type idemKey struct {
	user     string
	keyHash  string
	bodyHash string
}

type idemDoc struct {
	ID            string    `bson:"_id"`
	UserID        string    `bson:"user_id"`
	BodyHash      string    `bson:"body_hash"`
	SlotID        string    `bson:"slot_id"`
	AppointmentID string    `bson:"appointment_id"`
	CreatedAt     time.Time `bson:"created_at"`
	ExpiresAt     time.Time `bson:"expires_at"`
}

func validIdemKey(k string) bool {
	if len(k) < 1 || len(k) > 255 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:16])
}

func newIdemKey(user, key string, req BookRequest) *idemKey {
	body := req.SlotID + "\x00" + req.ServiceID
	if req.OnBehalfOf != nil {
		body += "\x00" + req.OnBehalfOf.USCC
	}
	return &idemKey{user: user, keyHash: sha(key), bodyHash: sha(body)}
}

func (s *Service) idemRedisKey(k *idemKey) string { return s.key("idem", k.user, k.keyHash) }
func (k *idemKey) mongoID() string                { return k.user + "|" + k.keyHash }

const idemPendingTTL = 60 * time.Second

var claimScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v then return v end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ''
`)

// bookIdempotent answers from the key's record when there is one, else books
// and records the answer.
func (s *Service) bookIdempotent(ctx context.Context, who Citizen, req BookRequest, k *idemKey) (Appointment, error) {
	for range 3 {
		v, err := s.idemClaim(ctx, k)
		claimed := err == nil
		if claimed && v != "" {
			a, err, done := s.idemAnswer(ctx, k, v)
			if done {
				return a, err
			}
			continue // the running attempt vanished: claim again
		}
		// Claimed afresh, or Redis is down: MongoDB's record, if any,
		// answers, before anything that could refuse from Redis.
		if a, err, done := s.idemLookup(ctx, k); done {
			if claimed {
				s.idemRecord(ctx, k, a, err)
			}
			return a, err
		}
		a, err := s.book(ctx, who, req, k)
		if claimed {
			s.idemRecord(ctx, k, a, err)
		}
		return a, err
	}
	return Appointment{}, ErrIdempotencyInProgress
}

// idemClaim returns the key's Redis value, or "" after claiming it as
// running. An error means Redis is unavailable.
func (s *Service) idemClaim(ctx context.Context, k *idemKey) (string, error) {
	if !s.redisOK.up() {
		return "", errFastPathDown
	}
	v, err := claimScript.Run(ctx, s.rdb, []string{s.idemRedisKey(k)}, k.bodyHash+"|p", idemPendingTTL.Milliseconds()).Text()
	if err != nil {
		s.redisOK.failed(s.log, err)
		return "", err
	}
	return v, nil
}

// idemAnswer answers from a Redis value. done is false when the running
// attempt's claim disappeared and the caller should claim again.
func (s *Service) idemAnswer(ctx context.Context, k *idemKey, v string) (Appointment, error, bool) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		parts := strings.Split(v, "|")
		if len(parts) < 2 {
			return Appointment{}, fmt.Errorf("appointments: bad idempotency record %q", v), true
		}
		if parts[0] != k.bodyHash {
			return Appointment{}, ErrIdempotencyMismatch, true
		}
		switch parts[1] {
		case "a":
			if len(parts) < 3 {
				break
			}
			d, err := s.findAppt(ctx, parts[2])
			if err != nil {
				return Appointment{}, err, true
			}
			cat, err := s.cat.get(ctx)
			if err != nil {
				return Appointment{}, err, true
			}
			return s.firstAnswer(cat, d), nil, true
		case "e":
			if len(parts) < 3 {
				break
			}
			var until time.Time
			if len(parts) > 3 {
				if u, err := strconv.ParseInt(parts[3], 10, 64); err == nil {
					until = time.UnixMilli(u).In(shanghai())
				}
			}
			if err := errorForCode(parts[2], until); err != nil {
				return Appointment{}, err, true
			}
		}
		// running: wait for its answer
		if time.Now().After(deadline) {
			return Appointment{}, ErrIdempotencyInProgress, true
		}
		select {
		case <-ctx.Done():
			return Appointment{}, ctx.Err(), true
		case <-time.After(25 * time.Millisecond):
		}
		nv, err := s.rdb.Get(ctx, s.idemRedisKey(k)).Result()
		if errors.Is(err, redis.Nil) {
			return Appointment{}, nil, false
		}
		if err != nil {
			return Appointment{}, err, true
		}
		v = nv
	}
}

// idemRecord stores the answer in Redis: an appointment or a known error.
// After an internal error, or a refusal MongoDB did not decide (errNotFinal),
// the claim is removed so a retry runs again.
func (s *Service) idemRecord(ctx context.Context, k *idemKey, a Appointment, err error) {
	key := s.idemRedisKey(k)
	ctx = context.WithoutCancel(ctx)
	var v string
	switch code := Code(err); {
	case err == nil:
		v = k.bodyHash + "|a|" + a.ID
	case code == "" || code == "idempotency_mismatch" || code == "idempotency_in_progress" || errors.Is(err, errNotFinal):
		_ = s.rdb.Del(ctx, key).Err()
		return
	default:
		v = k.bodyHash + "|e|" + code
		if pe, ok := platform.AsError(err); ok && !pe.Until.IsZero() {
			v += "|" + strconv.FormatInt(pe.Until.UnixMilli(), 10)
		}
	}
	if rerr := s.rdb.Set(ctx, key, v, s.cfg.idempotencyTTL).Err(); rerr != nil {
		s.log.Warn("idempotency answer not kept in Redis; MongoDB still has it when the seat was reached", "err", rerr)
	}
}

// idemLookup answers from MongoDB's record, if any. done is false when there
// is none (or it was a dead attempt, now cleared).
func (s *Service) idemLookup(ctx context.Context, k *idemKey) (Appointment, error, bool) {
	var d idemDoc
	err := s.idem.FindOne(ctx, bson.M{"_id": k.mongoID()}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return Appointment{}, nil, false
	}
	if err != nil {
		return Appointment{}, fmt.Errorf("read idempotency record: %w", err), true
	}
	a, err, proceed := s.idemFromDoc(ctx, k, d)
	return a, err, !proceed
}

// idemInsert records that this attempt (appointment apptID) runs under k.
// When a record exists, its answer is returned with replayed true.
func (s *Service) idemInsert(ctx context.Context, k *idemKey, apptID, slotID string) (Appointment, error, bool) {
	now := ms(s.clock.Now())
	doc := idemDoc{ID: k.mongoID(), UserID: k.user, BodyHash: k.bodyHash, SlotID: slotID,
		AppointmentID: apptID, CreatedAt: now, ExpiresAt: now.Add(s.cfg.idempotencyTTL)}
	for range 3 {
		_, err := s.idem.InsertOne(ctx, doc)
		if err == nil {
			return Appointment{}, nil, false
		}
		if !platform.IsDuplicateKey(err) {
			return Appointment{}, fmt.Errorf("insert idempotency record: %w", err), false
		}
		var cur idemDoc
		err = s.idem.FindOne(ctx, bson.M{"_id": doc.ID}).Decode(&cur)
		if errors.Is(err, mongo.ErrNoDocuments) {
			continue
		}
		if err != nil {
			return Appointment{}, fmt.Errorf("read idempotency record: %w", err), false
		}
		a, err, proceed := s.idemFromDoc(ctx, k, cur)
		if !proceed {
			return a, err, true
		}
	}
	return Appointment{}, ErrIdempotencyInProgress, true
}

// idemFromDoc answers from a MongoDB record. proceed is true when the
// recorded attempt died without an answer and the record was removed.
func (s *Service) idemFromDoc(ctx context.Context, k *idemKey, d idemDoc) (Appointment, error, bool) {
	if d.BodyHash != k.bodyHash {
		return Appointment{}, ErrIdempotencyMismatch, false
	}
	if !d.ExpiresAt.After(s.clock.Now()) {
		_ = s.release(ctx, s.idem, d.ID, d.AppointmentID)
		return Appointment{}, nil, true
	}
	for range 2 {
		a, err := s.findAppt(ctx, d.AppointmentID)
		switch {
		case err == nil && a.Status != statusFailed:
			cat, err := s.cat.get(ctx)
			if err != nil {
				return Appointment{}, err, false
			}
			return s.firstAnswer(cat, a), nil, false
		case err == nil:
			if e := errorForCode(a.FailCode, a.SuspendedUntil); e != nil {
				return Appointment{}, e, false
			}
			// abandoned or internal: run the request again
			_ = s.release(ctx, s.idem, d.ID, d.AppointmentID)
			return Appointment{}, nil, true
		case !errors.Is(err, ErrNotFound):
			return Appointment{}, err, false
		}
		if s.clock.Now().Sub(d.CreatedAt) < s.cfg.abandonAfter {
			return Appointment{}, ErrIdempotencyInProgress, false
		}
		if err := s.tombstone(ctx, d.AppointmentID, "abandoned"); err != nil && !platform.IsDuplicateKey(err) {
			return Appointment{}, err, false
		}
	}
	return Appointment{}, ErrIdempotencyInProgress, false
}
