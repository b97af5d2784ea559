package access

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aiconsent/aiconsent/money"
)

func TestDefaultCatalog(t *testing.T) {
	c := DefaultCatalog()

	if c.Currency != "USD" {
		t.Errorf("Currency = %q; want %q", c.Currency, "USD")
	}
	var ids []string
	for _, p := range c.Providers {
		ids = append(ids, p.ID)
	}
	if want := []string{"openai", "anthropic", "google", "ollama"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("provider ids = %q; want %q", ids, want)
	}

	openai, ok := c.Provider("openai")
	if !ok {
		t.Fatalf("Provider(%q) not found", "openai")
	}
	gpt, ok := openai.Model("gpt-4o")
	if !ok {
		t.Fatalf("Model(%q) not found", "gpt-4o")
	}
	if gpt.InputPrice != 2_500_000 || gpt.OutputPrice != 10_000_000 {
		t.Errorf("gpt-4o prices = %d, %d picounits per token; want 2500000, 10000000", gpt.InputPrice, gpt.OutputPrice)
	}
	if got := gpt.InputPerMillion().String(); got != "2.50" {
		t.Errorf("gpt-4o InputPerMillion() = %s; want 2.50", got)
	}
	if got := gpt.OutputPerMillion().String(); got != "10.00" {
		t.Errorf("gpt-4o OutputPerMillion() = %s; want 10.00", got)
	}
	if got, want := openai.Capabilities(), []string{"chat", "vision", "tools", "embeddings"}; !reflect.DeepEqual(got, want) {
		t.Errorf("openai Capabilities() = %q; want %q", got, want)
	}
	if _, ok := openai.Model("gpt-5"); ok {
		t.Errorf("Model(%q) found; want not found", "gpt-5")
	}
	if _, ok := c.Provider("mistral"); ok {
		t.Errorf("Provider(%q) found; want not found", "mistral")
	}

	wantPolicy := Policy{
		MaxDetails: 4,
		Defaults:   Limits{Currency: "USD", MonthlySpend: amount("10.00"), RequestsPerMinute: count(60)},
		Maxima: Limits{
			Currency:          "USD",
			DailySpend:        amount("100"),
			MonthlySpend:      amount("1000"),
			TotalSpend:        amount("10000"),
			RequestsPerMinute: count(600),
			RequestsPerDay:    count(100000),
			TokensPerMinute:   count(2000000),
		},
		DefaultExpiry: 90 * 24 * time.Hour,
		MaxExpiry:     365 * 24 * time.Hour,
	}
	if !reflect.DeepEqual(c.Policy, wantPolicy) {
		t.Errorf("Policy =\n%+v\nwant\n%+v", c.Policy, wantPolicy)
	}
}

func TestDefaultCatalogIsCopy(t *testing.T) {
	c := DefaultCatalog()
	c.Providers[0].Models[0].Capabilities[0] = "changed"
	if got := DefaultCatalog().Providers[0].Models[0].Capabilities[0]; got != "chat" {
		t.Errorf("capability after changing an earlier copy = %q; want %q", got, "chat")
	}
}

