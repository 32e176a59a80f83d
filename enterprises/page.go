package enterprises

import (
	"context"
	"time"

	"banshi/internal/account"
)

// ScopedSection fills a section of the enterprise page with what concerns
// the enterprise and falls within the viewer's scope (Scope.Covers of each
// entry's service item code): applications, bills, appointments. It returns
// a JSON-encodable list, empty when there is nothing.
type ScopedSection interface {
	ForEnterprise(ctx context.Context, uscc string, scope Scope) (any, error)
}

// LicenceSection fills the enterprise page's licences (电子证照) of the
// enterprise: a JSON-encodable list. The licences package provides it.
type LicenceSection interface {
	ForEnterprise(ctx context.Context, uscc string) (any, error)
}

// MessageSection fills the enterprise page's messages (the enterprise's
// notices), for its legal representative and administrators.
type MessageSection interface {
	ForEnterprise(ctx context.Context, uscc string) (any, error)
}

// PageSources are what the enterprise page shows besides the registry
// record, members and policies. Each may be nil: its section is then an
// empty list.
type PageSources struct {
	Applications ScopedSection
	Bills        ScopedSection
	Appointments ScopedSection
	Licences     LicenceSection
	Messages     MessageSection
}

// Page section names.
const (
	SectionApplications = "applications"
	SectionBills        = "bills"
	SectionAppointments = "appointments"
	SectionLicences     = "licences"
	SectionMessages     = "messages"
	SectionEnterprise   = "enterprise"
	SectionPolicies     = "policies"
)

// EnterpriseInfo is the enterprise as the page shows it: from the registry
// record (the legal representative's name masked, never the ID number), or
// only the code and the claimed name when the registry cannot answer.
type EnterpriseInfo struct {
	USCC                string
	Name                string
	Status              string
	LegalRepresentative string // masked name
	Address             string
	BusinessScope       string
	Industry            string
	Size                string
	RegisteredAt        string
}

// Page is the enterprise page for one viewer.
type Page struct {
	Enterprise EnterpriseInfo
	Viewer     Actor
	// Members: the legal representative and administrators only (nil for
	// agents).
	Members []Member
	// Sections: applications, bills, appointments, licences for every role
	// (scoped to an agent's items), messages for the legal representative
	// and administrators; each an encodable list.
	Sections map[string]any
	Policies []Policy
	// Unavailable names the sections (and "enterprise" for the registry)
	// that could not be read now; they show empty.
	Unavailable []string
	At          time.Time
}

// EnterprisePage assembles the enterprise page for userID: members only
// (ErrNotMember otherwise, also for an unclaimed enterprise). Sections by
// role as Page says. A section whose source fails is logged, shown empty
// and named in Unavailable; the registry failing leaves the enterprise as
// the claim knows it and no policies. Errors: invalid_argument (uscc),
// ErrNotMember, storage errors of the membership check.
func (s *Service) EnterprisePage(ctx context.Context, userID, uscc string) (Page, error) {
	a, err := s.ActorOf(ctx, userID, uscc)
	if err != nil {
		return Page{}, err
	}
	p := Page{Viewer: a, Sections: map[string]any{}, Policies: []Policy{}, Enterprise: EnterpriseInfo{USCC: a.USCC, Name: a.Name},
		At: s.clock.Now()}
	fail := func(section string, err error) {
		s.log.WarnContext(ctx, "enterprise page section unavailable", "err", err, "uscc", a.USCC, "section", section)
		p.Unavailable = append(p.Unavailable, section)
	}
	rec, err := s.registry.Lookup(ctx, a.USCC)
	if err != nil {
		fail(SectionEnterprise, err)
	} else {
		p.Enterprise = EnterpriseInfo{USCC: a.USCC, Name: rec.Name, Status: rec.Status,
			LegalRepresentative: account.MaskName(rec.LegalRepresentative.Name), Address: rec.Address,
			BusinessScope: rec.BusinessScope, Industry: rec.Industry, Size: rec.Size, RegisteredAt: rec.RegisteredAt}
		if pol, err := s.policiesFor(ctx, a.USCC, rec); err != nil {
			fail(SectionPolicies, err)
		} else {
			p.Policies = pol
		}
	}
	manager := a.Role != RoleAgent
	if manager {
		if p.Members, err = s.membersOf(ctx, a.USCC); err != nil {
			return Page{}, err
		}
	}
	scoped := []struct {
		name string
		src  ScopedSection
	}{
		{SectionApplications, s.page.Applications},
		{SectionBills, s.page.Bills},
		{SectionAppointments, s.page.Appointments},
	}
	for _, sc := range scoped {
		p.Sections[sc.name] = []any{}
		if sc.src == nil {
			continue
		}
		v, err := sc.src.ForEnterprise(ctx, a.USCC, a.Scope)
		if err != nil {
			fail(sc.name, err)
			continue
		}
		p.Sections[sc.name] = v
	}
	p.Sections[SectionLicences] = []any{}
	if s.page.Licences != nil {
		if v, err := s.page.Licences.ForEnterprise(ctx, a.USCC); err != nil {
			fail(SectionLicences, err)
		} else {
			p.Sections[SectionLicences] = v
		}
	}
	if manager {
		p.Sections[SectionMessages] = []any{}
		if s.page.Messages != nil {
			if v, err := s.page.Messages.ForEnterprise(ctx, a.USCC); err != nil {
				fail(SectionMessages, err)
			} else {
				p.Sections[SectionMessages] = v
			}
		}
	}
	return p, nil
}
