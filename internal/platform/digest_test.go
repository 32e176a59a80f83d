package platform

import "testing"

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
