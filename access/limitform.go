package access

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aiconsent/aiconsent/money"
)

// IsSpendLimit reports whether the limit with the given JSON name, such as
// "monthly_spend", is an amount of money rather than a count.
func IsSpendLimit(name string) bool {
	for _, f := range limitFields {
		if f.name == name {
			return f.spend
		}
	}
	return false
}

// ParseLimit sets the limit of l named by its JSON name from a value typed
// into a form: an amount such as "5" or "$12.50", or a whole count. An
// empty value leaves the limit unset. The error is a sentence for people.
func ParseLimit(l *Limits, name, raw string) error {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil
	}

	if p := amountField(l, name); p != nil {
		a, err := money.Parse(strings.TrimPrefix(raw, "$"))
		if errors.Is(err, money.ErrSyntax) {
			return fmt.Errorf("%q is not an amount. Enter one such as 5 or 12.50", raw)
		}
		if err != nil {
			return fmt.Errorf("%q is not valid: %v. Enter an amount such as 5 or 12.50", raw, err)
		}
		*p = &a
		return nil
	}
	if p := countField(l, name); p != nil {
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n < 0 || n > MaxCount {
			return fmt.Errorf("%q is not a whole number of 0 or more. Enter one such as 60", raw)
		}
		*p = &n
		return nil
	}
	return fmt.Errorf("unknown limit %q", name)
}

// FormatLimit returns the limit of l named by its JSON name as a form
// shows it, or "" when it is unset. With withCurrency, amounts carry the
// currency ("$5.00"); without, they are plain decimals ("5.00").
func FormatLimit(l Limits, name, currency string, withCurrency bool) string {
	if p := amountField(&l, name); p != nil && *p != nil {
		if withCurrency {
			return (*p).Format(currency)
		}
		return (*p).String()
	}
	if p := countField(&l, name); p != nil && *p != nil {
		return strconv.FormatInt(**p, 10)
	}
	return ""
}

// LimitAbove reports whether the limit of l named by its JSON name is set
// and above the same limit of ceiling, where ceiling has one.
func LimitAbove(l, ceiling Limits, name string) bool {
	for _, f := range limitFields {
		if f.name != name {
			continue
		}
		v, most := f.get(l), f.get(ceiling)
		return v != nil && most != nil && *v > *most
	}
	return false
}
