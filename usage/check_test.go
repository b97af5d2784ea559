package usage

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aiconsent/aiconsent/access"
	"github.com/aiconsent/aiconsent/money"
)

var checkNow = utc("2025-03-31T12:34:30Z")

func count(n int64) *int64 { return &n }

// checkDetail has every limit set: a cap of 1 per day, 10 per month and
// 100 in total, 2 requests per minute, 100 per day and 1000 tokens per
// minute.
func checkDetail() access.Detail {
	return access.Detail{
		Type:         access.DetailType,
		Provider:     "openai",
		Models:       []string{"gpt-4o-mini"},
		Capabilities: []string{"chat"},
		Limits: access.Limits{
			Currency:          "USD",
			DailySpend:        amountPtr(1 * money.Scale),
			MonthlySpend:      amountPtr(10 * money.Scale),
			TotalSpend:        amountPtr(100 * money.Scale),
			RequestsPerMinute: count(2),
			RequestsPerDay:    count(100),
			TokensPerMinute:   count(1000),
		},
		Expires: utc("2026-01-01T00:00:00Z"),
	}
}

func checkHold() Hold {
	return Hold{GrantID: "gr_1", Provider: "openai", Model: "gpt-4o-mini", Capability: "chat", Amount: money.Scale / 10, Tokens: 100}
}

var refusalTests = []struct {
	name     string
	status   access.Status
	detail   func(*access.Detail)
	hold     func(*Hold)
	counters func(*Counters)

	reason   Reason
	cap      Period
	limit    RateLimit
	retry    time.Duration
	mentions string
	resetsAt string
}{
	{name: "paused", status: access.StatusPaused, reason: ReasonGrantPaused, mentions: "paused"},
	{name: "revoked", status: access.StatusRevoked, reason: ReasonGrantRevoked, mentions: "revoked"},
	{name: "replaced", status: access.StatusReplaced, reason: ReasonGrantRevoked, mentions: "replaced"},
	{name: "other provider", hold: func(h *Hold) { h.Provider = "anthropic" }, reason: ReasonNotGranted, mentions: `provider "anthropic"`},
	{name: "other model", hold: func(h *Hold) { h.Model = "gpt-4o" }, reason: ReasonNotGranted, mentions: `model "gpt-4o"`},
	{name: "other capability", hold: func(h *Hold) { h.Capability = "embeddings" }, reason: ReasonNotGranted, mentions: `capability "embeddings"`},
	{name: "expired", detail: func(d *access.Detail) { d.Expires = checkNow }, reason: ReasonGrantExpired, mentions: "expired at 2025-03-31T12:34:30Z"},
	{
		name:     "daily cap",
		counters: func(c *Counters) { c.Period(PeriodDaily).Spent = 95 * money.Scale / 100 },
		reason:   ReasonBudgetExhausted, cap: PeriodDaily, mentions: "daily spend cap of $1.00 has $0.05 left", resetsAt: "2025-04-01T00:00:00Z",
	},
	{
		name:     "daily cap counts holds",
		counters: func(c *Counters) { c.Period(PeriodDaily).Held = 95 * money.Scale / 100 },
		reason:   ReasonBudgetExhausted, cap: PeriodDaily, mentions: "held $0.95",
	},
	{
		name: "monthly named before daily",
		counters: func(c *Counters) {
			c.Period(PeriodDaily).Spent = money.Scale
			c.Period(PeriodMonthly).Spent = 10 * money.Scale
		},
		reason: ReasonBudgetExhausted, cap: PeriodMonthly, mentions: "monthly spend cap of $10.00 has $0.00 left", resetsAt: "2025-04-01T00:00:00Z",
	},
	{
		name:     "total cap",
		counters: func(c *Counters) { c.Period(PeriodTotal).Spent = 100 * money.Scale },
		reason:   ReasonBudgetExhausted, cap: PeriodTotal, mentions: "total spend cap",
	},
	{
		name:     "spent above cap",
		counters: func(c *Counters) { c.Period(PeriodDaily).Spent = 3 * money.Scale },
		reason:   ReasonBudgetExhausted, cap: PeriodDaily, mentions: "has $0.00 left",
	},
	{
		name:     "overflowing counters",
		counters: func(c *Counters) { c.Period(PeriodTotal).Spent, c.Period(PeriodTotal).Held = 1<<62, 1<<62 },
		reason:   ReasonBudgetExhausted, cap: PeriodTotal,
	},
	{
		name:   "zero cap",
		detail: func(d *access.Detail) { d.Limits.DailySpend = amountPtr(0) },
		reason: ReasonBudgetExhausted, cap: PeriodDaily,
	},
	{
		name:     "requests per minute",
		counters: func(c *Counters) { c.Window(WindowMinute).Requests = 2 },
		reason:   ReasonRateLimited, limit: RequestsPerMinute, retry: 30 * time.Second, mentions: "requests_per_minute limit of 2", resetsAt: "2025-03-31T12:35:00Z",
	},
	{
		name:     "requests per day",
		counters: func(c *Counters) { c.Window(WindowDay).Requests = 100 },
		reason:   ReasonRateLimited, limit: RequestsPerDay, retry: 11*time.Hour + 25*time.Minute + 30*time.Second, resetsAt: "2025-04-01T00:00:00Z",
	},
	{
		name:     "tokens per minute",
		counters: func(c *Counters) { c.Window(WindowMinute).Tokens = 901 },
		reason:   ReasonRateLimited, limit: TokensPerMinute, retry: 30 * time.Second, mentions: "(901 used)",
	},
	{
		name:   "tokens above limit never fit",
		hold:   func(h *Hold) { h.Tokens = 1001 },
		reason: ReasonRateLimited, limit: TokensPerMinute, mentions: "can never fit",
	},
	{
		name:     "budget before rate",
		counters: func(c *Counters) { c.Window(WindowMinute).Requests = 2; c.Period(PeriodDaily).Spent = money.Scale },
		reason:   ReasonBudgetExhausted, cap: PeriodDaily,
	},
}

