package access

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/aiconsent/aiconsent/money"
)

const grantDetails = `[` +
	`{"type":"ai_model_access","provider":"openai","models":["gpt-4o","gpt-4o-mini"],"capabilities":["chat","vision"],` +
	`"limits":{"daily_spend":"20","monthly_spend":"2000","requests_per_minute":100},"expires":"2026-06-01T00:00:00Z"},` +
	`{"type":"ai_model_access","provider":"anthropic"}]`

var grantScopes = []string{"openid", "offline_access", "ai:openai:gpt-4o:chat", "ai:anthropic:*:chat", "ai:anthropic:claude-3-5-haiku-latest:*"}

var openaiExpires = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// grantRequest returns the request used by the grant tests: openai with
// models, capabilities, limits and an expiry, and anthropic with any model.
func grantRequest(t *testing.T, c *Catalog) *Request {
	t.Helper()
	r, err := c.NewRequest(detailsRequest(grantDetails), grantScopes, testNow)
	if err != nil {
		t.Fatalf("NewRequest(%s) error = %v", grantDetails, err)
	}
	return r
}

// prefillAll returns the prefilled grant of every requested detail.
func prefillAll(c *Catalog, r *Request) []Detail {
	var granted []Detail
	for _, d := range r.Details {
		granted = append(granted, c.Prefill(d, testNow))
	}
	return granted
}

func TestCeiling(t *testing.T) {
	c := DefaultCatalog()
	r := grantRequest(t, c)

	wantOpenAI := Limits{
		Currency:          "USD",
		DailySpend:        amount("20"),
		MonthlySpend:      amount("1000"),
		TotalSpend:        amount("10000"),
		RequestsPerMinute: count(100),
		RequestsPerDay:    count(100000),
		TokensPerMinute:   count(2000000),
	}
	if got := c.Ceiling(r.Details[0]); !reflect.DeepEqual(got, wantOpenAI) {
		t.Errorf("Ceiling(openai) =\n%+v\nwant\n%+v", got, wantOpenAI)
	}
	if got := c.Ceiling(r.Details[1]); !reflect.DeepEqual(got, c.Policy.Maxima) {
		t.Errorf("Ceiling(anthropic) =\n%+v\nwant the maxima\n%+v", got, c.Policy.Maxima)
	}

	c.Policy.Maxima = Limits{}
	want := Limits{Currency: "USD", DailySpend: amount("20"), MonthlySpend: amount("2000"), RequestsPerMinute: count(100)}
	if got := c.Ceiling(r.Details[0]); !reflect.DeepEqual(got, want) {
		t.Errorf("Ceiling(openai) without maxima =\n%+v\nwant\n%+v", got, want)
	}
	if got := c.Ceiling(r.Details[1]); !reflect.DeepEqual(got, Limits{Currency: "USD"}) {
		t.Errorf("Ceiling(anthropic) without maxima = %+v; want no limits", got)
	}
}

func TestPrefill(t *testing.T) {
	c := DefaultCatalog()
	r := grantRequest(t, c)

	wantOpenAI := Detail{
		Type: DetailType, Provider: "openai", Models: []string{"gpt-4o", "gpt-4o-mini"}, Capabilities: []string{"chat", "vision"},
		Limits: Limits{
			Currency:          "USD",
			DailySpend:        amount("20"),
			MonthlySpend:      amount("1000"),
			TotalSpend:        amount("10000"),
			RequestsPerMinute: count(100),
			RequestsPerDay:    count(100000),
			TokensPerMinute:   count(2000000),
		},
		Expires: openaiExpires,
	}
	if got := c.Prefill(r.Details[0], testNow); !reflect.DeepEqual(got, wantOpenAI) {
		t.Errorf("Prefill(openai) =\n%+v\nwant\n%+v", got, wantOpenAI)
	}

	wantAnthropic := Detail{
		Type: DetailType, Provider: "anthropic", AnyModel: true, Capabilities: []string{"chat", "vision", "tools"},
		Limits: Limits{
			Currency: "USD",
			// The daily maximum, 100, is lowered to the monthly cap: a
			// daily cap above it could never be reached first.
			DailySpend:        amount("10"),
			MonthlySpend:      amount("10"),
			TotalSpend:        amount("10000"),
			RequestsPerMinute: count(60),
			RequestsPerDay:    count(100000),
			TokensPerMinute:   count(2000000),
		},
		Expires: testNow.Add(90 * 24 * time.Hour),
	}
	if got := c.Prefill(r.Details[1], testNow); !reflect.DeepEqual(got, wantAnthropic) {
		t.Errorf("Prefill(anthropic) =\n%+v\nwant\n%+v", got, wantAnthropic)
	}
}

