package platform

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// LeaseRun tunes Leases.Run. Zero fields take the defaults in brackets. The
// lease's validity is judged by the Leases' clock; RenewEvery and RetryEvery
// are real time (they are how often this process acts).
type LeaseRun struct {
	Holder     string        // who this runner is [NewLeaseHolder()]
	TTL        time.Duration // how long each take or renewal holds the lease [30 s]
	RenewEvery time.Duration // how often the holder renews [TTL/3]
	RetryEvery time.Duration // how often a runner without the lease tries to take it [TTL/3]
	Log        *slog.Logger  // tenures and failures [discard]
}

// releaseTimeout bounds the release at the end of a tenure, which runs even
// when the runner's context has ended.
const releaseTimeout = 5 * time.Second

// Run competes for the lease name until ctx ends, and runs work whenever it
// holds it. Every RetryEvery it tries to Acquire the lease; once held, it
// calls work with a context derived from ctx and the lease as taken (its
// Epoch identifies the tenure; its Until is not updated), and renews the
// lease every RenewEvery while work runs. A tenure ends when:
//
//   - a renewal fails (ErrLeaseLost or a storage error), or the lease's Until
//     passes without a renewal: work's context is cancelled at once, before
//     anyone else may take the lease (renewals are bounded by the lease's
//     remaining time);
//   - work returns by itself (its error is logged): the lease is released
//     and the runner competes again after RetryEvery;
//   - ctx ends: work's context is cancelled and the lease released.
//
// Run waits for work to return before it releases or competes again, so one
// runner never runs two tenures at once; work must therefore return soon
// after its context is cancelled. Run returns when ctx has ended and work has
// returned. Of any number of runners (goroutines or processes) with distinct
// holders, at most one runs work at any instant, as far as work honours its
// context and the clocks agree (see Leases).
func (l *Leases) Run(ctx context.Context, name string, o LeaseRun, work func(ctx context.Context, lease Lease) error) {
	if o.Holder == "" {
		o.Holder = NewLeaseHolder()
	}
	if o.TTL <= 0 {
		o.TTL = 30 * time.Second
	}
	if o.RenewEvery <= 0 {
		o.RenewEvery = o.TTL / 3
	}
	if o.RetryEvery <= 0 {
		o.RetryEvery = o.TTL / 3
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	log := o.Log.With("lease", name, "holder", o.Holder)
	retry := time.NewTicker(o.RetryEvery)
	defer retry.Stop()
	for {
		lease, err := l.Acquire(ctx, name, o.Holder, o.TTL)
		switch {
		case err == nil:
			l.tenure(ctx, lease, o, log, work)
		case errors.Is(err, ErrLeaseHeld) || ctx.Err() != nil:
		default:
			log.Warn("lease not taken", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-retry.C:
		}
	}
}

// tenure runs work while lease is held; see Run.
func (l *Leases) tenure(ctx context.Context, lease Lease, o LeaseRun, log *slog.Logger, work func(context.Context, Lease) error) {
	log.Info("lease taken", "epoch", lease.Epoch)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func(held Lease) { done <- work(wctx, held) }(lease)

	// end logs how work ended and releases the lease unless it is known to
	// be lost; work has returned werr.
	end := func(werr error, reason string, lost bool) {
		if werr != nil && !errors.Is(werr, context.Canceled) {
			log.Warn("leased work failed", "err", werr)
		}
		if !lost {
			rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
			if err := l.Release(rctx, lease); err != nil {
				log.Warn("lease not released; it expires", "err", err)
			}
			rcancel()
		}
		log.Info("lease given up", "epoch", lease.Epoch, "reason", reason)
	}
	// stop cancels work and waits for it before ending the tenure.
	stop := func(reason string, lost bool) {
		cancel()
		end(<-done, reason, lost)
	}

	renew := time.NewTicker(o.RenewEvery)
	defer renew.Stop()
	for {
		select {
		case err := <-done:
			end(err, "work returned", false)
			return
		case <-ctx.Done():
			stop("stopping", false)
			return
		case <-renew.C:
		}
		left := lease.Until.Sub(l.clock.Now())
		if left <= 0 {
			stop("expired before renewal", false)
			return
		}
		rctx, rcancel := context.WithTimeout(ctx, left)
		next, err := l.Renew(rctx, lease, o.TTL)
		rcancel()
		switch {
		case err == nil:
			lease = next
		case errors.Is(err, ErrLeaseLost):
			stop("lost", true)
			return
		case ctx.Err() != nil:
			stop("stopping", false)
			return
		default:
			log.Warn("lease not renewed", "err", err)
			stop("renewal failed", false)
			return
		}
	}
}

// RunEvery runs fn every interval (default one minute) under the named lease
// (see Run): a periodic duty — a sweeper — that one replica performs at a
// time, another taking over within the lease's TTL of its death. Each run's
// context ends after max(every, a minute) or when the lease is lost; a run
// that fails is logged (o.Log) and the next tick tries again. fn logs what
// it did.
func (l *Leases) RunEvery(ctx context.Context, name string, o LeaseRun, every time.Duration, fn func(ctx context.Context) error) {
	if every <= 0 {
		every = time.Minute
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l.Run(ctx, name, o, func(ctx context.Context, _ Lease) error {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			rctx, cancel := context.WithTimeout(ctx, max(every, time.Minute))
			err := fn(rctx)
			cancel()
			if err != nil && ctx.Err() == nil {
				log.Warn("periodic duty failed; the next run tries again", "lease", name, "err", err)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
		}
	})
}
