package applications

import (
	"errors"
	"testing"

	"banshi/internal/platform"
)

// TestListForEnterprise: the applications whose applicant is the
// enterprise, newest change first; a person's application and another
// enterprise's are not listed; a malformed code is refused.
func TestListForEnterprise(t *testing.T) {
	f := newFixture(t)
	const uscc, other = "91440101MA5CXXXX7X", "91350100M000100Y43"
	ent := func(code string) map[string]any {
		return map[string]any{"type": "enterprise", "uscc": code, "name": "某某公司"}
	}
	f.receive(ev("e1", StatusSubmitted, "2026-03-16T09:00:00+08:00", map[string]any{"application_no": "ENT-1", "applicant": ent(uscc)}))
	f.receive(ev("e2", StatusSubmitted, "2026-03-16T09:00:00+08:00", map[string]any{"application_no": "ENT-2", "applicant": ent(uscc)}))
	f.receive(ev("e3", StatusSubmitted, "2026-03-16T09:00:00+08:00", map[string]any{"application_no": "ENT-3", "applicant": ent(other)}))
	f.receive(ev("e4", StatusSubmitted, "2026-03-16T09:00:00+08:00", nil))
	f.clock.Advance(60e9)
	f.receive(ev("e5", StatusAccepted, "2026-03-16T09:30:00+08:00", map[string]any{"application_no": "ENT-1", "applicant": ent(uscc)}))
	list, err := f.svc.ListForEnterprise(f.ctx, uscc, 20)
	if err != nil || len(list) != 2 || list[0].ApplicationNo != "ENT-1" || list[1].ApplicationNo != "ENT-2" || list[0].Status != StatusAccepted {
		t.Fatalf("list: %+v %v", list, err)
	}
	if list, err := f.svc.ListForEnterprise(f.ctx, "91440101MA5CXXXX8X", 20); !errors.Is(err, platform.Invalid("", "", "")) || list != nil {
		t.Fatalf("malformed: %+v %v", list, err)
	}
}
