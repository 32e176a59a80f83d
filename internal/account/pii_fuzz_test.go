package account

import (
	"testing"
)

// FuzzOpen: Open of arbitrary bytes, under a ring of two keys, never panics,
// and anything that opens is exactly what was sealed (the seeds' sealed
// plaintexts) or an error with an empty plaintext. The committed corpus
// (testdata/fuzz/FuzzOpen) holds truncated headers, lengths past the end and
// a valid format-3 and format-2 ciphertext.
func FuzzOpen(f *testing.F) {
	c := ring(f, "k1", "k2")
	b := Binding{Collection: "users", ID: "u_fuzz", Field: "name"}
	valid3, err := c.Seal("张三", b)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid3)
	f.Add(sealFormat2(f, c, "张三", b))
	f.Add([]byte{})
	f.Add([]byte{3})
	f.Add([]byte{3, 2, 'k'})
	f.Add([]byte{3, 0})
	f.Add([]byte{3, 255, 'k', '2'})
	f.Add([]byte{2, 1, 2, 3})
	f.Fuzz(func(t *testing.T, sealed []byte) {
		got, err := c.Open(sealed, b)
		if err != nil && got != "" {
			t.Fatalf("error %v with plaintext %q", err, got)
		}
		if err == nil && got != "张三" {
			t.Fatalf("opened to %q", got)
		}
		if id, ok := c.SealedKeyID(sealed); ok && len(sealed) > 0 && sealed[0] == formatKeyed && len(id) != int(sealed[1]) {
			t.Fatalf("SealedKeyID = %q for length byte %d", id, sealed[1])
		}
	})
}
