package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/aiconsent/aiconsent/access"
	"github.com/aiconsent/aiconsent/money"
	"github.com/aiconsent/aiconsent/usage"
)

// cent is 0.01 of the currency; milli is 0.001.
const (
	cent  = money.Scale / 100
	milli = money.Scale / 1000
)

// miniPrices are the catalog prices of gpt-4o-mini per token.
var miniPrices = &usage.Prices{Input: 150_000, Output: 600_000}

// usageGrant returns an active grant of openai gpt-4o-mini for chat with
// the given limits, expiring in 2030.
func usageGrant(id string, limits access.Limits) *access.Grant {
	limits.Currency = "USD"
	return &access.Grant{
		ID:               id,
		Subject:          "subject-" + id,
		ClientID:         "client-" + id,
		ConsentChallenge: "challenge-" + id,
		Status:           access.StatusActive,
		Details: []access.Detail{{
			Type:         access.DetailType,
			Provider:     "openai",
			Models:       []string{"gpt-4o-mini"},
			Capabilities: []string{"chat"},
			Limits:       limits,
			Expires:      time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
		}},
		Scopes: []string{"ai:openai:gpt-4o-mini:chat"},
	}
}

// hold returns a hold of amount on gpt-4o-mini chat under grantID.
func hold(grantID string, amount money.Amount) usage.Hold {
	return usage.Hold{GrantID: grantID, Provider: "openai", Model: "gpt-4o-mini", Capability: "chat", Amount: amount, Prices: miniPrices}
}

func setClock(c *testClock, t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// setGrantLimits changes the limits of the grant's first detail with SQL,
// as an edit of the grant by its person would.
func setGrantLimits(t *testing.T, db *DB, grantID string, change func(*access.Limits)) {
	t.Helper()
	var text string
	if err := db.db.QueryRow(`SELECT details FROM grants WHERE id = ?`, grantID).Scan(&text); err != nil {
		t.Fatalf("read details of %q: %v", grantID, err)
	}
	details, err := decodeDetails(text)
	if err != nil {
		t.Fatal(err)
	}
	change(&details[0].Limits)

	text, err = encodeDetails(details)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.db.Exec(`UPDATE grants SET details = ? WHERE id = ?`, text, grantID); err != nil {
		t.Fatalf("update details of %q: %v", grantID, err)
	}
}

func setGrantStatus(t *testing.T, db *DB, grantID string, status access.Status) {
	t.Helper()
	if _, err := db.db.Exec(`UPDATE grants SET status = ? WHERE id = ?`, status, grantID); err != nil {
		t.Fatalf("set status of %q to %q: %v", grantID, status, err)
	}
}

func reserve(t *testing.T, s *UsageStore, h usage.Hold) *usage.Reservation {
	t.Helper()
	r, err := s.Reserve(context.Background(), h)
	if err != nil {
		t.Fatalf("Reserve(%+v) error = %v; want nil", h, err)
	}
	return r
}

func settleAmount(t *testing.T, s *UsageStore, id string, cost money.Amount) *usage.Settlement {
	t.Helper()
	st, err := s.Settle(context.Background(), id, usage.Usage{Amount: &cost})
	if err != nil {
		t.Fatalf("Settle(%q, %s) error = %v; want nil", id, cost, err)
	}
	return st
}

// wantRefusal checks that err is a refusal with the given reason.
func wantRefusal(t *testing.T, call string, err error, reason usage.Reason) *usage.Refusal {
	t.Helper()
	var r *usage.Refusal
	if !errors.As(err, &r) || r.Reason != reason {
		t.Fatalf("%s error = %v; want refusal %s", call, err, reason)
	}
	return r
}

// periodCounts returns the spent and held amounts of the grant's openai
// detail in the current periods.
func periodCounts(t *testing.T, s *UsageStore, grantID string) map[usage.Period][2]money.Amount {
	t.Helper()
	report, err := s.Report(context.Background(), grantID)
	if err != nil {
		t.Fatalf("Report(%q) error = %v", grantID, err)
	}
	counts := map[usage.Period][2]money.Amount{}
	for _, p := range report.CountersOf("openai").Periods {
		counts[p.Period] = [2]money.Amount{p.Spent, p.Held}
	}
	return counts
}

// checkPeriods checks spent and held in every current period.
func checkPeriods(t *testing.T, s *UsageStore, grantID string, spent, held money.Amount) {
	t.Helper()
	for p, got := range periodCounts(t, s, grantID) {
		if got != [2]money.Amount{spent, held} {
			t.Errorf("%s period of %q: spent %s, held %s; want spent %s, held %s", p, grantID, got[0], got[1], spent, held)
		}
	}
}

func TestReserveConcurrentCap(t *testing.T) {
	tests := []struct {
		name    string
		handles int
	}{
		{"one handle", 1},
		{"two handles", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "usage.db")
			var stores []*UsageStore
			for range tt.handles {
				db, _ := openTestDBAt(t, path)
				stores = append(stores, db.UsageStore(usage.Calendar{}))
			}
			createGrant(t, stores[0].db, usageGrant("gr_cap", access.Limits{MonthlySpend: amount(cent)}))

			const callers = 50
			reservations := make([]*usage.Reservation, callers)
			errs := make([]error, callers)
			var wg sync.WaitGroup
			for i := range callers {
				wg.Go(func() {
					reservations[i], errs[i] = stores[i%len(stores)].Reserve(context.Background(), hold("gr_cap", 2*milli))
				})
			}
			wg.Wait()

			var accepted []string
			for i, err := range errs {
				if err == nil {
					accepted = append(accepted, reservations[i].ID)
					continue
				}
				wantRefusal(t, fmt.Sprintf("Reserve #%d", i), err, usage.ReasonBudgetExhausted)
			}
			if len(accepted) != 5 {
				t.Fatalf("%d of %d concurrent reservations of 0.002 under a cap of 0.01 accepted; want 5", len(accepted), callers)
			}
			checkPeriods(t, stores[0], "gr_cap", 0, cent)

			for _, id := range accepted {
				settleAmount(t, stores[0], id, milli)
			}
			checkPeriods(t, stores[0], "gr_cap", 5*milli, 0)

			reserve(t, stores[len(stores)-1], hold("gr_cap", 2*milli))
			reserve(t, stores[len(stores)-1], hold("gr_cap", 2*milli))
			_, err := stores[0].Reserve(context.Background(), hold("gr_cap", 2*milli))
			refusal := wantRefusal(t, "Reserve after the freed room is used", err, usage.ReasonBudgetExhausted)
			if refusal.Cap != usage.PeriodMonthly {
				t.Errorf("refusal cap = %q; want %q", refusal.Cap, usage.PeriodMonthly)
			}
		})
	}
}

