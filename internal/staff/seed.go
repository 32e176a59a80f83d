package staff

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// DemoPassword is the password of the demo accounts.
const DemoPassword = "banshi-demo"

// Demo account names.
const (
	DemoAdmin   = "demo-admin"
	DemoStaff   = "demo-staff"
	DemoFinance = "demo-finance"
)

// demoNames are the usernames SeedDemo creates, sorted.
var demoNames = []string{DemoAdmin, DemoFinance, DemoStaff}

// isDemoLogin reports whether a login of username with password is one that
// production refuses: a demo account, or the published demo password.
func isDemoLogin(username, password string) bool {
	return slices.Contains(demoNames, username) || password == DemoPassword
}

// DemoAccounts returns the usernames of the demo accounts present, sorted,
// so that a production start can warn about them (their logins are refused
// there, see Deps.RefuseDemo). Errors: storage only.
func (s *Service) DemoAccounts(ctx context.Context) ([]string, error) {
	cur, err := s.accounts.Find(ctx, bson.M{"_id": bson.M{"$in": demoNames}},
		options.Find().SetProjection(bson.M{"_id": 1}).SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("find demo accounts: %w", err)
	}
	var docs []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("find demo accounts: %w", err)
	}
	names := []string{}
	for _, d := range docs {
		names = append(names, d.ID)
	}
	return names, nil
}

// SeedDemo creates demo-admin (admin), demo-staff (hall_staff of
// firstHallID) and demo-finance (finance), password DemoPassword, unless they
// exist. Idempotent and safe when several processes seed at once (the
// username is the _id; a duplicate means someone else created it).
// Errors: ErrInvalid (firstHallID), storage errors.
func (s *Service) SeedDemo(ctx context.Context, firstHallID string) error {
	for _, n := range []NewAccount{
		{Username: DemoAdmin, DisplayName: "演示管理员", Role: RoleAdmin},
		{Username: DemoStaff, DisplayName: "演示窗口人员", Role: RoleHallStaff, HallIDs: []string{firstHallID}},
		{Username: DemoFinance, DisplayName: "演示财务", Role: RoleFinance},
	} {
		if _, err := s.find(ctx, n.Username); err == nil {
			continue
		}
		n.Password = DemoPassword
		if _, err := s.CreateAccount(ctx, n); err != nil && !errors.Is(err, ErrExists) {
			return err
		}
	}
	return nil
}
