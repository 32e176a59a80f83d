package sim

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestDevKeysRacingAgree: callers racing to mint the same data folder all end
// up with the keys and ids that are on disk, whichever of them won.
func TestDevKeysRacingAgree(t *testing.T) {
	dir := t.TempDir()
	const n = 4
	ali := make([]AlipayDevKeys, n)
	wxp := make([]WeChatPayDevKeys, n)
	errs := make([]error, 2*n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			ali[i], errs[i] = LoadOrCreateAlipayKeys(filepath.Join(dir, "alipay"))
		}()
		go func() {
			defer wg.Done()
			wxp[i], errs[n+i] = LoadOrCreateWeChatPayKeys(filepath.Join(dir, "wechatpay"))
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	disk, err := LoadOrCreateAlipayKeys(filepath.Join(dir, "alipay"))
	if err != nil {
		t.Fatal(err)
	}
	wdisk, err := LoadOrCreateWeChatPayKeys(filepath.Join(dir, "wechatpay"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if !ali[i].AppKey.Equal(disk.AppKey) || !ali[i].AlipayKey.Equal(disk.AlipayKey) || ali[i].AppID != disk.AppID {
			t.Errorf("alipay caller %d disagrees with the data folder", i)
		}
		if !wxp[i].MerchantKey.Equal(wdisk.MerchantKey) || !wxp[i].PublicKey.Equal(wdisk.PublicKey) ||
			!wxp[i].CertificateKey.Equal(wdisk.CertificateKey) || wxp[i].APIv3Key != wdisk.APIv3Key {
			t.Errorf("wechatpay caller %d disagrees with the data folder", i)
		}
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*", ".*"))
	if len(left) != 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

// TestDevKeysBadFiles: a damaged key or ids file is an error naming the file,
// never quoting its content, and is not overwritten.
func TestDevKeysBadFiles(t *testing.T) {
	for _, tc := range []struct{ file, content, want string }{
		{"app_private_key.pem", "SECRET-not-pem", "is not PEM"},
		{"alipay_key.pem", "-----BEGIN PRIVATE KEY-----\nU0VDUkVU\n-----END PRIVATE KEY-----\n", "is not a PKCS#8 RSA key"},
		{"ids.json", `{"app_id":"SECRET","seller_id":"2088"}`, "is not valid"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, tc.file)
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadOrCreateAlipayKeys(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "SECRET") {
				t.Fatalf("err = %v, want %q without the content", err, tc.want)
			}
			if b, _ := os.ReadFile(path); string(b) != tc.content {
				t.Fatal("the damaged file was overwritten")
			}
		})
	}
}