func TestReserveSettleCycles(t *testing.T) {
	db, _ := openTestDB(t)
	s := db.UsageStore(usage.Calendar{})
	createGrant(t, db, usageGrant("gr_cycles", access.Limits{DailySpend: amount(money.Scale)}))

	var settled money.Amount
	for i := range 200 {
		r := reserve(t, s, hold("gr_cycles", cent))
		u := usage.Usage{InputTokens: int64(i * 7), OutputTokens: int64(i % 13), HasTokens: true}
		st, err := s.Settle(context.Background(), r.ID, u)
		if err != nil {
			t.Fatalf("cycle %d: Settle(%+v) error = %v", i, u, err)
		}
		want, _ := miniPrices.Cost(u.InputTokens, u.OutputTokens)
		if st.Cost != want {
			t.Fatalf("cycle %d: Settle(%+v) cost = %s; want %s", i, u, st.Cost, want)
		}
		settled += st.Cost
	}

	checkPeriods(t, s, "gr_cycles", settled, 0)
	if n := countRows(t, db, "usage_reservations", "status = ?", holdSettled); n != 200 {
		t.Errorf("settled reservations = %d; want 200", n)
	}
	stats, err := s.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if stats != (usage.Stats{}) {
		t.Errorf("Stats() = %+v; want all zero", stats)
	}
}

func TestSettleAboveHold(t *testing.T) {
	db, _ := openTestDB(t)
	s := db.UsageStore(usage.Calendar{})
	createGrant(t, db, usageGrant("gr_above", access.Limits{DailySpend: amount(cent)}))

	r := reserve(t, s, hold("gr_above", milli))
	st := settleAmount(t, s, r.ID, 3*milli)
	want := usage.Settlement{ReservationID: r.ID, Held: milli, Cost: 3 * milli, AboveHold: 2 * milli}
	if *st != want {
		t.Errorf("Settle above hold = %+v; want %+v", *st, want)
	}
	checkPeriods(t, s, "gr_above", 3*milli, 0)

	stats, err := s.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if stats.SettledAboveHold != 1 || stats.AboveHoldAmount != 2*milli {
		t.Errorf("Stats() = %+v; want SettledAboveHold 1 and AboveHoldAmount %s", stats, money.Amount(2*milli))
	}

	_, err = s.Reserve(context.Background(), hold("gr_above", 8*milli))
	wantRefusal(t, "Reserve(0.008) after spending 0.003 of 0.01", err, usage.ReasonBudgetExhausted)
	reserve(t, s, hold("gr_above", 7*milli))
}

