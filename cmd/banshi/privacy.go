package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"banshi/applications"
	"banshi/appointments"
	"banshi/enterprises"
	"banshi/evaluations"
	"banshi/internal/account"
	"banshi/internal/pages"
	"banshi/internal/platform"
	"banshi/internal/session"
	"banshi/licences"
	"banshi/notify"
	"banshi/notify/fcm"
	"banshi/notify/subscribe"
	"banshi/payments"
	"banshi/privacy"
)

// privacyParts is everything that holds a person's data, for the
// export and deletion of privacy.Service.
type privacyParts struct {
	db       *mongo.Database
	clock    platform.Clock
	log      *slog.Logger
	accounts *account.Store
	realname *account.Realname
	sessions *session.Store
	booking  *appointments.Service
	inbox    *notify.Inbox
	prefs    *notify.PreferenceStore
	subs     *subscribe.Service
	devices  *fcm.Devices
	pages    *pages.Store
	apps     *applications.Service
	bills    *payments.Bills
	ents     *enterprises.Service
	lics     *licences.Service
	evals    *evaluations.Service
}

// exportLimit bounds each list of the export package: far above what one
// person gathers, it only guards memory against a runaway record.
const exportLimit = 10000

// consents returns the consent store with what withdrawing each purpose
// stops.
func (p privacyParts) consents() *privacy.Consents {
	return privacy.NewConsents(p.db, p.clock, map[string]privacy.Withdrawer{
		privacy.PurposeFace:                 faceWithdrawer{p.accounts, p.sessions},
		privacy.PurposeSubscribe:            subscribeWithdrawer{p.subs},
		privacy.PurposeLicenceAuthorization: licenceWithdrawer{p.lics},
	})
}

// service builds the export and deletion service. The erasers' order: what
// other records point at goes last (consents after the processing they
// allowed).
func (p privacyParts) service(consents *privacy.Consents) (*privacy.Service, error) {
	sources := []privacy.Source{
		source{"account", func(ctx context.Context, uid string) (any, error) { return p.accounts.Export(ctx, uid) }},
		source{"favorites", func(ctx context.Context, uid string) (any, error) {
			pg, err := p.pages.Citizen(ctx, uid)
			return pg.Favorites, err
		}},
		source{"notification_preferences", func(ctx context.Context, uid string) (any, error) { return p.prefs.Get(ctx, uid) }},
		source{"devices", func(ctx context.Context, uid string) (any, error) { return p.devices.List(ctx, uid) }},
		source{"appointments", func(ctx context.Context, uid string) (any, error) {
			return p.booking.ListMine(ctx, uid, false, exportLimit)
		}},
		source{"messages", func(ctx context.Context, uid string) (any, error) { return p.inbox.List(ctx, uid, exportLimit) }},
		source{"applications", func(ctx context.Context, uid string) (any, error) {
			return p.apps.ListMine(ctx, uid, exportLimit)
		}},
		source{"bills_and_payments", func(ctx context.Context, uid string) (any, error) { return p.bills.ForUser(ctx, uid) }},
		source{"enterprises", func(ctx context.Context, uid string) (any, error) { return p.ents.Mine(ctx, uid) }},
		source{"licences", p.exportLicences},
		source{"evaluations", func(ctx context.Context, uid string) (any, error) { return p.evals.ForUser(ctx, uid) }},
		consents,
	}
	erasers := []privacy.Eraser{
		futureAppointments{p.booking},
		privacy.DeleteWhere{Category: "favorites", Coll: p.db.Collection("citizen_pages"), Field: "_id"},
		privacy.DeleteWhere{Category: "notification_preferences", Coll: p.db.Collection("notify_preferences"), Field: "_id"},
		privacy.DeleteWhere{Category: "messages", Coll: p.db.Collection("inbox"), Field: "user_id"},
		privacy.DeleteWhere{Category: "subscriptions", Coll: p.db.Collection("subscribe_credits"), Field: "user_id"},
		privacy.DeleteWhere{Category: "devices", Coll: p.db.Collection("devices"), Field: "user_id"},
		privacy.DeleteWhere{Category: "device_settings", Coll: p.db.Collection("device_users"), Field: "_id"},
		eraser(func(ctx context.Context, uid string) (privacy.Outcome, error) {
			return privacy.Outcome{Category: "enterprise_memberships", Erased: true}, p.ents.Forget(ctx, uid)
		}),
		eraser(p.endLicenceUse),
		privacy.Kept{Category: "evaluations", Reason: "已提交的好差评依政务服务评价规则留存并上报；已解除与您账号的关联"},
		privacy.Kept{Category: "applications", Reason: "办件记录由审批部门依法归档保存；已解除与您账号的关联，不再用于其他处理"},
		privacy.Kept{Category: "bills_and_payments", Reason: "缴费与退款记录属于会计档案，须依《会计档案管理办法》保存；已解除与您账号的关联"},
		privacy.Kept{Category: "audit_logs", Reason: "依《网络安全法》第二十一条，网络日志至少保存六个月；期满后删除"},
		consents,
	}
	return privacy.NewService(privacy.Deps{DB: p.db, Clock: p.clock, Log: p.log, Checker: p.realname,
		Account: p.accounts, Sessions: p.sessions, Sources: sources, Erasers: erasers})
}

