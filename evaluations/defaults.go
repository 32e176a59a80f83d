package evaluations

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

// sweepPage is how many subjects one read of the sweep takes; sweepPages
// bounds the pages of one run (the next run goes on where it stopped).
const (
	sweepPage  = 200
	sweepPages = 20
)

// cursorDoc is where the default-rating sweep of a kind stopped.
type cursorDoc struct {
	ID  string    `bson:"_id"`
	At  time.Time `bson:"at"`
	Key string    `bson:"key"`
}

// SweepReport says what one sweep did.
type SweepReport struct {
	Defaults    int // default ratings recorded
	Tickets     int // tickets opened that a crash had left
	Ineffective int // upheld appeals whose evaluation was marked
	Replies     int // replies whose message a crash had left unpublished
}

// Sweep records the default ratings that are due, opens the tickets of 差评s
// stored without one and marks the evaluations of upheld appeals
// ineffective. Idempotent: every default is decided by the evaluation's
// unique _id, so any number of concurrent sweeps record each once.
// Errors: storage errors (what was done stays done).
func (s *Service) Sweep(ctx context.Context) (SweepReport, error) {
	var rep SweepReport
	for _, kind := range []string{KindApplication, KindAppointment} {
		n, err := s.sweepDefaults(ctx, kind)
		rep.Defaults += n
		if err != nil {
			return rep, err
		}
	}
	n, err := s.sweepTickets(ctx)
	rep.Tickets = n
	if err != nil {
		return rep, err
	}
	rep.Ineffective, err = s.sweepIneffective(ctx)
	if err != nil {
		return rep, err
	}
	rep.Replies, err = s.sweepReplies(ctx)
	return rep, err
}

// RunSweeper sweeps every interval under the lease evaluations.sweep (one
// replica at a time) until ctx ends.
func (s *Service) RunSweeper(ctx context.Context, leases *platform.Leases, every time.Duration) {
	leases.RunEvery(ctx, "evaluations.sweep", platform.LeaseRun{Log: s.log}, every, func(ctx context.Context) error {
		rep, err := s.Sweep(ctx)
		if rep != (SweepReport{}) {
			s.log.InfoContext(ctx, "evaluations sweep", "defaults", rep.Defaults, "tickets", rep.Tickets, "ineffective", rep.Ineffective, "replies", rep.Replies)
		}
		return err
	})
}

// DefaultAfter is how long after its result a result left unrated is rated
// by default.
func (s *Service) DefaultAfter() time.Duration {
	return time.Duration(s.cfg.DefaultAfterDays) * 24 * time.Hour
}

// sweepDefaults walks the finished subjects of kind whose result is at
// least DefaultAfter old, from where the last sweep stopped, and records
// the defaults they are owed.
func (s *Service) sweepDefaults(ctx context.Context, kind string) (int, error) {
	var cur cursorDoc
	err := s.cursors.FindOne(ctx, bson.M{"_id": kind}).Decode(&cur)
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return 0, fmt.Errorf("read sweep mark: %w", err)
	}
	before := s.now().Add(-s.DefaultAfter())
	done := 0
	for range sweepPages {
		page, err := s.subjects.Finished(ctx, kind, cur.At, cur.Key, before, sweepPage)
		if err != nil {
			return done, err
		}
		for _, sub := range page {
			ok, err := s.defaultFor(ctx, sub, before)
			if err != nil {
				return done, err
			}
			if ok {
				done++
			}
		}
		if len(page) == 0 {
			return done, nil
		}
		last := page[len(page)-1]
		cur = cursorDoc{ID: kind, At: last.SweepAt.UTC(), Key: last.Key}
		if _, err := s.cursors.ReplaceOne(ctx, bson.M{"_id": kind}, cur, options.Replace().SetUpsert(true)); err != nil {
			return done, fmt.Errorf("store sweep mark: %w", err)
		}
		if len(page) < sweepPage {
			return done, nil
		}
	}
	return done, nil
}

// defaultFor records the default rating of sub's current result when it is
// due (the result is not after before) and the result was not rated; it
// reports whether it recorded one.
func (s *Service) defaultFor(ctx context.Context, sub Subject, before time.Time) (bool, error) {
	if !sub.Finished || sub.ResultAt.After(before) {
		return false, nil
	}
	seq, err := s.nextSequence(ctx, sub)
	if errors.Is(err, ErrAlreadyEvaluated) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	who := evaluatorDoc{Type: EvaluatorPerson, UserID: sub.UserID, IDIndex: sub.IDIndex}
	if sub.USCC != "" {
		who = evaluatorDoc{Type: EvaluatorEnterprise, USCC: sub.USCC}
	}
	d := s.record(sub, seq, who)
	d.Level, d.Indicators, d.Default, d.Channel = LevelBasic, []string{}, true, ChannelSystemDefault
	d.Mode = ModeOnline
	if sub.Kind == KindAppointment {
		d.Mode = ModeOnsite
	}
	err = s.insert(ctx, d)
	if errors.Is(err, ErrAlreadyEvaluated) {
		return false, nil // the citizen (or another sweep) was first
	}
	return err == nil, err
}

// sweepTickets opens the tickets of 差评s stored more than a minute ago
// without one (a crash between the evaluation and its ticket).
func (s *Service) sweepTickets(ctx context.Context) (int, error) {
	cur, err := s.evals.Find(ctx, bson.M{"ticket_pending": true, "created_at": bson.M{"$lt": s.now().Add(-time.Minute)}},
		options.Find().SetLimit(sweepPage))
	if err != nil {
		return 0, fmt.Errorf("find evaluations without ticket: %w", err)
	}
	var docs []evalDoc
	if err := cur.All(ctx, &docs); err != nil {
		return 0, fmt.Errorf("find evaluations without ticket: %w", err)
	}
	for i, d := range docs {
		if _, err := s.openTicket(ctx, d); err != nil {
			return i, err
		}
	}
	return len(docs), nil
}

// sweepIneffective finishes upheld appeals whose evaluation was not marked.
func (s *Service) sweepIneffective(ctx context.Context) (int, error) {
	cur, err := s.tickets.Find(ctx, bson.M{"state": StateAnnulled, "ineffective_pending": true}, options.Find().SetLimit(sweepPage))
	if err != nil {
		return 0, fmt.Errorf("find upheld appeals: %w", err)
	}
	var docs []ticketDoc
	if err := cur.All(ctx, &docs); err != nil {
		return 0, fmt.Errorf("find upheld appeals: %w", err)
	}
	for i, t := range docs {
		if err := s.markIneffective(ctx, t.ID); err != nil {
			return i, err
		}
	}
	return len(docs), nil
}

// sweepReplies publishes the reply messages of tickets replied more than a
// minute ago whose message is not known to be published.
func (s *Service) sweepReplies(ctx context.Context) (int, error) {
	cur, err := s.tickets.Find(ctx, bson.M{"reply_pending": true}, options.Find().SetLimit(sweepPage))
	if err != nil {
		return 0, fmt.Errorf("find unpublished replies: %w", err)
	}
	var docs []ticketDoc
	if err := cur.All(ctx, &docs); err != nil {
		return 0, fmt.Errorf("find unpublished replies: %w", err)
	}
	n := 0
	for _, t := range docs {
		if t.Reply == nil || s.now().Sub(t.Reply.At) < time.Minute {
			continue
		}
		if err := s.tellReply(ctx, t); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
