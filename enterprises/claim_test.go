package enterprises

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"banshi/internal/account"
	"banshi/internal/platform"
	"banshi/internal/sim"
)

const (
	zhangName = "张三"
	zhangID   = "11010519491231002X" // sim.DemoEnterprise's legal representative
)

// TestClaimByLegalRepresentative: the level-4 legal representative claims
// the enterprise (created), claiming again answers the same claim (not
// created, unchanged), Mine lists it, and the stored document holds the code,
// the name, the user and the time only.
func TestClaimByLegalRepresentative(t *testing.T) {
	f := newFixture(t)
	f.enterprise(sim.DemoUSCC, nil)
	uid := f.citizen(zhangName, zhangID, 4)

	m, created, err := f.svc.Claim(f.ctx, uid, sim.DemoUSCC)
	if err != nil || !created {
		t.Fatalf("claim: %+v created=%v err=%v", m, created, err)
	}
	want := Membership{USCC: sim.DemoUSCC, Name: "广州某某科技有限公司", Role: RoleLegalRepresentative, ClaimedAt: f.clock.Now(), InForce: true}
	if m != want {
		t.Fatalf("claim = %+v, want %+v", m, want)
	}
	f.clock.Advance(3600e9)
	again, created, err := f.svc.Claim(f.ctx, uid, sim.DemoUSCC)
	if err != nil || created || again != want {
		t.Fatalf("claim again: %+v created=%v err=%v, want %+v not created", again, created, err, want)
	}
	mine, err := f.svc.Mine(f.ctx, uid)
	if err != nil || !slices.Equal(mine, []Membership{want}) {
		t.Fatalf("mine = %+v, %v", mine, err)
	}
	docs := f.claims()
	if len(docs) != 1 {
		t.Fatalf("%d claim documents, want 1", len(docs))
	}
	var keys []string
	for k := range docs[0] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"_id", "claimed_at", "name", "user_id"}) || docs[0]["_id"] != sim.DemoUSCC || docs[0]["user_id"] != uid {
		t.Fatalf("stored %v", docs[0])
	}
	// Someone else lists nothing.
	other := f.citizen(zhangName, account.WithCheckDigit("44010619900101001"), 4)
	if mine, err := f.svc.Mine(f.ctx, other); err != nil || mine == nil || len(mine) != 0 {
		t.Fatalf("another's mine = %#v, %v", mine, err)
	}
}

// TestClaimWrongCheckCharacter: a well-formed code whose check character
// fails (genuine pre-2016 codes do) is looked up, and claimed when the
// registry has it.
func TestClaimWrongCheckCharacter(t *testing.T) {
	f := newFixture(t)
	good := newUSCC()
	bad := good[:17] + map[bool]string{true: "1", false: "0"}[good[17] == '0']
	if u, err := platform.ParseUSCC(bad); err != nil || u.CheckMatches {
		t.Fatalf("test code %s: %+v %v", bad, u, err)
	}
	f.enterprise(bad, nil)
	uid := f.citizen(zhangName, zhangID, 4)
	if _, created, err := f.svc.Claim(f.ctx, uid, bad); err != nil || !created {
		t.Fatalf("claim: created=%v err=%v", created, err)
	}
}

// TestClaimRefusals: every refusal names its error and stores nothing.
func TestClaimRefusals(t *testing.T) {
	f := newFixture(t)
	demo := f.enterprise(sim.DemoUSCC, nil)
	revoked := f.enterprise(newUSCC(), func(e *sim.Enterprise) { e.Status = sim.RegistryStatusRevoked })
	cancelled := f.enterprise(newUSCC(), func(e *sim.Enterprise) { e.Status = sim.RegistryStatusCancelled })
	operating := f.enterprise(newUSCC(), func(e *sim.Enterprise) { e.Status = sim.RegistryStatusOperating })
	// Same ID number, another name: the registry's 李四 is not our 张三.
	otherName := f.enterprise(newUSCC(), func(e *sim.Enterprise) { e.LegalRepresentative.Name = "李四" })
	zhang4 := f.citizen(zhangName, zhangID, 4)
	stranger4 := f.citizen(zhangName, account.WithCheckDigit("44010619900101002"), 4)
	zhang3 := f.citizen("张三", account.WithCheckDigit("44010619900101003"), 3)
	declared := f.citizen("张三", account.WithCheckDigit("44010619900101004"), 2)
	nobody := f.citizen("", "", 1)

	for _, tc := range []struct {
		name, user, uscc string
		want             error
		check            string
	}{
		{"empty code", zhang4, " ", platform.Invalid("uscc", "", ""), "required"},
		{"short code", zhang4, "91440101MA5CXXXX7", platform.Invalid("uscc", "", ""), platform.USCCCheckLength},
		{"lower case", zhang4, "91440101ma5cxxxx7x", platform.Invalid("uscc", "", ""), platform.USCCCheckAlphabet},
		{"unknown category", zhang4, "99440101MA5CXXXX7X", platform.Invalid("uscc", "", ""), platform.USCCCheckCategory},
		{"ID number as code", zhang4, zhangID, platform.Invalid("uscc", "", ""), ""},
		{"organisation code check", zhang4, "91440101MA5CXXXX8X", platform.Invalid("uscc", "", ""), platform.USCCCheckOrgCode},
		{"level 1", nobody, demo.USCC, ErrRealnameRequired, ""},
		{"level 2", declared, demo.USCC, ErrRealnameRequired, ""},
		{"level 3", zhang3, demo.USCC, ErrRealnameRequired, ""},
		{"unknown enterprise", zhang4, newUSCC(), ErrEnterpriseNotFound, ""},
		{"revoked", zhang4, revoked.USCC, ErrEnterpriseInactive, ""},
		{"cancelled", zhang4, cancelled.USCC, ErrEnterpriseInactive, ""},
		{"not the representative", stranger4, demo.USCC, ErrNotLegalRepresentative, ""},
		{"same ID number, another name", zhang4, otherName.USCC, ErrNotLegalRepresentative, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := f.svc.Claim(f.ctx, tc.user, tc.uscc)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.check != "" {
				if pe, _ := platform.AsError(err); pe.Check != tc.check {
					t.Fatalf("check = %q, want %q", pe.Check, tc.check)
				}
			}
			if n := len(f.claims()); n != 0 {
				t.Fatalf("%d claims stored", n)
			}
		})
	}
	if _, err := f.svc.Mine(f.ctx, zhang4); err != nil {
		t.Fatal(err)
	}
	// 在业 is claimable as 存续 is; surrounding spaces are trimmed.
	if _, created, err := f.svc.Claim(f.ctx, zhang4, " "+operating.USCC+"\t"); err != nil || !created {
		t.Fatalf("在业: created=%v err=%v", created, err)
	}
	if _, _, err := f.svc.Claim(f.ctx, "u_nobody", demo.USCC); !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
}

