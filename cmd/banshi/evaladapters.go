package main

import (
	"context"
	"time"

	"banshi/applications"
	"banshi/appointments"
	"banshi/evaluations"
)

// evalSubjects shows evaluations (好差评) the applications and appointments
// citizens rate.
type evalSubjects struct {
	apps    *applications.Service
	booking *appointments.Service
}

var _ evaluations.Subjects = evalSubjects{}

func applicationSubject(o applications.Outcome) evaluations.Subject {
	return evaluations.Subject{Kind: evaluations.KindApplication, Key: o.Key, Ref: o.ApplicationNo, Source: o.Source,
		Finished: o.Final, ResultID: o.ResultEventID, ResultAt: o.ResultAt, ServiceCode: o.ServiceCode,
		Department: o.Source, IDIndex: o.IDIndex, USCC: o.USCC, SweepAt: o.UpdatedAt}
}

func appointmentSubject(v appointments.Served) evaluations.Subject {
	s := evaluations.Subject{Kind: evaluations.KindAppointment, Key: v.ID, Ref: v.ID,
		Finished: v.Status == appointments.StatusCompleted, ServiceCode: v.ServiceCode, ServiceName: v.ServiceName,
		Department: v.DepartmentID, DeptName: v.DepartmentName, HallID: v.HallID, StaffID: v.CompletedBy,
		UserID: v.UserID, SweepAt: v.CompletedAt}
	if s.Finished {
		s.ResultID, s.ResultAt = "completed", v.CompletedAt
	}
	return s
}

func (e evalSubjects) Applications(ctx context.Context, no, source string) ([]evaluations.Subject, error) {
	list, err := e.apps.Numbered(ctx, no, source)
	if err != nil {
		return nil, err
	}
	out := make([]evaluations.Subject, len(list))
	for i, o := range list {
		out[i] = applicationSubject(o)
	}
	return out, nil
}

func (e evalSubjects) Appointment(ctx context.Context, id string) (evaluations.Subject, bool, error) {
	v, ok, err := e.booking.ServedAppointment(ctx, id)
	if err != nil || !ok {
		return evaluations.Subject{}, false, err
	}
	return appointmentSubject(v), true, nil
}

func (e evalSubjects) Finished(ctx context.Context, kind string, afterAt time.Time, afterKey string, before time.Time, limit int) ([]evaluations.Subject, error) {
	var out []evaluations.Subject
	switch kind {
	case evaluations.KindApplication:
		list, err := e.apps.FinishedBetween(ctx, afterAt, afterKey, before, limit)
		if err != nil {
			return nil, err
		}
		for _, o := range list {
			out = append(out, applicationSubject(o))
		}
	case evaluations.KindAppointment:
		list, err := e.booking.CompletedBetween(ctx, afterAt, afterKey, before, limit)
		if err != nil {
			return nil, err
		}
		for _, v := range list {
			out = append(out, appointmentSubject(v))
		}
	}
	return out, nil
}
