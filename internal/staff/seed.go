package staff

import (
	"context"
	"errors"
)

// DemoPassword is the password of the demo accounts.
const DemoPassword = "banshi-demo"

// Demo account names.
const (
	DemoAdmin   = "demo-admin"
	DemoStaff   = "demo-staff"
	DemoFinance = "demo-finance"
)

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
