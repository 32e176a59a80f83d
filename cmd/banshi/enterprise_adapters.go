package main

import (
	"context"

	"banshi/applications"
	"banshi/enterprises"
	"banshi/payments"
)

// enterpriseApplications fills the enterprise page's applications: those
// whose applicant is the enterprise, within the viewer's scope.
type enterpriseApplications struct{ apps *applications.Service }

var _ enterprises.ScopedSection = enterpriseApplications{}

func (a enterpriseApplications) ForEnterprise(ctx context.Context, uscc string, scope enterprises.Scope) (any, error) {
	list, err := a.apps.ListForEnterprise(ctx, uscc, 20)
	if err != nil {
		return nil, err
	}
	out := []applications.Summary{}
	for _, s := range list {
		if scope.Covers(s.ServiceCode) {
			out = append(out, s)
		}
	}
	return out, nil
}

// enterpriseBills fills the enterprise page's bills: those whose payer is
// the enterprise, within the viewer's scope (an agent's items name bill kinds: social_insurance, …).
type enterpriseBills struct{ bills *payments.Bills }

var _ enterprises.ScopedSection = enterpriseBills{}

func (b enterpriseBills) ForEnterprise(ctx context.Context, uscc string, scope enterprises.Scope) (any, error) {
	list, err := b.bills.ForEnterprise(ctx, uscc)
	if err != nil {
		return nil, err
	}
	out := []payments.BillView{}
	for _, v := range list {
		if scope.Covers(v.Kind) {
			out = append(out, v)
		}
	}
	return out, nil
}
