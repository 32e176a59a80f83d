package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestRotatePIIKeyCommand: `banshi rotate-pii-key` against a fresh embedded
// store re-seals under the last key of BANSHI_PII_KEYS and prints a line per
// collection; a bad --batch is a usage error and a bad key list stops it
// before any store is opened, its message naming the entry, not the key.
func TestRotatePIIKeyCommand(t *testing.T) {
	k2 := strings.Repeat("7a", 32)
	env := map[string]string{"BANSHI_ENV": "development", "BANSHI_DATA_DIR": t.TempDir(), "BANSHI_PII_KEYS": "k2:" + k2}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	var out bytes.Buffer
	if err := run(ctx, []string{"rotate-pii-key", "--batch", "50"}, getenv(env), &out, testLog()); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"under key k2 (keyring [k1 k2])", "users: read 0", "enterprise_members: read 0", "licences: read 0", "done"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), k2) {
		t.Fatal("the key was printed")
	}

	var usage usageError
	if err := run(ctx, []string{"rotate-pii-key", "--batch", "0"}, getenv(env), &out, testLog()); !errors.As(err, &usage) {
		t.Fatalf("--batch 0: %v", err)
	}
	bad := map[string]string{"BANSHI_ENV": "development", "BANSHI_DATA_DIR": t.TempDir(), "BANSHI_PII_KEYS": "k2:" + k2[:60]}
	err := run(ctx, []string{"rotate-pii-key"}, getenv(bad), &out, testLog())
	if err == nil || !strings.Contains(err.Error(), "BANSHI_PII_KEYS entry 1") || strings.Contains(err.Error(), k2[:60]) {
		t.Fatalf("bad key list: %v", err)
	}
	unknown := map[string]string{"BANSHI_ENV": "development", "BANSHI_DATA_DIR": t.TempDir(), "BANSHI_PII_KEYS": "k2:" + k2, "BANSHI_PII_SEAL_KEY": "k9"}
	err = run(ctx, []string{"rotate-pii-key"}, getenv(unknown), &out, testLog())
	if err == nil || !strings.Contains(err.Error(), "BANSHI_PII_SEAL_KEY") || strings.Contains(err.Error(), k2) {
		t.Fatalf("unknown seal key: %v", err)
	}
}
