package main

import (
	"strings"
	"testing"
)

func TestCodeChallenge(t *testing.T) {
	tests := []struct {
		name     string
		verifier string
		want     string
	}{
		// RFC 7636, Appendix B.
		{"RFC 7636 example", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"},
		{"empty verifier", "", "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := codeChallenge(tt.verifier); got != tt.want {
				t.Errorf("codeChallenge(%q) = %q; want %q", tt.verifier, got, tt.want)
			}
		})
	}
}

func TestNewFlow(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		f := newFlow()

		for _, token := range []string{f.state, f.verifier} {
			if len(token) != 43 || strings.ContainsAny(token, "+/=.") {
				t.Fatalf("newFlow() token %q has length %d; want 43 base64url characters", token, len(token))
			}
			if seen[token] {
				t.Fatalf("newFlow() returned %q twice", token)
			}
			seen[token] = true
		}
	}
}

func TestFlowCookieRoundTrip(t *testing.T) {
	want := newFlow()

	got, ok := parseFlowCookie(want.cookieValue())
	if !ok || got != want {
		t.Errorf("parseFlowCookie(%q) = %+v, %v; want %+v, true", want.cookieValue(), got, ok, want)
	}
}

var parseFlowCookieTests = []struct {
	name  string
	value string
}{
	{"empty", ""},
	{"no separator", strings.Repeat("a", 86)},
	{"state only", strings.Repeat("a", 43) + "."},
	{"verifier only", "." + strings.Repeat("a", 43)},
	{"short state", strings.Repeat("a", 42) + "." + strings.Repeat("a", 43)},
	{"long verifier", strings.Repeat("a", 43) + "." + strings.Repeat("a", 44)},
	{"three parts", strings.Repeat("a", 43) + "." + strings.Repeat("a", 43) + ".x"},
	{"not base64url", strings.Repeat("a", 42) + "+" + "." + strings.Repeat("a", 43)},
}

func TestParseFlowCookieRejects(t *testing.T) {
	for _, tt := range parseFlowCookieTests {
		t.Run(tt.name, func(t *testing.T) {
			if got, ok := parseFlowCookie(tt.value); ok {
				t.Errorf("parseFlowCookie(%q) = %+v, true; want false", tt.value, got)
			}
		})
	}
}

func TestSameState(t *testing.T) {
	state := newFlow().state
	tests := []struct {
		name      string
		got, want string
		same      bool
	}{
		{"equal", state, state, true},
		{"different", state, newFlow().state, false},
		{"prefix", state[:20], state, false},
		{"missing from callback", "", state, false},
		{"both empty", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sameState(tt.got, tt.want); got != tt.same {
				t.Errorf("sameState(%q, %q) = %v; want %v", tt.got, tt.want, got, tt.same)
			}
		})
	}
}
