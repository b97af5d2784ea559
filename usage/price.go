package usage

import (
	"fmt"
	"math"

	"github.com/aiconsent/aiconsent/access"
	"github.com/aiconsent/aiconsent/money"
)

// MaxTokens is the largest token count of one call that a reservation or
// settlement may give, per field. It equals the largest tokens_per_minute
// limit, access.MaxCount.
const MaxTokens = access.MaxCount

// Prices are the prices of one token of a model, from the catalog.
type Prices struct {
	Input  money.Amount
	Output money.Amount
}

// CatalogPrices returns the prices of a model in the catalog, or nil when
// the catalog does not list the model.
func CatalogPrices(c *access.Catalog, provider, model string) *Prices {
	p, ok := c.Provider(provider)
	if !ok {
		return nil
	}
	m, ok := p.Model(model)
	if !ok {
		return nil
	}
	return &Prices{Input: m.InputPrice, Output: m.OutputPrice}
}

// Cost returns the price of input and output tokens, exactly, and reports
// false when the cost is above money.Max or overflows.
func (p Prices) Cost(input, output int64) (money.Amount, bool) {
	in, ok := money.MulTokens(p.Input, input)
	if !ok {
		return 0, false
	}
	out, ok := money.MulTokens(p.Output, output)
	if !ok {
		return 0, false
	}
	sum, ok := addAmounts(in, out)
	return sum, ok && sum <= money.Max
}

// Request is a resource server's request to reserve spend for one AI call,
// before it is priced.
type Request struct {
	GrantID    string
	Provider   string
	Model      string
	Capability string

	// Amount, when set, is the worst-case cost. Otherwise the cost is
	// InputTokens and MaxTokens priced from the catalog.
	Amount *money.Amount

	// InputTokens is the worst-case number of input tokens.
	InputTokens int64

	// MaxTokens is the most output tokens the call may produce, the
	// max_tokens the resource server sends to the provider.
	MaxTokens int64
}

// NewHold validates r and prices it from the catalog. The cost is Amount
// when set, else the tokens at the model's catalog prices; the tokens
// count against tokens_per_minute either way. It returns a *Refusal with
// ReasonInvalidRequest naming the first invalid field.
func NewHold(c *access.Catalog, r Request) (Hold, error) {
	if err := checkNames(r); err != nil {
		return Hold{}, err
	}
	if err := checkTokens("input_tokens", r.InputTokens); err != nil {
		return Hold{}, err
	}
	if err := checkTokens("max_tokens", r.MaxTokens); err != nil {
		return Hold{}, err
	}

	h := Hold{
		GrantID:    r.GrantID,
		Provider:   r.Provider,
		Model:      r.Model,
		Capability: r.Capability,
		Tokens:     r.InputTokens + r.MaxTokens,
		Prices:     CatalogPrices(c, r.Provider, r.Model),
	}

	switch {
	case r.Amount != nil:
		if err := checkAmount("amount", *r.Amount); err != nil {
			return Hold{}, err
		}
		h.Amount = *r.Amount
	case r.InputTokens == 0 && r.MaxTokens == 0:
		return Hold{}, invalid("amount", "is missing; send the worst-case cost as amount, or input_tokens and max_tokens to price it from the catalog")
	case h.Prices == nil:
		return Hold{}, invalid("model", fmt.Sprintf("%q of provider %q has no price in the catalog; send the worst-case cost as amount", r.Model, r.Provider))
	default:
		cost, ok := h.Prices.Cost(r.InputTokens, r.MaxTokens)
		if !ok {
			return Hold{}, invalid("max_tokens", fmt.Sprintf("%d with %d input tokens costs more than %s; reserve less", r.MaxTokens, r.InputTokens, money.Max))
		}
		h.Amount = cost
	}
	return h, nil
}

func checkNames(r Request) error {
	fields := []struct{ name, value string }{
		{"grant_id", r.GrantID},
		{"provider", r.Provider},
		{"model", r.Model},
		{"capability", r.Capability},
	}
	for _, f := range fields {
		if f.value == "" {
			return invalid(f.name, "is missing")
		}
		if len(f.value) > maxNameBytes {
			return invalid(f.name, fmt.Sprintf("is longer than %d bytes", maxNameBytes))
		}
	}
	return nil
}

// maxNameBytes bounds ids in requests; grant ids, provider ids, model ids
// and capabilities are all shorter (see package access).
const maxNameBytes = 256

func checkTokens(field string, n int64) error {
	if n < 0 || n > MaxTokens {
		return invalid(field, fmt.Sprintf("%d is outside the range from 0 to %d", n, MaxTokens))
	}
	return nil
}

func checkAmount(field string, a money.Amount) error {
	if a < 0 || a > money.Max {
		return invalid(field, fmt.Sprintf("%s is outside the range from 0 to %s", a, money.Max))
	}
	return nil
}

// Validate returns a *Refusal with ReasonInvalidRequest when a token count
// or the amount is out of range.
func (u Usage) Validate() error {
	if err := checkTokens("input_tokens", u.InputTokens); err != nil {
		return err
	}
	if err := checkTokens("output_tokens", u.OutputTokens); err != nil {
		return err
	}
	if u.Amount != nil {
		return checkAmount("amount", *u.Amount)
	}
	return nil
}

// Cost returns the real cost: Amount when set, else the tokens at prices.
// Without an Amount it needs prices, or it returns a *Refusal with
// ReasonInvalidRequest.
func (u Usage) Cost(prices *Prices) (money.Amount, error) {
	if err := u.Validate(); err != nil {
		return 0, err
	}
	if u.Amount != nil {
		return *u.Amount, nil
	}
	if !u.HasTokens {
		return 0, invalid("amount", "is missing; send the real cost as amount, or input_tokens and output_tokens")
	}
	if prices == nil {
		return 0, invalid("amount", "is missing; the model of this reservation has no price in the catalog, so send the real cost as amount")
	}

	cost, ok := prices.Cost(u.InputTokens, u.OutputTokens)
	if !ok {
		return 0, invalid("output_tokens", fmt.Sprintf("%d with %d input tokens costs more than %s", u.OutputTokens, u.InputTokens, money.Max))
	}
	return cost, nil
}

// Tokens returns the number of tokens used.
func (u Usage) Tokens() int64 {
	return u.InputTokens + u.OutputTokens
}

// addAmounts returns a+b and reports false when the sum overflows int64.
func addAmounts(a, b money.Amount) (money.Amount, bool) {
	if b > 0 && a > math.MaxInt64-b {
		return 0, false
	}
	if b < 0 && a < math.MinInt64-b {
		return 0, false
	}
	return a + b, true
}

// AddAmounts returns the sum of amounts and reports false when it
// overflows int64. Stores use it to update counters exactly.
func AddAmounts(amounts ...money.Amount) (money.Amount, bool) {
	var sum money.Amount
	for _, a := range amounts {
		var ok bool
		if sum, ok = addAmounts(sum, a); !ok {
			return 0, false
		}
	}
	return sum, true
}
