package licences

import (
	"sync/atomic"
	"testing"
)

// BenchmarkVerifyToken measures the counter's whole verification of a fresh
// token (parse, Banshi's SM2 signature, the licence read, the use's insert
// that makes it good once) against the test store (embedded FerretDB unless
// BANSHI_TEST_MONGODB_URI is set); tokens are minted before the timer
// starts. BENCHMARKS.md gives the figures:
//
//	go test -run XXX -bench 'VerifyToken|TokenSignature' -benchtime 2000x ./licences/
func BenchmarkVerifyToken(b *testing.B) {
	for _, parallel := range []bool{false, true} {
		name := "serial"
		if parallel {
			name = "parallel"
		}
		b.Run(name, func(b *testing.B) {
			f := newFixture(b)
			id := f.issued(b, "900001")
			toks := make([]string, b.N)
			for i := range toks {
				s, err := f.svc.Show(b.Context(), "u1", id)
				if err != nil {
					b.Fatal(err)
				}
				toks[i] = s.Token
			}
			var next atomic.Int64
			b.ResetTimer()
			verify := func() {
				i := next.Add(1) - 1
				if _, err := f.svc.Verify(b.Context(), Verifier{Username: "bench"}, toks[i]); err != nil {
					b.Error(err)
				}
			}
			if parallel {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						verify()
					}
				})
			} else {
				for range b.N {
					verify()
				}
			}
		})
	}
}

// BenchmarkTokenSignature is the CPU part alone: parsing a token and
// checking Banshi's SM2-with-SM3 signature.
func BenchmarkTokenSignature(b *testing.B) {
	s, _ := NewSigner(testKey)
	tok, _, err := mintToken(s, vectorID, testNow)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		_, signed, sig, err := ParseToken(tok)
		if err != nil || !s.Verify(signed, sig) {
			b.Fatal("token does not verify")
		}
	}
}
