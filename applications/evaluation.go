package applications

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Outcome is an application as the evaluation of a service (好差评) reads
// it: its applicant, its status and the event that gave it (the result,
// when the status is final).
type Outcome struct {
	Key           string // "<source>|<application_no>", unique
	Source        string
	ApplicationNo string
	ServiceCode   string
	Status        string
	Final         bool
	ResultEventID string    // the event the status comes from
	ResultAt      time.Time // when Banshi received that event (UTC)
	ApplicantType string    // ApplicantPerson or ApplicantEnterprise
	IDIndex       string    // a person's: blind index of the ID number
	USCC          string    // an enterprise's
	UpdatedAt     time.Time
}

func (d appDoc) outcome() Outcome {
	o := Outcome{Key: d.ID, Source: d.Source, ApplicationNo: d.ApplicationNo, ServiceCode: d.ServiceCode,
		Status: d.Status, Final: Final(d.Status), ApplicantType: d.Applicant.Type,
		IDIndex: d.IDIndex, USCC: d.USCC, UpdatedAt: d.UpdatedAt}
	if d.Current >= 0 && d.Current < len(d.Timeline) {
		e := d.Timeline[d.Current]
		o.ResultEventID, o.ResultAt = e.EventID, e.ReceivedAt
	}
	return o
}

// maxNumbered bounds how many departments' applications of one number are
// read.
const maxNumbered = 20

// Numbered returns the applications numbered applicationNo, of source when
// it is not "", most recently changed first. A malformed number has none.
// Errors: storage only.
func (s *Service) Numbered(ctx context.Context, applicationNo, source string) ([]Outcome, error) {
	if !applicationNoPattern.MatchString(applicationNo) {
		return nil, nil
	}
	f := bson.M{"application_no": applicationNo}
	if source != "" {
		f = bson.M{"_id": applicationID(source, applicationNo)}
	}
	return s.outcomes(ctx, f, options.Find().SetSort(bson.D{{Key: "updated_at", Value: -1}, {Key: "_id", Value: 1}}).
		SetLimit(maxNumbered))
}

// FinishedBetween lists applications in a final status whose last change is
// after (afterAt, afterKey) in the order (updated_at, _id) and not after
// before, in that order, at most limit: the pages of a sweep that resumes
// where it stopped. An application that changes again comes back later.
// Errors: storage only.
func (s *Service) FinishedBetween(ctx context.Context, afterAt time.Time, afterKey string, before time.Time, limit int) ([]Outcome, error) {
	f := bson.M{"status": bson.M{"$in": bson.A{StatusApproved, StatusRejected, StatusDelivered, StatusWithdrawn}},
		"updated_at": bson.M{"$lte": before.UTC()},
		"$or": bson.A{
			bson.M{"updated_at": bson.M{"$gt": afterAt.UTC()}},
			bson.M{"updated_at": afterAt.UTC(), "_id": bson.M{"$gt": afterKey}},
		}}
	return s.outcomes(ctx, f, options.Find().SetSort(bson.D{{Key: "updated_at", Value: 1}, {Key: "_id", Value: 1}}).
		SetLimit(int64(limit)))
}

func (s *Service) outcomes(ctx context.Context, f bson.M, o *options.FindOptionsBuilder) ([]Outcome, error) {
	cur, err := s.apps.Find(ctx, f, o)
	if err != nil {
		return nil, fmt.Errorf("read applications: %w", err)
	}
	var docs []appDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("read applications: %w", err)
	}
	out := make([]Outcome, 0, len(docs))
	for _, d := range docs {
		out = append(out, d.outcome())
	}
	return out, nil
}

// EnsureEvaluationIndexes creates the indexes Numbered and FinishedBetween
// read by. Idempotent.
func (s *Service) EnsureEvaluationIndexes(ctx context.Context) error {
	for _, keys := range []bson.D{
		{{Key: "application_no", Value: 1}, {Key: "updated_at", Value: -1}},
		{{Key: "status", Value: 1}, {Key: "updated_at", Value: 1}},
	} {
		if _, err := s.apps.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: keys}); err != nil {
			return fmt.Errorf("application evaluation indexes: %w", err)
		}
	}
	return nil
}
