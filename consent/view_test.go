package consent

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aiconsent/aiconsent/access"
	"github.com/aiconsent/aiconsent/money"
)

var testNow = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func testHandler() *Handler {
	return &Handler{Catalog: access.DefaultCatalog(), Now: func() time.Time { return testNow }}
}

func amountOf(s string) *money.Amount {
	a, err := money.Parse(s)
	if err != nil {
		panic(err)
	}
	return &a
}

func TestSummarize(t *testing.T) {
	h := testHandler()
	expires := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)

	tests := []struct {
		name   string
		detail access.Detail
		want   string
	}{
		{
			"monthly cap on named models",
			access.Detail{Provider: "openai", Models: []string{"gpt-4o", "gpt-4o-mini"}, Expires: expires,
				Limits: access.Limits{MonthlySpend: amountOf("5")}},
			"Example App can spend up to $5.00 a month on OpenAI models (GPT-4o, GPT-4o mini) until 1 March 2027.",
		},
		{
			"daily and monthly caps on any model",
			access.Detail{Provider: "anthropic", AnyModel: true, Expires: expires,
				Limits: access.Limits{DailySpend: amountOf("1"), MonthlySpend: amountOf("10000")}},
			"Example App can spend up to $1.00 a day and $10,000.00 a month on any Anthropic model, including models added later, until 1 March 2027.",
		},
		{
			"no cap",
			access.Detail{Provider: "ollama", Models: []string{"llama3.1:8b"}, Expires: expires},
			"Example App can use Ollama (self-hosted) models (Llama 3.1 8B) with no spending limit until 1 March 2027.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := h.summarize("Example App", tt.detail); got != tt.want {
				t.Errorf("summarize(%+v) =\n%q\nwant\n%q", tt.detail, got, tt.want)
			}
		})
	}
}

func TestHeadlineLeavesOutForcedMaxima(t *testing.T) {
	h := testHandler()
	requested := access.Detail{Provider: "openai", Models: []string{"gpt-4o"}, Capabilities: []string{"chat"},
		Limits: access.Limits{Currency: "USD", MonthlySpend: amountOf("5")}}
	prefill := h.Catalog.Prefill(requested, testNow)

	got := h.headline(requested, prefill)
	if got.Limits.DailySpend != nil || got.Limits.TotalSpend != nil {
		t.Errorf("headline daily %v, total %v; want both left out", got.Limits.DailySpend, got.Limits.TotalSpend)
	}
	if got.Limits.MonthlySpend == nil || *got.Limits.MonthlySpend != *amountOf("5") {
		t.Errorf("headline monthly = %v; want 5.00", got.Limits.MonthlySpend)
	}
	if prefill.Limits.DailySpend == nil {
		t.Error("prefill lost its daily cap; the form must still show it")
	}
}

