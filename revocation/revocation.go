// Package revocation delivers revocations to Hydra. Revoking a grant marks
// it revoked in the store and queues a call to Hydra's admin API that
// deletes the consent sessions, and so the tokens, of the subject and
// client. The Worker makes that call until Hydra confirms it, so a grant
// revoked while Hydra is unreachable still loses its tokens once Hydra is
// back. Meanwhile the token hook rejects the grant's refreshes.
package revocation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	hydra "github.com/ory/hydra-client-go/v2"

	"github.com/aiconsent/aiconsent/access"
)

// Retry timing: the first retry after MinBackoff, doubling up to
// MaxBackoff between attempts.
const (
	MinBackoff = time.Second
	MaxBackoff = time.Minute
)

// pollInterval is how often the worker looks for due revocations when
// nothing wakes it.
const pollInterval = time.Second

// Worker delivers pending revocations. Several workers, in one process or
// several, may share a store: a revocation delivered twice is harmless,
// because Hydra returns 204 for a subject and client without sessions.
type Worker struct {
	Store access.LiveGrantStore
	Hydra *hydra.APIClient
	Now   func() time.Time
	Log   *slog.Logger

	wake chan struct{}
}

// NewWorker returns a worker; call Run to start it.
func NewWorker(store access.LiveGrantStore, client *hydra.APIClient, log *slog.Logger) *Worker {
	if log == nil {
		log = slog.Default()
	}
	return &Worker{Store: store, Hydra: client, Now: time.Now, Log: log, wake: make(chan struct{}, 1)}
}

// Kick makes the worker look for due revocations now, without waiting for
// its next poll. It never blocks.
func (w *Worker) Kick() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run delivers due revocations until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	t := time.NewTicker(pollInterval)
	defer t.Stop()

	for {
		w.DeliverDue(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-w.wake:
		}
	}
}

// DeliverDue makes one attempt at each due revocation.
func (w *Worker) DeliverDue(ctx context.Context) {
	due, err := w.Store.DueRevocations(ctx, w.Now(), 20)
	if err != nil {
		if ctx.Err() == nil {
			w.Log.Error("listing due revocations failed", slog.Any("error", err))
		}
		return
	}

	for _, r := range due {
		w.deliver(ctx, r)
	}
}

func (w *Worker) deliver(ctx context.Context, r access.Revocation) {
	err := Revoke(ctx, w.Hydra, r.Subject, r.ClientID)
	if err == nil {
		if err := w.Store.CompleteRevocation(ctx, r.ID); err != nil {
			w.Log.Error("recording a delivered revocation failed", slog.Int64("revocation_id", r.ID), slog.Any("error", err))
			return
		}
		w.Log.Info("revocation delivered to Hydra", slog.Int64("revocation_id", r.ID),
			slog.String("subject", r.Subject), slog.String("client_id", r.ClientID), slog.Int("attempts", r.Attempts+1))
		return
	}

	next := w.Now().Add(backoff(r.Attempts))
	w.Log.Warn("revocation not delivered to Hydra; will retry",
		slog.Int64("revocation_id", r.ID), slog.String("subject", r.Subject), slog.String("client_id", r.ClientID),
		slog.Int("attempts", r.Attempts+1), slog.Time("next_attempt", next), slog.Any("error", err))
	if perr := w.Store.PostponeRevocation(ctx, r.ID, next, err.Error()); perr != nil {
		w.Log.Error("postponing a revocation failed", slog.Int64("revocation_id", r.ID), slog.Any("error", perr))
	}
}

// backoff returns the wait after the given number of failed attempts.
func backoff(attempts int) time.Duration {
	d := MinBackoff
	for range attempts {
		d *= 2
		if d >= MaxBackoff {
			return MaxBackoff
		}
	}
	return d
}

// Revoke deletes the consent sessions of subject at clientID in Hydra,
// which deletes their access and refresh tokens.
func Revoke(ctx context.Context, client *hydra.APIClient, subject, clientID string) error {
	resp, err := client.OAuth2API.RevokeOAuth2ConsentSessions(ctx).Subject(subject).Client(clientID).Execute()
	if resp != nil {
		resp.Body.Close()
	}
	if err != nil {
		return fmt.Errorf("hydra revoke consent sessions: %w", err)
	}
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		return errors.New("hydra revoke consent sessions: status " + resp.Status)
	}
	return nil
}
