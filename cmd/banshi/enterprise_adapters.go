package main

import (
	"context"

	"banshi/applications"
	"banshi/appointments"
	"banshi/enterprises"
	"banshi/licences"
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

// enterpriseAppointments fills the enterprise page's appointments: the
// upcoming ones booked on its behalf, within the viewer's scope.
type enterpriseAppointments struct{ booking *appointments.Service }

var _ enterprises.ScopedSection = enterpriseAppointments{}

func (a enterpriseAppointments) ForEnterprise(ctx context.Context, uscc string, scope enterprises.Scope) (any, error) {
	return a.booking.ListForEnterprise(ctx, uscc, scope.Covers, 20)
}

// lateMembers tells the booking engine who acts for an enterprise: the
// engine is built before the enterprises service, which is set here once
// wired (before anything is served). Until then nobody acts for any.
type lateMembers struct{ svc *enterprises.Service }

var _ appointments.Enterprises = (*lateMembers)(nil)

func (l *lateMembers) MayActFor(ctx context.Context, userID, uscc, item string) (bool, error) {
	if l.svc == nil {
		return false, nil
	}
	return l.svc.MayActFor(ctx, userID, uscc, item)
}

// enterpriseLicences fills the enterprise page's licences (电子证照) held by
// the enterprise's code.
type enterpriseLicences struct{ lics *licences.Service }

var _ enterprises.LicenceSection = enterpriseLicences{}

func (e enterpriseLicences) ForEnterprise(ctx context.Context, uscc string) (any, error) {
	return e.lics.ForEnterprise(ctx, uscc)
}
