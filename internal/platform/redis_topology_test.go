package platform

import (
	"strings"
	"testing"
)

// TestParseRedisTarget: REDIS_URL names one server, a cluster's seeds or
// Sentinels; malformed ones are refused without quoting the password.
func TestParseRedisTarget(t *testing.T) {
	for _, tc := range []struct {
		name, url, kind, addrs, err string
	}{
		{"one server", "redis://:pw@127.0.0.1:6379/2", redisSingle, "127.0.0.1:6379", ""},
		{"cluster seeds", "redis://:pw@10.0.0.1:7000,redis://:pw@10.0.0.2:7000,redis://:pw@10.0.0.3:7000", redisCluster,
			"cluster seeds 10.0.0.1:7000,10.0.0.2:7000,10.0.0.3:7000", ""},
		{"sentinels", "redis-sentinel://:pw@10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379/1?master=banshi", redisSentinel,
			"master banshi via sentinels 10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379", ""},
		{"sentinels without a master name", "redis-sentinel://:pw@10.0.0.1:26379", "", "", "master option is required"},
		{"sentinel with a bad port", "redis-sentinel://:pw@10.0.0.1:99999?master=m", "", "", "invalid port"},
		{"sentinel with an unknown option", "redis-sentinel://:pw@10.0.0.1:26379?master=m&foo=1", "", "", "unknown option"},
		{"cluster seeds that disagree on the password", "redis://:pw@10.0.0.1:7000,redis://:other@10.0.0.2:7000", "", "", "same user, password"},
		{"a cluster seed with a database", "redis://:pw@10.0.0.1:7000,redis://:pw@10.0.0.2:7000/3", "", "", "only database 0"},
		{"a cluster seed with a bad port", "redis://:pw@10.0.0.1:7000,redis://:pw@10.0.0.2:0", "", "", "invalid port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseRedisTarget(tc.url)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one saying %q", err, tc.err)
				}
				if strings.Contains(err.Error(), "pw") || strings.Contains(err.Error(), "other") {
					t.Fatalf("the error quotes a password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.kind != tc.kind || got.addrs() != tc.addrs {
				t.Fatalf("%s %q, want %s %q", got.kind, got.addrs(), tc.kind, tc.addrs)
			}
			c := got.client()
			defer c.Close()
		})
	}
}

// TestRedactURLList: each seed of a cluster URL loses its password.
func TestRedactURLList(t *testing.T) {
	got := RedactURL("redis://u:secret1@h1:7000,redis://u:secret2@h2:7000")
	if want := "redis://u:***@h1:7000,redis://u:***@h2:7000"; got != want {
		t.Fatalf("%s, want %s", got, want)
	}
	if got := RedactURL("redis-sentinel://:pw@s1:26379,s2:26379?master=m"); got != "redis-sentinel://:***@s1:26379,s2:26379?master=m" {
		t.Fatalf("sentinel URL redacted as %s", got)
	}
}