// source is a privacy.Source from a function.
type source struct {
	name string
	fn   func(ctx context.Context, userID string) (any, error)
}

func (s source) Name() string { return s.name }

func (s source) Export(ctx context.Context, userID string) (any, error) { return s.fn(ctx, userID) }

// futureAppointments cancels a deleted person's upcoming appointments (the
// seats go back to others); past ones are kept without the link to the
// person, for the hall's statistics.
type futureAppointments struct{ booking *appointments.Service }

func (f futureAppointments) Erase(ctx context.Context, userID string) (privacy.Outcome, error) {
	list, err := f.booking.ListMine(ctx, userID, true, exportLimit)
	if err != nil {
		return privacy.Outcome{}, err
	}
	for _, a := range list {
		_, err := f.booking.Cancel(ctx, userID, a.ID)
		switch {
		case err == nil, errors.Is(err, appointments.ErrCancelTooLate), errors.Is(err, appointments.ErrNotCancellable):
		default:
			return privacy.Outcome{}, err
		}
	}
	return privacy.Outcome{Category: "appointments",
		Reason: "未开始的预约已取消；已办结的预约记录用于大厅服务统计，已解除与您账号的关联"}, nil
}

// faceWithdrawer stops using a face verification's result: level 4 falls to
// 3, and the sessions that carry level 4 end.
type faceWithdrawer struct {
	accounts *account.Store
	sessions *session.Store
}

func (f faceWithdrawer) Withdraw(ctx context.Context, userID, _ string) error {
	before, err := f.accounts.Get(ctx, userID)
	if err != nil {
		return err
	}
	if _, err := f.accounts.LowerFromFace(ctx, userID); err != nil {
		return err
	}
	if before.Level > 3 {
		_, err = f.sessions.RevokeAll(ctx, userID)
	}
	return err
}

// subscribeWithdrawer ends the subscribe messages of one template.
type subscribeWithdrawer struct{ subs *subscribe.Service }

func (s subscribeWithdrawer) Withdraw(ctx context.Context, userID, templateID string) error {
	return s.subs.Withdraw(ctx, userID, templateID)
}

// eraser is a privacy.Eraser from a function.
type eraser func(ctx context.Context, userID string) (privacy.Outcome, error)

func (e eraser) Erase(ctx context.Context, userID string) (privacy.Outcome, error) {
	return e(ctx, userID)
}

// licenceRecord is one licence in the export: the licence as the wallet
// shows it, with every use and authorisation of it.
type licenceRecord struct {
	Licence        licences.LicenceView         `json:"licence"`
	Uses           []licences.UseView           `json:"uses"`
	Authorizations []licences.AuthorizationView `json:"authorizations"`
}

func (p privacyParts) exportLicences(ctx context.Context, userID string) (any, error) {
	list, err := p.lics.ForUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := make([]licenceRecord, 0, len(list))
	for _, l := range list {
		uses, err := p.lics.Uses(ctx, userID, l.ID)
		if err != nil {
			return nil, err
		}
		auths, err := p.lics.Authorizations(ctx, userID, l.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, licenceRecord{Licence: l, Uses: uses, Authorizations: auths})
	}
	return out, nil
}

// endLicenceUse withdraws every authorisation a deleted person gave: no
// department takes a copy of their licences any more. The licences are the
// issuing departments' records: they stay, unlinked.
func (p privacyParts) endLicenceUse(ctx context.Context, userID string) (privacy.Outcome, error) {
	list, err := p.lics.ForUser(ctx, userID)
	if err != nil {
		return privacy.Outcome{}, err
	}
	for _, l := range list {
		auths, err := p.lics.Authorizations(ctx, userID, l.ID)
		if err != nil {
			return privacy.Outcome{}, err
		}
		for _, a := range auths {
			if a.WithdrawnAt != nil {
				continue
			}
			if _, err := p.lics.Withdraw(ctx, userID, l.ID, a.ID); err != nil {
				return privacy.Outcome{}, err
			}
		}
	}
	return privacy.Outcome{Category: "licences",
		Reason: "电子证照由发证部门签发和保存；您给出的用证授权已全部撤回，证照已解除与您账号的关联"}, nil
}

// licenceWithdrawer ends one licence authorisation (ref: licence/authorisation).
type licenceWithdrawer struct{ lics *licences.Service }

func (l licenceWithdrawer) Withdraw(ctx context.Context, userID, ref string) error {
	lid, aid, ok := strings.Cut(ref, "/")
	if !ok {
		return fmt.Errorf("licence authorisation consent: malformed ref %q", ref)
	}
	_, err := l.lics.Withdraw(ctx, userID, lid, aid)
	return err
}
