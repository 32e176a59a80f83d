package pages

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"banshi/internal/platform"
	"banshi/internal/platform/platformtest"
)

func TestFavorites(t *testing.T) {
	ctx := context.Background()
	s := NewStore(platformtest.Mongo(t), platform.NewManualClock(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)))
	p, err := s.Citizen(ctx, "u1")
	if err != nil || len(p.Favorites) != 0 {
		t.Fatalf("empty page = %+v, %v", p, err)
	}
	for range 2 { // idempotent
		if _, err := s.SetFavorites(ctx, "u1", []string{"A1", "B-2", "A1"}); err != nil {
			t.Fatal(err)
		}
	}
	p, _ = s.Citizen(ctx, "u1")
	if !reflect.DeepEqual(p.Favorites, []string{"A1", "B-2"}) {
		t.Fatalf("favorites = %v", p.Favorites)
	}
}

func TestFavoritesBadInputChangesNothing(t *testing.T) {
	ctx := context.Background()
	s := NewStore(platformtest.Mongo(t), platform.SystemClock{})
	if _, err := s.SetFavorites(ctx, "u1", []string{"keep"}); err != nil {
		t.Fatal(err)
	}
	many := make([]string, 21)
	for i := range many {
		many[i] = fmt.Sprintf("S%d", i)
	}
	cases := map[string][]string{
		"nil":       nil,
		"too many":  many,
		"bad chars": {"ok", "空格 bad"},
		"empty":     {""},
		"too long":  {strings.Repeat("a", 65)},
	}
	for name, codes := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := s.SetFavorites(ctx, "u1", codes)
			if ve, ok := platform.AsError(err); !ok || ve.Code != platform.CodeInvalid {
				t.Fatalf("err = %v, want an invalid_argument error", err)
			}
			p, _ := s.Citizen(ctx, "u1")
			if !reflect.DeepEqual(p.Favorites, []string{"keep"}) {
				t.Fatalf("favorites changed to %v", p.Favorites)
			}
		})
	}
}