func TestExpireHolds(t *testing.T) {
	db, clock := openTestDB(t)
	s := db.UsageStore(usage.Calendar{})
	createGrant(t, db, usageGrant("gr_expire", access.Limits{DailySpend: amount(cent)}))
	ctx := context.Background()

	var old []string
	for range 3 {
		old = append(old, reserve(t, s, hold("gr_expire", 3*milli)).ID)
	}
	clock.Advance(11 * time.Minute)
	fresh := reserve(t, s, hold("gr_expire", milli))
	_, err := s.Reserve(ctx, hold("gr_expire", milli))
	wantRefusal(t, "Reserve with 0.01 held", err, usage.ReasonBudgetExhausted)

	x := &usage.Expirer{Store: s, TTL: 10 * time.Minute, Now: db.Now}
	n, err := x.Sweep(ctx)
	if err != nil || n != 3 {
		t.Fatalf("Sweep() = %d, %v; want 3, nil", n, err)
	}
	checkPeriods(t, s, "gr_expire", 0, milli)
	if got := countRows(t, db, "usage_reservations", "status = ?", holdExpired); got != 3 {
		t.Errorf("expired reservations = %d; want 3", got)
	}
	if n, err := x.Sweep(ctx); err != nil || n != 0 {
		t.Errorf("second Sweep() = %d, %v; want 0, nil", n, err)
	}

	st := settleAmount(t, s, old[0], 2*milli)
	if !st.Late || st.Cost != 2*milli {
		t.Errorf("Settle of expired hold = %+v; want Late with cost 0.002", *st)
	}
	checkPeriods(t, s, "gr_expire", 2*milli, milli)
	if err := s.Release(ctx, old[1]); err != nil {
		t.Errorf("Release of expired hold error = %v; want nil", err)
	}
	checkPeriods(t, s, "gr_expire", 2*milli, milli)

	stats, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := usage.Stats{HoldsOpen: 1, HoldsExpired: 2, SettledLate: 1}
	if stats != want {
		t.Errorf("Stats() = %+v; want %+v", stats, want)
	}
	settleAmount(t, s, fresh.ID, milli)
}

func TestExpirerRun(t *testing.T) {
	db, clock := openTestDB(t)
	s := db.UsageStore(usage.Calendar{})
	createGrant(t, db, usageGrant("gr_run", access.Limits{}))
	reserve(t, s, hold("gr_run", milli))
	clock.Advance(usage.DefaultHoldTTL + time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	x := &usage.Expirer{Store: s, Interval: 10 * time.Millisecond, Now: db.Now}
	done := make(chan error, 1)
	go func() { done <- x.Run(ctx) }()

	for countRows(t, db, "usage_reservations", "status = ?", holdExpired) == 0 {
		if ctx.Err() != nil {
			t.Fatal("Expirer.Run did not expire the hold within 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run() after cancel = %v; want %v", err, context.Canceled)
	}
	checkPeriods(t, s, "gr_run", 0, 0)
}

func TestExpireHoldsInBatches(t *testing.T) {
	db, clock := openTestDB(t)
	s := db.UsageStore(usage.Calendar{})
	createGrant(t, db, usageGrant("gr_batches", access.Limits{}))

	const holds = expireBatch*2 + 7
	for range holds {
		reserve(t, s, hold("gr_batches", milli))
	}
	clock.Advance(time.Hour)

	n, err := s.ExpireHolds(context.Background(), db.Now())
	if err != nil || n != holds {
		t.Fatalf("ExpireHolds() = %d, %v; want %d, nil", n, err, holds)
	}
	checkPeriods(t, s, "gr_batches", 0, 0)
}

func TestReleaseAndSettleStates(t *testing.T) {
	db, _ := openTestDB(t)
	s := db.UsageStore(usage.Calendar{})
	createGrant(t, db, usageGrant("gr_states", access.Limits{}))
	ctx := context.Background()

	released := reserve(t, s, hold("gr_states", 4*milli))
	if err := s.Release(ctx, released.ID); err != nil {
		t.Fatalf("Release() error = %v", err)
	}
	if err := s.Release(ctx, released.ID); err != nil {
		t.Errorf("second Release() error = %v; want nil", err)
	}
	checkPeriods(t, s, "gr_states", 0, 0)

	settled := reserve(t, s, hold("gr_states", 4*milli))
	u := usage.Usage{InputTokens: 10, OutputTokens: 5, HasTokens: true}
	first, err := s.Settle(ctx, settled.ID, u)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.Settle(ctx, settled.ID, u)
	if err != nil || *again != *first {
		t.Errorf("Settle with the same usage again = %+v, %v; want %+v, nil", again, err, *first)
	}
	checkPeriods(t, s, "gr_states", first.Cost, 0)

	other := usage.Usage{InputTokens: 11, OutputTokens: 5, HasTokens: true}
	_, err = s.Settle(ctx, settled.ID, other)
	wantRefusal(t, "Settle with other usage", err, usage.ReasonAlreadySettled)
	err = s.Release(ctx, settled.ID)
	wantRefusal(t, "Release of settled reservation", err, usage.ReasonAlreadySettled)

	_, err = s.Settle(ctx, "rs_unknown", u)
	wantRefusal(t, "Settle of unknown reservation", err, usage.ReasonReservationNotFound)
	err = s.Release(ctx, "rs_unknown")
	wantRefusal(t, "Release of unknown reservation", err, usage.ReasonReservationNotFound)

	unpriced := hold("gr_states", milli)
	unpriced.Prices = nil
	r := reserve(t, s, unpriced)
	_, err = s.Settle(ctx, r.ID, u)
	refusal := wantRefusal(t, "Settle in tokens of a hold without prices", err, usage.ReasonInvalidRequest)
	if refusal.Field != "amount" {
		t.Errorf("refusal field = %q; want %q", refusal.Field, "amount")
	}
	checkPeriods(t, s, "gr_states", first.Cost, milli)
}

func TestPeriodResetAcrossMonthBoundary(t *testing.T) {
	db, clock := openTestDB(t)
	s := db.UsageStore(usage.Calendar{})
	createGrant(t, db, usageGrant("gr_month", access.Limits{MonthlySpend: amount(cent), DailySpend: amount(cent)}))
	ctx := context.Background()

	setClock(clock, time.Date(2025, 3, 31, 23, 59, 0, 0, time.UTC))
	spent := reserve(t, s, hold("gr_month", 6*milli))
	settleAmount(t, s, spent.ID, 6*milli)
	late := reserve(t, s, hold("gr_month", 4*milli))
	_, err := s.Reserve(ctx, hold("gr_month", milli))
	refusal := wantRefusal(t, "Reserve on 31 March with the cap used", err, usage.ReasonBudgetExhausted)
	if want := time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC); refusal.Cap != usage.PeriodMonthly || !refusal.ResetsAt.Equal(want) {
		t.Errorf("refusal cap %q resets at %s; want %q at %s", refusal.Cap, refusal.ResetsAt, usage.PeriodMonthly, want)
	}

	setClock(clock, time.Date(2025, 4, 1, 0, 0, 30, 0, time.UTC))
	settleAmount(t, s, late.ID, 3*milli)
	counts := periodCounts(t, s, "gr_month")
	if counts[usage.PeriodMonthly] != [2]money.Amount{0, 0} || counts[usage.PeriodDaily] != [2]money.Amount{0, 0} {
		t.Errorf("April periods after settling a March hold = %v; want zero", counts)
	}
	if counts[usage.PeriodTotal] != [2]money.Amount{9 * milli, 0} {
		t.Errorf("total period = %v; want spent 0.009, held 0", counts[usage.PeriodTotal])
	}

	reserve(t, s, hold("gr_month", cent))
	var marchSpent int64
	err = db.db.QueryRow(`SELECT spent FROM usage_periods WHERE grant_id = 'gr_month' AND period = 'monthly' AND start = ?`,
		formatTime(time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC))).Scan(&marchSpent)
	if err != nil || money.Amount(marchSpent) != 9*milli {
		t.Errorf("March spend = %s, %v; want 0.009", money.Amount(marchSpent), err)
	}
}

