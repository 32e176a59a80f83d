package licences

import (
	"context"
	"crypto/subtle"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/internal/platform"
)

// ForUser returns the licences of the ID number userID proved (real-name
// level 3 or more; a level-2 declaration shows none), most recently received
// first, revoked and expired ones marked. Errors: storage only.
func (s *Service) ForUser(ctx context.Context, userID string) ([]LicenceView, error) {
	idx, err := s.owners.ProvenIndex(ctx, userID)
	if err != nil || idx == "" {
		return []LicenceView{}, err
	}
	docs, err := s.find(ctx, bson.M{"id_index": idx})
	if err != nil {
		return nil, err
	}
	return s.views(docs), nil
}

// ForEnterprise returns the licences whose holder is the enterprise uscc,
// as ForUser orders them. The caller decides who may see them. Errors:
// platform.Invalid (field uscc, the check platform.ParseUSCC names); storage.
func (s *Service) ForEnterprise(ctx context.Context, uscc string) ([]LicenceView, error) {
	if _, err := platform.ParseUSCC(uscc); err != nil {
		return nil, err
	}
	docs, err := s.find(ctx, bson.M{"uscc": uscc})
	if err != nil {
		return nil, err
	}
	return s.views(docs), nil
}

// Get returns one licence of userID's. Errors: ErrNotFound (also for
// another holder's); storage.
func (s *Service) Get(ctx context.Context, userID, id string) (LicenceView, error) {
	d, err := s.owned(ctx, userID, id)
	if err != nil {
		return LicenceView{}, err
	}
	return view(d, s.clock.Now()), nil
}

func (s *Service) views(docs []licenceDoc) []LicenceView {
	now := s.clock.Now()
	out := make([]LicenceView, len(docs))
	for i, d := range docs {
		out[i] = view(d, now)
	}
	return out
}

// owned loads licence id when userID proved its holder's ID number.
// Errors: ErrNotFound otherwise (an identifier that does not parse too).
func (s *Service) owned(ctx context.Context, userID, id string) (licenceDoc, error) {
	if _, err := ParseIdentifier("id", id); err != nil {
		return licenceDoc{}, ErrNotFound
	}
	idx, err := s.owners.ProvenIndex(ctx, userID)
	if err != nil {
		return licenceDoc{}, err
	}
	if idx == "" {
		return licenceDoc{}, ErrNotFound
	}
	d, err := s.load(ctx, id)
	if err != nil {
		return licenceDoc{}, err
	}
	if d.IDIndex == "" || subtle.ConstantTimeCompare([]byte(d.IDIndex), []byte(idx)) != 1 {
		return licenceDoc{}, ErrNotFound
	}
	return d, nil
}
