package platform

import (
	"bytes"
	"testing"
)

func TestSecretBox(t *testing.T) {
	master := bytes.Repeat([]byte{7}, 32)
	b, err := NewSecretBox(master, "banshi integration secrets v1")
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := b.Seal("s3cret", "integration:dept-a:current")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("s3cret")) {
		t.Fatal("plaintext visible in the ciphertext")
	}
	if got, err := b.Open(sealed, "integration:dept-a:current"); err != nil || got != "s3cret" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	other, _ := NewSecretBox(master, "another purpose")
	flipped := append([]byte(nil), sealed...)
	flipped[len(flipped)-1] ^= 1
	for name, try := range map[string]func() (string, error){
		"other record":  func() (string, error) { return b.Open(sealed, "integration:dept-b:current") },
		"other purpose": func() (string, error) { return other.Open(sealed, "integration:dept-a:current") },
		"tampered":      func() (string, error) { return b.Open(flipped, "integration:dept-a:current") },
		"truncated":     func() (string, error) { return b.Open(sealed[:10], "integration:dept-a:current") },
		"empty":         func() (string, error) { return b.Open(nil, "") },
	} {
		if got, err := try(); err == nil || got != "" {
			t.Errorf("%s: opened %q", name, got)
		}
	}
	if _, err := NewSecretBox(master[:16], "x"); err == nil {
		t.Fatal("a 16-byte master key was accepted")
	}
}
