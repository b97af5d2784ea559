package money

import (
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    Amount
		wantErr error
	}{
		{"5", 5 * Scale, nil},
		{"12.50", 12*Scale + Scale/2, nil},
		{"0.15", 150_000_000_000, nil},
		{"0.000000000001", 1, nil},
		{"000.10", Scale / 10, nil},
		{"1000000", Max, nil},
		{"1000000.000000000001", 0, ErrTooLarge},
		{"99999999", 0, ErrTooLarge},
		// Found by FuzzParse: 7 digits scaled to picounits overflowed int64.
		{"9227000", 0, ErrTooLarge},
		{"9999999.999999999999", 0, ErrTooLarge},
		{"1000001", 0, ErrTooLarge},
		{"-1", 0, ErrNegative},
		{"-0.5", 0, ErrNegative},
		{"0.0000000000001", 0, ErrPrecision},
		{"", 0, ErrSyntax},
		{".5", 0, ErrSyntax},
		{"5.", 0, ErrSyntax},
		{"1e3", 0, ErrSyntax},
		{"NaN", 0, ErrSyntax},
		{"Inf", 0, ErrSyntax},
		{" 5", 0, ErrSyntax},
		{"+5", 0, ErrSyntax},
		{"1,000", 0, ErrSyntax},
		{"--1", 0, ErrSyntax},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if !errors.Is(err, tt.wantErr) || got != tt.want {
			t.Errorf("Parse(%q) = %d, %v; want %d, %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseNumberRejectsExponent(t *testing.T) {
	for _, in := range []string{"1e2", "1E2", "1.5e+3"} {
		if _, err := ParseNumber(in); !errors.Is(err, ErrSyntax) {
			t.Errorf("ParseNumber(%q) error = %v; want %v", in, err, ErrSyntax)
		}
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		in   Amount
		want string
	}{
		{0, "0.00"},
		{5 * Scale, "5.00"},
		{Scale / 10, "0.10"},
		{150_000, "0.00000015"},
		{1, "0.000000000001"},
		{Max, "1000000.00"},
		{-Scale, "-1.00"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("Amount(%d).String() = %q; want %q", int64(tt.in), got, tt.want)
		}
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		in       Amount
		currency string
		want     string
	}{
		{5 * Scale, "USD", "$5.00"},
		{999 * Scale, "USD", "$999.00"},
		{1000 * Scale, "USD", "$1,000.00"},
		{10000 * Scale, "USD", "$10,000.00"},
		{Max, "USD", "$1,000,000.00"},
		{150_000, "USD", "$0.00000015"},
		{-1234 * Scale, "USD", "-$1,234.00"},
		{2500 * Scale, "EUR", "2,500.00 EUR"},
	}
	for _, tt := range tests {
		if got := tt.in.Format(tt.currency); got != tt.want {
			t.Errorf("Amount(%d).Format(%q) = %q; want %q", int64(tt.in), tt.currency, got, tt.want)
		}
	}
}

func TestFormatCents(t *testing.T) {
	tests := []struct {
		in   Amount
		want string
	}{
		{0, "$0.00"},
		{405_995_000_000, "$0.41"},
		{404_999_999_999, "$0.40"},
		{5 * Scale, "$5.00"},
		{4_999_999_999, "less than $0.01"},
		{5_000_000_000, "$0.01"},
		{1234567 * Scale / 1000, "$1,234.57"},
	}
	for _, tt := range tests {
		if got := tt.in.FormatCents("USD"); got != tt.want {
			t.Errorf("Amount(%d).FormatCents(USD) = %q; want %q", int64(tt.in), got, tt.want)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for _, s := range []string{"0.00", "5.00", "0.15", "0.00000015", "123456.789012345678", "1000000.00"} {
		a, err := Parse(s)
		if err != nil {
			if errors.Is(err, ErrPrecision) {
				continue
			}
			t.Fatalf("Parse(%q): %v", s, err)
		}
		b, err := Parse(a.String())
		if err != nil || b != a {
			t.Errorf("Parse(Parse(%q).String()) = %d, %v; want %d", s, b, err, a)
		}
	}
}

func TestMulTokens(t *testing.T) {
	tests := []struct {
		price Amount
		n     int64
		want  Amount
		ok    bool
	}{
		{150_000, 1_000_000, 150_000_000_000, true},
		{0, 5, 0, true},
		{1 << 62, 4, 0, false},
		{-1, 1, 0, false},
		{1, -1, 0, false},
	}
	for _, tt := range tests {
		got, ok := MulTokens(tt.price, tt.n)
		if got != tt.want || ok != tt.ok {
			t.Errorf("MulTokens(%d, %d) = %d, %v; want %d, %v", tt.price, tt.n, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"5", "0.15", "-1", "1e3", "1000000.000000000001", "00.000000000001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := Parse(s)
		if err != nil {
			return
		}
		if a < 0 || a > Max {
			t.Fatalf("Parse(%q) = %d, outside 0..Max", s, a)
		}
		b, err := Parse(a.String())
		if err != nil || b != a {
			t.Fatalf("Parse(%q) = %d, but its String %q parses to %d, %v", s, a, a.String(), b, err)
		}
	})
}
