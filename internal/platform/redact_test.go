package platform

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	cases := map[string]string{
		"mongodb://user:pw@h1:27017,h2:27017/db?replicaSet=rs0":                                "mongodb://user:***@h1:27017,h2:27017/db?replicaSet=rs0",
		"mongodb+srv://app:p%40ss@cluster0.example.net/banshi?w=majority":                      "mongodb+srv://app:***@cluster0.example.net/banshi?w=majority",
		"redis://default:S3cretPass@host:6379/0":                                               "redis://default:***@host:6379/0",
		"redis://:S3cretPass@host:6379":                                                        "redis://:***@host:6379",
		"rediss://S3cretPass@host:6380/2":                                                      "rediss://***@host:6380/2",
		"redis://u:pa/ss@x@host:6379/0":                                                        "redis://u:***@host:6379/0",
		"redis://host:6379/0?client_name=banshi":                                               "redis://host:6379/0?client_name=banshi",
		"redis://user:@host":                                                                   "redis://user:@host",
		"mongodb://h/?tlsCertificateKeyFilePassword=kp&appName=b":                              "mongodb://h/?tlsCertificateKeyFilePassword=***&appName=b",
		"mongodb://h/?authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:tok": "mongodb://h/?authMechanism=MONGODB-AWS&authMechanismProperties=***",
		"":               "",
		"localhost:6379": "localhost:6379",
	}
	for in, want := range cases {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRedactErrorRemovesEveryForm(t *testing.T) {
	raw := `redis://default:S3c"ret%21Pass@host:6379x/0`
	cause := fmt.Errorf("parse %q: bad; password %s; decoded S3c\"ret!Pass: %w", raw, `S3c"ret%21Pass`, context.DeadlineExceeded)
	err := redactError(cause, raw)
	for _, leak := range []string{`S3c"ret%21Pass`, `S3c\"ret%21Pass`, `S3c"ret!Pass`, `S3c\"ret!Pass`, "ret"} {
		if strings.Contains(err.Error(), leak) {
			t.Errorf("%q left in %q", leak, err)
		}
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Error("errors.Is no longer sees the cause")
	}
	if errors.Unwrap(err) != nil {
		t.Error("the unredacted cause is reachable through Unwrap")
	}
	if redactError(nil, raw) != nil {
		t.Error("nil became an error")
	}
}
