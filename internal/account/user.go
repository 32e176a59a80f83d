package account

import (
	"log/slog"
	"time"
)

// Channel is the WeChat client a citizen logs in from.
type Channel string

// The login channels.
const (
	ChannelMiniProgram Channel = "miniprogram"
	ChannelApp         Channel = "app"
)

// Assurance levels of a user: new users start at minLevel; real-name checks
// raise it up to maxLevel.
const (
	minLevel = 1
	maxLevel = 4
)

// User is a citizen as shown to the rest of the system: identity only in
// masked form.
type User struct {
	ID             string // "u_" + 20 lowercase base32 characters, random
	UnionID        string // WeChat Open Platform unionid; empty for a login keyed by openid
	MiniOpenID     string // openid in the mini-program, if the user logged in there
	AppOpenID      string // openid in the native app, if the user logged in there
	Level          int    // 1..4
	NameMasked     string // "*三"; empty without identity
	IDNumberMasked string // "4401**********1234"; empty without identity
	HasIdentity    bool
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Proven reports whether the user proved the recorded identity (level 3 or
// 4), rather than only declaring it (level 2).
func (u User) Proven() bool { return u.HasIdentity && u.Level >= provenLevel }

// Identity is a decrypted real-name identity. It is handed out only to the
// WeChat calls that need it, and must never be logged.
type Identity struct{ Name, IDNumber string }

// String shows the identity masked, so that printing one by mistake leaks
// nothing: "{*三 4401**********1234}".
func (id Identity) String() string {
	return "{" + MaskName(id.Name) + " " + MaskIDNumber(id.IDNumber) + "}"
}

// GoString is String, for %#v.
func (id Identity) GoString() string { return "account.Identity" + id.String() }

// LogValue makes slog record only the masked forms.
func (id Identity) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("name", MaskName(id.Name)),
		slog.String("id_number", MaskIDNumber(id.IDNumber)),
	)
}
