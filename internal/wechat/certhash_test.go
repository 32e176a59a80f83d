package wechat

import "testing"

// TestCertHashWorkedExample reproduces the example of WeChat's
// face-verification page: 张三 / 310101199801011234.
func TestCertHashWorkedExample(t *testing.T) {
	const want = "3c241f7ff324977aeb91f173bb2a7b06569e6fd784d5573db34a636d8671108b"
	if got := CertHash(CertTypeIDCard, "张三", "310101199801011234"); got != want {
		t.Fatalf("CertHash = %s, want %s", got, want)
	}
	if CertHash(CertTypeIDCard, "张三", "31010119980101123X") == want {
		t.Fatal("another ID number hashes the same")
	}
}