func TestCheckRefuses(t *testing.T) {
	for _, tt := range refusalTests {
		t.Run(tt.name, func(t *testing.T) {
			status, d, h, c := access.StatusActive, checkDetail(), checkHold(), NewCounters(Calendar{}, "openai", checkNow)
			if tt.status != "" {
				status = tt.status
			}
			if tt.detail != nil {
				tt.detail(&d)
			}
			if tt.hold != nil {
				tt.hold(&h)
			}
			if tt.counters != nil {
				tt.counters(&c)
			}

			_, err := Check(status, []access.Detail{d}, h, c, checkNow)
			var r *Refusal
			if !errors.As(err, &r) {
				t.Fatalf("Check(%s, %+v) error = %v; want a refusal %s", status, h, err, tt.reason)
			}
			if r.Reason != tt.reason || r.Cap != tt.cap || r.Limit != tt.limit {
				t.Errorf("Check(%s, %+v) = %s (cap %q, limit %q); want %s (cap %q, limit %q)", status, h, r.Reason, r.Cap, r.Limit, tt.reason, tt.cap, tt.limit)
			}
			if tt.retry != 0 && r.RetryAfter != tt.retry {
				t.Errorf("Check(%s, %+v) RetryAfter = %v; want %v", status, h, r.RetryAfter, tt.retry)
			}
			if tt.resetsAt != "" && !r.ResetsAt.Equal(utc(tt.resetsAt)) {
				t.Errorf("Check(%s, %+v) ResetsAt = %s; want %s", status, h, r.ResetsAt, tt.resetsAt)
			}
			if !strings.Contains(r.Description, tt.mentions) {
				t.Errorf("Check(%s, %+v) description = %q; want it to mention %q", status, h, r.Description, tt.mentions)
			}
		})
	}
}

