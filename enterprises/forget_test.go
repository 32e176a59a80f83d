package enterprises

import (
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"banshi/internal/sim"
)

// TestForget: a deleted administrator's binding ends with the agents it
// granted; a deleted legal representative's enterprise is released (its
// bindings ended) and may be claimed again; forgetting again changes
// nothing.
func TestForget(t *testing.T) {
	f := newFixture(t)
	rep := f.claimed()
	admin := f.newPerson("李四", 1, 3)
	agent := f.newPerson("王五", 2, 3)
	other := f.newPerson("赵六", 3, 3)
	f.adminWithAgent(rep, admin, agent)
	o, err := f.svc.Invite(f.ctx, rep.uid, sim.DemoUSCC, Grant{Role: RoleAgent, Invitee: Invitee{Name: other.name, IDNumber: other.id},
		Scope: Scope{All: true}, ValidUntil: f.until(24 * 3600e9)})
	if err != nil {
		t.Fatal(err)
	}

	if err := f.svc.Forget(f.ctx, admin.uid); err != nil {
		t.Fatal(err)
	}
	for _, who := range []person{admin, agent} {
		if ok, err := f.svc.ActsFor(f.ctx, who.uid, sim.DemoUSCC); ok || err != nil {
			t.Fatalf("%s still acts after the administrator's deletion: %v %v", who.name, ok, err)
		}
	}
	if n := f.count(CollMembers, bson.M{"_id": o.ID, "state": MemberPending}); n != 1 {
		t.Fatal("the deletion of an administrator ended a binding it did not grant")
	}

	if err := f.svc.Forget(f.ctx, rep.uid); err != nil {
		t.Fatal(err)
	}
	if n := f.count(CollClaims, bson.M{"_id": sim.DemoUSCC}); n != 0 {
		t.Fatal("the deleted legal representative's claim was not released")
	}
	if n := f.count(CollMembers, bson.M{"uscc": sim.DemoUSCC, "state": bson.M{"$in": bson.A{MemberPending, MemberActive}}}); n != 0 {
		t.Fatalf("%d bindings of the released enterprise are live", n)
	}
	if err := f.svc.Forget(f.ctx, rep.uid); err != nil {
		t.Fatalf("forgetting again: %v", err)
	}
	// Released: it may be claimed again (by the legal representative's new
	// account in real life; the fixture's accounts cannot be deleted).
	if _, created, err := f.svc.Claim(f.ctx, rep.uid, sim.DemoUSCC); err != nil || !created {
		t.Fatalf("claim after release: %v %v", created, err)
	}
}