func TestNestSpendCaps(t *testing.T) {
	tests := []struct {
		name                            string
		in                              Limits
		wantDaily, wantMonth, wantTotal string
	}{
		{"daily above monthly", Limits{DailySpend: amount("100"), MonthlySpend: amount("5")}, "5.00", "5.00", ""},
		{"monthly above total", Limits{MonthlySpend: amount("50"), TotalSpend: amount("20")}, "", "20.00", "20.00"},
		{"all above each other", Limits{DailySpend: amount("9"), MonthlySpend: amount("8"), TotalSpend: amount("7")}, "7.00", "7.00", "7.00"},
		{"already nested", Limits{DailySpend: amount("1"), MonthlySpend: amount("5"), TotalSpend: amount("50")}, "1.00", "5.00", "50.00"},
		{"daily alone", Limits{DailySpend: amount("100")}, "100.00", "", ""},
	}
	text := func(a *money.Amount) string {
		if a == nil {
			return ""
		}
		return a.String()
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := tt.in
			nestSpendCaps(&l)
			if got := text(l.DailySpend); got != tt.wantDaily {
				t.Errorf("daily = %q; want %q", got, tt.wantDaily)
			}
			if got := text(l.MonthlySpend); got != tt.wantMonth {
				t.Errorf("monthly = %q; want %q", got, tt.wantMonth)
			}
			if got := text(l.TotalSpend); got != tt.wantTotal {
				t.Errorf("total = %q; want %q", got, tt.wantTotal)
			}
		})
	}
}

func TestPrefillClipsExpiryAndDefaults(t *testing.T) {
	c := DefaultCatalog()
	c.Policy.Defaults.MonthlySpend = amount("5000")
	d := Detail{Type: DetailType, Provider: "openai", AnyModel: true, Capabilities: []string{"chat"},
		Expires: testNow.Add(400 * 24 * time.Hour), Reason: "why", Limits: Limits{Currency: "USD"}}

	got := c.Prefill(d, testNow)
	if want := testNow.Add(365 * 24 * time.Hour); !got.Expires.Equal(want) {
		t.Errorf("Prefill(expires in 400 days).Expires = %v; want %v", got.Expires, want)
	}
	if got.Limits.MonthlySpend == nil || got.Limits.MonthlySpend.String() != "1000.00" {
		t.Errorf("Prefill(default 5000 above maximum 1000).MonthlySpend = %v; want 1000.00", got.Limits.MonthlySpend)
	}
	if got.Reason != "" {
		t.Errorf("Prefill(reason %q).Reason = %q; want empty", d.Reason, got.Reason)
	}
}

func TestMaxExpires(t *testing.T) {
	c := DefaultCatalog()
	latest := testNow.Add(365 * 24 * time.Hour)
	tests := []struct {
		name    string
		expires time.Time
		want    time.Time
	}{
		{"no requested expiry", time.Time{}, latest},
		{"requested before maximum", openaiExpires, openaiExpires},
		{"requested after maximum", latest.Add(time.Hour), latest},
	}
	for _, tt := range tests {
		got := c.MaxExpires(Detail{Expires: tt.expires}, testNow)
		if !got.Equal(tt.want) {
			t.Errorf("%s: MaxExpires(expires %v) = %v; want %v", tt.name, tt.expires, got, tt.want)
		}
	}
}

