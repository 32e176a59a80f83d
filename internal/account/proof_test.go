package account

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/notify"
)

// fakeNotifier records the messages the store sends.
type fakeNotifier struct {
	mu   sync.Mutex
	msgs []notify.Message
}

func (f *fakeNotifier) Notify(_ context.Context, m notify.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, old := range f.msgs {
		if old.ID == m.ID {
			return nil // idempotent, like the inbox
		}
	}
	f.msgs = append(f.msgs, m)
	return nil
}

func (f *fakeNotifier) to(userID string) []notify.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []notify.Message
	for _, m := range f.msgs {
		if m.UserID == userID {
			out = append(out, m)
		}
	}
	return out
}

// fakeSessions records whose sessions the store ended.
type fakeSessions struct {
	mu      sync.Mutex
	revoked map[string]int
}

func (f *fakeSessions) RevokeAll(_ context.Context, userID string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.revoked == nil {
		f.revoked = map[string]int{}
	}
	f.revoked[userID]++
	return 1, nil
}

func (f *fakeSessions) count(userID string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.revoked[userID]
}

type proofEnv struct {
	storeEnv
	inbox    *fakeNotifier
	sessions *fakeSessions
	logs     *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newProofEnv(t *testing.T) proofEnv {
	t.Helper()
	e := newStoreEnv(t)
	p := proofEnv{storeEnv: e, inbox: &fakeNotifier{}, sessions: &fakeSessions{}, logs: &syncBuffer{}}
	p.store = NewStore(e.db, e.store.cipher, e.clock, WithNotifier(p.inbox), WithSessions(p.sessions),
		WithLogger(slog.New(slog.NewJSONHandler(p.logs, nil))))
	return p
}

// TestProofTakesTheNumberFromADeclaration is issue 8's lock-out: anyone who
// knows a citizen's ID number could declare it (level 2) and the citizen
// then got realname_taken at level 2, 3 and 4, for good. A proof outranks a
// declaration: the prover takes the number, the declarer loses the
// declaration (level back to 1, sessions ended, an inbox message), and the
// revocation is audited (an identity event and a log line, neither with the
// name or the ID number).
func TestProofTakesTheNumberFromADeclaration(t *testing.T) {
	for _, level := range []int{3, 4} {
		e := newProofEnv(t)
		ctx := context.Background()
		attacker, victim := e.newUser(t), e.newUser(t)
		if _, err := e.store.RaiseLevel(ctx, attacker.ID, idA, 2); err != nil {
			t.Fatal(err)
		}
		// A declaration does not outrank a declaration.
		if _, err := e.store.RaiseLevel(ctx, victim.ID, idA, 2); !errors.Is(err, ErrRealnameTaken) {
			t.Fatalf("second declaration: %v, want ErrRealnameTaken", err)
		}
		e.clock.Advance(time.Minute)
		got, err := e.store.RaiseLevel(ctx, victim.ID, idA, level)
		if err != nil || got.Level != level || !got.HasIdentity {
			t.Fatalf("level %d proof against a declaration: %+v, %v", level, got, err)
		}
		if owner, err := e.store.ProvenOwner(ctx, idA.IDNumber); err != nil || owner != victim.ID {
			t.Fatalf("ProvenOwner = %q, %v; want the prover", owner, err)
		}

		a, err := e.store.Get(ctx, attacker.ID)
		if err != nil || a.Level != 1 || a.HasIdentity || a.IDNumberMasked != "" {
			t.Fatalf("declarer after the proof: %+v, %v; want level 1 without identity", a, err)
		}
		if _, err := e.store.Identity(ctx, attacker.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("declarer still has an identity: %v", err)
		}
		if n := e.sessions.count(attacker.ID); n != 1 {
			t.Fatalf("declarer's sessions revoked %d times, want 1", n)
		}
		if e.sessions.count(victim.ID) != 0 {
			t.Fatal("prover's sessions revoked")
		}
		msgs := e.inbox.to(attacker.ID)
		if len(msgs) != 1 || msgs[0].Kind != "realname_declaration_revoked" || msgs[0].Title == "" {
			t.Fatalf("declarer's messages: %+v", msgs)
		}
		var ev identityEvent
		if err := e.db.Collection(collEvents).FindOne(ctx, bson.M{"kind": eventDeclarationRevoked, "user_id": attacker.ID}).Decode(&ev); err != nil {
			t.Fatalf("no identity event: %v", err)
		}
		if ev.LevelBefore != 2 || ev.LevelAfter != 1 || ev.OtherUserID != victim.ID || ev.Reason == "" || !ev.At.Equal(e.clock.Now()) || ev.State != revocationDone {
			t.Fatalf("event = %+v", ev)
		}
		for _, where := range []string{e.logs.String(), ev.Reason} {
			for _, secret := range []string{idA.Name, idA.IDNumber, idA.IDNumber[6:14], MaskIDNumber(idA.IDNumber)} {
				if strings.Contains(where, secret) {
					t.Fatalf("audit shows %q: %s", secret, where)
				}
			}
		}
		if !strings.Contains(e.logs.String(), `"kind":"realname_declaration_revoked"`) || !strings.Contains(e.logs.String(), attacker.ID) {
			t.Fatalf("no log line for the revocation: %s", e.logs.String())
		}
		// The declarer cannot declare the number again.
		if _, err := e.store.RaiseLevel(ctx, attacker.ID, idA, 2); !errors.Is(err, ErrRealnameTaken) {
			t.Fatalf("re-declaring a proven number: %v", err)
		}
	}
}

// TestSecondProofIsRefused: two proofs of one number, the later is refused
// and changes nothing.
func TestSecondProofIsRefused(t *testing.T) {
	e := newProofEnv(t)
	ctx := context.Background()
	first, second := e.newUser(t), e.newUser(t)
	if _, err := e.store.RaiseLevel(ctx, first.ID, idA, 3); err != nil {
		t.Fatal(err)
	}
	before := e.snapshot(t)
	for _, level := range []int{2, 3, 4} {
		if _, err := e.store.RaiseLevel(ctx, second.ID, idA, level); !errors.Is(err, ErrRealnameTaken) {
			t.Fatalf("level %d against a proof: %v, want ErrRealnameTaken", level, err)
		}
	}
	if after := e.snapshot(t); !sameSnapshot(before, after) {
		t.Fatalf("a refused proof changed the store:\n%v\n%v", before, after)
	}
	if len(e.inbox.to(first.ID)) != 0 || e.sessions.count(first.ID) != 0 {
		t.Fatal("the proven owner was touched")
	}
}

// TestDeclarerProvingKeepsTheNumber: a citizen who declared their own number
// and then proves it keeps it, and only then does it outrank declarations.
func TestDeclarerProvingKeepsTheNumber(t *testing.T) {
	e := newProofEnv(t)
	ctx := context.Background()
	u, other := e.newUser(t), e.newUser(t)
	if _, err := e.store.RaiseLevel(ctx, u.ID, idA, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.ProvenOwner(ctx, idA.IDNumber); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a declared number has a proven owner: %v", err)
	}
	if got, _ := e.store.Get(ctx, u.ID); got.Proven() {
		t.Fatal("a declaration counts as proven")
	}
	if got, err := e.store.RaiseLevel(ctx, u.ID, idA, 3); err != nil || got.Level != 3 || !got.Proven() {
		t.Fatalf("proving one's own declaration: %+v, %v", got, err)
	}
	if _, err := e.store.RaiseLevel(ctx, other.ID, idA, 4); !errors.Is(err, ErrRealnameTaken) {
		t.Fatalf("a later proof: %v", err)
	}
	if owner, err := e.store.ProvenOwner(ctx, "  "+strings.ToLower(idA.IDNumber)+" "); err != nil || owner != u.ID {
		t.Fatalf("ProvenOwner = %q, %v", owner, err)
	}
	if len(e.inbox.msgs) != 0 {
		t.Fatalf("messages sent: %+v", e.inbox.msgs)
	}
}

// TestProofsAndDeclarationsRace: declarations and proofs of one number from
// many users at once end with exactly one proven owner, every other user
// without that number (declarers who had it revoked and told once), and the
// claim naming the owner.
func TestProofsAndDeclarationsRace(t *testing.T) {
	e := newProofEnv(t)
	ctx := context.Background()
	const n = 12
	users := make([]User, n)
	for i := range users {
		users[i] = e.newUser(t)
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			level := 2
			if i%3 == 0 {
				level = 3 + i%2
			}
			_, err := e.store.RaiseLevel(ctx, users[i].ID, idA, level)
			if err != nil && !errors.Is(err, ErrRealnameTaken) {
				t.Errorf("user %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	owner, err := e.store.ProvenOwner(ctx, idA.IDNumber)
	if err != nil {
		t.Fatalf("no proven owner after the race: %v", err)
	}
	idx := e.store.cipher.BlindIndex(kindIDNumber, idA.IDNumber)
	holders := e.count(t, collUsers, bson.M{"id_index": idx})
	if holders != 1 {
		t.Fatalf("%d users hold the number, want only the proven owner", holders)
	}
	var c claimDoc
	if err := e.db.Collection(collClaims).FindOne(ctx, bson.M{"_id": idx}).Decode(&c); err != nil || c.UserID != owner || !c.Proven {
		t.Fatalf("claim %+v, %v; want the owner's proof", c, err)
	}
	for _, u := range users {
		got, _ := e.store.Get(ctx, u.ID)
		if u.ID != owner && (got.HasIdentity || got.Level != 1) {
			t.Errorf("user %s: level %d identity %v", u.ID, got.Level, got.HasIdentity)
		}
		if msgs := e.inbox.to(u.ID); len(msgs) > 1 || len(msgs) != e.sessions.count(u.ID) {
			t.Errorf("user %s: %d messages, sessions revoked %d times", u.ID, len(msgs), e.sessions.count(u.ID))
		}
	}
}

// TestSweeperFinishesInterruptedRevocations: a proof whose process died
// right after it took the number leaves the declarer at level 2 and the
// revocation pending; the sweeper finishes it (once) after a grace period,
// and voids a revocation whose proof never took the number.
func TestSweeperFinishesInterruptedRevocations(t *testing.T) {
	e := newProofEnv(t)
	ctx := context.Background()
	declarer, prover, kept := e.newUser(t), e.newUser(t), e.newUser(t)
	for _, r := range []struct {
		u  User
		id Identity
	}{{declarer, idA}, {kept, idB}} {
		if _, err := e.store.RaiseLevel(ctx, r.u.ID, r.id, 2); err != nil {
			t.Fatal(err)
		}
	}
	// What the dead proof did: recorded the revocation, took the claim,
	// recorded its own identity.
	dd, _ := e.store.load(ctx, declarer.ID)
	revoked, err := e.store.startRevocation(ctx, dd, declarer.ID, prover.ID, 3)
	if err != nil {
		t.Fatal(err)
	}
	idx := e.store.cipher.BlindIndex(kindIDNumber, idA.IDNumber)
	if _, err := e.db.Collection(collClaims).UpdateOne(ctx, bson.M{"_id": idx},
		bson.M{"$set": bson.M{"user_id": prover.ID, "proven": true}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.RaiseLevel(ctx, prover.ID, idA, 3); err != nil {
		t.Fatal(err)
	}
	// And one whose proof died before it took the claim.
	kd, _ := e.store.load(ctx, kept.ID)
	void, err := e.store.startRevocation(ctx, kd, kept.ID, prover.ID, 3)
	if err != nil {
		t.Fatal(err)
	}

	if n, err := e.store.FinishRevocations(ctx); err != nil || n != 0 {
		t.Fatalf("within the grace period: %d, %v (the proof may still be at work)", n, err)
	}
	e.clock.Advance(revocationGrace + time.Second)
	for range 2 {
		if _, err := e.store.FinishRevocations(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if d, _ := e.store.Get(ctx, declarer.ID); d.Level != 1 || d.HasIdentity {
		t.Fatalf("declarer after the sweep: %+v", d)
	}
	if len(e.inbox.to(declarer.ID)) != 1 || e.sessions.count(declarer.ID) != 1 {
		t.Fatalf("declarer told %d times, sessions ended %d times; want once each", len(e.inbox.to(declarer.ID)), e.sessions.count(declarer.ID))
	}
	if k, _ := e.store.Get(ctx, kept.ID); k.Level != 2 || !k.HasIdentity || len(e.inbox.to(kept.ID)) != 0 || e.sessions.count(kept.ID) != 0 {
		t.Fatalf("a declaration still holding its number was touched: %+v", k)
	}
	for id, want := range map[string]string{revoked: revocationDone, void: revocationVoid} {
		var ev identityEvent
		if err := e.db.Collection(collEvents).FindOne(ctx, bson.M{"_id": id}).Decode(&ev); err != nil || ev.State != want {
			t.Fatalf("event %s: %+v, %v; want %s", id, ev, err, want)
		}
	}
}

// TestRevocationResumesAfterTheDemotion: a crash between the demotion and
// the rest (message, sessions) is finished by the sweeper, recognising its
// own demotion.
func TestRevocationResumesAfterTheDemotion(t *testing.T) {
	e := newProofEnv(t)
	ctx := context.Background()
	declarer, prover := e.newUser(t), e.newUser(t)
	if _, err := e.store.RaiseLevel(ctx, declarer.ID, idA, 2); err != nil {
		t.Fatal(err)
	}
	dd, _ := e.store.load(ctx, declarer.ID)
	id, err := e.store.startRevocation(ctx, dd, declarer.ID, prover.ID, 4)
	if err != nil {
		t.Fatal(err)
	}
	idx := e.store.cipher.BlindIndex(kindIDNumber, idA.IDNumber)
	if _, err := e.db.Collection(collClaims).UpdateOne(ctx, bson.M{"_id": idx}, bson.M{"$set": bson.M{"user_id": prover.ID, "proven": true}}); err != nil {
		t.Fatal(err)
	}
	// The demotion as finishRevocation writes it, and then the crash.
	if _, err := e.db.Collection(collUsers).UpdateOne(ctx, bson.M{"_id": declarer.ID},
		bson.M{"$unset": unsetIdentity(), "$set": bson.M{"level": 1, "revoked_by": id}}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(revocationGrace + time.Second)
	if n, err := e.store.FinishRevocations(ctx); err != nil || n != 1 {
		t.Fatalf("sweep: %d, %v", n, err)
	}
	if len(e.inbox.to(declarer.ID)) != 1 || e.sessions.count(declarer.ID) != 1 {
		t.Fatal("the interrupted revocation was not finished")
	}
	var ev identityEvent
	if err := e.db.Collection(collEvents).FindOne(ctx, bson.M{"_id": id}).Decode(&ev); err != nil || ev.State != revocationDone || ev.LevelBefore != 2 {
		t.Fatalf("event %+v, %v", ev, err)
	}
}
