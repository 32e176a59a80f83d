package integrations

import (
	"context"
	"errors"
)

// DemoID is the demo department system development seeds.
const DemoID = "demo-dept"

// SeedDemo makes sure the demo integration exists — id DemoID, every scope,
// callback URL callbackURL — and never changes one that exists (an admin may
// have disabled it). It returns a secret the integration signs with now: the
// one it was created with, or, when it existed and learn is true, a fresh one
// from rotating it (a secret is shown only once, so a restarted development
// Banshi learns a new one for its in-process simulator; the previous one
// keeps working for RotationOverlap). When it existed and learn is false, it
// returns "" and rotates nothing.
func (r *Registry) SeedDemo(ctx context.Context, callbackURL string, learn bool) (string, error) {
	w, err := r.Create(ctx, New{ID: DemoID, Name: "演示部门办件系统", Scopes: AllScopes(), CallbackURL: callbackURL})
	switch {
	case err == nil:
		return w.Secret, nil
	case !errors.Is(err, ErrExists):
		return "", err
	case !learn:
		return "", nil
	}
	for range 3 { // another process may be rotating it at the same moment
		if w, err = r.Rotate(ctx, DemoID); !errors.Is(err, ErrRotating) {
			break
		}
	}
	if err != nil {
		return "", err
	}
	return w.Secret, nil
}