func TestPeriodInConfiguredZone(t *testing.T) {
	db, clock := openTestDB(t)
	berlin, err := usage.LoadCalendar("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	s := db.UsageStore(berlin)
	createGrant(t, db, usageGrant("gr_berlin", access.Limits{DailySpend: amount(cent)}))

	setClock(clock, time.Date(2025, 3, 31, 21, 59, 0, 0, time.UTC))
	settleAmount(t, s, reserve(t, s, hold("gr_berlin", cent)).ID, cent)
	_, err = s.Reserve(context.Background(), hold("gr_berlin", milli))
	wantRefusal(t, "Reserve at 23:59 in Berlin", err, usage.ReasonBudgetExhausted)

	setClock(clock, time.Date(2025, 3, 31, 22, 0, 0, 0, time.UTC))
	reserve(t, s, hold("gr_berlin", cent))
}

func TestCapChangedMidPeriodKeepsSpend(t *testing.T) {
	tests := []struct {
		name   string
		before *money.Amount
		after  money.Amount
		fits   money.Amount
		refuse money.Amount
	}{
		{"lowered", amount(cent), 8 * milli, 2 * milli, 3 * milli},
		{"raised", amount(cent), 2 * cent, 14 * milli, 15 * milli},
		{"added", nil, 8 * milli, 2 * milli, 3 * milli},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, _ := openTestDB(t)
			s := db.UsageStore(usage.Calendar{})
			createGrant(t, db, usageGrant("gr_change", access.Limits{DailySpend: tt.before}))
			settleAmount(t, s, reserve(t, s, hold("gr_change", 6*milli)).ID, 6*milli)

			setGrantLimits(t, db, "gr_change", func(l *access.Limits) { l.DailySpend = amount(tt.after) })

			_, err := s.Reserve(context.Background(), hold("gr_change", tt.refuse))
			wantRefusal(t, fmt.Sprintf("Reserve(%s) after spending 0.006 under a cap of %s", tt.refuse, tt.after), err, usage.ReasonBudgetExhausted)
			reserve(t, s, hold("gr_change", tt.fits))
			checkPeriods(t, s, "gr_change", 6*milli, tt.fits)
		})
	}
}

