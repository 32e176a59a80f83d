package applications

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"banshi/internal/account"
	"banshi/internal/platform"
)

// Receipt is Banshi's answer to a department's event.
type Receipt struct {
	EventID string `json:"event_id"`
	// ApplicationNo is the event's application as first received (a
	// duplicate that names another one changes nothing).
	ApplicationNo string `json:"application_no"`
	// Duplicate: the event was received before; this delivery changed
	// nothing.
	Duplicate bool `json:"duplicate"`
	// ApplicationStatus is the application's status once the event is in
	// its timeline (which a late event may not change).
	ApplicationStatus string `json:"application_status"`
}

// casAttempts bounds the compare-and-swap retries of one event on one
// application; each retry means another event for it was applied meanwhile.
const casAttempts = 100

// errContended: an application kept changing under one event for casAttempts
// tries. The event is stored; its retry or the sweeper applies it.
var errContended = errors.New("applications: application changed under every attempt")

// Receive takes one event of an application from source, a department
// system whose signature and scope the caller has verified. body is parsed
// and validated (ParseEvent) before anything is stored. A new event is
// stored (decided by the unique _id "<source>|<event_id>"), applied to its
// application's timeline and its message published to the applicant's
// proven owner. An event received before is a duplicate: Receive changes
// nothing of it, but finishes what a crash may have left undone (applying
// it, publishing its message).
//
// Errors: platform.Invalid naming the field (nothing stored); storage
// errors. After a storage error the event may be stored and not yet applied
// or published: sending it again, or the sweeper a minute later, finishes it.
func (s *Service) Receive(ctx context.Context, source string, body []byte) (Receipt, error) {
	now := s.clock.Now()
	ev, err := ParseEvent(body, now)
	if err != nil {
		return Receipt{}, err
	}
	fresh := s.newEventDoc(source, ev, now)
	doc, dup, err := s.record(ctx, fresh)
	if err != nil {
		return Receipt{}, err
	}
	if dup && (doc.ApplicationID != fresh.ApplicationID || doc.Entry.Status != fresh.Entry.Status || !doc.Entry.OccurredAt.Equal(fresh.Entry.OccurredAt)) {
		// The department reused an event id: the first event stands.
		s.log.WarnContext(ctx, "application event id reused with other content; kept the first",
			"source", source, "event_id", ev.EventID)
	}
	app, err := s.finish(ctx, doc)
	if err != nil {
		return Receipt{}, err
	}
	return Receipt{EventID: ev.EventID, ApplicationNo: doc.ApplicationNo, Duplicate: dup, ApplicationStatus: app.Status}, nil
}

func (s *Service) newEventDoc(source string, ev Event, now time.Time) eventDoc {
	received := now.UTC().Truncate(time.Millisecond)
	a := applicantDoc{Type: ev.Applicant.Type}
	switch ev.Applicant.Type {
	case ApplicantPerson:
		a.IDIndex = s.index.BlindIndex(IDNumberKind, ev.Applicant.IDNumber)
		a.NameMasked = account.MaskName(ev.Applicant.Name)
	case ApplicantEnterprise:
		a.USCC, a.Name = ev.Applicant.USCC, ev.Applicant.Name
	}
	return eventDoc{
		ID: eventID(source, ev.EventID), Source: source,
		ApplicationID: applicationID(source, ev.ApplicationNo), ApplicationNo: ev.ApplicationNo,
		Entry: entryDoc{
			EventID: ev.EventID, Status: ev.Status, OccurredAt: ev.OccurredAt, ReceivedAt: received,
			ServiceCode: ev.ServiceCode, Applicant: a, Note: ev.Note,
			MaterialsMissing: ev.MaterialsMissing, Delivery: ev.Delivery,
		},
		ReceivedAt: received,
	}
}

