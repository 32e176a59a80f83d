package notify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
)

// ChannelInbox names the in-app inbox in preferences. It always receives:
// it is the record of what Banshi told the citizen.
const ChannelInbox = "inbox"

// KindInfo describes a message kind for preferences: its name for people and
// whether quiet hours may hold it back on push channels (reminders may wait
// until morning; progress, results and payment outcomes go at once).
type KindInfo struct {
	Kind     string `json:"kind"`
	Name     string `json:"name"`
	Deferred bool   `json:"deferred_in_quiet_hours"`
}

// QuietHours hold deferrable messages back on the channels in
// PreferencesConfig.QuietChannels between Start and End, Asia/Shanghai
// ("HH:MM"; Start after End spans midnight).
type QuietHours struct {
	Enabled bool   `json:"enabled" bson:"enabled"`
	Start   string `json:"start" bson:"start"`
	End     string `json:"end" bson:"end"`
}

// Preferences are one citizen's choices: for each kind, which channels are
// on, and the quiet hours.
type Preferences struct {
	Kinds      []KindPreference `json:"kinds"`
	QuietHours QuietHours       `json:"quiet_hours"`
	TimeZone   string           `json:"time_zone"`
}

// KindPreference is the channels of one kind.
type KindPreference struct {
	Kind     string          `json:"kind"`
	Name     string          `json:"name"`
	Deferred bool            `json:"deferred_in_quiet_hours"`
	Channels map[string]bool `json:"channels"`
}

// PreferencesConfig lists what can be chosen.
type PreferencesConfig struct {
	Kinds         []KindInfo // the message kinds citizens may tune
	Channels      []string   // the external channels (besides the inbox)
	QuietChannels []string   // the channels quiet hours apply to (FCM: a phone that buzzes at night)
	DefaultQuiet  QuietHours // [22:00–08:00, on]
}

// ErrInboxRequired: the inbox cannot be turned off.
var ErrInboxRequired = platform.NewError("inbox_required", "站内消息是办事记录，不能关闭")

// PreferenceStore keeps preferences in MongoDB (collection
// "notify_preferences", one document per user; a citizen who never chose
// has none and gets every channel, with the default quiet hours) and routes
// messages by them: it is the Outbox's Router.
type PreferenceStore struct {
	coll  *mongo.Collection
	cfg   PreferencesConfig
	kinds map[string]KindInfo
	clock platform.Clock
}

var _ Router = (*PreferenceStore)(nil)

// prefDoc is the stored choice: only what differs from "on" is kept, so a
// kind or channel added later is on for everybody.
type prefDoc struct {
	UserID    string                     `bson:"_id"`
	Off       map[string]map[string]bool `bson:"off,omitempty"` // kind → channel → true when off
	Quiet     *QuietHours                `bson:"quiet,omitempty"`
	UpdatedAt time.Time                  `bson:"updated_at"`
}

// NewPreferenceStore returns the store on db.
func NewPreferenceStore(db *mongo.Database, clock platform.Clock, cfg PreferencesConfig) *PreferenceStore {
	if cfg.DefaultQuiet == (QuietHours{}) {
		cfg.DefaultQuiet = QuietHours{Enabled: true, Start: "22:00", End: "08:00"}
	}
	kinds := map[string]KindInfo{}
	for _, k := range cfg.Kinds {
		kinds[k.Kind] = k
	}
	return &PreferenceStore{coll: db.Collection("notify_preferences"), cfg: cfg, kinds: kinds, clock: clock}
}

// Get returns userID's preferences (the defaults when none are stored).
func (p *PreferenceStore) Get(ctx context.Context, userID string) (Preferences, error) {
	d, err := p.load(ctx, userID)
	if err != nil {
		return Preferences{}, err
	}
	return p.view(d), nil
}

func (p *PreferenceStore) load(ctx context.Context, userID string) (prefDoc, error) {
	var d prefDoc
	err := p.coll.FindOne(ctx, bson.M{"_id": userID}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return prefDoc{UserID: userID}, nil
	}
	if err != nil {
		return prefDoc{}, fmt.Errorf("notification preferences: %w", err)
	}
	return d, nil
}

func (p *PreferenceStore) view(d prefDoc) Preferences {
	out := Preferences{QuietHours: p.cfg.DefaultQuiet, TimeZone: "Asia/Shanghai"}
	if d.Quiet != nil {
		out.QuietHours = *d.Quiet
	}
	for _, k := range p.cfg.Kinds {
		chans := map[string]bool{ChannelInbox: true}
		for _, c := range p.cfg.Channels {
			chans[c] = !d.Off[k.Kind][c]
		}
		out.Kinds = append(out.Kinds, KindPreference{Kind: k.Kind, Name: k.Name, Deferred: k.Deferred, Channels: chans})
	}
	return out
}

// PreferencesUpdate changes some choices: the kinds listed (each with the
// channels listed; a channel left out keeps its setting) and, when given,
// the quiet hours.
type PreferencesUpdate struct {
	Kinds      []KindChannels `json:"kinds"`
	QuietHours *QuietHours    `json:"quiet_hours"`
}

// KindChannels is the channels of one kind to change.
type KindChannels struct {
	Kind     string          `json:"kind"`
	Channels map[string]bool `json:"channels"`
}

