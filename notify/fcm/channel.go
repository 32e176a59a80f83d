package fcm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
	"banshi/notify"
)

// ChannelName is the outbox channel of app pushes.
const ChannelName = "fcm"

// Limits of what a push carries.
const (
	maxTitleBytes = 200
	maxBodyBytes  = 1000
	maxPayload    = 4096 // FCM's limit on data and notification text
	// keepSendRecords is how long a per-device record is kept: beyond the
	// outbox's delivery deadline (24 h).
	keepSendRecords = 72 * time.Hour
)

// Channel delivers outbox messages to every device of the citizen through a
// Sender (notify.Channel). Each push carries the message's Data plus "kind"
// and "message_id" (a client may see a message twice: at least once), the
// title and body as the notification.
//
// Outcomes: no device → Skip("no_device"); a token the service calls
// unregistered is removed from Devices, and when every device was → Skip
// ("unregistered"); a push no device accepts because it is invalid →
// Permanent; quota, unavailable, 5xx → RetryAfter; network errors →
// transient. One device accepting is enough for the delivery to be sent
// unless another must be retried.
//
// A retry does not repeat a device that already took the push: each device's
// outcome (sent, or refused for good) is recorded in "fcm_sends" under the
// delivery ID and the token's digest, and skipped by the next attempt. So a
// citizen with a phone and a tablet gets one push on each even when one of
// them needed three tries. A process dying between a send and its record,
// or a record that cannot be written, still repeats that one device.
type Channel struct {
	devices *Devices
	sender  Sender
	sends   *mongo.Collection
	clock   platform.Clock
	log     *slog.Logger
}

var _ notify.Channel = (*Channel)(nil)

// NewChannel returns the channel sending through sender to the devices
// registered in devices, recording per-device outcomes in db's "fcm_sends".
func NewChannel(db *mongo.Database, devices *Devices, sender Sender, clock platform.Clock, log *slog.Logger) *Channel {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Channel{devices: devices, sender: sender, sends: db.Collection("fcm_sends"), clock: clock, log: log}
}

// EnsureIndexes creates the index Purge reads by. (No expiry index: the
// embedded FerretDB has none, so Purge does the expiring.)
func (c *Channel) EnsureIndexes(ctx context.Context) error {
	if _, err := c.sends.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "at", Value: 1}}}); err != nil {
		return fmt.Errorf("fcm_sends indexes: %w", err)
	}
	return nil
}

// Purge deletes the per-device records older than 72 h, when their
// deliveries are long over (the outbox gives up after 24 h). Run it now and
// then (hourly) from any process: it is idempotent. It returns how many
// went.
func (c *Channel) Purge(ctx context.Context) (int64, error) {
	res, err := c.sends.DeleteMany(ctx, bson.M{"at": bson.M{"$lt": c.clock.Now().UTC().Add(-keepSendRecords)}})
	if err != nil {
		return 0, fmt.Errorf("purge fcm_sends: %w", err)
	}
	return res.DeletedCount, nil
}

// Name is "fcm".
func (c *Channel) Name() string { return ChannelName }

// sendRecord is one device's final outcome for one delivery.
type sendRecord struct {
	ID       string    `bson:"_id"` // "<delivery id>|<token digest>"
	Delivery string    `bson:"delivery"`
	Outcome  string    `bson:"outcome"` // "sent" or the permanent code
	At       time.Time `bson:"at"`
}

func recordID(delivery, token string) string {
	sum := sha256.Sum256([]byte(token))
	return delivery + "|" + hex.EncodeToString(sum[:16])
}

// deviceResult is what became of one device in one attempt.
type deviceResult struct {
	token string
	err   error
}

