package account

import (
	"context"
	"errors"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestUserIDByOpenID: a user is found by the openid of each channel they
// logged in with; an openid recorded only on the user document (an earlier
// release) is found too; an unknown openid is ErrNotFound.
func TestUserIDByOpenID(t *testing.T) {
	ctx := context.Background()
	e := newStoreEnv(t)
	u, err := e.store.LoginWeChat(ctx, ChannelMiniProgram, "union-l", "mini-l")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.LoginWeChat(ctx, ChannelApp, "union-l", "app-l"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ch     Channel
		openID string
	}{{ChannelMiniProgram, "mini-l"}, {ChannelApp, "app-l"}} {
		if got, err := e.store.UserIDByOpenID(ctx, tc.ch, tc.openID); err != nil || got != u.ID {
			t.Errorf("%s %s: %q, %v; want %s", tc.ch, tc.openID, got, err, u.ID)
		}
	}
	for _, tc := range []struct {
		ch     Channel
		openID string
	}{{ChannelMiniProgram, "app-l"}, {ChannelMiniProgram, "nobody"}, {ChannelMiniProgram, ""}} {
		if _, err := e.store.UserIDByOpenID(ctx, tc.ch, tc.openID); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s %q: %v, want ErrNotFound", tc.ch, tc.openID, err)
		}
	}
	// An openid recorded only on the user (no login link).
	if _, err := e.store.logins.DeleteOne(ctx, bson.M{"_id": openLogin(ChannelMiniProgram, "mini-l")}); err != nil {
		t.Fatal(err)
	}
	if got, err := e.store.UserIDByOpenID(ctx, ChannelMiniProgram, "mini-l"); err != nil || got != u.ID {
		t.Errorf("openid on the user only: %q, %v", got, err)
	}
}