// Update applies u to userID's preferences and returns them. Errors:
// platform.Invalid (an unknown kind or channel, a kind twice, a malformed
// time), ErrInboxRequired (inbox set to false); then nothing is changed.
func (p *PreferenceStore) Update(ctx context.Context, userID string, u PreferencesUpdate) (Preferences, error) {
	seen := map[string]bool{}
	for i, k := range u.Kinds {
		field := fmt.Sprintf("kinds[%d]", i)
		if _, ok := p.kinds[k.Kind]; !ok {
			return Preferences{}, platform.Invalid(field+".kind", "enum", "未知的消息类型："+clip(k.Kind, 40))
		}
		if seen[k.Kind] {
			return Preferences{}, platform.Invalid(field+".kind", "unique", "同一消息类型只能出现一次："+k.Kind)
		}
		seen[k.Kind] = true
		for c, on := range k.Channels {
			switch {
			case c == ChannelInbox && !on:
				return Preferences{}, ErrInboxRequired
			case c != ChannelInbox && !slices.Contains(p.cfg.Channels, c):
				return Preferences{}, platform.Invalid(field+".channels", "enum", "未知的推送渠道："+clip(c, 40))
			}
		}
	}
	if q := u.QuietHours; q != nil {
		if _, ok := clockMinutes(q.Start); !ok {
			return Preferences{}, platform.Invalid("quiet_hours.start", "format", "免打扰开始时间应为 HH:MM（24 小时制）")
		}
		if _, ok := clockMinutes(q.End); !ok {
			return Preferences{}, platform.Invalid("quiet_hours.end", "format", "免打扰结束时间应为 HH:MM（24 小时制）")
		}
		if q.Start == q.End && q.Enabled {
			return Preferences{}, platform.Invalid("quiet_hours.end", "range", "免打扰开始与结束时间不能相同")
		}
	}
	set := bson.M{"updated_at": p.clock.Now().UTC().Truncate(time.Millisecond)}
	for _, k := range u.Kinds {
		for c, on := range k.Channels {
			if c == ChannelInbox {
				continue
			}
			set["off."+k.Kind+"."+c] = !on
		}
	}
	if u.QuietHours != nil {
		set["quiet"] = *u.QuietHours
	}
	if _, err := p.coll.UpdateOne(ctx, bson.M{"_id": userID}, bson.M{"$set": set}, options.UpdateOne().SetUpsert(true)); err != nil {
		return Preferences{}, fmt.Errorf("save notification preferences: %w", err)
	}
	return p.Get(ctx, userID)
}

// Route picks, for each message, the channels its citizen has on, holding
// deferrable kinds back on the quiet channels until the quiet hours end.
// Preferences are read once per citizen per call.
func (p *PreferenceStore) Route(ctx context.Context, msgs []Message, channels []string) ([][]Route, error) {
	users := map[string]prefDoc{}
	var ids []string
	for _, m := range msgs {
		if _, ok := users[m.UserID]; !ok {
			users[m.UserID] = prefDoc{UserID: m.UserID}
			ids = append(ids, m.UserID)
		}
	}
	for len(ids) > 0 {
		n := min(len(ids), 1000)
		cur, err := p.coll.Find(ctx, bson.M{"_id": bson.M{"$in": ids[:n]}})
		if err != nil {
			return nil, fmt.Errorf("notification preferences: %w", err)
		}
		var docs []prefDoc
		if err := cur.All(ctx, &docs); err != nil {
			return nil, fmt.Errorf("notification preferences: %w", err)
		}
		for _, d := range docs {
			users[d.UserID] = d
		}
		ids = ids[n:]
	}
	now := p.clock.Now()
	out := make([][]Route, len(msgs))
	for i, m := range msgs {
		d := users[m.UserID]
		q := p.cfg.DefaultQuiet
		if d.Quiet != nil {
			q = *d.Quiet
		}
		for _, c := range channels {
			if d.Off[m.Kind][c] {
				continue
			}
			r := Route{Channel: c}
			if p.kinds[m.Kind].Deferred && slices.Contains(p.cfg.QuietChannels, c) {
				r.NotBefore = quietEnd(q, now)
			}
			out[i] = append(out[i], r)
		}
	}
	return out, nil
}

// quietEnd is when the quiet hours q that hold at now end, or the zero time
// when now is outside them.
func quietEnd(q QuietHours, now time.Time) time.Time {
	start, ok1 := clockMinutes(q.Start)
	end, ok2 := clockMinutes(q.End)
	if !q.Enabled || !ok1 || !ok2 || start == end {
		return time.Time{}
	}
	local := now.In(platform.Shanghai())
	midnight := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, platform.Shanghai())
	m := local.Hour()*60 + local.Minute()
	at := func(day, minutes int) time.Time {
		return midnight.AddDate(0, 0, day).Add(time.Duration(minutes) * time.Minute)
	}
	switch {
	case start < end && m >= start && m < end: // e.g. 13:00–14:00
		return at(0, end)
	case start > end && m >= start: // 22:00–08:00, before midnight
		return at(1, end)
	case start > end && m < end: // 22:00–08:00, after midnight
		return at(0, end)
	}
	return time.Time{}
}

// clockMinutes parses "HH:MM" (00:00–23:59) into minutes after midnight.
func clockMinutes(s string) (int, bool) {
	t, err := time.Parse("15:04", s)
	if err != nil || len(s) != 5 {
		return 0, false
	}
	return t.Hour()*60 + t.Minute(), true
}
