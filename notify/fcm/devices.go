package fcm

import (
	"context"
	"errors"
	"fmt"
	"sort"
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

// Devices is the registry of the citizens' app installations.
//
// Storage: collection "devices" holds one document per registration token
// (_id = the token) and is the truth of who holds a token; collection
// "device_users" holds one document per citizen (_id = the user ID) whose
// "tokens" lists the tokens that citizen may hold. The list is a superset
// kept by every write: a token is added to its citizen's list before and
// after the device document names that citizen, and removed only after the
// device went elsewhere, with a re-check that puts it back if the citizen
// took it again meanwhile. A reader therefore never misses a device, and
// skips (and cleans) an entry whose device now names another citizen or is
// gone. Every operation reads and writes single documents by _id only: the
// embedded FerretDB pushes down nothing else, and any other filter reads the
// whole collection (see DESIGN.md, "App push (FCM)").
//
// A token belongs to one citizen at a time: registering a token another
// citizen holds moves it to the new one (the app was logged into another
// account, or the phone changed hands), since FCM delivers to the
// installation and the installation now serves the new citizen. The move
// restarts created_at (two citizens taking one token within the same
// instant may leave either one's time). A citizen keeps at most MaxDevices
// devices; a new one beyond that drops the device seen least recently. Safe
// for concurrent use by any number of processes (single-document writes
// only).
type Devices struct {
	coll  *mongo.Collection // "devices": _id = token
	users *mongo.Collection // "device_users": _id = user ID
	clock platform.Clock
}

// deviceUser is a citizen's list of the tokens they may hold.
type deviceUser struct {
	UserID string   `bson:"_id"`
	Tokens []string `bson:"tokens"`
}

// NewDevices returns the registry on db.
func NewDevices(db *mongo.Database, clock platform.Clock) *Devices {
	return &Devices{coll: db.Collection("devices"), users: db.Collection("device_users"), clock: clock}
}

// EnsureIndexes creates the registry's indexes: none, since every lookup is
// by _id. It stays so that wiring need not change if one is needed later.
func (d *Devices) EnsureIndexes(context.Context) error { return nil }

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
	// Listed first: a process dying after the device document names userID
	// must not leave a device its citizen's list lacks.
	if err := d.list(ctx, userID, token); err != nil {
		return Device{}, fmt.Errorf("register device: %w", err)
	}
	dev := Device{Token: token, UserID: userID, Platform: plat, CreatedAt: now, LastSeenAt: now}
	var before Device
	for attempt := 0; ; attempt++ {
		// Take (or refresh) the token in one write, learning who held it.
		err := d.coll.FindOneAndUpdate(ctx, bson.M{"_id": token},
			bson.M{"$set": bson.M{"user_id": userID, "platform": plat, "last_seen_at": now},
				"$setOnInsert": bson.M{"created_at": now}},
			options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.Before)).Decode(&before)
		if errors.Is(err, mongo.ErrNoDocuments) {
			before = Device{} // a new token
			break
		}
		if err == nil {
			break
		}
		if !platform.IsDuplicateKey(err) || attempt >= 2 {
			return Device{}, fmt.Errorf("register device: %w", err)
		}
		// Another registration inserted it first: start over.
	}
	switch before.UserID {
	case userID: // a refresh: created_at stays
		dev.CreatedAt = before.CreatedAt
	case "": // new: $setOnInsert set created_at
	default: // moved from another citizen: created anew
		if _, err := d.coll.UpdateOne(ctx, bson.M{"_id": token}, bson.M{"$set": bson.M{"created_at": now}}); err != nil {
			return Device{}, fmt.Errorf("register device: %w", err)
		}
		if err := d.unlist(ctx, before.UserID, token); err != nil {
			return Device{}, fmt.Errorf("register device: %w", err)
		}
	}
	// Listed again: a cleaner that saw the token elsewhere may have removed
	// it from the list between the first listing and the take.
	if err := d.list(ctx, userID, token); err != nil {
		return Device{}, fmt.Errorf("register device: %w", err)
	}
	if err := d.trim(ctx, userID); err != nil {
		return Device{}, err
	}
	return dev, nil
}

// list adds token to userID's list of tokens.
func (d *Devices) list(ctx context.Context, userID, token string) error {
	for attempt := 0; ; attempt++ {
		_, err := d.users.UpdateOne(ctx, bson.M{"_id": userID}, bson.M{"$addToSet": bson.M{"tokens": token}},
			options.UpdateOne().SetUpsert(true))
		if err == nil || !platform.IsDuplicateKey(err) || attempt >= 2 {
			return err
		}
		// Two upserts raced on a MongoDB that does not retry them: again.
	}
}