func TestReserveRefusals(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(t *testing.T, db *DB, clock *testClock)
		hold   func(*usage.Hold)
		reason usage.Reason
	}{
		{name: "grant not found", hold: func(h *usage.Hold) { h.GrantID = "gr_nobody" }, reason: usage.ReasonGrantNotFound},
		{name: "model not granted", hold: func(h *usage.Hold) { h.Model = "gpt-4o" }, reason: usage.ReasonNotGranted},
		{name: "capability not granted", hold: func(h *usage.Hold) { h.Capability = "embeddings" }, reason: usage.ReasonNotGranted},
		{name: "provider not granted", hold: func(h *usage.Hold) { h.Provider = "anthropic" }, reason: usage.ReasonNotGranted},
		{
			name:   "paused",
			setup:  func(t *testing.T, db *DB, _ *testClock) { setGrantStatus(t, db, "gr_refuse", access.StatusPaused) },
			reason: usage.ReasonGrantPaused,
		},
		{
			name:   "revoked",
			setup:  func(t *testing.T, db *DB, _ *testClock) { setGrantStatus(t, db, "gr_refuse", access.StatusRevoked) },
			reason: usage.ReasonGrantRevoked,
		},
		{
			name: "replaced",
			setup: func(t *testing.T, db *DB, _ *testClock) {
				g := usageGrant("gr_newer", access.Limits{})
				g.Subject, g.ClientID = "subject-gr_refuse", "client-gr_refuse"
				createGrant(t, db, g)
			},
			reason: usage.ReasonGrantRevoked,
		},
		{
			name: "expired",
			setup: func(_ *testing.T, _ *DB, clock *testClock) {
				setClock(clock, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
			},
			reason: usage.ReasonGrantExpired,
		},
		{name: "budget exhausted", hold: func(h *usage.Hold) { h.Amount = cent + 1 }, reason: usage.ReasonBudgetExhausted},
		{
			name: "rate limited",
			setup: func(t *testing.T, db *DB, _ *testClock) {
				setGrantLimits(t, db, "gr_refuse", func(l *access.Limits) { l.RequestsPerMinute = count(0) })
			},
			reason: usage.ReasonRateLimited,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, clock := openTestDB(t)
			s := db.UsageStore(usage.Calendar{})
			createGrant(t, db, usageGrant("gr_refuse", access.Limits{DailySpend: amount(cent)}))
			if tt.setup != nil {
				tt.setup(t, db, clock)
			}
			h := hold("gr_refuse", milli)
			if tt.hold != nil {
				tt.hold(&h)
			}

			_, err := s.Reserve(context.Background(), h)
			wantRefusal(t, fmt.Sprintf("Reserve(%+v)", h), err, tt.reason)
			for _, table := range []string{"usage_reservations", "usage_periods", "usage_windows"} {
				if n := countRows(t, db, table, "1"); n != 0 {
					t.Errorf("%s has %d rows after a refusal; want 0", table, n)
				}
			}
		})
	}
}

func TestRateWindows(t *testing.T) {
	db, clock := openTestDB(t)
	s := db.UsageStore(usage.Calendar{})
	createGrant(t, db, usageGrant("gr_rate", access.Limits{RequestsPerMinute: count(2), RequestsPerDay: count(5), TokensPerMinute: count(1000)}))
	ctx := context.Background()
	setClock(clock, time.Date(2025, 3, 31, 12, 0, 45, 0, time.UTC))

	withTokens := func(n int64) usage.Hold {
		h := hold("gr_rate", milli)
		h.Tokens = n
		return h
	}

	big := reserve(t, s, withTokens(800))
	_, err := s.Reserve(ctx, withTokens(300))
	refusal := wantRefusal(t, "Reserve(300 tokens) with 800 held", err, usage.ReasonRateLimited)
	if refusal.Limit != usage.TokensPerMinute || refusal.RetryAfter != 15*time.Second {
		t.Errorf("refusal = %s after %v; want %s after 15s", refusal.Limit, refusal.RetryAfter, usage.TokensPerMinute)
	}
	if _, err := s.Settle(ctx, big.ID, usage.Usage{InputTokens: 60, OutputTokens: 40, HasTokens: true}); err != nil {
		t.Fatal(err)
	}
	reserve(t, s, withTokens(300))

	_, err = s.Reserve(ctx, withTokens(1))
	refusal = wantRefusal(t, "third Reserve in one minute", err, usage.ReasonRateLimited)
	if refusal.Limit != usage.RequestsPerMinute {
		t.Errorf("refusal limit = %s; want %s", refusal.Limit, usage.RequestsPerMinute)
	}

	clock.Advance(15 * time.Second)
	reserve(t, s, withTokens(1))
	reserve(t, s, withTokens(1))
	if n := countRows(t, db, "usage_windows", "kind = 'minute'"); n != 1 {
		t.Errorf("minute windows = %d; want 1, because ended windows are deleted", n)
	}

	clock.Advance(time.Minute)
	reserve(t, s, withTokens(1))
	_, err = s.Reserve(ctx, withTokens(1))
	refusal = wantRefusal(t, "sixth Reserve in one day", err, usage.ReasonRateLimited)
	if refusal.Limit != usage.RequestsPerDay {
		t.Errorf("refusal limit = %s; want %s", refusal.Limit, usage.RequestsPerDay)
	}
}

