package wechat

import (
	"encoding/json"
	"io"
	"strings"
	"testing"
)

func jsonBody(s string) io.Reader { return strings.NewReader(s) }

func field(t *testing.T, b []byte, k string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	s, _ := m[k].(string)
	return s
}