// unlist removes token from userID's list, unless the device names userID
// after the removal (the citizen took it again meanwhile): then it lists it
// back. So a device is always in its citizen's list once the writes settle.
func (d *Devices) unlist(ctx context.Context, userID, token string) error {
	if _, err := d.users.UpdateOne(ctx, bson.M{"_id": userID}, bson.M{"$pull": bson.M{"tokens": token}}); err != nil {
		return err
	}
	dev, ok, err := d.device(ctx, token)
	if err != nil || !ok || dev.UserID != userID {
		return err
	}
	return d.list(ctx, userID, token)
}

// device reads token's device document.
func (d *Devices) device(ctx context.Context, token string) (Device, bool, error) {
	var dev Device
	err := d.coll.FindOne(ctx, bson.M{"_id": token}).Decode(&dev)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return Device{}, false, nil
	}
	if err != nil {
		return Device{}, false, err
	}
	return dev, true, nil
}

// owned reads the devices userID's list names that userID holds, the most
// recently seen first, cleaning entries of devices gone or held by another
// citizen as it goes (best effort: a cleaning that fails is tried again by
// the next read).
func (d *Devices) owned(ctx context.Context, userID string) ([]Device, error) {
	var u deviceUser
	err := d.users.FindOne(ctx, bson.M{"_id": userID}).Decode(&u)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return []Device{}, nil
	}
	if err != nil {
		return nil, err
	}
	devs := make([]Device, 0, len(u.Tokens))
	for _, tok := range u.Tokens {
		dev, ok, err := d.device(ctx, tok)
		if err != nil {
			return nil, err
		}
		if !ok || dev.UserID != userID {
			_ = d.unlist(ctx, userID, tok) // stale: never this citizen's device now
			continue
		}
		devs = append(devs, dev)
	}
	sort.Slice(devs, func(i, j int) bool {
		if !devs[i].LastSeenAt.Equal(devs[j].LastSeenAt) {
			return devs[i].LastSeenAt.After(devs[j].LastSeenAt)
		}
		return devs[i].Token < devs[j].Token
	})
	return devs, nil
}

// trim drops userID's devices beyond MaxDevices, those seen least recently.
func (d *Devices) trim(ctx context.Context, userID string) error {
	devs, err := d.owned(ctx, userID)
	if err != nil {
		return fmt.Errorf("trim devices: %w", err)
	}
	for _, dev := range devs[min(len(devs), MaxDevices):] {
		if _, err := d.drop(ctx, userID, dev.LastSeenAt, dev.Token); err != nil {
			return fmt.Errorf("trim devices: %w", err)
		}
	}
	return nil
}

// drop deletes token's device if userID holds it (and, when seen is not
// zero, it was last seen then: not refreshed since it was read). A device
// found otherwise once deleted is put back as it was. It reports whether
// userID's device went.
func (d *Devices) drop(ctx context.Context, userID string, seen time.Time, token string) (bool, error) {
	var gone Device
	err := d.coll.FindOneAndDelete(ctx, bson.M{"_id": token}).Decode(&gone)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if gone.UserID == userID && (seen.IsZero() || gone.LastSeenAt.Equal(seen)) {
		return true, d.unlist(ctx, userID, token)
	}
	// Taken or refreshed between the read and the delete: restore it.
	if _, err := d.coll.InsertOne(ctx, gone); err != nil && !platform.IsDuplicateKey(err) {
		return false, err
	}
	return false, d.list(ctx, gone.UserID, token)
}

// List returns userID's devices, the most recently seen first. It reads the
// citizen's list and each device by _id.
func (d *Devices) List(ctx context.Context, userID string) ([]Device, error) {
	devs, err := d.owned(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	return devs[:min(len(devs), MaxDevices*2)], nil
}

// Delete removes userID's device token (the app logs out or turns pushes
// off). Errors: the token's (CheckToken); ErrDeviceNotFound when userID has
// no such device, another citizen's included, which is left as it was.
func (d *Devices) Delete(ctx context.Context, userID, token string) error {
	if err := CheckToken(token); err != nil {
		return err
	}
	dev, ok, err := d.device(ctx, token)
	if err != nil {
		return fmt.Errorf("delete device: %w", err)
	}
	if !ok || dev.UserID != userID {
		return ErrDeviceNotFound
	}
	went, err := d.drop(ctx, userID, time.Time{}, token)
	if err != nil {
		return fmt.Errorf("delete device: %w", err)
	}
	if !went {
		return ErrDeviceNotFound
	}
	return nil
}

// RemoveToken forgets token whoever holds it: FCM said it is no longer
// registered (the app was uninstalled or its data cleared). Removing a token
// that is not there is not an error.
func (d *Devices) RemoveToken(ctx context.Context, token string) error {
	var gone Device
	err := d.coll.FindOneAndDelete(ctx, bson.M{"_id": token}).Decode(&gone)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil
	}
	if err == nil {
		err = d.unlist(ctx, gone.UserID, token)
	}
	if err != nil {
		return fmt.Errorf("remove device token: %w", err)
	}
	return nil
}
