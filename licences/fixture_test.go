package licences

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"banshi/internal/account"
	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
)

const (
	testSource  = "dept-lic"
	testTypeUSC = "11100000000013338W"
	testIssuer  = "11220000013544541J"
	testUSCC    = "91350100M000100Y43"
)

var (
	testIDNumber = account.WithCheckDigit("11010519491231002") // 11010519491231002X
	testKey      = mustKey()
	otherKey     = mustKey()
)

func mustKey() *sm2.PrivateKey {
	k, err := GenerateKey()
	if err != nil {
		panic(err)
	}
	return k
}

type fakeOwners map[string]string // user → blind index

func (o fakeOwners) ProvenIndex(_ context.Context, uid string) (string, error) { return o[uid], nil }

type fakeKeys map[string]string // integration → PEM

func (k fakeKeys) IssuerKey(_ context.Context, id string) (string, error) { return k[id], nil }

type fakeScopes map[string]bool

func (f fakeScopes) Authorize(_ context.Context, id, _ string) error {
	if f[id] {
		return nil
	}
	return platform.NewError("forbidden", "无权")
}

type fixture struct {
	svc    *Service
	clock  *platform.ManualClock
	cipher *account.Cipher
	owners fakeOwners
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	cipher, err := account.NewCipher(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	clock := platform.NewManualClock(time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC))
	signer, err := NewSigner(mustKey())
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{clock: clock, cipher: cipher, owners: fakeOwners{"u1": cipher.BlindIndex(IDNumberKind, testIDNumber)}}
	f.svc, err = NewService(Deps{DB: platformtest.Mongo(t), Clock: clock, Log: platformtest.Logger(), Cipher: cipher,
		Owners: f.owners, Keys: fakeKeys{testSource: PublicKeyPEM(&testKey.PublicKey)}, Scopes: fakeScopes{"dept-use": true},
		Signer: signer})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.EnsureIndexes(t.Context()); err != nil {
		t.Fatal(err)
	}
	return f
}

// licence is a valid licence object for the test person, serial serial.
func licence(serial string) map[string]any {
	return map[string]any{
		"identifier": WithCheck(testTypeUSC+"032", testIssuer, serial, "001"),
		"name":       "居民户口簿", "number": "No." + serial, "type_name": "户口簿", "type_code": testTypeUSC + "032", "version": "001",
		"defining_authority": map[string]any{"name": "公安部", "code": testTypeUSC},
		"issuing_authority":  map[string]any{"name": "吉林省公安厅", "code": testIssuer},
		"issue_date":         "2026-01-05", "valid_from": "2026-01-05", "valid_until": "2036-01-04", "area_code": "220000",
		"holder":     map[string]any{"name": "张三", "code": testIDNumber, "code_type": HolderIDNumber},
		"status":     StatusValid,
		"extensions": map[string]any{"address": "长春市<朝阳区>&1号"},
	}
}

// event signs lic (after over) with key as an event body.
func event(t testing.TB, key *sm2.PrivateKey, eventID, action string, lic map[string]any) []byte {
	t.Helper()
	b, _ := json.Marshal(lic)
	var back map[string]any
	_ = json.Unmarshal(b, &back)
	sig, err := Sign(key, canonical(back))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"event_id": eventID, "action": action, "licence": lic,
		"signature": map[string]any{"algorithm": SignatureAlgorithm, "value": base64.StdEncoding.EncodeToString(sig), "signed_at": "2026-03-02T09:00:00+08:00"}})
	return body
}

var testNow = time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)
