package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"banshi/enterprises"
	"banshi/internal/account"
	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
)

// matchingPeople is a citizen store in which everyone is the level-4 legal
// representative of every enterprise.
type matchingPeople struct{}

func (matchingPeople) Get(_ context.Context, id string) (account.User, error) {
	return account.User{ID: id, Level: 4, HasIdentity: true}, nil
}

func (matchingPeople) CheckIdentity(context.Context, string, account.Identity) (bool, error) {
	return true, nil
}

func (matchingPeople) ProvenIndex(context.Context, string) (string, error) { return "", nil }

// testCipher is a PII cipher of a fixed key.
func testCipher(t *testing.T) *account.Cipher {
	t.Helper()
	c, err := account.NewCipher([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestEnterpriseRegistryDown: a claim while the registry fails is 503
// registry_unavailable with Retry-After 5 whose answer names neither the
// registry's URL nor its status, and nothing is stored.
func TestEnterpriseRegistryDown(t *testing.T) {
	registry := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) }))
	defer registry.Close()
	db := platformtest.Mongo(t)
	svc, err := enterprises.NewService(enterprises.Deps{
		DB: db, People: matchingPeople{}, Sealer: testCipher(t), Clock: platform.NewManualClock(time.Date(2026, 3, 16, 6, 0, 0, 0, time.UTC)),
		Registry: enterprises.NewRegistryClient(registry.URL+"/registry-token", nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{log: platformtest.Logger()}
	e := echo.New()
	e.HTTPErrorHandler = s.errorHandler
	g := e.Group("/api/v1", func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Set(ctxUserID, "u_test")
			return next(c)
		}
	})
	r := EnterpriseRoutes{Enterprises: svc}
	g.POST("/enterprises/claim", r.claim)
	g.GET("/me/enterprises", r.mine)

	req := httptest.NewRequest(http.MethodPost, "/api/v1/enterprises/claim", strings.NewReader(`{"uscc":"91440101MA5CXXXX7X"}`))
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	body := rec.Body.String()
	if rec.Code != 503 || rec.Header().Get("Retry-After") != "5" || !strings.Contains(body, `"registry_unavailable"`) {
		t.Fatalf("got %d %q %s", rec.Code, rec.Header().Get("Retry-After"), body)
	}
	if strings.Contains(body, "registry-token") || strings.Contains(body, "502") || strings.Contains(body, "127.0.0.1") {
		t.Fatalf("the answer tells the registry's details: %s", body)
	}
	if n, err := db.Collection(enterprises.CollClaims).CountDocuments(context.Background(), map[string]any{}); err != nil || n != 0 {
		t.Fatalf("%d claims stored (%v)", n, err)
	}
	rec = httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/me/enterprises", nil))
	if rec.Code != 200 || rec.Body.String() != `{"enterprises":[]}`+"\n" {
		t.Fatalf("list: %d %s", rec.Code, rec.Body)
	}
}
