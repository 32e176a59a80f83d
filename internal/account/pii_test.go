package account

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"golang.org/x/crypto/hkdf"
)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func newTestCipher(t testing.TB, b byte) *Cipher {
	t.Helper()
	c, err := NewCipher(testKey(b))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewCipherKeyLength(t *testing.T) {
	for _, n := range []int{0, 16, 24, 31, 33, 64} {
		if _, err := NewCipher(make([]byte, n)); err == nil {
			t.Errorf("NewCipher(%d bytes) accepted", n)
		}
	}
	if _, err := NewCipher(make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
}

var testBinding = Binding{Collection: "users", ID: "u_test", Field: "name"}

func TestCipherRoundTrip(t *testing.T) {
	c := newTestCipher(t, 1)
	for _, p := range []string{"", "张三", "买买提·艾力", "11010519491231002X", strings.Repeat("长", 1000)} {
		ct, err := c.Seal(p, testBinding)
		if err != nil {
			t.Fatal(err)
		}
		if len(ct) != 2+len(InitialKeyID)+12+len(p)+16 || ct[0] != 3 || string(ct[2:2+ct[1]]) != InitialKeyID {
			t.Errorf("Seal(%d bytes) = %d bytes starting %#x", len(p), len(ct), ct[0])
		}
		if p != "" && bytes.Contains(ct, []byte(p)) {
			t.Errorf("ciphertext contains the plaintext")
		}
		got, err := c.Open(ct, testBinding)
		if err != nil || got != p {
			t.Fatalf("Open = %q, %v; want %q", got, err, p)
		}
		ct2, _ := c.Seal(p, testBinding)
		if bytes.Equal(ct, ct2) {
			t.Errorf("two encryptions of %q are equal (nonce reuse)", p)
		}
	}
}

func TestCipherDetectsTampering(t *testing.T) {
	c := newTestCipher(t, 1)
	ct, err := c.Seal("11010519491231002X", testBinding)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ct {
		bad := bytes.Clone(ct)
		bad[i] ^= 0x01
		if got, err := c.Open(bad, testBinding); err == nil || got != "" {
			t.Fatalf("flipped byte %d: Open = %q, %v", i, got, err)
		}
	}
	for _, n := range []int{0, 1, 13, 28, len(ct) - 1} {
		if _, err := c.Open(ct[:n], testBinding); err == nil {
			t.Errorf("truncated to %d bytes: no error", n)
		}
	}
	if _, err := c.Open(append(bytes.Clone(ct), 0), testBinding); err == nil {
		t.Error("extended ciphertext: no error")
	}
	if _, err := newTestCipher(t, 2).Open(ct, testBinding); err == nil {
		t.Error("other key decrypted")
	}
	if _, err := c.openFormat1(ct); err == nil {
		t.Error("format 2 opened as format 1")
	}
}

// TestCipherBindsCollectionRecordAndField: a ciphertext opens only under the
// binding it was sealed with, and bindings never encode alike.
func TestCipherBindsCollectionRecordAndField(t *testing.T) {
	c := newTestCipher(t, 1)
	ct, err := c.Seal("张三", Binding{Collection: "users", ID: "u_a", Field: "name"})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []Binding{
		{Collection: "users", ID: "u_b", Field: "name"},
		{Collection: "users", ID: "u_a", Field: "id_number"},
		{Collection: "face", ID: "u_a", Field: "name"},
		{Collection: "users", ID: "u_a", Field: "nam"},
		{Collection: "users", ID: "u_an", Field: "ame"},
		{},
	} {
		if got, err := c.Open(ct, b); err == nil {
			t.Errorf("opened under %+v: %q", b, got)
		}
	}
	if _, err := c.Seal("x", Binding{ID: strings.Repeat("a", 1<<16)}); err == nil {
		t.Error("binding part over 65535 bytes accepted")
	}
}

func TestBlindIndex(t *testing.T) {
	c1, c1b, c2 := newTestCipher(t, 1), newTestCipher(t, 1), newTestCipher(t, 2)
	a := c1.BlindIndex("id_number", "11010519491231002X")
	if len(a) != 64 || strings.Trim(a, "0123456789abcdef") != "" {
		t.Fatalf("BlindIndex = %q, want 64 lowercase hex", a)
	}
	if b := c1b.BlindIndex("id_number", "11010519491231002X"); a != b {
		t.Error("not deterministic for one key")
	}
	if b := c2.BlindIndex("id_number", "11010519491231002X"); a == b {
		t.Error("different keys give the same index")
	}
	if b := c1.BlindIndex("name", "11010519491231002X"); a == b {
		t.Error("different kinds give the same index")
	}
	if b := c1.BlindIndex("id_number", "11010519491231002x"); a == b {
		t.Error("different values give the same index")
	}
	// The separator keeps kind and value apart.
	if c1.BlindIndex("ab", "c") == c1.BlindIndex("a", "bc") {
		t.Error("kind/value boundary is ambiguous")
	}
}

// TestKeyDerivationFormat pins the documented scheme so other implementations
// (or a key rotation tool) can interoperate: HKDF-SHA256(master, no salt,
// info) for both keys, version byte and nonce before AES-256-GCM with the
// binding as associated data (format 2), hex HMAC-SHA256 index; and format 1
// of earlier releases.
func TestKeyDerivationFormat(t *testing.T) {
	master := testKey(7)
	derive := func(info string) []byte {
		k := make([]byte, 32)
		if _, err := io.ReadFull(hkdf.New(sha256.New, master, nil, []byte(info)), k); err != nil {
			t.Fatal(err)
		}
		return k
	}
	encKey, idxKey := derive("banshi pii enc v1"), derive("banshi pii index v1")
	if bytes.Equal(encKey, idxKey) || bytes.Equal(encKey, master) {
		t.Fatal("derived keys not distinct")
	}
	c := newTestCipher(t, 7)

	m := hmac.New(sha256.New, idxKey)
	m.Write([]byte("id_number\x0011010519491231002X"))
	if got, want := c.BlindIndex("id_number", "11010519491231002X"), hex.EncodeToString(m.Sum(nil)); got != want {
		t.Fatalf("BlindIndex = %s, want %s", got, want)
	}

	ct, err := c.Seal("张三", Binding{Collection: "users", ID: "u_x", Field: "name"})
	if err != nil {
		t.Fatal(err)
	}
	block, _ := aes.NewCipher(encKey)
	gcm, _ := cipher.NewGCM(block)
	// Format 3: 0x03, the key id's length, the key id, nonce, ciphertext and
	// tag; associated data "banshi pii v3" then the binding's parts and the
	// key id, each as a 2-byte big-endian length and its bytes.
	ad3 := []byte("banshi pii v3\x00\x05users\x00\x03u_x\x00\x04name\x00\x02k1")
	if ct[0] != 3 || ct[1] != 2 || string(ct[2:4]) != "k1" {
		t.Fatalf("header % x", ct[:4])
	}
	plain, err := gcm.Open(nil, ct[4:16], ct[16:], ad3)
	if err != nil || string(plain) != "张三" {
		t.Fatalf("independent decryption = %q, %v", plain, err)
	}
	// Format 2, as the previous release wrote it: 0x02, nonce, ciphertext
	// and tag; associated data "banshi pii v2" then each part as a 2-byte
	// big-endian length and its bytes.
	ad := []byte("banshi pii v2\x00\x05users\x00\x03u_x\x00\x04name")
	nonce2 := bytes.Repeat([]byte{8}, 12)
	v2 := append([]byte{2}, gcm.Seal(bytes.Clone(nonce2), nonce2, []byte("王五"), ad)...)
	if got, err := c.Open(v2, Binding{Collection: "users", ID: "u_x", Field: "name"}); err != nil || got != "王五" {
		t.Fatalf("format 2 = %q, %v", got, err)
	}
	// Format 1, as earlier releases wrote it: nonce, ciphertext, tag; no
	// associated data.
	nonce := bytes.Repeat([]byte{9}, 12)
	old := gcm.Seal(bytes.Clone(nonce), nonce, []byte("李四"), nil)
	if got, err := c.openFormat1(old); err != nil || got != "李四" {
		t.Fatalf("format 1 = %q, %v", got, err)
	}
	if _, err := c.Open(old, Binding{}); err == nil {
		t.Fatal("format 1 opened as format 2")
	}
}

func TestIdentityPrintsMasked(t *testing.T) {
	id := Identity{Name: "买买提·艾力", IDNumber: "11010519491231002X"}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "identity", id)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "identity", id)
	out := fmt.Sprintf("%v %+v %#v %s", id, id, id, id) + buf.String()
	for _, secret := range []string{"买买提·艾力", "11010519491231002X", "19491231"} {
		if strings.Contains(out, secret) {
			t.Fatalf("printed identity contains %q: %s", secret, out)
		}
	}
	if !strings.Contains(out, "1101**********002X") || !strings.Contains(out, "*买提·艾力") {
		t.Fatalf("masked forms missing: %s", out)
	}
}
