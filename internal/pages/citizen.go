package pages

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"banshi/internal/account"
	"banshi/internal/platform"
	"banshi/internal/session"
)

// Section fills one section of the citizen page (appointments, applications,
// bills, messages, ...). Features provide theirs; cmd/banshi wires them.
type Section interface {
	Name() string
	Load(ctx context.Context, userID string) (any, error)
}

// Users reads citizens.
type Users interface {
	Get(ctx context.Context, id string) (account.User, error)
}

// Catalog says whether a service item code (事项编码) is offered anywhere.
type Catalog interface {
	KnownServiceCode(ctx context.Context, code string) (bool, error)
}

var _ Users = (*account.Store)(nil)

// SectionNames are the sections every citizen page shows, empty until the
// feature that fills them is there.
var SectionNames = []string{"favorites", "appointments", "applications", "bills", "messages"}

// UserView is a citizen as their page and the login answers show them:
// identity only masked.
type UserView struct {
	ID             string `json:"id"`
	RealnameLevel  int    `json:"realname_level"`
	NameMasked     string `json:"name_masked,omitempty"`
	IDNumberMasked string `json:"id_number_masked,omitempty"`
}

// ViewOf is the view of u.
func ViewOf(u account.User) UserView {
	return UserView{ID: u.ID, RealnameLevel: u.Level, NameMasked: u.NameMasked, IDNumberMasked: u.IDNumberMasked}
}

// Unread counts a citizen's unread in-app messages.
type Unread interface {
	Unread(ctx context.Context, userID string) (int64, error)
}

// CitizenView is the citizen page: the user, the unread message count and
// every section.
type CitizenView struct {
	User           UserView       `json:"user"`
	UnreadMessages int64          `json:"unread_messages"`
	Sections       map[string]any `json:"sections"`
}

// Citizens assembles citizen pages and keeps their favourites.
type Citizens struct {
	store    *Store
	users    Users
	catalog  Catalog
	unread   Unread
	sections []Section
}

// NewCitizens returns the citizen page service; unread may be nil (the count
// shows 0).
func NewCitizens(store *Store, users Users, catalog Catalog, unread Unread, sections ...Section) *Citizens {
	return &Citizens{store: store, users: users, catalog: catalog, unread: unread, sections: sections}
}

// Render returns the citizen's page as JSON (with a final newline), ready to
// be cached with the session. A user that no longer exists is
// session.ErrUnauthenticated: its session outlived it. Other errors are store
// failures of the user, the page or a section.
func (c *Citizens) Render(ctx context.Context, userID string) ([]byte, error) {
	u, err := c.users.Get(ctx, userID)
	if errors.Is(err, account.ErrNotFound) {
		return nil, session.ErrUnauthenticated.Wrap(err)
	}
	if err != nil {
		return nil, err
	}
	page, err := c.store.Citizen(ctx, userID)
	if err != nil {
		return nil, err
	}
	v := CitizenView{User: ViewOf(u), Sections: make(map[string]any, len(SectionNames))}
	for _, n := range SectionNames {
		v.Sections[n] = []any{}
	}
	v.Sections["favorites"] = page.Favorites
	if c.unread != nil {
		if v.UnreadMessages, err = c.unread.Unread(ctx, userID); err != nil {
			return nil, err
		}
	}
	for _, s := range c.sections {
		data, err := s.Load(ctx, userID)
		if err != nil {
			return nil, fmt.Errorf("page section %s: %w", s.Name(), err)
		}
		v.Sections[s.Name()] = data
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// SetFavorites replaces the citizen's favourite services: service item codes
// offered by some hall, at most MaxFavorites, de-duplicated in order. Errors:
// platform.Invalid naming the field (malformed, too many, or a code no hall
// offers: check "unknown"), nothing written; store failures.
func (c *Citizens) SetFavorites(ctx context.Context, userID string, codes []string) ([]string, error) {
	clean, err := ValidateFavorites(codes)
	if err != nil {
		return nil, err
	}
	checked := map[string]bool{}
	for i, code := range codes { // indexes as the client sent them
		if checked[code] {
			continue
		}
		checked[code] = true
		ok, err := c.catalog.KnownServiceCode(ctx, code)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, platform.Invalid(fmt.Sprintf("service_codes[%d]", i), "unknown", "没有大厅办理该事项")
		}
	}
	p, err := c.store.SetFavorites(ctx, userID, clean)
	if err != nil {
		return nil, err
	}
	return p.Favorites, nil
}
