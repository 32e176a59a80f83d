package platform

import (
	"fmt"
	"sync"
	"testing"
)

func TestTokenDigest(t *testing.T) {
	// RFC 4231 test case 2.
	const want = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
	if got := TokenDigest([]byte("Jefe"), "what do ya want for nothing?"); got != want {
		t.Fatalf("TokenDigest = %s, want %s", got, want)
	}
	if TokenDigest([]byte("k1"), "t") == TokenDigest([]byte("k2"), "t") {
		t.Fatal("the key does not change the digest")
	}
}

// TestDigesterMatchesTokenDigest: the pooled digester gives TokenDigest's
// answer, for many goroutines at once (run with -race), whatever the pool
// hands out.
func TestDigesterMatchesTokenDigest(t *testing.T) {
	for _, key := range [][]byte{[]byte("Jefe"), nil, []byte("a much longer key than sha256's block of sixty-four bytes, to be hashed first")} {
		d := NewDigester(key)
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 200 {
					token := fmt.Sprintf("token-%d-%d", g, i)
					if got, want := d.Digest(token), TokenDigest(key, token); got != want {
						t.Errorf("Digest(%q) = %s, want %s", token, got, want)
						return
					}
				}
			}()
		}
		wg.Wait()
	}
}

func BenchmarkDigest(b *testing.B) {
	key := []byte("0123456789abcdef0123456789abcdef")
	const token = "6a1f0c2e9b7d4e3f8a2b1c0d.AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcd"
	b.Run("TokenDigest", func(b *testing.B) {
		for b.Loop() {
			TokenDigest(key, token)
		}
	})
	b.Run("Digester", func(b *testing.B) {
		d := NewDigester(key)
		for b.Loop() {
			d.Digest(token)
		}
	})
}
