package main

import (
	"context"

	"banshi/appointments"
	"banshi/internal/account"
)

// peopleDirectory tells staff lists who a citizen is: full name and masked
// ID number, decrypted from the citizen store.
type peopleDirectory struct{ accounts *account.Store }

var _ appointments.PeopleDirectory = peopleDirectory{}

func (p peopleDirectory) Person(ctx context.Context, userID string) (string, string, error) {
	id, err := p.accounts.Identity(ctx, userID)
	if err != nil {
		return "", "", err
	}
	return id.Name, account.MaskIDNumber(id.IDNumber), nil
}
