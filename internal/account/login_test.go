package account

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"banshi/internal/platform/platformtest"
	"banshi/internal/session"
	"banshi/internal/wechat"
)

// fakeLoginAPI answers every code with one WeChat user.
type fakeLoginAPI struct{ user wechat.User }

func (f fakeLoginAPI) Code2Session(context.Context, string) (wechat.User, error) { return f.user, nil }
func (f fakeLoginAPI) AppLogin(context.Context, string) (wechat.User, error)     { return f.user, nil }

// sessionsWithHook runs before just before each Create: what happens between
// the account lookup of a login and its session.
type sessionsWithHook struct {
	*session.Store
	before func()
}

func (s *sessionsWithHook) Create(ctx context.Context, userID, channel string, level int) (string, session.Session, error) {
	if s.before != nil {
		s.before()
		s.before = nil
	}
	return s.Store.Create(ctx, userID, channel, level)
}

// TestLoginRacingARevocationKeepsNoLostLevel: a declaration revoked between
// a login's account lookup and the creation of its session must not leave a
// session carrying the lost level (revoking the declarer's sessions found
// none yet), since the booking engine lets a session's level through.
func TestLoginRacingARevocationKeepsNoLostLevel(t *testing.T) {
	e := newStoreEnv(t)
	ctx := context.Background()
	rdb, prefix := platformtest.Redis(t)
	sessions := session.NewStore(rdb, session.Config{Prefix: prefix, Secret: []byte("k"), Idle: time.Hour, Max: 3 * time.Hour}, e.clock)
	store := NewStore(e.db, e.store.cipher, e.clock, WithSessions(sessions))

	declarer, err := store.LoginWeChat(ctx, ChannelMiniProgram, "union-d", "mini-d")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.RaiseLevel(ctx, declarer.ID, idA, 2); err != nil {
		t.Fatal(err)
	}
	prover := e.newUser(t)
	hooked := &sessionsWithHook{Store: sessions, before: func() {
		if _, err := store.RaiseLevel(ctx, prover.ID, idA, 3); err != nil {
			t.Errorf("proof: %v", err)
		}
	}}
	auth := NewAuth(fakeLoginAPI{wechat.User{OpenID: "mini-d", UnionID: "union-d"}}, store, hooked, slog.New(slog.DiscardHandler))
	res, err := auth.Login(ctx, ChannelMiniProgram, "code")
	if err != nil {
		t.Fatal(err)
	}
	sess, err := sessions.Touch(ctx, res.Token)
	if err != nil && !errors.Is(err, session.ErrUnauthenticated) {
		t.Fatal(err)
	}
	if err == nil && sess.Level > 1 {
		t.Fatalf("session of the revoked declarer carries level %d", sess.Level)
	}
	if res.User.Level != 1 || res.User.HasIdentity {
		t.Fatalf("login answered %+v; want the level after the revocation", res.User)
	}
}