// Deliver sends d to each of the citizen's devices not yet done (notify.Channel).
func (c *Channel) Deliver(ctx context.Context, d notify.Delivery) error {
	push, err := pushOf(d.Message)
	if err != nil {
		return err
	}
	devs, err := c.devices.List(ctx, d.Message.UserID)
	if err != nil {
		return err
	}
	if len(devs) == 0 {
		return notify.Skip("no_device")
	}
	done, err := c.done(ctx, d.ID, devs)
	if err != nil {
		return err
	}
	var (
		sent, dead, unregistered, retry int
		permErr, retryErr, transient    error
		retryCode                       string
		after                           time.Duration
	)
	var todo []string
	for _, dev := range devs {
		switch outcome, ok := done[dev.Token]; {
		case !ok:
			todo = append(todo, dev.Token)
		case outcome == "sent":
			sent++
		default:
			dead++
			if permErr == nil {
				permErr = &SendError{Code: outcome, Permanent: true, Err: errors.New("refused on an earlier attempt")}
			}
		}
	}
	results := make([]deviceResult, len(todo))
	var wg sync.WaitGroup
	for i, tok := range todo {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = deviceResult{token: tok, err: c.sender.Send(ctx, tok, push)}
		}()
	}
	wg.Wait()
	for _, r := range results {
		var se *SendError
		switch {
		case r.err == nil:
			sent++
			c.record(ctx, d.ID, r.token, "sent")
		case errors.Is(r.err, ErrUnregistered):
			unregistered++
			if err := c.devices.RemoveToken(ctx, r.token); err != nil {
				c.log.Warn("fcm: unregistered token not removed; it is tried again next time", "err", err)
			}
		case errors.As(r.err, &se) && se.Permanent:
			dead++
			permErr = se
			c.record(ctx, d.ID, r.token, se.Code)
		case errors.As(r.err, &se):
			retry++
			retryErr, retryCode = se, se.Code
			after = max(after, se.RetryAfter)
		default:
			transient = r.err
		}
	}
	switch {
	case retry > 0 && after > 0:
		return notify.RetryAfter(retryCode, after, retryErr)
	case transient != nil:
		return transient
	case retry > 0:
		return retryErr // a plain error: the dispatcher's backoff
	case sent > 0:
		return nil
	case dead > 0:
		var se *SendError
		code := "refused"
		if errors.As(permErr, &se) {
			code = se.Code
		}
		return notify.Permanent(code, permErr)
	default: // every device unregistered
		return notify.Skip("unregistered")
	}
}

// done reads which of devs already have an outcome for delivery: one read
// by _id per device (a citizen has one to three, rarely ten), since the
// embedded FerretDB pushes down no other filter and would read every record
// for an $in.
func (c *Channel) done(ctx context.Context, delivery string, devs []Device) (map[string]string, error) {
	out := make(map[string]string, len(devs))
	for _, dev := range devs {
		var r sendRecord
		err := c.sends.FindOne(ctx, bson.M{"_id": recordID(delivery, dev.Token)},
			options.FindOne().SetProjection(bson.M{"outcome": 1})).Decode(&r)
		switch {
		case errors.Is(err, mongo.ErrNoDocuments):
		case err != nil:
			return nil, fmt.Errorf("read fcm_sends: %w", err)
		default:
			out[dev.Token] = r.Outcome
		}
	}
	return out, nil
}

// record keeps one device's final outcome; a failure is logged (that device
// may then be sent the push again).
func (c *Channel) record(ctx context.Context, delivery, token, outcome string) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_, err := c.sends.InsertOne(rctx, sendRecord{ID: recordID(delivery, token), Delivery: delivery, Outcome: outcome,
		At: c.clock.Now().UTC().Truncate(time.Millisecond)})
	if err != nil && !platform.IsDuplicateKey(err) {
		c.log.Warn("fcm: device outcome not recorded; a retry may repeat it", "delivery", delivery, "err", err)
	}
}

// pushOf builds the push of m: its data plus kind and message_id, the title
// and body clipped to FCM's limits. A data key FCM reserves, or data too
// large for FCM, is Permanent (no device would take it).
func pushOf(m notify.Message) (Push, error) {
	data := make(map[string]string, len(m.Data)+2)
	for k, v := range m.Data {
		if ReservedDataKey(k) {
			return Push{}, notify.Permanent("invalid_data", fmt.Errorf("data key %q is reserved by FCM", k))
		}
		data[k] = v
	}
	data["kind"] = m.Kind
	data["message_id"] = m.ID
	p := Push{Title: clipUTF8(m.Title, maxTitleBytes), Body: clipUTF8(m.Body, maxBodyBytes), Data: data}
	size := len(p.Title) + len(p.Body)
	for k, v := range data {
		size += len(k) + len(v)
	}
	if size > maxPayload {
		return Push{}, notify.Permanent("too_large", fmt.Errorf("%d bytes of data and text, FCM takes %d", size, maxPayload))
	}
	return p, nil
}

// ReservedDataKey reports a data key FCM refuses: "from", "message_type",
// "notification", or one starting with "google" or "gcm".
func ReservedDataKey(k string) bool {
	l := strings.ToLower(k)
	return l == "" || l == "from" || l == "message_type" || l == "notification" ||
		strings.HasPrefix(l, "google") || strings.HasPrefix(l, "gcm")
}

// clipUTF8 cuts s to at most n bytes at a character boundary, with "…" when
// it cut.
func clipUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
