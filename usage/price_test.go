package usage

import (
	"errors"
	"testing"

	"github.com/aiconsent/aiconsent/access"
	"github.com/aiconsent/aiconsent/money"
)

func amountOf(t *testing.T, s string) money.Amount {
	t.Helper()
	a, err := money.Parse(s)
	if err != nil {
		t.Fatalf("money.Parse(%q) error = %v", s, err)
	}
	return a
}

func amountPtr(a money.Amount) *money.Amount { return &a }

// miniPrices are the catalog prices of gpt-4o-mini: 0.15 and 0.60 per
// million tokens.
var miniPrices = Prices{Input: 150_000, Output: 600_000}

var costTests = []struct {
	name          string
	prices        Prices
	input, output int64
	want          money.Amount
	wantOK        bool
}{
	{"one input token", miniPrices, 1, 0, 150_000, true},
	{"one output token", miniPrices, 0, 1, 600_000, true},
	{"million input tokens", miniPrices, 1_000_000, 0, 150_000_000_000, true},
	{"input and output", Prices{Input: 2_500_000, Output: 10_000_000}, 1000, 500, 7_500_000_000, true},
	{"no tokens", miniPrices, 0, 0, 0, true},
	{"free model", Prices{}, MaxTokens, MaxTokens, 0, true},
	{"above money.Max", Prices{Input: money.Scale}, MaxTokens, 0, 0, false},
	{"overflow", Prices{Input: money.Max, Output: money.Max}, MaxTokens, MaxTokens, 0, false},
	{"negative tokens", miniPrices, -1, 0, 0, false},
}

func TestPricesCost(t *testing.T) {
	for _, tt := range costTests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.prices.Cost(tt.input, tt.output)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("%+v.Cost(%d, %d) = %d, %v; want %d, %v", tt.prices, tt.input, tt.output, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestMillionOneTokenCallsAddUpExactly(t *testing.T) {
	prices := CatalogPrices(access.DefaultCatalog(), "openai", "gpt-4o-mini")
	if prices == nil {
		t.Fatal(`CatalogPrices(default catalog, "openai", "gpt-4o-mini") = nil; want the catalog prices`)
	}

	var total money.Amount
	for range 1_000_000 {
		cost, ok := prices.Cost(1, 0)
		if !ok {
			t.Fatalf("%+v.Cost(1, 0) reported overflow", *prices)
		}
		total += cost
	}

	if want := amountOf(t, "0.15"); total != want {
		t.Errorf("sum of 1000000 one-token calls at 0.15 per million = %s; want %s", total, want)
	}
}

func TestCatalogPrices(t *testing.T) {
	c := access.DefaultCatalog()
	tests := []struct {
		provider, model string
		want            *Prices
	}{
		{"openai", "gpt-4o-mini", &miniPrices},
		{"openai", "gpt-4o", &Prices{Input: 2_500_000, Output: 10_000_000}},
		{"openai", "not-in-catalog", nil},
		{"nobody", "gpt-4o", nil},
	}
	for _, tt := range tests {
		got := CatalogPrices(c, tt.provider, tt.model)
		if (got == nil) != (tt.want == nil) || (got != nil && *got != *tt.want) {
			t.Errorf("CatalogPrices(%q, %q) = %+v; want %+v", tt.provider, tt.model, got, tt.want)
		}
	}
}

func validRequest() Request {
	return Request{GrantID: "gr_1", Provider: "openai", Model: "gpt-4o-mini", Capability: "chat", InputTokens: 1000, MaxTokens: 500}
}

func TestNewHold(t *testing.T) {
	c := access.DefaultCatalog()
	tests := []struct {
		name   string
		change func(*Request)
		want   Hold
	}{
		{
			name:   "tokens priced from catalog",
			change: func(*Request) {},
			want:   Hold{GrantID: "gr_1", Provider: "openai", Model: "gpt-4o-mini", Capability: "chat", Amount: 450_000_000, Tokens: 1500, Prices: &miniPrices},
		},
		{
			name:   "amount wins over tokens",
			change: func(r *Request) { r.Amount = amountPtr(2_000_000_000) },
			want:   Hold{GrantID: "gr_1", Provider: "openai", Model: "gpt-4o-mini", Capability: "chat", Amount: 2_000_000_000, Tokens: 1500, Prices: &miniPrices},
		},
		{
			name:   "amount for model without price",
			change: func(r *Request) { r.Model, r.InputTokens, r.MaxTokens, r.Amount = "local-model", 0, 0, amountPtr(7) },
			want:   Hold{GrantID: "gr_1", Provider: "openai", Model: "local-model", Capability: "chat", Amount: 7},
		},
		{
			name:   "zero amount",
			change: func(r *Request) { r.InputTokens, r.MaxTokens, r.Amount = 0, 0, amountPtr(0) },
			want:   Hold{GrantID: "gr_1", Provider: "openai", Model: "gpt-4o-mini", Capability: "chat", Prices: &miniPrices},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validRequest()
			tt.change(&r)
			got, err := NewHold(c, r)
			if err != nil {
				t.Fatalf("NewHold(%+v) error = %v", r, err)
			}
			samePrices := (got.Prices == nil) == (tt.want.Prices == nil) && (got.Prices == nil || *got.Prices == *tt.want.Prices)
			got.Prices, tt.want.Prices = nil, nil
			if got != tt.want || !samePrices {
				t.Errorf("NewHold(%+v) = %+v; want %+v", r, got, tt.want)
			}
		})
	}
}

func TestNewHoldRejects(t *testing.T) {
	c := access.DefaultCatalog()
	tests := []struct {
		name      string
		change    func(*Request)
		wantField string
	}{
		{"missing grant", func(r *Request) { r.GrantID = "" }, "grant_id"},
		{"missing provider", func(r *Request) { r.Provider = "" }, "provider"},
		{"missing model", func(r *Request) { r.Model = "" }, "model"},
		{"missing capability", func(r *Request) { r.Capability = "" }, "capability"},
		{"long model", func(r *Request) { r.Model = string(make([]byte, 300)) }, "model"},
		{"negative input tokens", func(r *Request) { r.InputTokens = -1 }, "input_tokens"},
		{"too many output tokens", func(r *Request) { r.MaxTokens = MaxTokens + 1 }, "max_tokens"},
		{"no amount and no tokens", func(r *Request) { r.InputTokens, r.MaxTokens = 0, 0 }, "amount"},
		{"tokens for model without price", func(r *Request) { r.Model = "local-model" }, "model"},
		{"negative amount", func(r *Request) { r.Amount = amountPtr(-1) }, "amount"},
		{"amount above max", func(r *Request) { r.Amount = amountPtr(money.Max + 1) }, "amount"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validRequest()
			tt.change(&r)
			_, err := NewHold(c, r)
			var refusal *Refusal
			if !errors.As(err, &refusal) || refusal.Reason != ReasonInvalidRequest || refusal.Field != tt.wantField {
				t.Errorf("NewHold(%+v) error = %v; want %s on field %q", r, err, ReasonInvalidRequest, tt.wantField)
			}
		})
	}
}