func TestCheckGrant(t *testing.T) {
	c := DefaultCatalog()
	r := grantRequest(t, c)

	tests := []struct {
		name   string
		change func(g []Detail) []Detail
		field  string // "" when the grant is valid
	}{
		{"prefill", func(g []Detail) []Detail { return g }, ""},
		{"nothing granted", func(g []Detail) []Detail { return nil }, ""},
		{"subset", func(g []Detail) []Detail {
			g[0].Models = []string{"gpt-4o"}
			g[0].Capabilities = []string{"chat"}
			g[0].Limits.DailySpend = amount("1.50")
			g[0].Limits.RequestsPerMinute = count(0)
			g[0].Expires = testNow.Add(time.Hour)
			return g[:1]
		}, ""},
		{"specific models under any model", func(g []Detail) []Detail {
			g[1].AnyModel, g[1].Models = false, []string{"claude-3-5-haiku-latest"}
			return g
		}, ""},
		{"added model", func(g []Detail) []Detail { g[0].Models = append(g[0].Models, "o3-mini"); return g }, "openai.models"},
		{"model twice", func(g []Detail) []Detail { g[0].Models = []string{"gpt-4o", "gpt-4o"}; return g }, "openai.models"},
		{"no model", func(g []Detail) []Detail { g[0].Models = nil; return g }, "openai.models"},
		{"any model not requested", func(g []Detail) []Detail { g[0].AnyModel, g[0].Models = true, nil; return g }, "openai.models"},
		{"any model and models", func(g []Detail) []Detail { g[1].Models = []string{"claude-3-opus-latest"}; return g }, "anthropic.models"},
		{"unlisted model under any model", func(g []Detail) []Detail {
			g[1].AnyModel, g[1].Models = false, []string{"claude-9"}
			return g
		}, "anthropic.models"},
		{"extra capability", func(g []Detail) []Detail { g[0].Capabilities = append(g[0].Capabilities, "tools"); return g }, "openai.capabilities"},
		{"no capability", func(g []Detail) []Detail { g[1].Capabilities = nil; return g }, "anthropic.capabilities"},
		{"capability twice", func(g []Detail) []Detail { g[1].Capabilities = []string{"chat", "chat"}; return g }, "anthropic.capabilities"},
		{"raised cap", func(g []Detail) []Detail { g[0].Limits.MonthlySpend = amount("1000.01"); return g }, "openai.limits.monthly_spend"},
		{"raised requested cap", func(g []Detail) []Detail { g[0].Limits.DailySpend = amount("20.000000000001"); return g }, "openai.limits.daily_spend"},
		{"raised rate limit", func(g []Detail) []Detail { g[0].Limits.RequestsPerMinute = count(101); return g }, "openai.limits.requests_per_minute"},
		{"removed required cap", func(g []Detail) []Detail { g[0].Limits.DailySpend = nil; return g }, "openai.limits.daily_spend"},
		{"removed required rate limit", func(g []Detail) []Detail { g[1].Limits.TokensPerMinute = nil; return g }, "anthropic.limits.tokens_per_minute"},
		{"negative cap", func(g []Detail) []Detail { negative := money.Amount(-1); g[0].Limits.TotalSpend = &negative; return g }, "openai.limits.total_spend"},
		{"other currency", func(g []Detail) []Detail { g[0].Limits.Currency = "EUR"; return g }, "openai.limits.currency"},
		{"unknown provider", func(g []Detail) []Detail {
			return append(g, Detail{Type: DetailType, Provider: "google", AnyModel: true, Capabilities: []string{"chat"}})
		}, "google.provider"},
		{"provider twice", func(g []Detail) []Detail { return append(g, g[0]) }, "openai.provider"},
		{"other type", func(g []Detail) []Detail { g[0].Type = "https://example.com/ai"; return g }, "openai.type"},
		{"expiry beyond requested", func(g []Detail) []Detail { g[0].Expires = openaiExpires.Add(time.Second); return g }, "openai.expires"},
		{"expiry beyond max", func(g []Detail) []Detail { g[1].Expires = testNow.Add(366 * 24 * time.Hour); return g }, "anthropic.expires"},
		{"expiry now", func(g []Detail) []Detail { g[1].Expires = testNow; return g }, "anthropic.expires"},
		{"no expiry", func(g []Detail) []Detail { g[1].Expires = time.Time{}; return g }, "anthropic.expires"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			granted := tt.change(prefillAll(c, r))
			err := c.CheckGrant(r, granted, testNow)
			if tt.field == "" {
				if err != nil {
					t.Errorf("CheckGrant(%+v) = %v; want nil", granted, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckGrant(%+v) = nil; want error on %s", granted, tt.field)
			}
			checkError(t, err, CodeInvalidRequest, tt.field)
		})
	}
}

func TestCheckGrantUnlistedModels(t *testing.T) {
	c := DefaultCatalog()
	c.Policy.AllowUnlistedModels = true
	r := grantRequest(t, c)

	var models []string
	for i := range MaxModels + 1 {
		models = append(models, fmt.Sprintf("claude-%d", i))
	}
	tests := []struct {
		name   string
		models []string
		field  string
	}{
		{"unlisted model", []string{"claude-9"}, ""},
		{"most models", models[:MaxModels], ""},
		{"too many models", models, "anthropic.models"},
		{"invalid model id", []string{"claude 9"}, "anthropic.models"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := c.Prefill(r.Details[1], testNow)
			g.AnyModel, g.Models = false, tt.models
			err := c.CheckGrant(r, []Detail{g}, testNow)
			if tt.field == "" {
				if err != nil {
					t.Errorf("CheckGrant(models %q) = %v; want nil", tt.models, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckGrant(models %q) = nil; want error on %s", tt.models, tt.field)
			}
			checkError(t, err, CodeInvalidRequest, tt.field)
		})
	}
}

func TestCheckGrantWithoutCeiling(t *testing.T) {
	c := DefaultCatalog()
	c.Policy.Maxima = Limits{Currency: "USD"}
	r := grantRequest(t, c)

	tests := []struct {
		name   string
		limits Limits
		field  string
	}{
		{"no limits", Limits{Currency: "USD"}, ""},
		{"any valid limits", Limits{Currency: "USD", TotalSpend: amount("1000000"), RequestsPerDay: count(MaxCount)}, ""},
		{"negative rate limit", Limits{Currency: "USD", RequestsPerDay: count(-1)}, "anthropic.limits.requests_per_day"},
		{"rate limit above range", Limits{Currency: "USD", TokensPerMinute: count(MaxCount + 1)}, "anthropic.limits.tokens_per_minute"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := c.Prefill(r.Details[1], testNow)
			g.Limits = tt.limits
			err := c.CheckGrant(r, []Detail{g}, testNow)
			if tt.field == "" {
				if err != nil {
					t.Errorf("CheckGrant(limits %+v) = %v; want nil", tt.limits, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckGrant(limits %+v) = nil; want error on %s", tt.limits, tt.field)
			}
			checkError(t, err, CodeInvalidRequest, tt.field)
		})
	}
}

func TestGrantedScopes(t *testing.T) {
	c := DefaultCatalog()
	r := grantRequest(t, c)
	tests := []struct {
		name   string
		change func(g []Detail) []Detail
		want   []string
	}{
		{"everything", func(g []Detail) []Detail { return g }, grantScopes},
		{"nothing", func(g []Detail) []Detail { return nil }, []string{"openid", "offline_access"}},
		{"model removed", func(g []Detail) []Detail {
			g[0].Models = []string{"gpt-4o-mini"}
			return g
		}, []string{"openid", "offline_access", "ai:anthropic:*:chat", "ai:anthropic:claude-3-5-haiku-latest:*"}},
		{"capability removed", func(g []Detail) []Detail {
			g[0].Capabilities = []string{"vision"}
			return g
		}, []string{"openid", "offline_access", "ai:anthropic:*:chat", "ai:anthropic:claude-3-5-haiku-latest:*"}},
		{"specific models instead of any", func(g []Detail) []Detail {
			g[1].AnyModel, g[1].Models = false, []string{"claude-3-5-haiku-latest"}
			return g
		}, []string{"openid", "offline_access", "ai:openai:gpt-4o:chat", "ai:anthropic:claude-3-5-haiku-latest:*"}},
		{"star capability needs every requested capability", func(g []Detail) []Detail {
			g[1].Capabilities = []string{"chat", "tools"}
			return g
		}, []string{"openid", "offline_access", "ai:openai:gpt-4o:chat", "ai:anthropic:*:chat"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			granted := tt.change(prefillAll(c, r))
			if got := GrantedScopes(r, granted); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("GrantedScopes(%+v) = %q; want %q", granted, got, tt.want)
			}
		})
	}
}

func TestGrantedScopesNoDuplicates(t *testing.T) {
	r := &Request{OtherScopes: []string{"openid", "openid"}, AIScopes: []Scope{
		{Raw: "ai:openai:*:chat", Provider: "openai", Model: "*", Capability: "chat"},
		{Raw: "ai:openai:*:chat", Provider: "openai", Model: "*", Capability: "chat"},
	}}
	granted := []Detail{{Type: DetailType, Provider: "openai", AnyModel: true, Capabilities: []string{"chat"}}}
	want := []string{"openid", "ai:openai:*:chat"}
	if got := GrantedScopes(r, granted); !reflect.DeepEqual(got, want) {
		t.Errorf("GrantedScopes(repeated scopes) = %q; want %q", got, want)
	}
}

// coverRequest is a request whose limits are within the policy maxima.
func coverRequest(t *testing.T, c *Catalog) *Request {
	t.Helper()
	raw := `[{"type":"ai_model_access","provider":"openai","models":["gpt-4o"],"capabilities":["chat"],` +
		`"limits":{"monthly_spend":"50","requests_per_minute":30},"expires":"2026-06-01T00:00:00Z"},` +
		`{"type":"ai_model_access","provider":"anthropic","capabilities":["chat"]}]`
	r, err := c.NewRequest(detailsRequest(raw), nil, testNow)
	if err != nil {
		t.Fatalf("NewRequest(%s) error = %v", raw, err)
	}
	return r
}

func TestCovers(t *testing.T) {
	c := DefaultCatalog()
	r := coverRequest(t, c)
	tests := []struct {
		name   string
		change func(g []Detail) []Detail
		now    time.Time
		want   bool
	}{
		{"prefill", func(g []Detail) []Detail { return g }, testNow, true},
		{"more models and capabilities", func(g []Detail) []Detail {
			g[0].Models = append(g[0].Models, "o3-mini")
			g[0].Capabilities = append(g[0].Capabilities, "tools")
			return g
		}, testNow, true},
		{"unlimited", func(g []Detail) []Detail { g[0].Limits = Limits{Currency: "USD"}; return g }, testNow, true},
		{"higher limit", func(g []Detail) []Detail { g[0].Limits.MonthlySpend = amount("500"); return g }, testNow, true},
		{"lower limit", func(g []Detail) []Detail { g[0].Limits.MonthlySpend = amount("49.99"); return g }, testNow, false},
		{"lower rate limit", func(g []Detail) []Detail { g[0].Limits.RequestsPerMinute = count(29); return g }, testNow, false},
		{"provider missing", func(g []Detail) []Detail { return g[:1] }, testNow, false},
		{"model missing", func(g []Detail) []Detail { g[0].Models = []string{"gpt-4o-mini"}; return g }, testNow, false},
		{"granted any model", func(g []Detail) []Detail { g[0].AnyModel, g[0].Models = true, nil; return g }, testNow, true},
		{"any model requested, specific granted", func(g []Detail) []Detail {
			g[1].AnyModel, g[1].Models = false, []string{"claude-3-opus-latest"}
			return g
		}, testNow, false},
		{"capability missing", func(g []Detail) []Detail { g[0].Capabilities = []string{"vision"}; return g }, testNow, false},
		{"expires before requested", func(g []Detail) []Detail { g[0].Expires = openaiExpires.Add(-time.Second); return g }, testNow, false},
		{"expired", func(g []Detail) []Detail { return g }, openaiExpires, false},
		{"other type", func(g []Detail) []Detail { g[1].Type = "https://example.com/ai"; return g }, testNow, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			granted := tt.change(prefillAll(c, r))
			if got := Covers(granted, r, tt.now); got != tt.want {
				t.Errorf("Covers(%+v, now %v) = %v; want %v", granted, tt.now, got, tt.want)
			}
		})
	}
}

func TestRestrict(t *testing.T) {
	c := DefaultCatalog()
	expires := testNow.Add(30 * 24 * time.Hour)
	granted := []Detail{
		{
			Type: DetailType, Provider: "openai", Models: []string{"gpt-4o", "gpt-4o-mini"}, Capabilities: []string{"chat", "vision"},
			Limits:  Limits{Currency: "USD", DailySpend: amount("20"), MonthlySpend: amount("100")},
			Expires: expires,
		},
		{
			Type: DetailType, Provider: "anthropic", AnyModel: true, Capabilities: []string{"chat", "tools"},
			Limits: Limits{Currency: "USD"}, Expires: expires,
		},
		{
			Type: DetailType, Provider: "google", Models: []string{"gemini-2.0-flash"}, Capabilities: []string{"chat"},
			Limits: Limits{Currency: "USD"}, Expires: expires,
		},
	}
	raw := `[{"type":"ai_model_access","provider":"openai","models":["gpt-4o","o3-mini"],"capabilities":["chat","tools"],` +
		`"limits":{"daily_spend":"5","requests_per_day":100},"expires":"2026-03-10T00:00:00Z"},` +
		`{"type":"ai_model_access","provider":"anthropic","models":["claude-3-opus-latest"],"capabilities":["chat","vision"]},` +
		`{"type":"ai_model_access","provider":"google","models":["gemini-1.5-pro"]},` +
		`{"type":"ai_model_access","provider":"ollama"}]`
	r, err := c.NewRequest(detailsRequest(raw), nil, testNow)
	if err != nil {
		t.Fatalf("NewRequest(%s) error = %v", raw, err)
	}

	want := []Detail{
		{
			Type: DetailType, Provider: "openai", Models: []string{"gpt-4o"}, Capabilities: []string{"chat"},
			Limits:  Limits{Currency: "USD", DailySpend: amount("5"), MonthlySpend: amount("100"), RequestsPerDay: count(100)},
			Expires: time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC),
		},
		{
			Type: DetailType, Provider: "anthropic", Models: []string{"claude-3-opus-latest"}, Capabilities: []string{"chat"},
			Limits: Limits{Currency: "USD"}, Expires: expires,
		},
	}
	if got := Restrict(granted, r); !reflect.DeepEqual(got, want) {
		t.Errorf("Restrict =\n%+v\nwant\n%+v", got, want)
	}
}