func TestReleaseFreesTokensKeepsRequest(t *testing.T) {
	db, _ := openTestDB(t)
	s := db.UsageStore(usage.Calendar{})
	createGrant(t, db, usageGrant("gr_release", access.Limits{TokensPerMinute: count(1000)}))

	h := hold("gr_release", milli)
	h.Tokens = 900
	r := reserve(t, s, h)
	if err := s.Release(context.Background(), r.ID); err != nil {
		t.Fatal(err)
	}

	report, err := s.Report(context.Background(), "gr_release")
	if err != nil {
		t.Fatal(err)
	}
	minute := report.CountersOf("openai").Window(usage.WindowMinute)
	if minute.Requests != 1 || minute.Tokens != 0 {
		t.Errorf("minute window after release = %d requests, %d tokens; want 1 request, 0 tokens", minute.Requests, minute.Tokens)
	}
}

func TestUsageReport(t *testing.T) {
	db, _ := openTestDB(t)
	s := db.UsageStore(usage.Calendar{})
	g := usageGrant("gr_report", access.Limits{DailySpend: amount(cent)})
	createGrant(t, db, g)

	settleAmount(t, s, reserve(t, s, hold("gr_report", 2*milli)).ID, milli)
	reserve(t, s, hold("gr_report", 3*milli))

	report, err := s.Report(context.Background(), "gr_report")
	if err != nil {
		t.Fatal(err)
	}
	if report.Subject != g.Subject || report.ClientID != g.ClientID || report.Status != access.StatusActive || len(report.Details) != 1 {
		t.Errorf("Report() = %+v; want the grant's subject, client, status and one detail", report)
	}
	u := usage.Measure(report.Details[0], report.CountersOf("openai"))
	for _, p := range u.Periods {
		if p.Spent != milli || p.Held != 3*milli {
			t.Errorf("%s: spent %s, held %s; want 0.001 and 0.003", p.Period, p.Spent, p.Held)
		}
		if p.Period == usage.PeriodDaily && (p.Remaining == nil || *p.Remaining != 6*milli) {
			t.Errorf("daily remaining = %v; want 0.006", p.Remaining)
		}
	}

	_, err = s.Report(context.Background(), "gr_nobody")
	if !errors.Is(err, access.ErrGrantNotFound) {
		t.Errorf("Report(unknown) error = %v; want %v", err, access.ErrGrantNotFound)
	}
}

func TestDailySpend(t *testing.T) {
	db, clock := openTestDB(t)
	s := db.UsageStore(usage.Calendar{})
	createGrant(t, db, usageGrant("gr_daily", access.Limits{}))

	setClock(clock, time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC))
	settleAmount(t, s, reserve(t, s, hold("gr_daily", milli)).ID, milli)
	setClock(clock, time.Date(2025, 3, 3, 10, 0, 0, 0, time.UTC))
	settleAmount(t, s, reserve(t, s, hold("gr_daily", milli)).ID, 2*milli)
	settleAmount(t, s, reserve(t, s, hold("gr_daily", milli)).ID, 3*milli)
	reserve(t, s, hold("gr_daily", cent))

	got, err := s.DailySpend(context.Background(), "gr_daily", 4)
	if err != nil {
		t.Fatal(err)
	}
	want := []usage.DaySpend{
		{Day: time.Date(2025, 2, 28, 0, 0, 0, 0, time.UTC), Spent: 0},
		{Day: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), Spent: milli},
		{Day: time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC), Spent: 0},
		{Day: time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC), Spent: 5 * milli},
	}
	if len(got) != len(want) {
		t.Fatalf("DailySpend(4) = %v; want %v", got, want)
	}
	for i := range want {
		if !got[i].Day.Equal(want[i].Day) || got[i].Spent != want[i].Spent {
			t.Errorf("DailySpend(4)[%d] = %s %s; want %s %s", i, got[i].Day.Format(time.DateOnly), got[i].Spent, want[i].Day.Format(time.DateOnly), want[i].Spent)
		}
	}

	if _, err := s.DailySpend(context.Background(), "gr_daily", 0); err == nil {
		t.Errorf("DailySpend(0) error = nil; want an error")
	}
}