// record stores the event unless it is known; dup reports a known one, and
// doc is then the stored event (what was first received, not d).
func (s *Service) record(ctx context.Context, d eventDoc) (doc eventDoc, dup bool, err error) {
	_, err = s.events.InsertOne(ctx, d)
	if err == nil {
		return d, false, nil
	}
	if !platform.IsDuplicateKey(err) {
		return eventDoc{}, false, fmt.Errorf("store application event: %w", err)
	}
	if err := s.events.FindOne(ctx, bson.M{"_id": d.ID}).Decode(&doc); err != nil {
		return eventDoc{}, false, fmt.Errorf("read application event: %w", err)
	}
	return doc, true, nil
}

// finish applies a stored event to its application (a no-op when it is
// there already) and publishes its message unless published. It returns the
// application. Safe to run any number of times, concurrently too.
func (s *Service) finish(ctx context.Context, ev eventDoc) (appDoc, error) {
	app, err := s.apply(ctx, ev)
	if err != nil {
		return appDoc{}, err
	}
	if ev.Published {
		return app, nil
	}
	owner, err := s.publish(ctx, ev)
	set := bson.M{"applied": true}
	if err == nil {
		set["published"] = true
		if owner != "" {
			set["owner"] = owner
		}
	}
	if _, uerr := s.events.UpdateOne(ctx, bson.M{"_id": ev.ID}, bson.M{"$set": set}); uerr != nil && err == nil {
		err = fmt.Errorf("record application event published: %w", uerr)
	}
	return app, err
}

// apply puts the event in its application's timeline: it creates the
// application with its first event (the insert of its _id decides between
// concurrent first events), or replaces it only if its version is still the
// one read (compare-and-swap), retrying with what changed otherwise.
func (s *Service) apply(ctx context.Context, ev eventDoc) (appDoc, error) {
	for attempt := range casAttempts {
		now := s.clock.Now().UTC().Truncate(time.Millisecond)
		var d appDoc
		err := s.apps.FindOne(ctx, bson.M{"_id": ev.ApplicationID}).Decode(&d)
		switch {
		case errors.Is(err, mongo.ErrNoDocuments):
			nd := appDoc{ID: ev.ApplicationID, Source: ev.Source, ApplicationNo: ev.ApplicationNo}.with(ev.Entry, now)
			_, err := s.apps.InsertOne(ctx, nd)
			if err == nil {
				return nd, nil
			}
			if !platform.IsDuplicateKey(err) {
				return appDoc{}, fmt.Errorf("create application: %w", err)
			}
		case err != nil:
			return appDoc{}, fmt.Errorf("read application: %w", err)
		case d.has(ev.Entry.EventID):
			return d, nil
		default:
			nd := d.with(ev.Entry, now)
			res, err := s.apps.ReplaceOne(ctx, bson.M{"_id": d.ID, "version": d.Version}, nd)
			if err != nil {
				return appDoc{}, fmt.Errorf("update application: %w", err)
			}
			if res.MatchedCount == 1 {
				return nd, nil
			}
		}
		// Another event of this application won; read it again after a
		// short random pause, so that racers spread out.
		select {
		case <-ctx.Done():
			return appDoc{}, ctx.Err()
		case <-time.After(time.Duration(rand.IntN(1+min(attempt, 10))) * time.Millisecond):
		}
	}
	return appDoc{}, errContended
}

// publish tells the applicant's proven owner about the event, and drops
// their cached page. It returns the owner, "" when the applicant is an
// enterprise or nobody has proven the ID number (then nothing is sent).
func (s *Service) publish(ctx context.Context, ev eventDoc) (string, error) {
	if ev.Entry.Applicant.Type != ApplicantPerson {
		return "", nil
	}
	owner, err := s.owners.ProvenOwner(ctx, ev.Entry.Applicant.IDIndex)
	if err != nil {
		return "", fmt.Errorf("find applicant: %w", err)
	}
	if owner == "" {
		return "", nil
	}
	err = s.notify.Notify(ctx, message(ev, owner))
	if s.changed != nil {
		s.changed(ctx, owner) // the application changed, whether or not the message is out
	}
	if err != nil {
		return "", fmt.Errorf("publish application message: %w", err)
	}
	return owner, nil
}