func TestRestrictAnyModelRequested(t *testing.T) {
	granted := []Detail{{Type: DetailType, Provider: "openai", Models: []string{"gpt-4o"}, Capabilities: []string{"chat"}, Expires: testNow.Add(time.Hour)}}
	r := &Request{Details: []Detail{{Type: DetailType, Provider: "openai", AnyModel: true, Capabilities: []string{"chat", "vision"}}}}

	got := Restrict(granted, r)
	if len(got) != 1 || got[0].AnyModel || !slices.Equal(got[0].Models, []string{"gpt-4o"}) {
		t.Errorf("Restrict(granted gpt-4o, requested any model) = %+v; want models [gpt-4o]", got)
	}
	if !got[0].Expires.Equal(granted[0].Expires) {
		t.Errorf("Restrict expiry = %v; want the granted %v, as the request has none", got[0].Expires, granted[0].Expires)
	}
}

func TestRestrictedGrantCoversRequest(t *testing.T) {
	c := DefaultCatalog()
	r := coverRequest(t, c)
	granted := prefillAll(c, r)
	restricted := Restrict(granted, r)
	if !Covers(restricted, r, testNow) {
		t.Errorf("Covers(Restrict(prefill), r) = false; want true\nrestricted %+v", restricted)
	}
	if err := c.CheckGrant(r, restricted, testNow); err != nil {
		t.Errorf("CheckGrant(Restrict(prefill)) = %v; want nil", err)
	}
}
