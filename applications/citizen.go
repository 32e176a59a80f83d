package applications

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"banshi/internal/platform"
)

// EventView is one event of an application as its citizen sees it.
type EventView struct {
	Status           string     `json:"status"`
	OccurredAt       time.Time  `json:"occurred_at"`
	Note             string     `json:"note,omitempty"`
	MaterialsMissing []Material `json:"materials_missing,omitempty"`
	Delivery         *Delivery  `json:"delivery,omitempty"`
}

// Summary is an application in the citizen's list. LastEvent is the event
// the status comes from.
type Summary struct {
	ApplicationNo string    `json:"application_no"`
	ServiceCode   string    `json:"service_code"`
	Source        string    `json:"source"`
	Status        string    `json:"status"`
	LastEvent     EventView `json:"last_event"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// Detail is one application with its whole timeline, oldest event first.
type Detail struct {
	Summary
	ApplicantName string      `json:"applicant_name_masked"`
	Timeline      []EventView `json:"timeline"`
	CreatedAt     time.Time   `json:"created_at"`
}

func view(e entryDoc) EventView {
	return EventView{Status: e.Status, OccurredAt: platform.Local(e.OccurredAt), Note: e.Note,
		MaterialsMissing: e.MaterialsMissing, Delivery: e.Delivery}
}

func (d appDoc) summary() Summary {
	var last EventView
	if d.Current >= 0 && d.Current < len(d.Timeline) {
		last = view(d.Timeline[d.Current])
	}
	return Summary{ApplicationNo: d.ApplicationNo, ServiceCode: d.ServiceCode, Source: d.Source,
		Status: d.Status, LastEvent: last, UpdatedAt: platform.Local(d.UpdatedAt)}
}

func (d appDoc) detail() Detail {
	tl := make([]EventView, len(d.Timeline))
	for i, e := range d.Timeline {
		tl[i] = view(e)
	}
	return Detail{Summary: d.summary(), ApplicantName: d.Applicant.NameMasked, Timeline: tl,
		CreatedAt: platform.Local(d.CreatedAt)}
}

// MaxList is the most applications a list shows.
const MaxList = 100

// ListMine returns the applications of the ID number userID has proven,
// most recently changed first, at most limit (1..MaxList; other values mean
// 20). A citizen who has proven no ID number (level 2 or below) has none,
// whatever departments reported. Errors: storage only.
func (s *Service) ListMine(ctx context.Context, userID string, limit int) ([]Summary, error) {
	if limit <= 0 || limit > MaxList {
		limit = 20
	}
	idx, err := s.owners.ProvenIndex(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := []Summary{}
	if idx == "" {
		return out, nil
	}
	cur, err := s.apps.Find(ctx, bson.M{"id_index": idx}, options.Find().
		SetSort(bson.D{{Key: "updated_at", Value: -1}, {Key: "_id", Value: 1}}).
		SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("list applications: %w", err)
	}
	var docs []appDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("list applications: %w", err)
	}
	for _, d := range docs {
		out = append(out, d.summary())
	}
	return out, nil
}

// GetMine returns the application applicationNo of the ID number userID
// has proven, with its timeline. When departments used the same number
// (each numbers its own), source chooses; without it the most recently
// changed is shown. Errors: ErrNotFound (unknown, someone else's, or the
// citizen has proven no ID number: all alike), storage errors.
func (s *Service) GetMine(ctx context.Context, userID, applicationNo, source string) (Detail, error) {
	if !applicationNoPattern.MatchString(applicationNo) {
		return Detail{}, ErrNotFound
	}
	idx, err := s.owners.ProvenIndex(ctx, userID)
	if err != nil {
		return Detail{}, err
	}
	if idx == "" {
		return Detail{}, ErrNotFound
	}
	f := bson.M{"id_index": idx, "application_no": applicationNo}
	if source != "" {
		f["source"] = source
	}
	var d appDoc
	err = s.apps.FindOne(ctx, f, options.FindOne().SetSort(bson.D{{Key: "updated_at", Value: -1}})).Decode(&d)
	if err != nil {
		if errors.Is(err, mongo.ErrNoDocuments) {
			return Detail{}, ErrNotFound
		}
		return Detail{}, fmt.Errorf("get application: %w", err)
	}
	return d.detail(), nil
}