func TestSpendByUserAndClient(t *testing.T) {
	db, _ := openTestDB(t)
	s := db.UsageStore(usage.Calendar{})
	ctx := context.Background()

	spends := []struct {
		grant, subject, client string
		cost                   money.Amount
	}{
		{"gr_a", "alice", "app-1", 2 * milli},
		{"gr_b", "alice", "app-2", 3 * milli},
		{"gr_c", "bob", "app-2", 4 * milli},
	}
	for _, sp := range spends {
		g := usageGrant(sp.grant, access.Limits{})
		g.Subject, g.ClientID = sp.subject, sp.client
		createGrant(t, db, g)
		settleAmount(t, s, reserve(t, s, hold(sp.grant, cent)).ID, sp.cost)
	}

	byUser, err := s.SpendByUser(ctx, usage.PeriodMonthly, db.Now())
	if err != nil {
		t.Fatal(err)
	}
	wantUser := []usage.Spend{{Key: "alice", Spent: 5 * milli}, {Key: "bob", Spent: 4 * milli}}
	if !slices.Equal(byUser, wantUser) {
		t.Errorf("SpendByUser(monthly) = %+v; want %+v", byUser, wantUser)
	}

	byClient, err := s.SpendByClient(ctx, usage.PeriodTotal, db.Now())
	if err != nil {
		t.Fatal(err)
	}
	wantClient := []usage.Spend{{Key: "app-2", Spent: 7 * milli}, {Key: "app-1", Spent: 2 * milli}}
	if !slices.Equal(byClient, wantClient) {
		t.Errorf("SpendByClient(total) = %+v; want %+v", byClient, wantClient)
	}

	lastMonth, err := s.SpendByUser(ctx, usage.PeriodMonthly, db.Now().AddDate(0, -1, 0))
	if err != nil || len(lastMonth) != 0 {
		t.Errorf("SpendByUser(last month) = %+v, %v; want none", lastMonth, err)
	}
}

// BenchmarkReserveSettle measures one reservation and its settlement
// through UsageStore, beside the same statements run directly through
// database/sql ("raw"). The serial runs report the median and 99th
// percentile latency of one reserve-and-settle pair besides ns/op. The
// parallel runs have 8 callers at once (on machines with up to 8 cores),
// whose transactions queue for the database's write lock. They report
// throughput only.
func BenchmarkReserveSettle(b *testing.B) {
	u := usage.Usage{InputTokens: 1000, OutputTokens: 200, HasTokens: true}
	storeOp := func(s *UsageStore) func() error {
		return func() error {
			r, err := s.Reserve(context.Background(), hold("gr_bench", milli))
			if err != nil {
				return err
			}
			_, err = s.Settle(context.Background(), r.ID, u)
			return err
		}
	}
	rawOp := func(db *DB) func() error {
		return func() error {
			return rawReserveSettle(context.Background(), db.db, newReservationID(), db.Now().UTC())
		}
	}

	b.Run("store", func(b *testing.B) {
		measureLatency(b, storeOp(openBenchDB(b).UsageStore(usage.Calendar{})))
	})
	b.Run("raw", func(b *testing.B) {
		measureLatency(b, rawOp(openBenchDB(b)))
	})
	b.Run("store-parallel", func(b *testing.B) {
		runParallel(b, storeOp(openBenchDB(b).UsageStore(usage.Calendar{})))
	})
	b.Run("raw-parallel", func(b *testing.B) {
		runParallel(b, rawOp(openBenchDB(b)))
	})
}

