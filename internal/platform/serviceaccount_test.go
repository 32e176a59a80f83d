package platform

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestDevServiceAccount: the first call mints the key file in the folder;
// every later call, and every racing one, returns the same bytes, so a
// development Banshi and `banshi sim` on one folder agree. A file of another
// project is refused.
func TestDevServiceAccount(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	var wg sync.WaitGroup
	keys := make([][]byte, 4)
	errs := make([]error, 4)
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			keys[i], errs[i] = DevServiceAccount(dir, "banshi-dev")
		}()
	}
	wg.Wait()
	for i := range keys {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !bytes.Equal(keys[i], keys[0]) {
			t.Fatal("racing callers got different keys")
		}
	}
	again, err := DevServiceAccount(dir, "banshi-dev")
	if err != nil || !bytes.Equal(again, keys[0]) {
		t.Fatalf("second call: %v", err)
	}
	sa, key, err := ParseServiceAccount(again)
	if err != nil || key == nil || sa.ProjectID != "banshi-dev" || sa.PrivateKeyID == "" || sa.ClientEmail == "" {
		t.Fatalf("%+v %v", sa, err)
	}
	if st, err := os.Stat(filepath.Join(dir, DevServiceAccountFile)); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("file mode: %v %v", st, err)
	}
	if _, err := DevServiceAccount(dir, "another-project"); err == nil {
		t.Fatal("a key of another project was accepted")
	}
	moved, err := WithTokenURI(again, "http://127.0.0.1:9100/sim/fcm/token")
	if err != nil {
		t.Fatal(err)
	}
	sa2, _, err := ParseServiceAccount(moved)
	if err != nil || sa2.TokenURI != "http://127.0.0.1:9100/sim/fcm/token" || sa2.PrivateKey != sa.PrivateKey {
		t.Fatalf("WithTokenURI: %+v %v", sa2, err)
	}
}

func TestParseServiceAccountRefuses(t *testing.T) {
	for _, b := range []string{
		`nope`,
		`{"type":"authorized_user","project_id":"p","client_email":"e","token_uri":"u","private_key":""}`,
		`{"type":"service_account","project_id":"p","client_email":"e","token_uri":"u","private_key":"not pem"}`,
		`{"type":"service_account","client_email":"e","token_uri":"u"}`,
	} {
		if _, _, err := ParseServiceAccount([]byte(b)); err == nil {
			t.Errorf("accepted %s", b)
		}
	}
}

func TestValidProjectID(t *testing.T) {
	for id, want := range map[string]bool{"banshi-dev": true, "my-project-123": true, "abc": false, "Banshi-dev": false, "1banshi": false, "banshi-": false, "banshi_dev": false} {
		if ValidProjectID(id) != want {
			t.Errorf("%q: want %v", id, want)
		}
	}
}