func TestAcceptsType(t *testing.T) {
	c := DefaultCatalog()
	c.Policy.DetailTypes = []string{"https://example.com/ai"}
	tests := []struct {
		in   string
		want bool
	}{
		{DetailType, true},
		{"https://example.com/ai", true},
		{"https://example.com/AI", false},
		{"AI_MODEL_ACCESS", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := c.AcceptsType(tt.in); got != tt.want {
			t.Errorf("AcceptsType(%q) = %v; want %v", tt.in, got, tt.want)
		}
	}
}

const smallCatalog = `currency: EUR
providers:
  - id: acme
    name: Acme AI
    models:
      - id: acme-1
        name: Acme One
        capabilities: [chat]
        input_per_million: "0.15"
        output_per_million: 0.6
policy:
  max_details: 2
  allow_unlisted_models: true
  detail_types: ["https://example.com/ai"]
  defaults:
    daily_spend: "5"
  maxima:
    daily_spend: "50"
    requests_per_day: 1000
  default_expiry_days: 7
  max_expiry_days: 30
`

func TestParseCatalogSmall(t *testing.T) {
	c, err := ParseCatalog([]byte(smallCatalog))
	if err != nil {
		t.Fatalf("ParseCatalog(small) error = %v; want nil", err)
	}
	want := &Catalog{
		Currency: "EUR",
		Providers: []Provider{{ID: "acme", Name: "Acme AI", Models: []Model{
			{ID: "acme-1", Name: "Acme One", Capabilities: []string{"chat"}, InputPrice: 150_000, OutputPrice: 600_000},
		}}},
		Policy: Policy{
			MaxDetails:          2,
			AllowUnlistedModels: true,
			DetailTypes:         []string{"https://example.com/ai"},
			Defaults:            Limits{Currency: "EUR", DailySpend: amount("5")},
			Maxima:              Limits{Currency: "EUR", DailySpend: amount("50"), RequestsPerDay: count(1000)},
			DefaultExpiry:       7 * 24 * time.Hour,
			MaxExpiry:           30 * 24 * time.Hour,
		},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("ParseCatalog(small) =\n%+v\nwant\n%+v", c, want)
	}
}

func TestParseCatalogJSON(t *testing.T) {
	data := `{"providers":[{"id":"acme","name":"Acme","models":[{"id":"a:1","name":"A","capabilities":["chat"],
		"input_per_million":1.5,"output_per_million":"2"}]}]}`
	c, err := ParseCatalog([]byte(data))
	if err != nil {
		t.Fatalf("ParseCatalog(JSON) error = %v; want nil", err)
	}
	if c.Currency != "USD" || c.Policy.MaxDetails != DefaultMaxDetails || c.Policy.MaxExpiry != DefaultMaxExpiry {
		t.Errorf("ParseCatalog(JSON) currency, max details, max expiry = %q, %d, %v; want defaults", c.Currency, c.Policy.MaxDetails, c.Policy.MaxExpiry)
	}
	if got := c.Providers[0].Models[0].InputPrice; got != money.Amount(1_500_000) {
		t.Errorf("input price = %d; want 1500000", got)
	}
}

func TestParseCatalogRejects(t *testing.T) {
	tests := []struct {
		name     string
		old, new string // replacement in smallCatalog
		want     string // part of the error message
	}{
		{"duplicate model id", "policy:", "      - id: acme-1\n        name: Again\n        capabilities: [chat]\n        input_per_million: 1\n        output_per_million: 1\npolicy:", `providers[0].models[1].id "acme-1" is used twice`},
		{"duplicate provider id", "policy:", "  - id: acme\n    name: Acme again\n    models:\n      - {id: x, name: X, capabilities: [chat], input_per_million: 1, output_per_million: 1}\npolicy:", `providers[1].id "acme" is used twice`},
		{"price with 7 decimals", `"0.15"`, `"0.1500001"`, "providers[0].models[0].input_per_million \"0.1500001\" has more than 6 decimal places"},
		{"negative price", `"0.15"`, `"-1"`, "providers[0].models[0].input_per_million \"-1\" is invalid: negative amount"},
		{"price with exponent", "0.6", "6e-1", "providers[0].models[0].output_per_million \"6e-1\" is invalid"},
		{"price missing", "        output_per_million: 0.6\n", "", "providers[0].models[0].output_per_million is missing"},
		{"price list", "0.6", "[0.6]", "providers[0].models[0].output_per_million must be a decimal amount"},
		{"defaults above maxima", `daily_spend: "5"`, `daily_spend: "50.01"`, "policy.defaults.daily_spend is above policy.maxima.daily_spend"},
		{"unknown field", "allow_unlisted_models: true", "allow_unlisted: true", `field "allow_unlisted" is not a known field`},
		{"unknown limit", "requests_per_day: 1000", "requests_per_week: 1000", `field "requests_per_week" is not a known field`},
		{"duplicate key", "max_details: 2", "max_details: 2\n  max_details: 3", `mapping key "max_details" already defined`},
		{"currency lowercase", "currency: EUR", "currency: eur", `currency "eur" is not an ISO 4217 code`},
		{"provider name missing", "    name: Acme AI\n", "", "providers[0].name is missing"},
		{"model name missing", "        name: Acme One\n", "", "providers[0].models[0].name is missing"},
		{"model without capabilities", "capabilities: [chat]", "capabilities: []", "providers[0].models[0].capabilities is missing"},
		{"capability uppercase", "capabilities: [chat]", "capabilities: [Chat]", `providers[0].models[0].capabilities[0] "Chat" is invalid`},
		{"capability twice", "capabilities: [chat]", "capabilities: [chat, chat]", `providers[0].models[0].capabilities[1] "chat" is listed twice`},
		{"model id with star", "id: acme-1", "id: acme-*", `providers[0].models[0].id "acme-*" is invalid`},
		{"provider id uppercase", "id: acme\n", "id: Acme\n", `providers[0].id "Acme" is invalid`},
		{"max details zero", "max_details: 2", "max_details: 0", "policy.max_details is 0"},
		{"max details fraction", "max_details: 2", "max_details: 2.5", "policy.max_details must be a whole number"},
		{"rate limit fraction", "requests_per_day: 1000", "requests_per_day: 10.5", "policy.maxima.requests_per_day must be a whole number"},
		{"rate limit too large", "requests_per_day: 1000", "requests_per_day: 1000000001", "policy.maxima.requests_per_day is 1000000001"},
		{"default expiry above max", "default_expiry_days: 7", "default_expiry_days: 31", "policy.default_expiry_days is above policy.max_expiry_days"},
		{"expiry zero", "max_expiry_days: 30", "max_expiry_days: 0", "policy.max_expiry_days is 0"},
		{"detail type repeats standard", `["https://example.com/ai"]`, `["ai_model_access"]`, `policy.detail_types[0] "ai_model_access" is listed twice`},
		{"no providers", smallCatalog[strings.Index(smallCatalog, "providers:"):strings.Index(smallCatalog, "policy:")], "", "providers is missing"},
		{"second document", "max_expiry_days: 30\n", "max_expiry_days: 30\n---\ncurrency: USD\n", "more than one YAML document"},
		{"empty file", smallCatalog, "", "the file is empty"},
		{"providers not a list", smallCatalog, "providers: 3\n", "line 1: cannot unmarshal !!int `3` into a list"},
		{"policy not a mapping", smallCatalog, "policy: [1]\n", "line 1: cannot unmarshal !!seq into a mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(smallCatalog, tt.old) {
				t.Fatalf("smallCatalog does not contain %q", tt.old)
			}
			data := strings.Replace(smallCatalog, tt.old, tt.new, 1)
			c, err := ParseCatalog([]byte(data))
			if err == nil {
				t.Fatalf("ParseCatalog(%q) = %+v, nil; want error containing %q", data, c, tt.want)
			}
			if !errors.Is(err, ErrInvalidCatalog) {
				t.Errorf("ParseCatalog error = %v; want it to wrap ErrInvalidCatalog", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseCatalog error = %q; want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestLoadCatalog(t *testing.T) {
	c, err := LoadCatalog("")
	if err != nil || !reflect.DeepEqual(c, DefaultCatalog()) {
		t.Errorf("LoadCatalog(\"\") = %+v, %v; want DefaultCatalog()", c, err)
	}

	path := filepath.Join(t.TempDir(), "catalog.yaml")
	if err := os.WriteFile(path, []byte(smallCatalog), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err = LoadCatalog(path)
	if err != nil || c.Currency != "EUR" {
		t.Errorf("LoadCatalog(%q) = %+v, %v; want the EUR catalog", path, c, err)
	}

	missing := filepath.Join(t.TempDir(), "missing.yaml")
	if _, err := LoadCatalog(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadCatalog(%q) error = %v; want os.ErrNotExist", missing, err)
	}

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("currency: usd\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCatalog(bad); !errors.Is(err, ErrInvalidCatalog) || !strings.Contains(err.Error(), bad) {
		t.Errorf("LoadCatalog(%q) error = %v; want ErrInvalidCatalog naming the file", bad, err)
	}
}
