package access

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/aiconsent/aiconsent/money"
)

// ClaimName is the name of the access-token claim that carries the granted
// details.
const ClaimName = "authorization_details"

// ClaimLimits are the limits of a granted detail in a token claim. Amounts
// are decimal strings, because Hydra passes claims through float64.
type ClaimLimits struct {
	Currency          string `json:"currency"`
	DailySpend        string `json:"daily_spend,omitempty"`
	MonthlySpend      string `json:"monthly_spend,omitempty"`
	TotalSpend        string `json:"total_spend,omitempty"`
	RequestsPerMinute *int64 `json:"requests_per_minute,omitempty"`
	RequestsPerDay    *int64 `json:"requests_per_day,omitempty"`
	TokensPerMinute   *int64 `json:"tokens_per_minute,omitempty"`
}

// ClaimDetail is one granted detail in a token claim, in the form of an
// RFC 9396 authorization detail.
type ClaimDetail struct {
	Type    string `json:"type"`
	GrantID string `json:"grant_id"`

	Provider string `json:"provider"`

	// Models is ["*"] when the grant covers any model.
	Models []string `json:"models"`

	Capabilities []string    `json:"capabilities"`
	Limits       ClaimLimits `json:"limits"`

	// Expires is an RFC 3339 time in UTC, with seconds precision.
	Expires string `json:"expires"`
}

// claimKeys and claimLimitKeys are the JSON names of ClaimDetail and
// ClaimLimits. ParseClaim checks keys against them, because encoding/json
// matches field names without regard to case.
var (
	claimKeys      = []string{"type", "grant_id", "provider", "models", "capabilities", "limits", "expires"}
	claimLimitKeys = append([]string{"currency"}, limitNames()...)
)

// Claim returns the claim for the details granted by the grant with id
// grantID. An expiry is truncated to whole seconds.
func Claim(grantID string, granted []Detail) []ClaimDetail {
	claims := make([]ClaimDetail, 0, len(granted))
	for _, d := range granted {
		models := slices.Clone(d.Models)
		if d.AnyModel {
			models = []string{AnyModel}
		}
		claims = append(claims, ClaimDetail{
			Type:         d.Type,
			GrantID:      grantID,
			Provider:     d.Provider,
			Models:       nonNil(models),
			Capabilities: nonNil(slices.Clone(d.Capabilities)),
			Limits:       claimLimits(d.Limits),
			Expires:      d.Expires.UTC().Format(time.RFC3339),
		})
	}
	return claims
}

func claimLimits(l Limits) ClaimLimits {
	amount := func(a *money.Amount) string {
		if a == nil {
			return ""
		}
		return a.String()
	}
	count := func(n *int64) *int64 {
		if n == nil {
			return nil
		}
		v := *n
		return &v
	}
	return ClaimLimits{
		Currency:          l.Currency,
		DailySpend:        amount(l.DailySpend),
		MonthlySpend:      amount(l.MonthlySpend),
		TotalSpend:        amount(l.TotalSpend),
		RequestsPerMinute: count(l.RequestsPerMinute),
		RequestsPerDay:    count(l.RequestsPerDay),
		TokensPerMinute:   count(l.TokensPerMinute),
	}
}

// ParseClaim reads the claim back from a token session, as []ClaimDetail
// or as the []any of map[string]any that decoding JSON gives (numbers may
// be float64). It rejects unknown and missing fields, invalid values,
// details of different grants and a provider given twice, and returns the
// claim both as ClaimDetail values and as granted details. Every error
// wraps ErrInvalidClaim.
func ParseClaim(raw any) ([]ClaimDetail, []Detail, error) {
	claims, err := claimList(raw)
	if err != nil {
		return nil, nil, err
	}

	details := make([]Detail, 0, len(claims))
	for i, cd := range claims {
		path := fmt.Sprintf("%s[%d]", ClaimName, i)
		d, err := claimDetail(cd, path)
		if err != nil {
			return nil, nil, err
		}
		if cd.GrantID != claims[0].GrantID {
			return nil, nil, claimError(path+".grant_id", "%q differs from the grant id of the first detail", cd.GrantID)
		}
		if _, ok := findDetail(details, d.Provider); ok {
			return nil, nil, claimError(path+".provider", "%q is given twice", d.Provider)
		}
		details = append(details, d)
	}
	return claims, details, nil
}

// claimList converts the forms ParseClaim accepts into ClaimDetail values.
func claimList(raw any) ([]ClaimDetail, error) {
	var elements []any
	switch v := raw.(type) {
	case nil:
		return nil, claimError(ClaimName, "is missing")
	case []ClaimDetail:
		return slices.Clone(v), nil
	case []any:
		elements = v
	case []map[string]any:
		for _, m := range v {
			elements = append(elements, m)
		}
	default:
		return nil, claimError(ClaimName, "is a %T; it must be a list of objects", raw)
	}

	claims := make([]ClaimDetail, 0, len(elements))
	for i, element := range elements {
		path := fmt.Sprintf("%s[%d]", ClaimName, i)
		cd, err := decodeClaimDetail(element, path)
		if err != nil {
			return nil, err
		}
		claims = append(claims, cd)
	}
	return claims, nil
}

