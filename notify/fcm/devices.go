package fcm

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
)

// Device platforms.
const (
	PlatformAndroid = "android"
	PlatformIOS     = "ios"
)

// Limits of the device registry.
const (
	// MaxDevices is how many devices a citizen keeps; registering one more
	// drops the one seen least recently.
	MaxDevices = 10
	// MaxTokenLen bounds a registration token. FCM tokens are about 150 to
	// 200 characters today and Google documents no maximum; 1024 leaves
	// room to grow and keeps the token usable as a key and in a URL path.
	MaxTokenLen = 1024
)

// Errors of the device registry.
var (
	ErrPlatformInvalid = platform.Invalid("platform", "enum", "设备平台应为 android 或 ios")
	ErrTokenRequired   = platform.Invalid("token", "required", "请提供设备推送令牌")
	ErrTokenTooLong    = platform.Invalid("token", "length", "设备推送令牌过长")
	ErrTokenFormat     = platform.Invalid("token", "format", "设备推送令牌格式不正确")
	ErrDeviceNotFound  = platform.NewError("device_not_found", "未找到该设备")
)

// Device is one app installation that receives FCM messages for a citizen.
// The registration token is its identity: FCM issues one per installation.
type Device struct {
	Token      string    `bson:"_id"`
	UserID     string    `bson:"user_id"`
	Platform   string    `bson:"platform"`
	CreatedAt  time.Time `bson:"created_at"`   // when this user registered it
	LastSeenAt time.Time `bson:"last_seen_at"` // its latest registration
}

// Devices is the registry of the citizens' app installations (collection
// "devices", one document per registration token, _id = the token).
//
// A token belongs to one citizen at a time: registering a token another
// citizen holds moves it to the new one (the app was logged into another
// account, or the phone changed hands), since FCM delivers to the
// installation and the installation now serves the new citizen. The move
// restarts created_at. A citizen keeps at most MaxDevices devices; a new one
// beyond that drops the device seen least recently. Safe for concurrent use
// by any number of processes (single-document writes only).
type Devices struct {
	coll  *mongo.Collection
	clock platform.Clock
}

// NewDevices returns the registry on db.
func NewDevices(db *mongo.Database, clock platform.Clock) *Devices {
	return &Devices{coll: db.Collection("devices"), clock: clock}
}

// EnsureIndexes creates the index a citizen's devices are listed by.
func (d *Devices) EnsureIndexes(ctx context.Context) error {
	_, err := d.coll.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "user_id", Value: 1}, {Key: "last_seen_at", Value: -1}}})
	if err != nil {
		return fmt.Errorf("devices indexes: %w", err)
	}
	return nil
}

// CheckToken validates a registration token: 1 to MaxTokenLen characters of
// the alphabet FCM tokens use (letters, digits, '-', '_', ':', '.').
// Errors: ErrTokenRequired, ErrTokenTooLong, ErrTokenFormat.
func CheckToken(token string) error {
	switch {
	case token == "":
		return ErrTokenRequired
	case len(token) > MaxTokenLen:
		return ErrTokenTooLong
	}
	for i := 0; i < len(token); i++ {
		c := token[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == ':' || c == '.') {
			return ErrTokenFormat
		}
	}
	return nil
}

// Register records that token (an installation on platform) receives
// userID's messages, or refreshes it, and returns the device. A token of
// another citizen moves to userID (see Devices). Errors: ErrPlatformInvalid,
// the token's (CheckToken); nothing is written then.
func (d *Devices) Register(ctx context.Context, userID, plat, token string) (Device, error) {
	if plat != PlatformAndroid && plat != PlatformIOS {
		return Device{}, ErrPlatformInvalid
	}
	if err := CheckToken(token); err != nil {
		return Device{}, err
	}
	if userID == "" {
		return Device{}, errors.New("devices: no user")
	}
	now := d.clock.Now().UTC().Truncate(time.Millisecond)
	var dev Device
	for attempt := 0; ; attempt++ {
		// The citizen's own token: refresh it.
		err := d.coll.FindOneAndUpdate(ctx, bson.M{"_id": token, "user_id": userID},
			bson.M{"$set": bson.M{"platform": plat, "last_seen_at": now}},
			options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&dev)
		if err == nil {
			break
		}
		if !errors.Is(err, mongo.ErrNoDocuments) {
			return Device{}, fmt.Errorf("register device: %w", err)
		}
		// A new token, or another citizen's: this citizen's from now on.
		dev = Device{Token: token, UserID: userID, Platform: plat, CreatedAt: now, LastSeenAt: now}
		_, err = d.coll.ReplaceOne(ctx, bson.M{"_id": token}, dev, options.Replace().SetUpsert(true))
		if err == nil {
			break
		}
		if !platform.IsDuplicateKey(err) || attempt >= 2 {
			return Device{}, fmt.Errorf("register device: %w", err)
		}
		// Another registration inserted it first: start over.
	}
	if err := d.trim(ctx, userID); err != nil {
		return Device{}, err
	}
	return dev, nil
}

// trim drops userID's devices beyond MaxDevices, those seen least recently.
func (d *Devices) trim(ctx context.Context, userID string) error {
	cur, err := d.coll.Find(ctx, bson.M{"user_id": userID}, options.Find().
		SetSort(bson.D{{Key: "last_seen_at", Value: -1}, {Key: "_id", Value: 1}}).
		SetSkip(MaxDevices).SetProjection(bson.M{"_id": 1}))
	if err != nil {
		return fmt.Errorf("trim devices: %w", err)
	}
	var extra []struct {
		Token string `bson:"_id"`
	}
	if err := cur.All(ctx, &extra); err != nil {
		return fmt.Errorf("trim devices: %w", err)
	}
	if len(extra) == 0 {
		return nil
	}
	ids := make(bson.A, len(extra))
	for i, e := range extra {
		ids[i] = e.Token
	}
	if _, err := d.coll.DeleteMany(ctx, bson.M{"_id": bson.M{"$in": ids}, "user_id": userID}); err != nil {
		return fmt.Errorf("trim devices: %w", err)
	}
	return nil
}

// List returns userID's devices, the most recently seen first.
func (d *Devices) List(ctx context.Context, userID string) ([]Device, error) {
	cur, err := d.coll.Find(ctx, bson.M{"user_id": userID}, options.Find().
		SetSort(bson.D{{Key: "last_seen_at", Value: -1}, {Key: "_id", Value: 1}}).SetLimit(MaxDevices*2))
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	devs := []Device{}
	if err := cur.All(ctx, &devs); err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	return devs, nil
}

// Delete removes userID's device token (the app logs out or turns pushes
// off). Errors: the token's (CheckToken); ErrDeviceNotFound when userID has
// no such device, another citizen's included, which is left as it was.
func (d *Devices) Delete(ctx context.Context, userID, token string) error {
	if err := CheckToken(token); err != nil {
		return err
	}
	res, err := d.coll.DeleteOne(ctx, bson.M{"_id": token, "user_id": userID})
	if err != nil {
		return fmt.Errorf("delete device: %w", err)
	}
	if res.DeletedCount == 0 {
		return ErrDeviceNotFound
	}
	return nil
}

// RemoveToken forgets token whoever holds it: FCM said it is no longer
// registered (the app was uninstalled or its data cleared). Removing a token
// that is not there is not an error.
func (d *Devices) RemoveToken(ctx context.Context, token string) error {
	if _, err := d.coll.DeleteOne(ctx, bson.M{"_id": token}); err != nil {
		return fmt.Errorf("remove device token: %w", err)
	}
	return nil
}
