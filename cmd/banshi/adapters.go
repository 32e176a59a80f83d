package main

import (
	"context"
	"encoding/hex"
	"fmt"

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

// hexKey decodes a key given as hex (at least 16 bytes).
func hexKey(s string) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) < 16 {
		return nil, fmt.Errorf("must be at least 32 hexadecimal characters")
	}
	return b, nil
}
