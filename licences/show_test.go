package licences

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func (f *fixture) issued(t testing.TB, serial string) string {
	t.Helper()
	r, err := f.svc.Receive(t.Context(), testSource, event(t, testKey, "i-"+serial, ActionIssue, licence(serial)))
	if err != nil {
		t.Fatal(err)
	}
	return r.Identifier
}

// Twenty counters verifying one token at once: exactly one succeeds, the
// others are told it was used, and one use is recorded.
func TestVerifyOnceUnderRace(t *testing.T) {
	f := newFixture(t)
	id := f.issued(t, "300001")
	shown, err := f.svc.Show(t.Context(), "u1", id)
	if err != nil || shown.QRPNG == "" || !shown.ExpiresAt.Equal(shown.GeneratedAt.Add(TokenLifetime)) {
		t.Fatalf("show %+v %v", shown, err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, used := 0, 0
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := f.svc.Verify(t.Context(), Verifier{Username: "staff" + string(rune('a'+i)), Role: "hall_staff"}, shown.Token)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && v.Licence.ID == id:
				ok++
			case errors.Is(err, ErrTokenUsed):
				used++
			default:
				t.Errorf("verify: %v", err)
			}
		}()
	}
	wg.Wait()
	if ok != 1 || used != 19 {
		t.Fatalf("%d verified, %d refused as used", ok, used)
	}
	uses, err := f.svc.Uses(t.Context(), "u1", id)
	if err != nil || len(uses) != 1 || uses[0].Kind != UseVerify {
		t.Fatalf("uses %+v %v", uses, err)
	}
}

// Expired, forged and malformed tokens are refused and record nothing.
func TestVerifyRefusesBadTokens(t *testing.T) {
	f := newFixture(t)
	id := f.issued(t, "300002")
	shown, err := f.svc.Show(t.Context(), "u1", id)
	if err != nil {
		t.Fatal(err)
	}
	// Another key's token of the same licence: forged.
	other, _ := NewSigner(otherKey)
	forged, _, _ := mintToken(other, id, f.clock.Now())
	parts := strings.Split(shown.Token, ".")
	swapped := parts[0] + "." + strings.Split(forged, ".")[1] + "." + parts[2]
	for name, tok := range map[string]string{
		"forged": forged, "swapped payload": swapped, "empty": "", "garbage": "BSL1.x.y",
		"other prefix": "BSL2." + parts[1] + "." + parts[2], "truncated": shown.Token[:len(shown.Token)-4],
	} {
		if _, err := f.svc.Verify(t.Context(), Verifier{Username: "s"}, tok); !errors.Is(err, ErrTokenInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	f.clock.Advance(TokenLifetime)
	if _, err := f.svc.Verify(t.Context(), Verifier{Username: "s"}, shown.Token); !errors.Is(err, ErrTokenExpired) {
		t.Errorf("expired: %v", err)
	}
	if n, _ := f.svc.uses.CountDocuments(t.Context(), bson.M{}); n != 0 {
		t.Fatalf("%d uses recorded", n)
	}
	if _, err := f.svc.Show(t.Context(), "u2", id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("someone else shows it: %v", err)
	}
}

// A licence past its validity cannot be shown; the wallet marks it expired.
func TestExpiredLicence(t *testing.T) {
	f := newFixture(t)
	id := f.issued(t, "300003")
	f.clock.Advance(11 * 365 * 24 * time.Hour)
	v, err := f.svc.Get(t.Context(), "u1", id)
	if err != nil || !v.Expired || v.Usable {
		t.Fatalf("%+v %v", v, err)
	}
	if _, err := f.svc.Show(t.Context(), "u1", id); !errors.Is(err, ErrNotShowable) {
		t.Fatalf("show expired: %v", err)
	}
}

// FuzzParseToken: ParseToken never panics; it refuses with ErrTokenInvalid
// or returns claims whose lifetime is TokenLifetime, re-encoding to the
// bytes it says are signed.
func FuzzParseToken(f *testing.F) {
	s, _ := NewSigner(testKey)
	tok, _, _ := mintToken(s, vectorID, testNow)
	f.Add(tok)
	f.Add("BSL1..")
	f.Add("")
	f.Fuzz(func(t *testing.T, tok string) {
		c, signed, sig, err := ParseToken(tok)
		if err != nil {
			if !errors.Is(err, ErrTokenInvalid) || signed != nil || sig != nil {
				t.Fatalf("%q: %v", tok, err)
			}
			return
		}
		if c.ExpiresAt.Sub(c.IssuedAt) != TokenLifetime || !strings.HasPrefix(tok, string(signed)+".") || len(sig) == 0 {
			t.Fatalf("%q accepted as %+v", tok, c)
		}
	})
}
