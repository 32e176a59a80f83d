package enterprises

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/internal/account"
	"banshi/internal/platform"
	"banshi/internal/sim"
)

// person is a citizen of a test: name, ID number, user id.
type person struct {
	name, id, uid string
}

// newPerson registers a citizen at level with a fresh identity; seq makes
// the ID number unique within a test.
func (f *fixture) newPerson(name string, seq, level int) person {
	f.t.Helper()
	id := account.WithCheckDigit(fmt.Sprintf("44010619850101%03d", seq))
	return person{name: name, id: id, uid: f.citizen(name, id, level)}
}

// claimed registers the demo enterprise and has 张三 claim it; returns 张三.
func (f *fixture) claimed() person {
	f.t.Helper()
	f.enterprise(sim.DemoUSCC, nil)
	rep := person{name: zhangName, id: zhangID, uid: f.citizen(zhangName, zhangID, 4)}
	if _, _, err := f.svc.Claim(f.ctx, rep.uid, sim.DemoUSCC); err != nil {
		f.t.Fatal(err)
	}
	return rep
}

func (f *fixture) until(d time.Duration) *time.Time {
	t := f.clock.Now().Add(d)
	return &t
}

// count is the number of documents of coll matching filter.
func (f *fixture) count(coll string, filter bson.M) int64 {
	f.t.Helper()
	n, err := f.db.Collection(coll).CountDocuments(f.ctx, filter)
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

// snapshot is the count of every members collection, to prove nothing
// changed.
func (f *fixture) snapshot() [3]int64 {
	return [3]int64{f.count(CollMembers, bson.M{}), f.count(CollSeats, bson.M{}), f.count(CollAudit, bson.M{})}
}

// TestMembersLifecycle: the legal representative appoints an administrator,
// who accepts and invites an agent for two service items; the agent
// accepts; roles, scopes and Mine say so; the audit trail records each
// step; revoking the administrator revokes the agent (cascade).
func TestMembersLifecycle(t *testing.T) {
	f := newFixture(t)
	rep := f.claimed()
	admin := f.newPerson("李四", 1, 3)
	agent := f.newPerson("王五", 2, 4)

	m, err := f.svc.Invite(f.ctx, rep.uid, sim.DemoUSCC, Grant{Role: RoleAdministrator, Invitee: Invitee{Name: admin.name, IDNumber: admin.id}})
	if err != nil || m.State != MemberPending || m.Role != RoleAdministrator || m.NameMasked != "*四" || m.IDMasked != account.MaskIDNumber(admin.id) {
		t.Fatalf("appoint: %+v %v", m, err)
	}
	// Stored sealed: neither the name nor the number in clear.
	var raw bson.M
	if err := f.db.Collection(CollMembers).FindOne(f.ctx, bson.M{"_id": m.ID}).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprint(raw); strings.Contains(s, admin.id) || strings.Contains(s, admin.name) {
		t.Fatalf("stored in clear: %v", s)
	}
	// Before acceptance: no rights.
	if ok, err := f.svc.ActsFor(f.ctx, admin.uid, sim.DemoUSCC); ok || err != nil {
		t.Fatalf("pending acts: %v %v", ok, err)
	}
	inv, err := f.svc.Invitations(f.ctx, admin.uid)
	if err != nil || len(inv) != 1 || inv[0].ID != m.ID || inv[0].Enterprise != "广州某某科技有限公司" {
		t.Fatalf("invitations: %+v %v", inv, err)
	}
	if other, _ := f.svc.Invitations(f.ctx, agent.uid); len(other) != 0 {
		t.Fatalf("another sees it: %+v", other)
	}
	if _, err := f.svc.Accept(f.ctx, agent.uid, m.ID); !errors.Is(err, ErrInvitationNotFound) {
		t.Fatalf("accepted by another: %v", err)
	}
	if a, err := f.svc.Accept(f.ctx, admin.uid, m.ID); err != nil || a.State != MemberActive || !a.InForce || a.UserID != admin.uid {
		t.Fatalf("accept: %+v %v", a, err)
	}
	if a, err := f.svc.Accept(f.ctx, admin.uid, m.ID); err != nil || a.State != MemberActive {
		t.Fatalf("accept again: %+v %v", a, err)
	}
	act, err := f.svc.ActorOf(f.ctx, admin.uid, sim.DemoUSCC)
	if err != nil || act.Role != RoleAdministrator || !act.Scope.All {
		t.Fatalf("admin actor: %+v %v", act, err)
	}

	g, err := f.svc.Invite(f.ctx, admin.uid, sim.DemoUSCC, Grant{Role: RoleAgent, Invitee: Invitee{Name: agent.name, IDNumber: agent.id},
		Scope: Scope{Items: []string{"TAX-001", "SOC-002", "TAX-001"}}, ValidUntil: f.until(30 * 24 * time.Hour)})
	if err != nil || !slices.Equal(g.Scope.Items, []string{"TAX-001", "SOC-002"}) || g.GrantedByMember != m.ID {
		t.Fatalf("invite agent: %+v %v", g, err)
	}
	if _, err := f.svc.Accept(f.ctx, agent.uid, g.ID); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		item string
		want bool
	}{{"TAX-001", true}, {"SOC-002", true}, {"OTHER", false}, {"", false}} {
		if ok, err := f.svc.MayActFor(f.ctx, agent.uid, sim.DemoUSCC, tc.item); ok != tc.want || err != nil {
			t.Fatalf("agent may act for %q: %v %v", tc.item, ok, err)
		}
	}
	mine, err := f.svc.Mine(f.ctx, agent.uid)
	if err != nil || len(mine) != 1 || mine[0].Role != RoleAgent || !mine[0].InForce || mine[0].ValidUntil == nil || mine[0].Scope == nil {
		t.Fatalf("agent's enterprises: %+v %v", mine, err)
	}
	// Agents see no member list; the legal representative and admin do.
	if _, err := f.svc.Members(f.ctx, agent.uid, sim.DemoUSCC); !errors.Is(err, ErrNotPermitted) {
		t.Fatalf("agent lists members: %v", err)
	}
	if list, err := f.svc.Members(f.ctx, admin.uid, sim.DemoUSCC); err != nil || len(list) != 2 {
		t.Fatalf("admin lists members: %d %v", len(list), err)
	}

	// Revoking the administrator revokes the agent they invited.
	ended, err := f.svc.End(f.ctx, rep.uid, sim.DemoUSCC, m.ID)
	if err != nil || ended.State != MemberRevoked {
		t.Fatalf("revoke: %+v %v", ended, err)
	}
	for _, p := range []person{admin, agent} {
		if ok, err := f.svc.ActsFor(f.ctx, p.uid, sim.DemoUSCC); ok || err != nil {
			t.Fatalf("%s still acts: %v %v", p.name, ok, err)
		}
	}
	agentDoc, _ := f.svc.loadMember(f.ctx, g.ID)
	if agentDoc.State != MemberRevoked || agentDoc.EndedBy != rep.uid {
		t.Fatalf("agent after cascade: %+v", agentDoc.State)
	}
	if n := f.count(CollSeats, bson.M{}); n != 0 {
		t.Fatalf("%d arbiters left", n)
	}
	audit, err := f.svc.Audit(f.ctx, rep.uid, sim.DemoUSCC)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range audit {
		actions = append(actions, e.Action)
		if strings.Contains(e.NameMasked, "李四") || strings.Contains(e.NameMasked, "王五") {
			t.Fatalf("audit shows a name: %+v", e)
		}
	}
	slices.Sort(actions)
	want := []string{AuditAccept, AuditAccept, AuditAppoint, AuditInvite, AuditRevoke, AuditCascade}
	slices.Sort(want)
	if !slices.Equal(actions, want) {
		t.Fatalf("audit actions %v, want %v", actions, want)
	}
	if _, err := f.svc.Audit(f.ctx, admin.uid, sim.DemoUSCC); !errors.Is(err, ErrNotMember) {
		t.Fatalf("revoked admin reads audit: %v", err)
	}
	// Ending again answers it unchanged.
	if again, err := f.svc.End(f.ctx, rep.uid, sim.DemoUSCC, m.ID); err != nil || again.State != MemberRevoked {
		t.Fatalf("end again: %+v %v", again, err)
	}
	// The person can be appointed anew.
	if _, err := f.svc.Invite(f.ctx, rep.uid, sim.DemoUSCC, Grant{Role: RoleAdministrator, Invitee: Invitee{Name: admin.name, IDNumber: admin.id}}); err != nil {
		t.Fatalf("appoint again: %v", err)
	}
}