func TestCheckAccepts(t *testing.T) {
	tests := []struct {
		name     string
		detail   func(*access.Detail)
		hold     func(*Hold)
		counters func(*Counters)
		want     []Remaining
	}{
		{
			name: "empty counters",
			want: []Remaining{
				{Period: PeriodTotal, Cap: 100 * money.Scale, Remaining: 100*money.Scale - money.Scale/10},
				{Period: PeriodMonthly, Cap: 10 * money.Scale, Remaining: 10*money.Scale - money.Scale/10, ResetsAt: utc("2025-04-01T00:00:00Z")},
				{Period: PeriodDaily, Cap: money.Scale, Remaining: money.Scale - money.Scale/10, ResetsAt: utc("2025-04-01T00:00:00Z")},
			},
		},
		{
			name:   "exact fit",
			detail: func(d *access.Detail) { d.Limits.MonthlySpend, d.Limits.TotalSpend = nil, nil },
			counters: func(c *Counters) {
				c.Period(PeriodDaily).Spent, c.Period(PeriodDaily).Held = money.Scale/2, 4*money.Scale/10
			},
			want: []Remaining{{Period: PeriodDaily, Cap: money.Scale, Remaining: 0, ResetsAt: utc("2025-04-01T00:00:00Z")}},
		},
		{
			name:   "any model and no limits",
			detail: func(d *access.Detail) { d.AnyModel, d.Models, d.Limits = true, nil, access.Limits{Currency: "USD"} },
			hold:   func(h *Hold) { h.Model, h.Amount, h.Tokens = "o3-mini", money.Max, MaxTokens },
		},
		{
			name: "last request of the minute",
			detail: func(d *access.Detail) {
				d.Limits.DailySpend, d.Limits.MonthlySpend, d.Limits.TotalSpend = nil, nil, nil
			},
			counters: func(c *Counters) { c.Window(WindowMinute).Requests, c.Window(WindowMinute).Tokens = 1, 900 },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, h, c := checkDetail(), checkHold(), NewCounters(Calendar{}, "openai", checkNow)
			if tt.detail != nil {
				tt.detail(&d)
			}
			if tt.hold != nil {
				tt.hold(&h)
			}
			if tt.counters != nil {
				tt.counters(&c)
			}

			got, err := Check(access.StatusActive, []access.Detail{d}, h, c, checkNow)
			if err != nil {
				t.Fatalf("Check(%+v) error = %v; want nil", h, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Check(%+v) remaining = %+v; want %+v", h, got, tt.want)
			}
		})
	}
}

func TestMeasure(t *testing.T) {
	d := checkDetail()
	d.Limits.TotalSpend, d.Limits.RequestsPerDay = nil, nil
	c := NewCounters(Calendar{}, "openai", checkNow)
	c.Period(PeriodDaily).Spent, c.Period(PeriodDaily).Held = money.Scale/4, money.Scale/4
	c.Period(PeriodMonthly).Spent = 11 * money.Scale
	c.Window(WindowMinute).Requests, c.Window(WindowMinute).Tokens = 1, 250
	c.Window(WindowDay).Requests = 7

	u := Measure(d, c)

	wantRemaining := map[Period]*money.Amount{PeriodDaily: amountPtr(money.Scale / 2), PeriodMonthly: amountPtr(0), PeriodTotal: nil}
	for _, p := range u.Periods {
		want := wantRemaining[p.Period]
		if (p.Remaining == nil) != (want == nil) || (want != nil && *p.Remaining != *want) {
			t.Errorf("Measure() %s remaining = %v; want %v", p.Period, p.Remaining, want)
		}
	}

	wantUsed := map[RateLimit]int64{RequestsPerMinute: 1, TokensPerMinute: 250, RequestsPerDay: 7}
	wantMax := map[RateLimit]*int64{RequestsPerMinute: count(2), TokensPerMinute: count(1000), RequestsPerDay: nil}
	for _, r := range u.Rates {
		if r.Used != wantUsed[r.Limit] {
			t.Errorf("Measure() %s used = %d; want %d", r.Limit, r.Used, wantUsed[r.Limit])
		}
		if want := wantMax[r.Limit]; (r.Max == nil) != (want == nil) || (want != nil && *r.Max != *want) {
			t.Errorf("Measure() %s max = %v; want %v", r.Limit, r.Max, want)
		}
	}
}
