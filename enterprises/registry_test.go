package enterprises

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"banshi/internal/sim"
)

// TestRegistryLookup: the client reads the simulator's record.
func TestRegistryLookup(t *testing.T) {
	f := newFixture(t)
	f.enterprise(sim.DemoUSCC, nil)
	rec, err := f.client.Lookup(f.ctx, sim.DemoUSCC)
	if err != nil {
		t.Fatal(err)
	}
	if rec.USCC != sim.DemoUSCC || rec.Name != "广州某某科技有限公司" || rec.Status != StatusSubsisting || !rec.Active() ||
		rec.LegalRepresentative.Name != zhangName || rec.LegalRepresentative.IDNumber != zhangID {
		t.Fatalf("record %+v", rec)
	}
	if _, err := f.client.Lookup(f.ctx, newUSCC()); !errors.Is(err, ErrEnterpriseNotFound) {
		t.Fatalf("unknown: %v", err)
	}
}

// TestRegistryUnavailable: whatever goes wrong at the registry is
// ErrRegistryUnavailable (never "not found"), and no error quotes the URL.
func TestRegistryUnavailable(t *testing.T) {
	answer := func(status int, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		}
	}
	record := `{"uscc":"` + sim.DemoUSCC + `","name":"某公司","status":"存续","legal_representative":{"name":"张三","id_number":"` + zhangID + `"}}`
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"500", answer(500, `{"error":{"code":"internal"}}`)},
		{"503", answer(503, "")},
		{"404 of another route", answer(404, "404 page not found")},
		{"400", answer(400, `{"error":{"code":"invalid_argument"}}`)},
		{"not JSON", answer(200, "<html>")},
		{"another enterprise", answer(200, strings.Replace(record, sim.DemoUSCC, "91350100M000100Y43", 1))},
		{"no name", answer(200, strings.Replace(record, "某公司", " ", 1))},
		{"control characters in the name", answer(200, strings.Replace(record, "某公司", `某\u0007公司`, 1))},
		{"no status", answer(200, strings.Replace(record, "存续", "", 1))},
		{"no legal representative", answer(200, strings.Replace(record, zhangID, "", 1))},
		{"too large", answer(200, record[:len(record)-1]+`,"x":"`+strings.Repeat("a", maxRecordBytes)+`"}`)},
		{"slow", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			base := srv.URL + "/secret-token-in-path"
			c := NewRegistryClient(base, &http.Client{Timeout: 200 * time.Millisecond})
			_, err := c.Lookup(context.Background(), sim.DemoUSCC)
			if !errors.Is(err, ErrRegistryUnavailable) {
				t.Fatalf("err = %v", err)
			}
			if strings.Contains(err.Error(), "secret-token") || strings.Contains(err.Error(), srv.URL) || strings.Contains(err.Error(), zhangID) {
				t.Fatalf("error quotes the URL or the record: %v", err)
			}
		})
	}
	// Nobody listening.
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	_, err := NewRegistryClient(srv.URL+"/secret-token-in-path", nil).Lookup(context.Background(), sim.DemoUSCC)
	if !errors.Is(err, ErrRegistryUnavailable) || strings.Contains(err.Error(), "secret-token") {
		t.Fatalf("closed registry: %v", err)
	}
	// A cancelled request does not wait.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := NewRegistryClient(srv.URL, nil).Lookup(ctx, sim.DemoUSCC); !errors.Is(err, ErrRegistryUnavailable) {
		t.Fatalf("cancelled: %v", err)
	}
}

// TestClaimRegistryDown: a claim while the registry is down is
// ErrRegistryUnavailable and stores nothing.
func TestClaimRegistryDown(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(502) }))
	defer srv.Close()
	f.client = NewRegistryClient(srv.URL, nil)
	svc := f.service(f.accounts)
	uid := f.citizen(zhangName, zhangID, 4)
	if _, _, err := svc.Claim(f.ctx, uid, sim.DemoUSCC); !errors.Is(err, ErrRegistryUnavailable) {
		t.Fatalf("err = %v", err)
	}
	if n := len(f.claims()); n != 0 {
		t.Fatalf("%d claims stored", n)
	}
}