func TestUsageCost(t *testing.T) {
	tests := []struct {
		name      string
		usage     Usage
		prices    *Prices
		want      money.Amount
		wantField string
	}{
		{"tokens", Usage{InputTokens: 10, OutputTokens: 2, HasTokens: true}, &miniPrices, 2_700_000, ""},
		{"amount", Usage{Amount: amountPtr(5), InputTokens: 10, HasTokens: true}, &miniPrices, 5, ""},
		{"amount without prices", Usage{Amount: amountPtr(5)}, nil, 5, ""},
		{"zero tokens", Usage{HasTokens: true}, &miniPrices, 0, ""},
		{"tokens without prices", Usage{InputTokens: 10, HasTokens: true}, nil, 0, "amount"},
		{"nothing given", Usage{}, &miniPrices, 0, "amount"},
		{"negative output", Usage{OutputTokens: -3, HasTokens: true}, &miniPrices, 0, "output_tokens"},
		{"negative amount", Usage{Amount: amountPtr(-5)}, &miniPrices, 0, "amount"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.usage.Cost(tt.prices)
			var refusal *Refusal
			switch {
			case tt.wantField == "" && (err != nil || got != tt.want):
				t.Errorf("%+v.Cost(%+v) = %d, %v; want %d", tt.usage, tt.prices, got, err, tt.want)
			case tt.wantField != "" && (!errors.As(err, &refusal) || refusal.Field != tt.wantField):
				t.Errorf("%+v.Cost(%+v) error = %v; want %s on field %q", tt.usage, tt.prices, err, ReasonInvalidRequest, tt.wantField)
			}
		})
	}
}

func TestAddAmounts(t *testing.T) {
	tests := []struct {
		in     []money.Amount
		want   money.Amount
		wantOK bool
	}{
		{nil, 0, true},
		{[]money.Amount{1, 2, 3}, 6, true},
		{[]money.Amount{money.Max, money.Max}, 2 * money.Max, true},
		{[]money.Amount{1<<63 - 1, 1}, 0, false},
		{[]money.Amount{-1 << 63, -1}, 0, false},
	}
	for _, tt := range tests {
		got, ok := AddAmounts(tt.in...)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("AddAmounts(%v) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}