func openBenchDB(b *testing.B) *DB {
	b.Helper()
	path := filepath.Join(b.TempDir(), "bench.db")
	db, err := Open(context.Background(), path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	g := usageGrant("gr_bench", access.Limits{DailySpend: amount(money.Max), RequestsPerMinute: count(access.MaxCount)})
	ensureUser(b, db, g.Subject)
	if err := db.CreateGrant(context.Background(), g); err != nil {
		b.Fatal(err)
	}
	return db
}

// runParallel runs op b.N times from 8 goroutines and reports the
// reserve-and-settle pairs per second.
func runParallel(b *testing.B, op func() error) {
	b.SetParallelism(8 / runtime.GOMAXPROCS(0))
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := op(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pairs/s")
}

// measureLatency runs op b.N times and reports the median and 99th
// percentile latency.
func measureLatency(b *testing.B, op func() error) {
	latencies := make([]time.Duration, 0, b.N)
	var total time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if err := op(); err != nil {
			b.Fatal(err)
		}
		elapsed := time.Since(start)
		latencies = append(latencies, elapsed)
		total += elapsed
	}
	b.StopTimer()

	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(float64(b.N)/total.Seconds(), "pairs/s")
}

// rawReserveSettle runs the row reads and writes of one reservation and
// its settlement with fixed values and no checks: the floor that the
// store's own work is compared with.
func rawReserveSettle(ctx context.Context, db *sql.DB, id string, now time.Time) error {
	day := formatTime(now.Truncate(24 * time.Hour))
	month := formatTime(time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC))
	minute := formatTime(now.Truncate(time.Minute))
	starts := map[string]string{"daily": day, "monthly": month, "total": ""}

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var status, details string
	if err := tx.QueryRowContext(ctx, `SELECT status, details FROM grants WHERE id = 'gr_bench'`).Scan(&status, &details); err != nil {
		return err
	}
	steps := []statement{
		{`SELECT period, spent, held FROM usage_periods WHERE grant_id = 'gr_bench' AND provider = 'openai' AND (period, start) IN (VALUES ('daily', ?), ('monthly', ?), ('total', ''))`, []any{day, month}},
		{`SELECT kind, requests, tokens FROM usage_windows WHERE grant_id = 'gr_bench' AND provider = 'openai' AND (kind, start) IN (VALUES ('minute', ?), ('day', ?))`, []any{minute, day}},
	}
	for _, step := range steps {
		rows, err := tx.QueryContext(ctx, step.query, step.args...)
		if err != nil {
			return err
		}
		for rows.Next() {
		}
		if err := closeRows(rows); err != nil {
			return err
		}
	}

	writes := []statement{
		{`INSERT INTO usage_reservations (id, grant_id, provider, model, capability, status, amount, tokens, input_price, output_price, day_start, month_start, minute_start, created_at)
			VALUES (?, 'gr_bench', 'openai', 'gpt-4o-mini', 'chat', 'held', 1000000000, 1200, 150000, 600000, ?, ?, ?, ?)`, []any{id, day, month, minute, formatTime(now)}},
		{`INSERT INTO usage_windows (grant_id, provider, kind, start, requests, tokens) VALUES ('gr_bench', 'openai', 'minute', ?, 1, 1200)
			ON CONFLICT (grant_id, provider, kind, start) DO UPDATE SET requests = requests + 1, tokens = tokens + excluded.tokens`, []any{minute}},
		{`INSERT INTO usage_windows (grant_id, provider, kind, start, requests, tokens) VALUES ('gr_bench', 'openai', 'day', ?, 1, 1200)
			ON CONFLICT (grant_id, provider, kind, start) DO UPDATE SET requests = requests + 1, tokens = tokens + excluded.tokens`, []any{day}},
		{`DELETE FROM usage_windows WHERE grant_id = 'gr_bench' AND provider = 'openai' AND start < CASE kind WHEN 'minute' THEN ? ELSE ? END`, []any{minute, day}},
	}
	for _, period := range []string{"total", "monthly", "daily"} {
		writes = append(writes, statement{`INSERT INTO usage_periods (grant_id, provider, period, start, spent, held) VALUES ('gr_bench', 'openai', ?, ?, 0, 1000000000)
			ON CONFLICT (grant_id, provider, period, start) DO UPDATE SET held = held + 1000000000`, []any{period, starts[period]}})
	}
	if err := execAll(ctx, tx, writes); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	return rawSettle(ctx, db, id, starts, minute, now)
}

func rawSettle(ctx context.Context, db *sql.DB, id string, starts map[string]string, minute string, now time.Time) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	var amountHeld, tokens int64
	if err := tx.QueryRowContext(ctx, `SELECT amount, tokens FROM usage_reservations WHERE id = ?`, id).Scan(&amountHeld, &tokens); err != nil {
		return err
	}
	var writes []statement
	for _, period := range []string{"total", "monthly", "daily"} {
		var spent, held int64
		err := tx.QueryRowContext(ctx, `SELECT spent, held FROM usage_periods WHERE grant_id = 'gr_bench' AND provider = 'openai' AND period = ? AND start = ?`,
			period, starts[period]).Scan(&spent, &held)
		if err != nil {
			return err
		}
		writes = append(writes, statement{`UPDATE usage_periods SET spent = ?, held = ? WHERE grant_id = 'gr_bench' AND provider = 'openai' AND period = ? AND start = ?`,
			[]any{spent + 270_000_000, held - amountHeld, period, starts[period]}})
	}
	writes = append(writes,
		statement{`UPDATE usage_windows SET tokens = MAX(tokens + ?, 0) WHERE grant_id = 'gr_bench' AND provider = 'openai' AND kind = 'minute' AND start = ?`, []any{1200 - tokens, minute}},
		statement{`UPDATE usage_reservations SET status = 'settled', cost = 270000000, input_tokens = 1000, output_tokens = 200, above_hold = 0, late = 0, ended_at = ? WHERE id = ?`, []any{formatTime(now), id}},
	)
	if err := execAll(ctx, tx, writes); err != nil {
		return err
	}
	return tx.Commit()
}

// statement is one SQL statement with its arguments.
type statement struct {
	query string
	args  []any
}

func execAll(ctx context.Context, tx *sql.Tx, statements []statement) error {
	for _, s := range statements {
		if _, err := tx.ExecContext(ctx, s.query, s.args...); err != nil {
			return err
		}
	}
	return nil
}
