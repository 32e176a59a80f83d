package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestBadPreviousCheckinKeyStopsStartUp: a previous check-in key that is
// not at least 32 hexadecimal characters stops Banshi at start-up, naming
// the setting and never its value.
func TestBadPreviousCheckinKeyStopsStartUp(t *testing.T) {
	const bad = "not-hex-secret-value"
	env := map[string]string{"BANSHI_ENV": "development", "BANSHI_DATA_DIR": t.TempDir(), "BANSHI_ADDR": "127.0.0.1:0",
		"BANSHI_CHECKIN_KEY_PREVIOUS": bad}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out strings.Builder
	err := run(ctx, []string{"serve"}, getenv(env), &out, testLog())
	if err == nil || !strings.Contains(err.Error(), "BANSHI_CHECKIN_KEY_PREVIOUS") || strings.Contains(err.Error(), bad) ||
		strings.Contains(out.String(), bad) {
		t.Fatalf("start-up with a bad previous check-in key: %v", err)
	}
}
