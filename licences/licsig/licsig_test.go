package licsig

import "testing"

func TestCheckCharacterVector(t *testing.T) {
	want := "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F"
	if got := WithCheck("11100000000013338W032", "11220000013544541J", "2430599", "001"); got != want {
		t.Fatalf("WithCheck = %s", got)
	}
	if _, ok := CheckCharacter("abc"); ok {
		t.Fatal("lower case accepted")
	}
}

func TestCanonicalJSON(t *testing.T) {
	got, err := CanonicalJSON(map[string]any{"b": `q"\<`, "a": map[string]string{"z": "1", "y": "2"}})
	if err != nil || string(got) != `{"a":{"y":"2","z":"1"},"b":"q\"\\<"}` {
		t.Fatalf("%s %v", got, err)
	}
	if _, err := CanonicalJSON(map[string]any{"n": 1.5}); err == nil {
		t.Fatal("a number accepted")
	}
}

func TestSignVerifyAndPEM(t *testing.T) {
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParsePublicKeyPEM(PublicKeyPEM(&k.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	priv, err := ParsePrivateKeyPEM(PrivateKeyPEM(k))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := Sign(priv, []byte("licence"))
	if err != nil || !Verify(pub, []byte("licence"), sig) || Verify(pub, []byte("licencf"), sig) {
		t.Fatalf("sign/verify: %v", err)
	}
	if _, err := ParsePublicKeyPEM(PrivateKeyPEM(k)); err == nil {
		t.Fatal("a private key taken as public")
	}
}
