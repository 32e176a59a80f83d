package fcm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
)

var t0 = time.Date(2026, 3, 9, 2, 0, 0, 0, time.UTC)

func newDevices(t *testing.T) (*Devices, *platform.ManualClock) {
	t.Helper()
	db := platformtest.Mongo(t)
	clock := platform.NewManualClock(t0)
	d := NewDevices(db, clock)
	if err := d.EnsureIndexes(context.Background()); err != nil {
		t.Fatal(err)
	}
	return d, clock
}

func tokens(t *testing.T, d *Devices, user string) []string {
	t.Helper()
	devs, err := d.List(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, dev := range devs {
		out = append(out, dev.Token)
	}
	return out
}

func TestRegisterListDelete(t *testing.T) {
	ctx := context.Background()
	d, clock := newDevices(t)
	dev, err := d.Register(ctx, "u1", PlatformAndroid, "tokA:APA91b")
	if err != nil || dev.Platform != PlatformAndroid || !dev.CreatedAt.Equal(t0) {
		t.Fatalf("%+v %v", dev, err)
	}
	clock.Advance(time.Minute)
	if _, err := d.Register(ctx, "u1", PlatformIOS, "tokB"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	// Registering again refreshes: last seen moves, created stays.
	dev, err = d.Register(ctx, "u1", PlatformAndroid, "tokA:APA91b")
	if err != nil || !dev.CreatedAt.Equal(t0) || !dev.LastSeenAt.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("%+v %v", dev, err)
	}
	if got := tokens(t, d, "u1"); fmt.Sprint(got) != "[tokA:APA91b tokB]" {
		t.Fatalf("list %v", got)
	}
	if err := d.Delete(ctx, "u1", "tokB"); err != nil {
		t.Fatal(err)
	}
	if err := d.Delete(ctx, "u1", "tokB"); !errors.Is(err, ErrDeviceNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if got := tokens(t, d, "u1"); fmt.Sprint(got) != "[tokA:APA91b]" {
		t.Fatalf("list %v", got)
	}
}

// TestBadInputChangesNothing: unknown platforms, empty, over-long or
// malformed tokens, and deleting another citizen's token are refused with
// the 4xx codes (invalid_argument, device_not_found) and write nothing.
func TestBadInputChangesNothing(t *testing.T) {
	ctx := context.Background()
	d, _ := newDevices(t)
	if _, err := d.Register(ctx, "u1", PlatformAndroid, "mine"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Register(ctx, "u2", PlatformIOS, "theirs"); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("a", MaxTokenLen+1)
	cases := []struct {
		name            string
		platform, token string
		want            error
		field, check    string
	}{
		{"unknown platform", "windows", "tok", ErrPlatformInvalid, "platform", "enum"},
		{"empty platform", "", "tok", ErrPlatformInvalid, "platform", "enum"},
		{"upper-case platform", "Android", "tok", ErrPlatformInvalid, "platform", "enum"},
		{"empty token", PlatformAndroid, "", ErrTokenRequired, "token", "required"},
		{"over-long token", PlatformAndroid, long, ErrTokenTooLong, "token", "length"},
		{"space in token", PlatformAndroid, "to k", ErrTokenFormat, "token", "format"},
		{"slash in token", PlatformAndroid, "a/b", ErrTokenFormat, "token", "format"},
		{"non-ASCII token", PlatformAndroid, "令牌", ErrTokenFormat, "token", "format"},
	}
	for _, tc := range cases {
		_, err := d.Register(ctx, "u1", tc.platform, tc.token)
		pe, ok := platform.AsError(err)
		if !errors.Is(err, tc.want) || !ok || pe.Code != platform.CodeInvalid || pe.Field != tc.field || pe.Check != tc.check {
			t.Errorf("%s: got %v", tc.name, err)
		}
	}
	for _, tok := range []string{"", long, "a b"} {
		if err := d.Delete(ctx, "u1", tok); !errors.Is(err, platform.Invalid("token", "", "")) {
			t.Errorf("delete %q: %v", tok, err)
		}
	}
	if err := d.Delete(ctx, "u1", "theirs"); !errors.Is(err, ErrDeviceNotFound) {
		t.Fatalf("deleting another's token: %v", err)
	}
	if got := tokens(t, d, "u1"); fmt.Sprint(got) != "[mine]" {
		t.Fatalf("u1 now has %v", got)
	}
	if got := tokens(t, d, "u2"); fmt.Sprint(got) != "[theirs]" {
		t.Fatalf("u2 now has %v", got)
	}
	n, err := d.coll.CountDocuments(ctx, bson.M{})
	if err != nil || n != 2 {
		t.Fatalf("%d devices stored, want 2 (%v)", n, err)
	}
}

// TestTokenMovesToTheNewUser: a token registered by another citizen becomes
// the new citizen's (the app now serves that account), created anew.
func TestTokenMovesToTheNewUser(t *testing.T) {
	ctx := context.Background()
	d, clock := newDevices(t)
	if _, err := d.Register(ctx, "u1", PlatformAndroid, "shared"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	dev, err := d.Register(ctx, "u2", PlatformAndroid, "shared")
	if err != nil || dev.UserID != "u2" || !dev.CreatedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("%+v %v", dev, err)
	}
	if got := tokens(t, d, "u1"); len(got) != 0 {
		t.Fatalf("u1 still has %v", got)
	}
	if err := d.Delete(ctx, "u1", "shared"); !errors.Is(err, ErrDeviceNotFound) {
		t.Fatalf("u1 deleted a token it no longer holds: %v", err)
	}
	if got := tokens(t, d, "u2"); fmt.Sprint(got) != "[shared]" {
		t.Fatalf("u2 has %v", got)
	}
}

// TestAtMostTenDevices: the eleventh device drops the one seen least
// recently; refreshing a device keeps it.
func TestAtMostTenDevices(t *testing.T) {
	ctx := context.Background()
	d, clock := newDevices(t)
	for i := range MaxDevices {
		if _, err := d.Register(ctx, "u1", PlatformAndroid, fmt.Sprintf("t%02d", i)); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Second)
	}
	if _, err := d.Register(ctx, "u1", PlatformAndroid, "t00"); err != nil { // seen again: now the newest
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	if _, err := d.Register(ctx, "u1", PlatformIOS, "new"); err != nil {
		t.Fatal(err)
	}
	got := tokens(t, d, "u1")
	if len(got) != MaxDevices || got[0] != "new" || got[1] != "t00" || strings.Contains(fmt.Sprint(got), "t01") {
		t.Fatalf("devices %v", got)
	}
}

// TestConcurrentRegistrationsOfOneToken: citizens racing to register one
// token leave exactly one device, held by one of them, and every call
// succeeds.
func TestConcurrentRegistrationsOfOneToken(t *testing.T) {
	ctx := context.Background()
	d, _ := newDevices(t)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = d.Register(ctx, fmt.Sprintf("u%d", i%4), PlatformAndroid, "raced")
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	n, err := d.coll.CountDocuments(ctx, bson.M{"_id": "raced"})
	if err != nil || n != 1 {
		t.Fatalf("%d documents (%v)", n, err)
	}
	holders := 0
	for i := range 4 {
		holders += len(tokens(t, d, fmt.Sprintf("u%d", i)))
	}
	if holders != 1 {
		t.Fatalf("%d citizens list the token", holders)
	}
	// The holder's list names it; the others' lists were cleaned by reading.
	dev, _, err := d.device(ctx, "raced")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		user := fmt.Sprintf("u%d", i)
		if got := slices.Contains(listed(t, d, user), "raced"); got != (user == dev.UserID) {
			t.Fatalf("%s's list names the token: %v; holder %s", user, got, dev.UserID)
		}
	}
}

func TestRemoveToken(t *testing.T) {
	ctx := context.Background()
	d, _ := newDevices(t)
	if _, err := d.Register(ctx, "u1", PlatformAndroid, "gone"); err != nil {
		t.Fatal(err)
	}
	for range 2 { // idempotent
		if err := d.RemoveToken(ctx, "gone"); err != nil {
			t.Fatal(err)
		}
	}
	if got := tokens(t, d, "u1"); len(got) != 0 {
		t.Fatalf("still %v", got)
	}
}

// listed returns the tokens userID's device_users document lists.
func listed(t *testing.T, d *Devices, userID string) []string {
	t.Helper()
	var u deviceUser
	err := d.users.FindOne(context.Background(), bson.M{"_id": userID}).Decode(&u)
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		t.Fatal(err)
	}
	sort.Strings(u.Tokens)
	return u.Tokens
}

// TestStaleListEntriesAreSkippedAndCleaned: a token a citizen's list still
// names after it moved on (a process died mid-move) or went (deleted
// behind the registry's back) is not listed for that citizen, and the
// entry goes; a move, a delete and a removal clean their entries themselves.
func TestStaleListEntriesAreSkippedAndCleaned(t *testing.T) {
	ctx := context.Background()
	d, _ := newDevices(t)
	for _, tok := range []string{"mine", "moved", "vanished", "deleted", "removed"} {
		if _, err := d.Register(ctx, "u1", PlatformAndroid, tok); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.Register(ctx, "u2", PlatformIOS, "moved"); err != nil {
		t.Fatal(err)
	}
	if err := d.Delete(ctx, "u1", "deleted"); err != nil {
		t.Fatal(err)
	}
	if err := d.RemoveToken(ctx, "removed"); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(listed(t, d, "u1")); got != "[mine vanished]" {
		t.Fatalf("u1's list after a move, a delete and a removal: %s", got)
	}
	// What a process dying mid-move, and a device deleted directly, leave.
	if _, err := d.users.UpdateOne(ctx, bson.M{"_id": "u1"}, bson.M{"$addToSet": bson.M{"tokens": "moved"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.coll.DeleteOne(ctx, bson.M{"_id": "vanished"}); err != nil {
		t.Fatal(err)
	}
	if got := tokens(t, d, "u1"); fmt.Sprint(got) != "[mine]" {
		t.Fatalf("u1 lists %v", got)
	}
	if got := fmt.Sprint(listed(t, d, "u1")); got != "[mine]" {
		t.Fatalf("u1's list not cleaned: %s", got)
	}
	if got := tokens(t, d, "u2"); fmt.Sprint(got) != "[moved]" {
		t.Fatalf("u2 lists %v", got)
	}
}

// TestMovesRacingCleaners: two citizens taking one token turn about while
// readers of both clean their lists; whoever holds the token at the end has
// it in their list, and the other lists nothing.
func TestMovesRacingCleaners(t *testing.T) {
	ctx := context.Background()
	d, _ := newDevices(t)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user := fmt.Sprintf("u%d", g%2)
			for range 6 {
				var err error
				if g < 2 {
					_, err = d.Register(ctx, user, PlatformAndroid, "contested")
				} else {
					_, err = d.List(ctx, user)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	dev, ok, err := d.device(ctx, "contested")
	if err != nil || !ok {
		t.Fatalf("device %v %v", ok, err)
	}
	if !slices.Contains(listed(t, d, dev.UserID), "contested") {
		t.Fatalf("holder %s's list lacks the token", dev.UserID)
	}
	other := map[string]string{"u0": "u1", "u1": "u0"}[dev.UserID]
	if got := tokens(t, d, other); len(got) != 0 {
		t.Fatalf("%s lists %v", other, got)
	}
	if got := tokens(t, d, dev.UserID); fmt.Sprint(got) != "[contested]" {
		t.Fatalf("%s lists %v", dev.UserID, got)
	}
}