// decodeClaimDetail decodes a map[string]any after checking that its keys
// are exactly the JSON names, present where required.
func decodeClaimDetail(element any, path string) (ClaimDetail, error) {
	m, ok := element.(map[string]any)
	if !ok {
		return ClaimDetail{}, claimError(path, "is a %T; it must be an object", element)
	}
	if err := checkClaimKeys(m, claimKeys, claimKeys, path); err != nil {
		return ClaimDetail{}, err
	}
	limits, ok := m["limits"].(map[string]any)
	if !ok {
		return ClaimDetail{}, claimError(path+".limits", "is a %T; it must be an object", m["limits"])
	}
	if err := checkClaimKeys(limits, claimLimitKeys, []string{"currency"}, path+".limits"); err != nil {
		return ClaimDetail{}, err
	}

	// A float64 count is written back as an integer when it is whole and
	// below 1e21, and decoding into int64 rejects any other number.
	data, err := json.Marshal(m)
	if err != nil {
		return ClaimDetail{}, claimError(path, "could not be encoded: %v", err)
	}
	var cd ClaimDetail
	if err := json.Unmarshal(data, &cd); err != nil {
		return ClaimDetail{}, claimError(path, "has a value of the wrong type: %v", err)
	}
	return cd, nil
}

func checkClaimKeys(m map[string]any, known, required []string, path string) error {
	for key := range m {
		if !slices.Contains(known, key) {
			return claimError(path+"."+key, "is not a known field")
		}
	}
	for _, key := range required {
		if _, ok := m[key]; !ok {
			return claimError(path+"."+key, "is missing")
		}
	}
	return nil
}

// claimDetail validates one ClaimDetail and converts it into a Detail.
func claimDetail(cd ClaimDetail, path string) (Detail, error) {
	if err := checkName(cd.Type); err != nil {
		return Detail{}, claimError(path+".type", "%q is invalid: %v", cd.Type, err)
	}
	if err := checkName(cd.GrantID); err != nil {
		return Detail{}, claimError(path+".grant_id", "is invalid: %v", err)
	}
	if err := checkProviderID(cd.Provider); err != nil {
		return Detail{}, claimError(path+".provider", "%q is invalid: %v", cd.Provider, err)
	}
	d := Detail{Type: cd.Type, Provider: cd.Provider}

	var err error
	if d.AnyModel, d.Models, err = claimModels(cd.Models, path+".models"); err != nil {
		return Detail{}, err
	}
	if d.Capabilities, err = claimCapabilities(cd.Capabilities, path+".capabilities"); err != nil {
		return Detail{}, err
	}
	if d.Limits, err = claimLimitsDetail(cd.Limits, path+".limits"); err != nil {
		return Detail{}, err
	}

	expires, err := time.Parse(time.RFC3339, cd.Expires)
	if err != nil {
		return Detail{}, claimError(path+".expires", "%q is not an RFC 3339 time", cd.Expires)
	}
	d.Expires = expires.UTC()
	return d, nil
}

func claimModels(models []string, path string) (bool, []string, error) {
	if slices.Equal(models, []string{AnyModel}) {
		return true, nil, nil
	}
	if len(models) == 0 {
		return false, nil, claimError(path, "is empty")
	}
	for i, m := range models {
		if err := checkModelID(m); err != nil {
			return false, nil, claimError(fmt.Sprintf("%s[%d]", path, i), "%q is invalid: %v", m, err)
		}
		if slices.Index(models, m) != i {
			return false, nil, claimError(fmt.Sprintf("%s[%d]", path, i), "%q is listed twice", m)
		}
	}
	return false, slices.Clone(models), nil
}

func claimCapabilities(capabilities []string, path string) ([]string, error) {
	if len(capabilities) == 0 {
		return nil, claimError(path, "is empty")
	}
	for i, c := range capabilities {
		if err := checkCapabilityID(c); err != nil {
			return nil, claimError(fmt.Sprintf("%s[%d]", path, i), "%q is invalid: %v", c, err)
		}
		if slices.Index(capabilities, c) != i {
			return nil, claimError(fmt.Sprintf("%s[%d]", path, i), "%q is listed twice", c)
		}
	}
	return slices.Clone(capabilities), nil
}

func claimLimitsDetail(cl ClaimLimits, path string) (Limits, error) {
	if !isCurrencyCode(cl.Currency) {
		return Limits{}, claimError(path+".currency", "%q is not an ISO 4217 code", cl.Currency)
	}
	l := Limits{Currency: cl.Currency}

	amounts := map[string]string{"daily_spend": cl.DailySpend, "monthly_spend": cl.MonthlySpend, "total_spend": cl.TotalSpend}
	counts := map[string]*int64{"requests_per_minute": cl.RequestsPerMinute, "requests_per_day": cl.RequestsPerDay, "tokens_per_minute": cl.TokensPerMinute}
	for _, f := range limitFields {
		if f.spend {
			if amounts[f.name] == "" {
				continue
			}
			a, err := money.Parse(amounts[f.name])
			if err != nil {
				return Limits{}, claimError(path+"."+f.name, "%q is invalid: %v", amounts[f.name], err)
			}
			v := int64(a)
			f.set(&l, &v)
			continue
		}

		n := counts[f.name]
		if n != nil && (*n < 0 || *n > MaxCount) {
			return Limits{}, claimError(path+"."+f.name, "%d is outside the range from 0 to %d", *n, MaxCount)
		}
		f.set(&l, n)
	}
	return l, nil
}

func claimError(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s %s", ErrInvalidClaim, field, fmt.Sprintf(format, args...))
}

func nonNil(list []string) []string {
	if list == nil {
		return []string{}
	}
	return list
}
