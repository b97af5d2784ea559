package access

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

var claimExpires = time.Date(2026, 6, 1, 8, 30, 15, 0, time.UTC)

var claimGranted = []Detail{
	{
		Type: DetailType, Provider: "openai", Models: []string{"gpt-4o-mini", "gpt-4o"}, Capabilities: []string{"chat", "vision"},
		Limits: Limits{
			Currency:          "USD",
			DailySpend:        amount("2.5"),
			MonthlySpend:      amount("0.000000000001"),
			TotalSpend:        amount("1000000"),
			RequestsPerMinute: count(60),
			RequestsPerDay:    count(0),
			TokensPerMinute:   count(MaxCount),
		},
		Expires: claimExpires,
	},
	{
		Type: "https://example.com/ai", Provider: "ollama", AnyModel: true, Capabilities: []string{"chat"},
		Limits:  Limits{Currency: "USD"},
		Expires: claimExpires.Add(24 * time.Hour),
	},
}

func TestClaim(t *testing.T) {
	got := Claim("g_123", claimGranted)
	want := []ClaimDetail{
		{
			Type: DetailType, GrantID: "g_123", Provider: "openai", Models: []string{"gpt-4o-mini", "gpt-4o"}, Capabilities: []string{"chat", "vision"},
			Limits: ClaimLimits{
				Currency: "USD", DailySpend: "2.50", MonthlySpend: "0.000000000001", TotalSpend: "1000000.00",
				RequestsPerMinute: count(60), RequestsPerDay: count(0), TokensPerMinute: count(MaxCount),
			},
			Expires: "2026-06-01T08:30:15Z",
		},
		{
			Type: "https://example.com/ai", GrantID: "g_123", Provider: "ollama", Models: []string{"*"}, Capabilities: []string{"chat"},
			Limits: ClaimLimits{Currency: "USD"}, Expires: "2026-06-02T08:30:15Z",
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Claim =\n%+v\nwant\n%+v", got, want)
	}
}

func TestClaimJSON(t *testing.T) {
	granted := []Detail{{
		Type: DetailType, Provider: "openai", Models: []string{"gpt-4o"}, Capabilities: []string{"chat"},
		Limits:  Limits{Currency: "USD", MonthlySpend: amount("10")},
		Expires: time.Date(2026, 6, 1, 10, 30, 15, 999_000_000, time.FixedZone("CEST", 2*3600)),
	}}
	data, err := json.Marshal(Claim("g1", granted))
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"type":"ai_model_access","grant_id":"g1","provider":"openai","models":["gpt-4o"],"capabilities":["chat"],` +
		`"limits":{"currency":"USD","monthly_spend":"10.00"},"expires":"2026-06-01T08:30:15Z"}]`
	if string(data) != want {
		t.Errorf("json.Marshal(Claim) =\n%s\nwant\n%s", data, want)
	}
}

func TestParseClaimRoundTrip(t *testing.T) {
	claim := Claim("g_123", claimGranted)

	t.Run("ClaimDetail values", func(t *testing.T) {
		gotClaim, gotDetails, err := ParseClaim(claim)
		if err != nil {
			t.Fatalf("ParseClaim(Claim) error = %v", err)
		}
		if !reflect.DeepEqual(gotClaim, claim) {
			t.Errorf("ParseClaim claim =\n%+v\nwant\n%+v", gotClaim, claim)
		}
		if !reflect.DeepEqual(gotDetails, claimGranted) {
			t.Errorf("ParseClaim details =\n%+v\nwant\n%+v", gotDetails, claimGranted)
		}
	})

	t.Run("through JSON as Hydra returns it", func(t *testing.T) {
		data, err := json.Marshal(map[string]any{ClaimName: claim})
		if err != nil {
			t.Fatal(err)
		}
		var session map[string]any
		if err := json.Unmarshal(data, &session); err != nil {
			t.Fatal(err)
		}
		limits := session[ClaimName].([]any)[0].(map[string]any)["limits"].(map[string]any)
		if _, ok := limits["tokens_per_minute"].(float64); !ok {
			t.Fatalf("tokens_per_minute decoded as %T; want float64", limits["tokens_per_minute"])
		}

		gotClaim, gotDetails, err := ParseClaim(session[ClaimName])
		if err != nil {
			t.Fatalf("ParseClaim(%s) error = %v", data, err)
		}
		if !reflect.DeepEqual(gotClaim, claim) {
			t.Errorf("ParseClaim claim =\n%+v\nwant\n%+v", gotClaim, claim)
		}
		if !reflect.DeepEqual(gotDetails, claimGranted) {
			t.Errorf("ParseClaim details =\n%+v\nwant\n%+v", gotDetails, claimGranted)
		}
	})
}

func TestParseClaimMaps(t *testing.T) {
	raw := []map[string]any{{
		"type": DetailType, "grant_id": "g1", "provider": "openai", "models": []any{"gpt-4o"}, "capabilities": []any{"chat"},
		"limits": map[string]any{"currency": "USD", "requests_per_minute": float64(60)}, "expires": "2026-06-01T08:30:15Z",
	}}
	_, details, err := ParseClaim(raw)
	if err != nil {
		t.Fatalf("ParseClaim([]map[string]any) error = %v", err)
	}
	if got := details[0].Limits.RequestsPerMinute; got == nil || *got != 60 {
		t.Errorf("ParseClaim requests_per_minute = %v; want 60", got)
	}
}

func TestParseClaimRejects(t *testing.T) {
	valid := func() map[string]any {
		return map[string]any{
			"type": DetailType, "grant_id": "g1", "provider": "openai", "models": []any{"gpt-4o"}, "capabilities": []any{"chat"},
			"limits":  map[string]any{"currency": "USD", "daily_spend": "5.00", "requests_per_minute": float64(60)},
			"expires": "2026-06-01T08:30:15Z",
		}
	}
	limits := func(m map[string]any) map[string]any { return m["limits"].(map[string]any) }
	tests := []struct {
		name    string
		raw     func() any
		mention string
	}{
		{"nil", func() any { return nil }, "authorization_details is missing"},
		{"string", func() any { return "[]" }, "authorization_details is a string"},
		{"element not an object", func() any { return []any{"x"} }, "authorization_details[0] is a string"},
		{"unknown field", func() any { m := valid(); m["reason"] = "x"; return []any{m} }, "authorization_details[0].reason is not a known field"},
		{"field other case", func() any { m := valid(); m["Provider"] = "google"; return []any{m} }, "authorization_details[0].Provider is not a known field"},
		{"missing expires", func() any { m := valid(); delete(m, "expires"); return []any{m} }, "authorization_details[0].expires is missing"},
		{"missing currency", func() any { m := valid(); delete(limits(m), "currency"); return []any{m} }, "authorization_details[0].limits.currency is missing"},
		{"unknown limit", func() any { m := valid(); limits(m)["weekly_spend"] = "1"; return []any{m} }, "authorization_details[0].limits.weekly_spend is not a known field"},
		{"limits not an object", func() any { m := valid(); m["limits"] = []any{}; return []any{m} }, "authorization_details[0].limits is a []interface {}"},
		{"fractional rate limit", func() any { m := valid(); limits(m)["requests_per_minute"] = 1.5; return []any{m} }, "authorization_details[0] has a value of the wrong type"},
		{"rate limit as string", func() any { m := valid(); limits(m)["requests_per_minute"] = "60"; return []any{m} }, "authorization_details[0] has a value of the wrong type"},
		{"negative rate limit", func() any { m := valid(); limits(m)["requests_per_minute"] = float64(-1); return []any{m} }, "requests_per_minute -1 is outside the range"},
		{"amount as number", func() any { m := valid(); limits(m)["daily_spend"] = 5.0; return []any{m} }, "authorization_details[0] has a value of the wrong type"},
		{"bad amount", func() any { m := valid(); limits(m)["daily_spend"] = "1e3"; return []any{m} }, `daily_spend "1e3" is invalid`},
		{"lowercase currency", func() any { m := valid(); limits(m)["currency"] = "usd"; return []any{m} }, `currency "usd" is not an ISO 4217 code`},
		{"no models", func() any { m := valid(); m["models"] = []any{}; return []any{m} }, "authorization_details[0].models is empty"},
		{"star among models", func() any { m := valid(); m["models"] = []any{"*", "gpt-4o"}; return []any{m} }, `authorization_details[0].models[0] "*" is invalid`},
		{"model twice", func() any { m := valid(); m["models"] = []any{"gpt-4o", "gpt-4o"}; return []any{m} }, `models[1] "gpt-4o" is listed twice`},
		{"no capabilities", func() any { m := valid(); m["capabilities"] = nil; return []any{m} }, "authorization_details[0].capabilities is empty"},
		{"bad provider", func() any { m := valid(); m["provider"] = "Open AI"; return []any{m} }, `provider "Open AI" is invalid`},
		{"empty type", func() any { m := valid(); m["type"] = ""; return []any{m} }, `type "" is invalid`},
		{"empty grant id", func() any { m := valid(); m["grant_id"] = ""; return []any{m} }, "grant_id is invalid"},
		{"bad expires", func() any { m := valid(); m["expires"] = "tomorrow"; return []any{m} }, `expires "tomorrow" is not an RFC 3339 time`},
		{"two grants", func() any {
			a, b := valid(), valid()
			b["grant_id"] = "g2"
			b["provider"] = "google"
			return []any{a, b}
		}, `authorization_details[1].grant_id "g2" differs`},
		{"provider twice", func() any { return []any{valid(), valid()} }, `authorization_details[1].provider "openai" is given twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := tt.raw()
			_, got, err := ParseClaim(raw)
			if err == nil {
				t.Fatalf("ParseClaim(%v) = %+v, nil; want error", raw, got)
			}
			if !errors.Is(err, ErrInvalidClaim) {
				t.Errorf("ParseClaim(%v) error = %v; want it to wrap ErrInvalidClaim", raw, err)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("ParseClaim(%v) error = %q; want it to contain %q", raw, err, tt.mention)
			}
		})
	}
}

func TestParseClaimEmpty(t *testing.T) {
	claim, details, err := ParseClaim([]any{})
	if err != nil || len(claim) != 0 || len(details) != 0 {
		t.Errorf("ParseClaim([]) = %v, %v, %v; want empty lists and nil", claim, details, err)
	}
}
