package licences

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"banshi/internal/account"
	"banshi/internal/platform"
)

// Receipt answers a department's licence event.
type Receipt struct {
	EventID    string `json:"event_id"`
	Identifier string `json:"identifier"`
	Status     string `json:"status"`
	Duplicate  bool   `json:"duplicate"`
}

// casAttempts bounds the compare-and-swap retries of one event.
const casAttempts = 5

// Receive takes a licence event the HTTP layer verified came from source
// (signed, scope licences). In order: the body is parsed strictly
// (ParseEvent); an event_id source sent before answers Duplicate and changes
// nothing; the source must have registered an SM2 key (ErrNoIssuerKey) and
// the signature must verify over the canonical metadata with it
// (ErrSignature); then issue inserts the licence (ErrExists for an
// identifier stored by another event), update and revoke change the
// source's own licence by compare-and-swap (ErrNotFound for one it did not
// issue; ErrLicenceRevoked once revoked; the holder cannot change). Nothing
// is stored on any error.
func (s *Service) Receive(ctx context.Context, source string, body []byte) (Receipt, error) {
	now := s.clock.Now()
	ev, err := ParseEvent(body, now)
	if err != nil {
		return Receipt{}, err
	}
	evID := source + "|" + ev.EventID
	if err := s.events.FindOne(ctx, bson.M{"_id": evID}).Err(); err == nil {
		return s.duplicate(ctx, ev)
	} else if !errors.Is(err, mongo.ErrNoDocuments) {
		return Receipt{}, fmt.Errorf("read licence event: %w", err)
	}
	if err := s.verifyIssuer(ctx, source, ev); err != nil {
		return Receipt{}, err
	}
	var d licenceDoc
	var dup bool
	if ev.Action == ActionIssue {
		d, dup, err = s.issue(ctx, source, ev)
	} else {
		d, dup, err = s.change(ctx, source, ev)
	}
	if err != nil {
		return Receipt{}, err
	}
	rec := eventDoc{ID: evID, Source: source, EventID: ev.EventID, Action: ev.Action, Identifier: ev.Licence.Identifier, ReceivedAt: s.now()}
	if _, err := s.events.InsertOne(ctx, rec); err != nil && !platform.IsDuplicateKey(err) {
		return Receipt{}, fmt.Errorf("record licence event: %w", err)
	}
	if !dup {
		s.log.InfoContext(ctx, "licence event applied", "source", source, "event", ev)
	}
	return Receipt{EventID: ev.EventID, Identifier: d.ID, Status: d.Status, Duplicate: dup}, nil
}

// duplicate answers an event seen before with the licence as it is.
func (s *Service) duplicate(ctx context.Context, ev Event) (Receipt, error) {
	r := Receipt{EventID: ev.EventID, Identifier: ev.Licence.Identifier, Duplicate: true}
	if d, err := s.load(ctx, ev.Licence.Identifier); err == nil {
		r.Status = d.Status
	}
	return r, nil
}

// verifyIssuer checks the event's signature with source's registered key.
func (s *Service) verifyIssuer(ctx context.Context, source string, ev Event) error {
	p, err := s.keys.IssuerKey(ctx, source)
	if err != nil {
		return err
	}
	if p == "" {
		return ErrNoIssuerKey
	}
	pub, err := ParsePublicKeyPEM(p)
	if err != nil {
		return fmt.Errorf("integration %s sm2 key: %w", source, err)
	}
	if !Verify(pub, ev.Licence.Canonical(), ev.Signature.Value) {
		return ErrSignature
	}
	return nil
}

// newDoc is the document an issue event stores.
func (s *Service) newDoc(source string, ev Event) (licenceDoc, error) {
	at := s.now()
	d := licenceDoc{ID: ev.Licence.Identifier, Source: source, Status: ev.Licence.Status,
		Events: []string{ev.EventID}, LastEvent: ev.EventID, Version: 1, ReceivedAt: at, UpdatedAt: at}
	if err := s.fill(&d, ev); err != nil {
		return licenceDoc{}, err
	}
	return d, nil
}

// fill sets the metadata, holder and signature of d from ev.
func (s *Service) fill(d *licenceDoc, ev Event) error {
	m := ev.Licence
	d.Meta = metaDoc{Name: m.Name, Number: m.Number, TypeName: m.TypeName, TypeCode: m.TypeCode, Version: m.Version,
		DefiningAuthority: m.DefiningAuthority, IssuingAuthority: m.IssuingAuthority, IssueDate: m.IssueDate,
		ValidFrom: m.ValidFrom, ValidUntil: m.ValidUntil, AreaCode: m.AreaCode, ServiceItem: m.ServiceItem, Extensions: m.Extensions}
	d.Status = m.Status
	d.Signature = signatureDoc{Algorithm: ev.Signature.Algorithm, Value: ev.Signature.Value, SignedAt: ev.Signature.SignedAt}
	h := holderDoc{CodeType: m.Holder.CodeType}
	switch m.Holder.CodeType {
	case HolderIDNumber:
		name, err := s.cipher.Seal(m.Holder.Name, account.Binding{Collection: CollLicences, ID: d.ID, Field: fieldHolderName})
		if err != nil {
			return err
		}
		code, err := s.cipher.Seal(m.Holder.Code, account.Binding{Collection: CollLicences, ID: d.ID, Field: fieldHolderCode})
		if err != nil {
			return err
		}
		h.Kind, h.NameSealed, h.CodeSealed = holderPerson, name, code
		h.NameMasked, h.CodeMasked = account.MaskName(m.Holder.Name), account.MaskIDNumber(m.Holder.Code)
		d.IDIndex, d.USCC = s.cipher.BlindIndex(IDNumberKind, m.Holder.Code), ""
	default:
		h.Kind, h.Name, h.USCC = holderEnterprise, m.Holder.Name, m.Holder.Code
		d.USCC, d.IDIndex = m.Holder.Code, ""
	}
	d.Holder = h
	return nil
}

