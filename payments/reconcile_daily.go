package payments

import (
	"context"
	"errors"
	"sort"
	"time"

	"banshi/internal/platform"
)

// The daily reconciliation.

// Timing of the daily reconciliation.
const (
	reconDailyLease = "payments.reconcile.daily"
	reconDailyAt    = 10*time.Hour + 30*time.Minute // Asia/Shanghai, for the day before: bills are ready from 10:00
	reconDailyEvery = 5 * time.Minute               // how often at most the lease holder looks whether a run is due
	reconRetryAfter = 30 * time.Minute              // a failed daily run is tried again after this
)

// RunDaily reconciles, each day from 10:30 Asia/Shanghai, the day before,
// for each configured channel, under the lease "payments.reconcile.daily"
// (one replica at a time, another taking over if it dies). It looks every
// five minutes, or every ten leases (ReconcilerDeps.Lease) when that is
// shorter, and at once when it takes the schedule's lease, so a process
// that was down at 10:30 catches up when it comes back (for the latest due
// day only), and a run whose process died is run again at the first look
// after its run's lease lapsed; a day already done is not run again, a
// failed one is tried again every half hour. It returns when ctx ends.
func (r *Reconciler) RunDaily(ctx context.Context, leases *platform.Leases) {
	leases.RunEvery(ctx, reconDailyLease, platform.LeaseRun{Log: r.log, TTL: r.lease}, min(reconDailyEvery, 10*r.runLease), r.reconDailyTick)
}

// reconDueDate is the latest day whose daily reconciliation is due at now:
// the day before today from 10:30 on, the day before yesterday earlier.
func reconDueDate(now time.Time) string {
	local := now.In(platform.Shanghai()).Add(-reconDailyAt)
	return local.AddDate(0, 0, -1).Format(time.DateOnly)
}

// reconDailyTick runs the due day's reconciliation of each channel that
// is neither done nor running nor failed within the last half hour.
func (r *Reconciler) reconDailyTick(ctx context.Context) error {
	now := r.clock.Now()
	date := reconDueDate(now)
	channels := make([]string, 0, len(r.providers))
	for name := range r.providers {
		channels = append(channels, name)
	}
	sort.Strings(channels)
	var errs []error
	for _, channel := range channels {
		rec, err := r.readRecon(ctx, date, channel, false)
		switch {
		case errors.Is(err, ErrReconNotFound):
		case err != nil:
			errs = append(errs, err)
			continue
		case rec.Status == ReconDone, rec.Status == ReconRunning && now.Sub(rec.StartedAt) < r.runLease,
			rec.Status == ReconFailed && now.Sub(rec.FinishedAt) < reconRetryAfter:
			continue
		}
		if _, err := r.Run(ctx, date, channel); err != nil && !errors.Is(err, ErrReconRunning) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