func TestParseGrantForm(t *testing.T) {
	h := testHandler()
	req := &access.Request{Details: []access.Detail{{
		Type: access.DetailType, Provider: "openai", Models: []string{"gpt-4o", "gpt-4o-mini"}, Capabilities: []string{"chat"},
		Limits: access.Limits{Currency: "USD", MonthlySpend: amountOf("5")},
	}}}
	base := url.Values{
		"p0.model": {"gpt-4o"}, "p0.capability": {"chat"}, "p0.monthly_spend": {"2.50"}, "p0.expires": {"2027-01-31"},
		// The default catalog's maxima must be set in every grant.
		"p0.daily_spend": {"100"}, "p0.total_spend": {"10000"},
		"p0.requests_per_minute": {"600"}, "p0.requests_per_day": {"100000"}, "p0.tokens_per_minute": {"2000000"},
	}

	tests := []struct {
		name        string
		change      func(url.Values)
		wantProblem string
		wantDetails int
	}{
		{"valid", func(url.Values) {}, "", 1},
		{"dollar sign accepted", func(f url.Values) { f.Set("p0.monthly_spend", "$2.50") }, "", 1},
		{"no model ticked", func(f url.Values) { delete(f, "p0.model") }, "Tick at least one model", 0},
		{"no capability", func(f url.Values) { delete(f, "p0.capability") }, "tick at least one capability", 1},
		{"amount not a number", func(f url.Values) { f.Set("p0.monthly_spend", "lots") }, `"lots" is not an amount`, 1},
		{"negative rate", func(f url.Values) { f.Set("p0.requests_per_minute", "-1") }, `"-1" is not a whole number`, 1},
		{"cap above the request", func(f url.Values) { f.Set("p0.monthly_spend", "999") }, "$999.00 is more than you can allow. Enter at most $5.00.", 1},
		{"required cap removed", func(f url.Values) { f.Set("p0.monthly_spend", "") }, "enter a value; the most you can allow is $5.00", 1},
		{"date malformed", func(f url.Values) { f.Set("p0.expires", "31/01/2027") }, "is not a date", 1},
		{"date in the past", func(f url.Values) { f.Set("p0.expires", "2026-01-01") }, "in the past", 1},
		{"date today", func(f url.Values) { f.Set("p0.expires", "2026-12-04") }, "today", 1},
		{"date after the maximum", func(f url.Values) { f.Set("p0.expires", "2028-01-01") }, "1 January 2028 is later than you can allow. Pick 4 December 2027 or earlier.", 1},
		{"unknown field", func(f url.Values) { f.Set("p0.colour", "red") }, `unknown field "p0.colour"`, 1},
		{"unknown provider index", func(f url.Values) { f.Set("p1.model", "gpt-4o") }, `unknown field "p1.model"`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := url.Values{}
			for k, v := range base {
				form[k] = append([]string(nil), v...)
			}
			tt.change(form)

			granted, problems := h.parseGrantForm(form, req)
			var texts []string
			for _, p := range problems {
				texts = append(texts, p.Text)
			}
			joined := strings.Join(texts, " | ")
			switch {
			case tt.wantProblem == "" && len(problems) > 0:
				t.Errorf("parseGrantForm(%v) problems = %q; want none", form, joined)
			case tt.wantProblem != "" && !strings.Contains(joined, tt.wantProblem):
				t.Errorf("parseGrantForm(%v) problems = %q; want one containing %q", form, joined, tt.wantProblem)
			}
			if len(granted) != tt.wantDetails {
				t.Errorf("parseGrantForm(%v) granted %d details; want %d", form, len(granted), tt.wantDetails)
			}
		})
	}
}

func TestParseExpires(t *testing.T) {
	h := testHandler()

	tests := []struct {
		day         string
		want        time.Time
		wantProblem string
	}{
		{"2027-03-04", time.Date(2027, 3, 4, 0, 0, 0, 0, time.UTC), ""},
		{"2026-12-05", time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC), ""},
		{"2026-12-04", time.Time{}, "today or in the past"},
		{"2025-01-01", time.Time{}, "today or in the past"},
		{"04/03/2027", time.Time{}, "is not a date"},
	}
	for _, tt := range tests {
		got, problem := h.parseExpires(tt.day)
		if !got.Equal(tt.want) || !strings.Contains(problem, tt.wantProblem) || (tt.wantProblem == "" && problem != "") {
			t.Errorf("parseExpires(%q) = %v, %q; want %v, %q", tt.day, got, problem, tt.want, tt.wantProblem)
		}
	}
}

func TestFormErrorsLinkTheirField(t *testing.T) {
	got := formErrors([]formProblem{
		{Field: "p0.monthly_spend", Text: "too high"},
		{Field: "p1.expires", Text: "in the past"},
		{Text: "unknown field"},
	})
	want := []struct{ text, anchor string }{
		{"too high", "p0-monthly_spend-0"},
		{"in the past", "p1-expires-0"},
		{"unknown field", ""},
	}
	if len(got) != len(want) {
		t.Fatalf("formErrors returned %d errors; want %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i].Text != w.text || got[i].Anchor != w.anchor {
			t.Errorf("formErrors[%d] = %+v; want text %q, anchor %q", i, got[i], w.text, w.anchor)
		}
	}
}
