package account

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// ring returns a keyring of the test keys named by ids, key i being
// testKey(byte(i+1)).
func ring(t testing.TB, ids ...string) *Cipher {
	t.Helper()
	var keys []PIIKey
	for i, id := range ids {
		keys = append(keys, PIIKey{ID: id, Master: testKey(byte(i + 1))})
	}
	c, err := NewKeyring(keys)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sealFormat2 seals as the previous release did: 0x02 || nonce || ct || tag
// under the first key, bound to b without a key id.
func sealFormat2(t testing.TB, c *Cipher, plain string, b Binding) []byte {
	t.Helper()
	ad, err := b.associatedData()
	if err != nil {
		t.Fatal(err)
	}
	nonce := bytes.Repeat([]byte{5}, c.initial.NonceSize())
	return append([]byte{2}, c.initial.Seal(bytes.Clone(nonce), nonce, []byte(plain), ad)...)
}

func TestKeyringSealsUnderTheLastKeyAndOpensAll(t *testing.T) {
	one := ring(t, "k1")
	two := ring(t, "k1", "k2")
	three := ring(t, "k1", "k2", "2026-11")
	if three.CurrentKeyID() != "2026-11" || strings.Join(three.KeyIDs(), ",") != "k1,k2,2026-11" {
		t.Fatalf("current %q, ids %v", three.CurrentKeyID(), three.KeyIDs())
	}
	old2 := sealFormat2(t, one, "张三", testBinding)
	byOne, _ := one.Seal("张三", testBinding)
	byTwo, _ := two.Seal("张三", testBinding)
	byThree, _ := three.Seal("张三", testBinding)
	for _, tc := range []struct {
		name   string
		sealed []byte
		keyID  string
	}{{"format 2", old2, "k1"}, {"k1", byOne, "k1"}, {"k2", byTwo, "k2"}, {"2026-11", byThree, "2026-11"}} {
		if id, ok := three.SealedKeyID(tc.sealed); !ok || id != tc.keyID {
			t.Errorf("%s: SealedKeyID = %q, %v", tc.name, id, ok)
		}
		if got, err := three.Open(tc.sealed, testBinding); err != nil || got != "张三" {
			t.Errorf("%s: three keys Open = %q, %v", tc.name, got, err)
		}
	}
	// A format-2 ciphertext still opens once a key is added (and the new
	// key seals).
	if got, err := two.Open(old2, testBinding); err != nil || got != "张三" {
		t.Fatalf("format 2 after a new key: %q, %v", got, err)
	}
	if got, err := two.Open(old2, Binding{Collection: "users", ID: "u_other", Field: "name"}); err == nil {
		t.Fatalf("format 2 opened under another binding: %q", got)
	}
}

func TestKeyringUnknownKeyFails(t *testing.T) {
	three := ring(t, "k1", "k2", "k3")
	sealed, _ := three.Seal("11010519491231002X", testBinding)
	// A ring without k3 (a key removed too early, or not configured).
	two := ring(t, "k1", "k2")
	got, err := two.Open(sealed, testBinding)
	if !errors.Is(err, errPIIKeyUnknown) || got != "" {
		t.Fatalf("Open under an unknown key = %q, %v", got, err)
	}
}

func TestKeyringTamperedKeyIDFails(t *testing.T) {
	// Keys "k1" and "k2" are both in the ring; "ka" is not. Changing the
	// named key id (same length) never opens, and never yields plaintext.
	c, err := NewKeyring([]PIIKey{{ID: "k1", Master: testKey(1)}, {ID: "k2", Master: testKey(2)}})
	if err != nil {
		t.Fatal(err)
	}
	sealed, _ := c.Seal("张三", testBinding)
	for _, id := range []string{"k1", "ka"} {
		tampered := bytes.Clone(sealed)
		copy(tampered[2:4], id)
		if got, err := c.Open(tampered, testBinding); err == nil || got != "" {
			t.Errorf("key id changed to %s: Open = %q, %v", id, got, err)
		}
	}
	// A longer or shorter length byte shifts the nonce: refused.
	for _, n := range []byte{0, 1, 3, 255} {
		tampered := bytes.Clone(sealed)
		tampered[1] = n
		if got, err := c.Open(tampered, testBinding); err == nil || got != "" {
			t.Errorf("length byte %d: Open = %q, %v", n, got, err)
		}
	}
	// The same key under another id (k1's material called k2 by a second
	// ring) does not open what k1 sealed and labelled k1 once relabelled:
	// the key id is in the associated data.
	k1only := ring(t, "k1")
	s1, _ := k1only.Seal("张三", testBinding)
	alias, err := NewKeyring([]PIIKey{{ID: "k0", Master: testKey(9)}, {ID: "k2", Master: testKey(1)}})
	if err != nil {
		t.Fatal(err)
	}
	relabelled := bytes.Clone(s1)
	copy(relabelled[2:4], "k2")
	if got, err := alias.Open(relabelled, testBinding); err == nil {
		t.Fatalf("relabelled ciphertext opened: %q", got)
	}
}

func TestBlindIndexSurvivesNewKeys(t *testing.T) {
	one, two, three := ring(t, "k1"), ring(t, "k1", "k2"), ring(t, "k1", "k2", "k3")
	want := one.BlindIndex("id_number", "11010519491231002X")
	for _, c := range []*Cipher{two, three} {
		if got := c.BlindIndex("id_number", "11010519491231002X"); got != want {
			t.Fatalf("blind index changed with %v: %s != %s", c.KeyIDs(), got, want)
		}
	}
	// A ring whose first key differs is another index (why the first key
	// must stay first).
	other, _ := NewKeyring([]PIIKey{{ID: "k1", Master: testKey(2)}})
	if other.BlindIndex("id_number", "11010519491231002X") == want {
		t.Fatal("blind index does not depend on the first key")
	}
}

func TestNewKeyringRefusesBadRings(t *testing.T) {
	k := testKey(1)
	for _, tc := range []struct {
		name string
		keys []PIIKey
	}{
		{"none", nil},
		{"empty id", []PIIKey{{ID: "", Master: k}}},
		{"long id", []PIIKey{{ID: strings.Repeat("k", 33), Master: k}}},
		{"id with a colon", []PIIKey{{ID: "k:1", Master: k}}},
		{"id with a space", []PIIKey{{ID: "k 1", Master: k}}},
		{"short key", []PIIKey{{ID: "k1", Master: k[:31]}}},
		{"same id twice", []PIIKey{{ID: "k1", Master: k}, {ID: "k1", Master: testKey(2)}}},
		{"same key twice", []PIIKey{{ID: "k1", Master: k}, {ID: "k2", Master: k}}},
	} {
		if c, err := NewKeyring(tc.keys); err == nil {
			t.Errorf("%s: accepted (%v)", tc.name, c.KeyIDs())
		}
	}
}

func TestKeyringFromConfig(t *testing.T) {
	initial := testKey(1)
	h2, h3 := hex.EncodeToString(testKey(2)), hex.EncodeToString(testKey(3))
	for _, tc := range []struct {
		more, current string
		ids           string
	}{
		{"", "k1", "k1"},
		{"  ", "k1", "k1"},
		{"k2:" + h2, "k2", "k1,k2"},
		{"k2:" + h2 + ", 2026b:" + h3, "2026b", "k1,k2,2026b"},
	} {
		c, err := KeyringFromConfig(initial, tc.more, "")
		if err != nil {
			t.Fatalf("%q: %v", tc.more, err)
		}
		if c.CurrentKeyID() != tc.current || strings.Join(c.KeyIDs(), ",") != tc.ids {
			t.Errorf("%q: current %s, ids %v", tc.more, c.CurrentKeyID(), c.KeyIDs())
		}
	}
	for _, bad := range []string{
		"k2",                                // no key
		"k2:" + h2[:62],                     // short
		"k2:" + h2 + "zz",                   // not hex
		"k1:" + h2,                          // the initial key's id again
		"k2:" + h2 + ",k2:" + h3,            // id twice
		"k2:" + hex.EncodeToString(initial), // the initial key again
		"k2:" + h2 + ",",                    // empty entry
	} {
		_, err := KeyringFromConfig(initial, bad, "")
		if err == nil {
			t.Errorf("%q accepted", bad)
			continue
		}
		// Errors never show key material.
		for _, h := range []string{h2, h3, h2[:62], hex.EncodeToString(initial)} {
			if strings.Contains(err.Error(), h) {
				t.Errorf("%q: error shows a key: %v", bad, err)
			}
		}
	}
	if s := (PIIKey{ID: "k2", Master: testKey(2)}).String(); strings.Contains(s, h2) {
		t.Fatalf("PIIKey prints its key: %s", s)
	}
}

// TestSealKeyRollsAKeyOutForReadingFirst: the three steps of adding a key
// with BANSHI_PII_SEAL_KEY. Step 1, a replica given k2 but told to seal
// under k1 writes nothing an old replica (k1 alone) cannot open, and opens
// k2 data; step 2, once every replica has k2, sealing moves to it (naming it,
// or leaving the setting out). An unknown seal id stops start-up.
func TestSealKeyRollsAKeyOutForReadingFirst(t *testing.T) {
	initial := testKey(1)
	more := "k2:" + hex.EncodeToString(testKey(2))
	b := Binding{Collection: "users", ID: "u_1", Field: "name"}
	old, err := KeyringFromConfig(initial, "", "")
	if err != nil {
		t.Fatal(err)
	}
	step1, err := KeyringFromConfig(initial, more, "k1")
	if err != nil {
		t.Fatal(err)
	}
	if step1.CurrentKeyID() != "k1" || strings.Join(step1.KeyIDs(), ",") != "k1,k2" {
		t.Fatalf("step 1: current %s of %v", step1.CurrentKeyID(), step1.KeyIDs())
	}
	sealed, err := step1.Seal("张三", b)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := old.Open(sealed, b); err != nil || got != "张三" {
		t.Fatalf("an old replica cannot open what step 1 sealed: %q, %v", got, err)
	}
	for _, seal := range []string{"k2", ""} {
		step2, err := KeyringFromConfig(initial, more, seal)
		if err != nil || step2.CurrentKeyID() != "k2" {
			t.Fatalf("step 2 (seal %q): %v, %v", seal, step2, err)
		}
		s2, err := step2.Seal("李四", b)
		if err != nil {
			t.Fatal(err)
		}
		if id, ok := step2.SealedKeyID(s2); !ok || id != "k2" {
			t.Fatalf("step 2 sealed under %q", id)
		}
		if got, err := step1.Open(s2, b); err != nil || got != "李四" {
			t.Fatalf("a step-1 replica cannot open k2 data: %q, %v", got, err)
		}
		if _, err := old.Open(s2, b); err == nil {
			t.Fatal("a k1-only replica opened k2 data")
		}
		if step2.BlindIndex("id", "110101199003074514") != old.BlindIndex("id", "110101199003074514") {
			t.Fatal("the blind index changed with the sealing key")
		}
	}
	for _, bad := range []string{"k3", "K2"} {
		if _, err := KeyringFromConfig(initial, more, bad); err == nil {
			t.Errorf("seal key %q accepted", bad)
		}
	}
}