// issue inserts a new licence; the same event again (raced) is a duplicate.
func (s *Service) issue(ctx context.Context, source string, ev Event) (licenceDoc, bool, error) {
	d, err := s.newDoc(source, ev)
	if err != nil {
		return licenceDoc{}, false, err
	}
	if _, err := s.licences.InsertOne(ctx, d); err == nil {
		return d, false, nil
	} else if !platform.IsDuplicateKey(err) {
		return licenceDoc{}, false, fmt.Errorf("store licence: %w", err)
	}
	cur, err := s.load(ctx, d.ID)
	if err != nil {
		return licenceDoc{}, false, err
	}
	if cur.Source == source && slices.Contains(cur.Events, ev.EventID) {
		return cur, true, nil
	}
	return licenceDoc{}, false, ErrExists
}

// change applies an update or revoke to source's licence by compare-and-swap.
func (s *Service) change(ctx context.Context, source string, ev Event) (licenceDoc, bool, error) {
	for range casAttempts {
		cur, err := s.load(ctx, ev.Licence.Identifier)
		if err != nil {
			return licenceDoc{}, false, err
		}
		if cur.Source != source {
			return licenceDoc{}, false, ErrNotFound
		}
		if slices.Contains(cur.Events, ev.EventID) {
			return cur, true, nil
		}
		if cur.Status == StatusRevoked {
			return licenceDoc{}, false, ErrLicenceRevoked
		}
		if !s.sameHolder(cur, ev.Licence.Holder) {
			return licenceDoc{}, false, platform.Invalid("licence.holder.code", "mismatch", "变更证照不能更换持证主体")
		}
		next := cur
		if err := s.fill(&next, ev); err != nil {
			return licenceDoc{}, false, err
		}
		next.Events = append(slices.Clone(cur.Events), ev.EventID)
		next.LastEvent, next.Version, next.UpdatedAt = ev.EventID, cur.Version+1, s.now()
		err = s.swap(ctx, cur, next)
		if errors.Is(err, errChanged) {
			continue
		}
		if err != nil {
			return licenceDoc{}, false, err
		}
		return next, false, nil
	}
	return licenceDoc{}, false, fmt.Errorf("licence %s: %w", ev.Licence.Identifier, errChanged)
}

// sameHolder reports whether h is cur's holder.
func (s *Service) sameHolder(cur licenceDoc, h Holder) bool {
	if h.CodeType != cur.Holder.CodeType {
		return false
	}
	if h.CodeType == HolderIDNumber {
		return s.cipher.BlindIndex(IDNumberKind, h.Code) == cur.IDIndex
	}
	return h.Code == cur.USCC
}

// swap replaces cur by next if cur's version is still stored.
func (s *Service) swap(ctx context.Context, cur, next licenceDoc) error {
	res, err := s.licences.ReplaceOne(ctx, bson.M{"_id": cur.ID, "version": cur.Version}, next)
	if err != nil {
		return fmt.Errorf("update licence: %w", err)
	}
	if res.MatchedCount == 0 {
		return errChanged
	}
	return nil
}

// metadata rebuilds a licence's full metadata (the holder opened).
func (s *Service) metadata(d licenceDoc) (Metadata, error) {
	m := Metadata{Identifier: d.ID, Name: d.Meta.Name, Number: d.Meta.Number, TypeName: d.Meta.TypeName,
		TypeCode: d.Meta.TypeCode, Version: d.Meta.Version, DefiningAuthority: d.Meta.DefiningAuthority,
		IssuingAuthority: d.Meta.IssuingAuthority, IssueDate: d.Meta.IssueDate, ValidFrom: d.Meta.ValidFrom,
		ValidUntil: d.Meta.ValidUntil, AreaCode: d.Meta.AreaCode, ServiceItem: d.Meta.ServiceItem,
		Status: d.Status, Extensions: d.Meta.Extensions}
	m.Holder = Holder{CodeType: d.Holder.CodeType, Name: d.Holder.Name, Code: d.Holder.USCC}
	if d.Holder.Kind == holderPerson {
		name, err := s.cipher.Open(d.Holder.NameSealed, account.Binding{Collection: CollLicences, ID: d.ID, Field: fieldHolderName})
		if err != nil {
			return Metadata{}, fmt.Errorf("licence %s holder: %w", d.ID, err)
		}
		code, err := s.cipher.Open(d.Holder.CodeSealed, account.Binding{Collection: CollLicences, ID: d.ID, Field: fieldHolderCode})
		if err != nil {
			return Metadata{}, fmt.Errorf("licence %s holder: %w", d.ID, err)
		}
		m.Holder.Name, m.Holder.Code = name, code
	}
	return m, nil
}

// expired reports whether d's validity ended before today (Asia/Shanghai).
func expired(d licenceDoc, now time.Time) bool {
	return d.Meta.ValidUntil != "" && now.In(platform.Shanghai()).Format(time.DateOnly) > d.Meta.ValidUntil
}