// TestInviteRefusals: every refusal names its error and changes nothing.
func TestInviteRefusals(t *testing.T) {
	f := newFixture(t)
	rep := f.claimed()
	admin := f.newPerson("李四", 1, 3)
	agent := f.newPerson("王五", 2, 3)
	stranger := f.newPerson("赵六", 3, 4)
	pending := f.newPerson("孙七", 4, 3)
	m, err := f.svc.Invite(f.ctx, rep.uid, sim.DemoUSCC, Grant{Role: RoleAdministrator, Invitee: Invitee{Name: admin.name, IDNumber: admin.id}, ValidUntil: f.until(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Accept(f.ctx, admin.uid, m.ID); err != nil {
		t.Fatal(err)
	}
	g, err := f.svc.Invite(f.ctx, rep.uid, sim.DemoUSCC, Grant{Role: RoleAgent, Invitee: Invitee{Name: agent.name, IDNumber: agent.id}, Scope: Scope{All: true}, ValidUntil: f.until(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Accept(f.ctx, agent.uid, g.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Invite(f.ctx, rep.uid, sim.DemoUSCC, Grant{Role: RoleAgent, Invitee: Invitee{Name: pending.name, IDNumber: pending.id}, Scope: Scope{All: true}, ValidUntil: f.until(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	who := func(p person) Invitee { return Invitee{Name: p.name, IDNumber: p.id} }
	newcomer := Invitee{Name: "周八", IDNumber: account.WithCheckDigit("44010619920202005")}
	week := f.until(7 * 24 * time.Hour)
	invalid := platform.Invalid("", "", "")
	for _, tc := range []struct {
		name  string
		user  string
		uscc  string
		g     Grant
		want  error
		field string
		check string
	}{
		{"malformed code", rep.uid, "91440101MA5CXXXX8X", Grant{Role: RoleAgent, Invitee: newcomer, Scope: Scope{All: true}, ValidUntil: week}, invalid, "uscc", platform.USCCCheckOrgCode},
		{"unknown role", rep.uid, sim.DemoUSCC, Grant{Role: "owner", Invitee: newcomer}, invalid, "role", "enum"},
		{"no name", rep.uid, sim.DemoUSCC, Grant{Role: RoleAgent, Invitee: Invitee{IDNumber: newcomer.IDNumber}, Scope: Scope{All: true}, ValidUntil: week}, invalid, "invitee.name", "required"},
		{"bad ID number", rep.uid, sim.DemoUSCC, Grant{Role: RoleAgent, Invitee: Invitee{Name: "周八", IDNumber: "440106199202020050"}, Scope: Scope{All: true}, ValidUntil: week}, invalid, "invitee.id_number", "check_digit"},
		{"no scope", rep.uid, sim.DemoUSCC, Grant{Role: RoleAgent, Invitee: newcomer, ValidUntil: week}, invalid, "scope", "required"},
		{"both scopes", rep.uid, sim.DemoUSCC, Grant{Role: RoleAgent, Invitee: newcomer, Scope: Scope{All: true, Items: []string{"A1"}}, ValidUntil: week}, invalid, "scope", "exclusive"},
		{"bad item", rep.uid, sim.DemoUSCC, Grant{Role: RoleAgent, Invitee: newcomer, Scope: Scope{Items: []string{"a b"}}, ValidUntil: week}, invalid, "scope.items", "format"},
		{"admin with items", rep.uid, sim.DemoUSCC, Grant{Role: RoleAdministrator, Invitee: newcomer, Scope: Scope{Items: []string{"A1"}}}, invalid, "scope.items", "not_allowed"},
		{"agent without end", rep.uid, sim.DemoUSCC, Grant{Role: RoleAgent, Invitee: newcomer, Scope: Scope{All: true}}, invalid, "valid_until", "required"},
		{"end in the past", rep.uid, sim.DemoUSCC, Grant{Role: RoleAgent, Invitee: newcomer, Scope: Scope{All: true}, ValidUntil: f.until(-time.Hour)}, invalid, "valid_until", "range"},
		{"end too far", rep.uid, sim.DemoUSCC, Grant{Role: RoleAgent, Invitee: newcomer, Scope: Scope{All: true}, ValidUntil: f.until(4 * 366 * 24 * time.Hour)}, invalid, "valid_until", "max"},
		{"beyond the grantor", admin.uid, sim.DemoUSCC, Grant{Role: RoleAgent, Invitee: newcomer, Scope: Scope{All: true}, ValidUntil: week}, invalid, "valid_until", "beyond_grantor"},
		{"stranger", stranger.uid, sim.DemoUSCC, Grant{Role: RoleAgent, Invitee: newcomer, Scope: Scope{All: true}, ValidUntil: week}, ErrNotMember, "", ""},
		{"unclaimed enterprise", rep.uid, newUSCC(), Grant{Role: RoleAgent, Invitee: newcomer, Scope: Scope{All: true}, ValidUntil: week}, ErrNotMember, "", ""},
		{"admin appoints admin", admin.uid, sim.DemoUSCC, Grant{Role: RoleAdministrator, Invitee: newcomer}, ErrNotPermitted, "", ""},
		{"agent invites", agent.uid, sim.DemoUSCC, Grant{Role: RoleAgent, Invitee: newcomer, Scope: Scope{All: true}, ValidUntil: f.until(time.Minute)}, ErrNotPermitted, "", ""},
		{"oneself", admin.uid, sim.DemoUSCC, Grant{Role: RoleAgent, Invitee: who(admin), Scope: Scope{All: true}, ValidUntil: f.until(time.Hour)}, invalid, "invitee", "self"},
		{"the legal representative by self", rep.uid, sim.DemoUSCC, Grant{Role: RoleAdministrator, Invitee: who(rep)}, invalid, "invitee", "self"},
		{"the legal representative", admin.uid, sim.DemoUSCC, Grant{Role: RoleAgent, Invitee: who(rep), Scope: Scope{All: true}, ValidUntil: f.until(time.Hour)}, ErrAlreadyMember, "", ""},
		{"already an agent", rep.uid, sim.DemoUSCC, Grant{Role: RoleAdministrator, Invitee: who(agent)}, ErrAlreadyMember, "", ""},
		{"already invited", rep.uid, sim.DemoUSCC, Grant{Role: RoleAgent, Invitee: who(pending), Scope: Scope{All: true}, ValidUntil: week}, ErrAlreadyMember, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.snapshot()
			_, err := f.svc.Invite(f.ctx, tc.user, tc.uscc, tc.g)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if pe, _ := platform.AsError(err); tc.field != "" && (pe.Field != tc.field || pe.Check != tc.check) {
				t.Fatalf("field %q check %q, want %q %q", pe.Field, pe.Check, tc.field, tc.check)
			}
			if after := f.snapshot(); after != before {
				t.Fatalf("changed: %v → %v", before, after)
			}
		})
	}
}

// TestAdministratorSeatRace: with four administrators appointed, ten
// appointments of ten people race for the fifth seat: exactly one wins,
// nine are refused with ErrAdministratorLimit, and five seats are held.
// Then ending one frees a seat for the next.
func TestAdministratorSeatRace(t *testing.T) {
	f := newFixture(t)
	rep := f.claimed()
	var first Member
	for i := range 4 {
		p := Invitee{Name: "管理员", IDNumber: account.WithCheckDigit(fmt.Sprintf("44010619900101%03d", i))}
		m, err := f.svc.Invite(f.ctx, rep.uid, sim.DemoUSCC, Grant{Role: RoleAdministrator, Invitee: p})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = m
		}
	}
	const n = 10
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			p := Invitee{Name: "候选人", IDNumber: account.WithCheckDigit(fmt.Sprintf("44010619910101%03d", i))}
			_, errs[i] = f.svc.Invite(context.Background(), rep.uid, sim.DemoUSCC, Grant{Role: RoleAdministrator, Invitee: p})
		}()
	}
	close(start)
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case errors.Is(err, ErrAdministratorLimit):
		default:
			t.Fatalf("appointment %d: %v", i, err)
		}
	}
	seats := f.count(CollSeats, bson.M{"_id": bson.M{"$regex": "^seat"}})
	admins := f.count(CollMembers, bson.M{"role": RoleAdministrator})
	if won != 1 || seats != MaxAdministrators || admins != MaxAdministrators {
		t.Fatalf("%d won, %d seats, %d administrators; want 1, 5, 5", won, seats, admins)
	}
	// The person arbiters of the refused were released.
	if persons := f.count(CollSeats, bson.M{"_id": bson.M{"$regex": "^person"}}); persons != MaxAdministrators {
		t.Fatalf("%d person arbiters, want 5", persons)
	}
	if _, err := f.svc.End(f.ctx, rep.uid, sim.DemoUSCC, first.ID); err != nil {
		t.Fatal(err)
	}
	p := Invitee{Name: "候选人", IDNumber: account.WithCheckDigit("44010619920101999")}
	if _, err := f.svc.Invite(f.ctx, rep.uid, sim.DemoUSCC, Grant{Role: RoleAdministrator, Invitee: p}); err != nil {
		t.Fatalf("after a seat was freed: %v", err)
	}
}

// TestValidity: an agent has no rights before its validity begins or after
// it ends; an expired administrator's seat goes to the next appointment;
// changing the validity of a live member works within the rules.
func TestValidity(t *testing.T) {
	f := newFixture(t)
	rep := f.claimed()
	agent := f.newPerson("王五", 2, 3)
	start := f.clock.Now().Add(time.Hour)
	g, err := f.svc.Invite(f.ctx, rep.uid, sim.DemoUSCC, Grant{Role: RoleAgent, Invitee: Invitee{Name: agent.name, IDNumber: agent.id},
		Scope: Scope{All: true}, ValidFrom: start, ValidUntil: f.until(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Accept(f.ctx, agent.uid, g.ID); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		advance time.Duration
		want    bool
	}{{0, false}, {90 * time.Minute, true}, {time.Hour, false}}
	for _, st := range steps {
		f.clock.Advance(st.advance)
		if ok, err := f.svc.ActsFor(f.ctx, agent.uid, sim.DemoUSCC); ok != st.want || err != nil {
			t.Fatalf("after %v: acts %v %v, want %v", st.advance, ok, err, st.want)
		}
	}
	// Expired: cannot be extended.
	if _, err := f.svc.ChangeValidity(f.ctx, rep.uid, sim.DemoUSCC, g.ID, f.until(time.Hour)); !errors.Is(err, ErrMemberState) {
		t.Fatalf("extend expired: %v", err)
	}
	// A fresh one: extended, then shortened below now refused.
	g2, err := f.svc.Invite(f.ctx, rep.uid, sim.DemoUSCC, Grant{Role: RoleAgent, Invitee: Invitee{Name: agent.name, IDNumber: agent.id},
		Scope: Scope{Items: []string{"A1"}}, ValidUntil: f.until(time.Hour)})
	if err != nil {
		t.Fatalf("invite after expiry: %v", err)
	}
	if m, err := f.svc.ChangeValidity(f.ctx, rep.uid, sim.DemoUSCC, g2.ID, f.until(48*time.Hour)); err != nil || !m.ValidUntil.Equal(*f.until(48 * time.Hour)) {
		t.Fatalf("extend: %+v %v", m, err)
	}
	// Accepted, the new binding is in force beside the expired one.
	if _, err := f.svc.Accept(f.ctx, agent.uid, g2.ID); err != nil {
		t.Fatal(err)
	}
	if a, err := f.svc.ActorOf(f.ctx, agent.uid, sim.DemoUSCC); err != nil || a.MemberID != g2.ID || !a.Scope.Covers("A1") {
		t.Fatalf("after a new binding: %+v %v", a, err)
	}
	before := f.snapshot()
	if _, err := f.svc.ChangeValidity(f.ctx, rep.uid, sim.DemoUSCC, g2.ID, f.until(-time.Minute)); !errors.Is(err, platform.Invalid("", "", "")) {
		t.Fatalf("shorten to the past: %v", err)
	}
	if _, err := f.svc.ChangeValidity(f.ctx, rep.uid, sim.DemoUSCC, g2.ID, nil); !errors.Is(err, platform.Invalid("", "", "")) {
		t.Fatalf("agent without end: %v", err)
	}
	if _, err := f.svc.ChangeValidity(f.ctx, agent.uid, sim.DemoUSCC, g2.ID, f.until(time.Hour)); !errors.Is(err, ErrNotPermitted) {
		t.Fatalf("changed by the agent: %v", err)
	}
	if after := f.snapshot(); after != before {
		t.Fatalf("changed: %v → %v", before, after)
	}
	// Revoked: no rights; a pending invitation withdrawn is no longer shown.
	if m, err := f.svc.End(f.ctx, rep.uid, sim.DemoUSCC, g2.ID); err != nil || m.State != MemberRevoked {
		t.Fatalf("revoke: %+v %v", m, err)
	}
	if ok, _ := f.svc.ActsFor(f.ctx, agent.uid, sim.DemoUSCC); ok {
		t.Fatal("revoked acts")
	}
	g3, err := f.svc.Invite(f.ctx, rep.uid, sim.DemoUSCC, Grant{Role: RoleAgent, Invitee: Invitee{Name: agent.name, IDNumber: agent.id},
		Scope: Scope{All: true}, ValidUntil: f.until(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if m, err := f.svc.End(f.ctx, rep.uid, sim.DemoUSCC, g3.ID); err != nil || m.State != MemberWithdrawn {
		t.Fatalf("withdraw: %+v %v", m, err)
	}
	if inv, _ := f.svc.Invitations(f.ctx, agent.uid); len(inv) != 0 {
		t.Fatalf("withdrawn still shown: %+v", inv)
	}
	if _, err := f.svc.Accept(f.ctx, agent.uid, g3.ID); !errors.Is(err, ErrInvitationNotFound) {
		t.Fatalf("accept withdrawn: %v", err)
	}
}

// TestAnswerRules: a declaration (level 2) cannot answer; another name with
// the same ID number is not the invitee; declining frees the person.
func TestAnswerRules(t *testing.T) {
	f := newFixture(t)
	rep := f.claimed()
	declared := f.newPerson("王五", 2, 2)
	m, err := f.svc.Invite(f.ctx, rep.uid, sim.DemoUSCC, Grant{Role: RoleAgent, Invitee: Invitee{Name: declared.name, IDNumber: declared.id},
		Scope: Scope{All: true}, ValidUntil: f.until(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Accept(f.ctx, declared.uid, m.ID); !errors.Is(err, ErrInviteeLevel) {
		t.Fatalf("declared accepts: %v", err)
	}
	if inv, err := f.svc.Invitations(f.ctx, declared.uid); err != nil || len(inv) != 0 {
		t.Fatalf("declared sees: %+v %v", inv, err)
	}
	// Invited under another name: the proven 赵六 is not that invitee.
	zhao := f.newPerson("赵六", 3, 3)
	wrong, err := f.svc.Invite(f.ctx, rep.uid, sim.DemoUSCC, Grant{Role: RoleAgent, Invitee: Invitee{Name: "钱七", IDNumber: zhao.id},
		Scope: Scope{All: true}, ValidUntil: f.until(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Accept(f.ctx, zhao.uid, wrong.ID); !errors.Is(err, ErrInvitationNotFound) {
		t.Fatalf("another name accepts: %v", err)
	}
	if d, err := f.svc.Decline(f.ctx, zhao.uid, wrong.ID); !errors.Is(err, ErrInvitationNotFound) {
		t.Fatalf("another name declines: %+v %v", d, err)
	}
	right, err := f.svc.Invite(f.ctx, rep.uid, sim.DemoUSCC, Grant{Role: RoleAgent, Invitee: Invitee{Name: "赵六", IDNumber: zhao.id},
		Scope: Scope{All: true}, ValidUntil: f.until(time.Hour)})
	if !errors.Is(err, ErrAlreadyMember) {
		t.Fatalf("second live invitation of one number: %+v %v", right, err)
	}
	if _, err := f.svc.End(f.ctx, rep.uid, sim.DemoUSCC, wrong.ID); err != nil {
		t.Fatal(err)
	}
	right, err = f.svc.Invite(f.ctx, rep.uid, sim.DemoUSCC, Grant{Role: RoleAgent, Invitee: Invitee{Name: "赵六", IDNumber: zhao.id},
		Scope: Scope{All: true}, ValidUntil: f.until(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if d, err := f.svc.Decline(f.ctx, zhao.uid, right.ID); err != nil || d.State != MemberDeclined {
		t.Fatalf("decline: %+v %v", d, err)
	}
	if ok, _ := f.svc.ActsFor(f.ctx, zhao.uid, sim.DemoUSCC); ok {
		t.Fatal("declined acts")
	}
	if n := f.count(CollSeats, bson.M{}); n != 1 { // the declared 王五's invitation only
		t.Fatalf("%d arbiters, want 1", n)
	}
}

// TestAcceptRace: twenty accepts of one invitation at once make one member,
// one acceptance audited.
func TestAcceptRace(t *testing.T) {
	f := newFixture(t)
	rep := f.claimed()
	p := f.newPerson("王五", 2, 3)
	m, err := f.svc.Invite(f.ctx, rep.uid, sim.DemoUSCC, Grant{Role: RoleAgent, Invitee: Invitee{Name: p.name, IDNumber: p.id},
		Scope: Scope{All: true}, ValidUntil: f.until(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = f.svc.Accept(context.Background(), p.uid, m.ID)
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("accept %d: %v", i, err)
		}
	}
	if a := f.count(CollAudit, bson.M{"action": AuditAccept}); a != 1 {
		t.Fatalf("%d acceptances audited", a)
	}
}

// adminWithAgent has rep appoint admin, who accepts and invites agent
// (all business, for an hour), who accepts: the two active bindings.
func (f *fixture) adminWithAgent(rep, admin, agent person) (Member, Member) {
	f.t.Helper()
	m, err := f.svc.Invite(f.ctx, rep.uid, sim.DemoUSCC, Grant{Role: RoleAdministrator, Invitee: Invitee{Name: admin.name, IDNumber: admin.id}})
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.svc.Accept(f.ctx, admin.uid, m.ID); err != nil {
		f.t.Fatal(err)
	}
	g, err := f.svc.Invite(f.ctx, admin.uid, sim.DemoUSCC, Grant{Role: RoleAgent, Invitee: Invitee{Name: agent.name, IDNumber: agent.id},
		Scope: Scope{All: true}, ValidUntil: f.until(time.Hour)})
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.svc.Accept(f.ctx, agent.uid, g.ID); err != nil {
		f.t.Fatal(err)
	}
	return m, g
}

// TestFinishCascades: an administrator ended by a process that died before
// its cascade (cascaded false, its agent still active) leaves the agent
// without rights at once; a minute later the sweeper revokes the agent,
// frees its arbiters and records it, once.
func TestFinishCascades(t *testing.T) {
	f := newFixture(t)
	rep := f.claimed()
	admin := f.newPerson("李四", 1, 3)
	agent := f.newPerson("王五", 2, 3)
	m, g := f.adminWithAgent(rep, admin, agent)
	// The end without its cascade, as a dying process leaves it.
	d, _ := f.svc.loadMember(f.ctx, m.ID)
	if _, changed, err := f.svc.end(f.ctx, rep.uid, d, false); err != nil || !changed {
		t.Fatalf("end: %v %v", changed, err)
	}
	if ok, _ := f.svc.ActsFor(f.ctx, agent.uid, sim.DemoUSCC); ok {
		t.Fatal("the agent of an ended administrator acts")
	}
	if n, err := f.svc.FinishCascades(f.ctx); n != 0 || err != nil {
		t.Fatalf("within the grace: %d %v", n, err)
	}
	f.clock.Advance(2 * time.Minute)
	if n, err := f.svc.FinishCascades(f.ctx); n != 1 || err != nil {
		t.Fatalf("sweep: %d %v", n, err)
	}
	if n, err := f.svc.FinishCascades(f.ctx); n != 0 || err != nil {
		t.Fatalf("sweep again: %d %v", n, err)
	}
	if a, _ := f.svc.loadMember(f.ctx, g.ID); a.State != MemberRevoked {
		t.Fatalf("agent %s", a.State)
	}
	if n := f.count(CollSeats, bson.M{}); n != 0 {
		t.Fatalf("%d arbiters left", n)
	}
	if n := f.count(CollAudit, bson.M{"action": AuditCascade}); n != 1 {
		t.Fatalf("%d cascades audited", n)
	}
}

// TestInvitationMessage: a citizen who proved the invited identity is told
// (once per invitation, naming the enterprise and role, no personal data);
// nobody is told of an invitation of an unregistered number or of another
// name.
func TestInvitationMessage(t *testing.T) {
	f := newFixture(t)
	rep := f.claimed()
	li := f.newPerson("李四", 1, 3)
	zhao := f.newPerson("赵六", 2, 3)
	m, err := f.svc.Invite(f.ctx, rep.uid, sim.DemoUSCC, Grant{Role: RoleAdministrator, Invitee: Invitee{Name: li.name, IDNumber: li.id}})
	if err != nil {
		t.Fatal(err)
	}
	for _, inv := range []Invitee{
		{Name: "周八", IDNumber: account.WithCheckDigit("44010619920202005")}, // nobody proved it
		{Name: "钱七", IDNumber: zhao.id},                                     // another name
	} {
		if _, err := f.svc.Invite(f.ctx, rep.uid, sim.DemoUSCC, Grant{Role: RoleAgent, Invitee: inv, Scope: Scope{All: true}, ValidUntil: f.until(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	msgs := f.notes.all()
	if len(msgs) != 1 || msgs[0].UserID != li.uid || msgs[0].Kind != KindInvitation || msgs[0].ID != invitationMessageID(m.ID) ||
		!strings.Contains(msgs[0].Body, "广州某某科技有限公司") || !strings.Contains(msgs[0].Body, "管理员") || msgs[0].Data["invitation_id"] != m.ID {
		t.Fatalf("messages: %+v", msgs)
	}
	if s := fmt.Sprint(msgs[0]); strings.Contains(s, li.id) || strings.Contains(s, li.name) {
		t.Fatalf("the message carries personal data: %s", s)
	}
}
