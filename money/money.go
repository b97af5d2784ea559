// Package money holds exact amounts of money as integers.
//
// An Amount counts picounits (10^-12) of the deployment's currency. That
// unit is small enough that every catalog price, given per million tokens
// with at most six decimal places, is a whole number per single token: a
// price of 0.15 per million tokens is 150000 picounits per token. Amounts
// never pass through floating point.
package money

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Scale is the number of picounits in one unit of the currency.
const Scale = 1_000_000_000_000

// FractionDigits is the number of decimal places an Amount can represent.
const FractionDigits = 12

// Max is the largest amount this package parses: one million units of the
// currency. It keeps every sum of a few amounts far from int64 overflow
// (the int64 range ends at about 9.2 million units).
const Max Amount = 1_000_000 * Scale

// Amount is a quantity of money in picounits of the deployment's currency.
type Amount int64

// Errors returned by Parse. Callers wrap them with the field name.
var (
	ErrSyntax    = errors.New("not a decimal amount such as 5 or 12.50")
	ErrNegative  = errors.New("negative amount")
	ErrTooLarge  = errors.New("amount above 1000000")
	ErrPrecision = errors.New("more than 12 decimal places")
)

// Parse parses a plain decimal string such as "5", "12.50" or "0.000001".
// Exponents, signs other than a leading minus, spaces, "NaN" and "Inf" are
// rejected, as are negative amounts and amounts above Max.
func Parse(s string) (Amount, error) {
	if s == "" {
		return 0, ErrSyntax
	}
	if s[0] == '-' {
		if _, err := Parse(s[1:]); err == nil || errors.Is(err, ErrTooLarge) {
			return 0, ErrNegative
		}
		return 0, ErrSyntax
	}

	whole, frac, hasPoint := strings.Cut(s, ".")
	if whole == "" || (hasPoint && frac == "") || !digitsOnly(whole) || !digitsOnly(frac) {
		return 0, ErrSyntax
	}
	if len(frac) > FractionDigits {
		return 0, ErrPrecision
	}

	whole = strings.TrimLeft(whole, "0")
	if len(whole) > 7 {
		return 0, ErrTooLarge
	}
	units, _ := strconv.ParseInt("0"+whole, 10, 64)
	// Checked before scaling: 9,999,999 units would overflow int64 as
	// picounits and wrap around to a negative amount.
	if units > int64(Max/Scale) {
		return 0, ErrTooLarge
	}
	frac += strings.Repeat("0", FractionDigits-len(frac))
	picos, _ := strconv.ParseInt(frac, 10, 64)

	a := Amount(units*Scale + picos)
	if a > Max {
		return 0, ErrTooLarge
	}
	return a, nil
}

// ParseNumber parses a JSON number token, as json.Number holds it, with the
// same rules as Parse. A JSON number such as 1e3 is rejected: amounts must
// be written out in decimal.
func ParseNumber(n string) (Amount, error) {
	if strings.ContainsAny(n, "eE+") {
		return 0, ErrSyntax
	}
	return Parse(n)
}

func digitsOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String formats a as a decimal string with at least two decimal places and
// no trailing zeros beyond them: "5.00", "0.15", "0.00000015".
func (a Amount) String() string {
	sign := ""
	v := int64(a)
	if v < 0 {
		sign = "-"
		if v == math.MinInt64 {
			return "-9223372.036854775808"
		}
		v = -v
	}

	frac := fmt.Sprintf("%012d", v%Scale)
	frac = strings.TrimRight(frac, "0")
	for len(frac) < 2 {
		frac += "0"
	}
	return fmt.Sprintf("%s%d.%s", sign, v/Scale, frac)
}

// Format formats a for people, with the currency and thousands separated
// by commas: "$5.00" and "$10,000.00" for USD, "5.00 EUR" for others.
func (a Amount) Format(currency string) string {
	sign := ""
	if a < 0 {
		sign, a = "-", -a
	}
	whole, frac, _ := strings.Cut(a.String(), ".")
	text := groupThousands(whole) + "." + frac
	if currency == "USD" {
		return sign + "$" + text
	}
	return sign + text + " " + currency
}

// FormatCents formats a for people rounded to hundredths of the currency,
// half up, as pages show spend: "$0.41" for 0.405995. A nonzero amount
// that rounds to zero reads "less than $0.01", so spend never looks like
// none. Stored and API amounts stay exact.
func (a Amount) FormatCents(currency string) string {
	const cent = Scale / 100
	if a > 0 && a < cent/2 {
		return "less than " + Amount(cent).Format(currency)
	}
	rounded := (a + cent/2) / cent * cent
	if a < 0 {
		rounded = -((-a + cent/2) / cent * cent)
	}
	return rounded.Format(currency)
}

// groupThousands inserts a comma before every third digit from the right.
func groupThousands(digits string) string {
	if len(digits) <= 3 {
		return digits
	}
	var b strings.Builder
	head := len(digits) % 3
	if head > 0 {
		b.WriteString(digits[:head])
	}
	for i := head; i < len(digits); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}

// MulTokens returns the cost of n tokens at price picounits per token, and
// reports false when the product would overflow int64.
func MulTokens(price Amount, n int64) (Amount, bool) {
	if n < 0 || price < 0 {
		return 0, false
	}
	if n != 0 && int64(price) > math.MaxInt64/n {
		return 0, false
	}
	return Amount(int64(price) * n), true
}