// TestClaimedByAnother: when the registry's legal representative changed,
// the new one cannot take the enterprise from the one who claimed it; the
// first keeps it.
func TestClaimedByAnother(t *testing.T) {
	f := newFixture(t)
	e := f.enterprise(sim.DemoUSCC, nil)
	zhang := f.citizen(zhangName, zhangID, 4)
	if _, created, err := f.svc.Claim(f.ctx, zhang, e.USCC); err != nil || !created {
		t.Fatalf("first claim: %v %v", created, err)
	}
	liID := account.WithCheckDigit("44010619850505001")
	li := f.citizen("李四", liID, 4)
	e.LegalRepresentative = sim.LegalRepresentative{Name: "李四", IDNumber: liID}
	if _, err := f.reg.Update(e); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.Claim(f.ctx, li, e.USCC); !errors.Is(err, ErrEnterpriseClaimed) {
		t.Fatalf("second claimant: %v", err)
	}
	docs := f.claims()
	if len(docs) != 1 || docs[0]["user_id"] != zhang {
		t.Fatalf("claims = %v", docs)
	}
	if mine, _ := f.svc.Mine(f.ctx, li); len(mine) != 0 {
		t.Fatalf("li's enterprises: %+v", mine)
	}
}

// TestClaimRaceSameUser: 20 concurrent claims of the legal representative
// create one claim; every other call answers it as already theirs.
func TestClaimRaceSameUser(t *testing.T) {
	f := newFixture(t)
	f.enterprise(sim.DemoUSCC, nil)
	uid := f.citizen(zhangName, zhangID, 4)
	const n = 20
	var wg sync.WaitGroup
	results := make([]Membership, n)
	createdBy := make([]bool, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i], createdBy[i], errs[i] = f.svc.Claim(context.Background(), uid, sim.DemoUSCC)
		}()
	}
	close(start)
	wg.Wait()
	created := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("claim %d: %v", i, errs[i])
		}
		if createdBy[i] {
			created++
		}
		if results[i] != results[0] {
			t.Fatalf("claim %d answered %+v, claim 0 %+v", i, results[i], results[0])
		}
	}
	if created != 1 || len(f.claims()) != 1 {
		t.Fatalf("%d created, %d documents; want 1 and 1", created, len(f.claims()))
	}
}

// everyone is a citizen store in which every user is a level-4 match of any
// identity: the claim document alone must keep two claimants apart.
type everyone struct{}

func (everyone) Get(_ context.Context, id string) (account.User, error) {
	return account.User{ID: id, Level: 4, HasIdentity: true}, nil
}

func (everyone) CheckIdentity(context.Context, string, account.Identity) (bool, error) {
	return true, nil
}

func (everyone) ProvenIndex(context.Context, string) (string, error) { return "", nil }

// TestClaimRaceDifferentUsers: 20 different users who all pass the checks
// claim at once: exactly one owns the enterprise, the others are told it is
// claimed, and the document names the winner.
func TestClaimRaceDifferentUsers(t *testing.T) {
	f := newFixture(t)
	f.enterprise(sim.DemoUSCC, nil)
	svc := f.service(everyone{})
	const n = 20
	var wg sync.WaitGroup
	createdBy := make([]bool, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, createdBy[i], errs[i] = svc.Claim(context.Background(), "u_racer"+string(rune('a'+i)), sim.DemoUSCC)
		}()
	}
	close(start)
	wg.Wait()
	winner := ""
	for i := range n {
		switch {
		case errs[i] == nil && createdBy[i] && winner == "":
			winner = "u_racer" + string(rune('a'+i))
		case errors.Is(errs[i], ErrEnterpriseClaimed):
		default:
			t.Fatalf("claim %d: created=%v err=%v (winner %q)", i, createdBy[i], errs[i], winner)
		}
	}
	docs := f.claims()
	if winner == "" || len(docs) != 1 || docs[0]["user_id"] != winner {
		t.Fatalf("winner %q, claims %v", winner, docs)
	}
}
