package payments_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/payments"
)

// fakeMembers: user → uscc → the items the user may act for ("*": all).
type fakeMembers struct {
	mu  sync.Mutex
	acl map[string]map[string][]string
}

func (m *fakeMembers) set(user, uscc string, items ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.acl == nil {
		m.acl = map[string]map[string][]string{}
	}
	if m.acl[user] == nil {
		m.acl[user] = map[string][]string{}
	}
	m.acl[user][uscc] = items
}

func (m *fakeMembers) MayActFor(_ context.Context, user, uscc, item string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	items, ok := m.acl[user][uscc]
	return ok && (slices.Contains(items, "*") || (item != "" && slices.Contains(items, item))), nil
}

const fxUSCC = "91440101MA5CXXXX7X"

// enterpriseBill inserts an unpaid bill of the enterprise fxUSCC of kind.
func (f *fixture) enterpriseBill(no, kind string) {
	f.t.Helper()
	now := f.clock.Now().UTC().Truncate(time.Millisecond)
	_, err := f.db.Collection(payments.CollBills).InsertOne(f.ctx, bson.M{
		"_id": no, "source": fxSource, "kind": kind, "item": "社会保险费",
		"payer": bson.M{"type": "enterprise", "uscc": fxUSCC, "name": "广州某某科技有限公司"}, "uscc": fxUSCC,
		"amount_fen": int64(10000), "due_date": "2099-01-01", "collecting_unit": bson.M{"code": "440100", "name": "广州市税务局"},
		"code_digest": fakeIndex{}.BlindIndex(payments.CodeKind, no+"|CODE1234"), "state": payments.BillUnpaid,
		"last_event": "e1", "version": int64(1), "issued_at": now, "updated_at": now,
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

// TestMembersPayEnterpriseBills: a member whose scope covers the bill's
// kind opens an order without the notice's code; a member of another
// scope, of another enterprise, or nobody's member is told the bill is
// unknown (as a wrong code is) and nothing opens; the code still works for
// anyone; a person's bill is untouched by memberships.
func TestMembersPayEnterpriseBills(t *testing.T) {
	f := newFixture(t)
	f.enterpriseBill("EB-1", "social_insurance")
	f.members.set(other, "91350100M000100Y43", "*")
	f.members.set(other, fxUSCC, "traffic_fine")
	for _, tc := range []struct {
		name string
		user string
		code string
	}{
		{"another kind", other, ""},
		{"wrong code", other, "WRONG"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := f.svc.CreateOrder(f.ctx, tc.user, "EB-1", "key-"+tc.user+tc.code, payments.OrderRequest{Channel: payments.WeChatJSAPI, Code: tc.code})
			if !errors.Is(err, payments.ErrBillNotFound) {
				t.Fatalf("err = %v, want bill_not_found", err)
			}
			if state, open, _ := f.billState("EB-1"); state != payments.BillUnpaid || open != "" {
				t.Fatalf("bill %s, open %q", state, open)
			}
		})
	}
	f.members.set(other, fxUSCC, "social_insurance")
	v, created, err := f.svc.CreateOrder(f.ctx, other, "EB-1", "key-member", payments.OrderRequest{Channel: payments.WeChatJSAPI})
	if err != nil || !created || v.AmountFen != 10000 {
		t.Fatalf("member's order: %+v %v %v", v, created, err)
	}
	// A person's bill: a membership of any enterprise gives nothing.
	f.bill("PB-1", 500)
	f.members.set(other, fxUSCC, "*")
	if _, _, err := f.svc.CreateOrder(f.ctx, other, "PB-1", "key-person", payments.OrderRequest{Channel: payments.WeChatJSAPI}); !errors.Is(err, payments.ErrBillNotFound) {
		t.Fatalf("person's bill: %v", err)
	}
}
