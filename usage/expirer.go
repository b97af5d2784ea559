package usage

import (
	"context"
	"log/slog"
	"time"
)

// DefaultHoldTTL is how long a hold lasts unless configured otherwise. It
// is longer than a long streamed AI response, so a live call keeps its
// hold until it settles.
const DefaultHoldTTL = 10 * time.Minute

// Expirer releases holds that were never settled nor released, such as
// those of a resource server that crashed during a call. A settlement that
// arrives after its hold expired is still recorded (see Store.Settle).
type Expirer struct {
	Store Store

	// TTL is the age at which a hold is released. Zero means
	// DefaultHoldTTL.
	TTL time.Duration

	// Interval is the time between two sweeps. Zero means a tenth of TTL,
	// so a hold lives at most 10% longer than TTL.
	Interval time.Duration

	// Now is the clock; nil means time.Now.
	Now func() time.Time

	// Log receives one line per sweep that released holds or failed. Nil
	// means slog.Default().
	Log *slog.Logger
}

// Run sweeps at once and then every Interval until ctx is done, and
// returns ctx's error. A failed sweep is logged and tried again at the
// next interval.
func (x *Expirer) Run(ctx context.Context) error {
	ticker := time.NewTicker(x.interval())
	defer ticker.Stop()

	for {
		x.sweepAndLog(ctx)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
		}
	}
}

// Sweep releases every hold older than TTL once and returns how many it
// released.
func (x *Expirer) Sweep(ctx context.Context) (int, error) {
	now := time.Now
	if x.Now != nil {
		now = x.Now
	}
	return x.Store.ExpireHolds(ctx, now().Add(-x.ttl()))
}

func (x *Expirer) sweepAndLog(ctx context.Context) {
	log := x.Log
	if log == nil {
		log = slog.Default()
	}

	n, err := x.Sweep(ctx)
	switch {
	case err != nil && ctx.Err() == nil:
		log.Error("expiring usage holds failed", slog.Any("error", err))
	case n > 0:
		log.Info("usage holds expired", slog.Int("holds", n), slog.Duration("ttl", x.ttl()))
	}
}

func (x *Expirer) ttl() time.Duration {
	if x.TTL <= 0 {
		return DefaultHoldTTL
	}
	return x.TTL
}

func (x *Expirer) interval() time.Duration {
	if x.Interval > 0 {
		return x.Interval
	}
	return max(x.ttl()/10, time.Second)
}
