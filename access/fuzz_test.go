package access

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aiconsent/aiconsent/money"
)

// encodeDetails writes details back as authorization_details JSON.
func encodeDetails(t *testing.T, details []Detail) []byte {
	t.Helper()
	var list []map[string]any
	for _, d := range details {
		m := map[string]any{"type": d.Type, "provider": d.Provider}
		if !d.AnyModel {
			m["models"] = d.Models
		}
		if len(d.Capabilities) > 0 {
			m["capabilities"] = d.Capabilities
		}
		if limits := encodeLimits(d.Limits); len(limits) > 0 {
			m["limits"] = limits
		}
		if !d.Expires.IsZero() {
			m["expires"] = d.Expires.Format(time.RFC3339Nano)
		}
		if d.Reason != "" {
			m["reason"] = d.Reason
		}
		list = append(list, m)
	}
	data, err := json.Marshal(list)
	if err != nil {
		t.Fatalf("json.Marshal(%+v) error = %v", details, err)
	}
	return data
}

func encodeLimits(l Limits) map[string]any {
	m := make(map[string]any)
	if l.Currency != "" {
		m["currency"] = l.Currency
	}
	for _, f := range limitFields {
		v := f.get(l)
		switch {
		case v == nil:
		case f.spend:
			m[f.name] = amountString(*v)
		default:
			m[f.name] = *v
		}
	}
	return m
}

func amountString(v int64) string {
	return money.Amount(v).String()
}

func FuzzParseDetails(f *testing.F) {
	for _, tt := range goodDetailsTests {
		f.Add([]byte(tt.raw))
	}
	for _, tt := range badDetailsTests {
		f.Add([]byte(tt.raw))
	}

	f.Fuzz(func(t *testing.T, raw []byte) {
		details, err := ParseDetails(raw, Policy{MaxDetails: DefaultMaxDetails}, nil)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeInvalidAuthorizationDetails || !strings.HasPrefix(e.Field, "authorization_details") {
				t.Fatalf("ParseDetails(%q) error = %#v; want *Error with code %q on authorization_details", raw, err, CodeInvalidAuthorizationDetails)
			}
			if !isPrintableASCII(e.Field) || !isPrintableASCII(e.Description) {
				t.Fatalf("ParseDetails(%q) error field, description = %q, %q; want printable ASCII", raw, e.Field, e.Description)
			}
			return
		}

		checkParsedDetails(t, raw, details)
		again, err := ParseDetails(encodeDetails(t, details), Policy{MaxDetails: DefaultMaxDetails}, nil)
		if err != nil {
			t.Fatalf("ParseDetails(re-encoded %q) error = %v; want nil", raw, err)
		}
		if !reflect.DeepEqual(again, details) {
			t.Fatalf("ParseDetails(re-encoded %q) =\n%+v\nwant\n%+v", raw, again, details)
		}
	})
}

func isPrintableASCII(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r > 0x7e })
}

// checkParsedDetails checks the guarantees of ParseDetails for accepted
// input.
func checkParsedDetails(t *testing.T, raw []byte, details []Detail) {
	t.Helper()
	if len(raw) > MaxDetailsBytes || len(details) < 1 || len(details) > DefaultMaxDetails {
		t.Fatalf("ParseDetails(%d bytes) accepted %d details; want at most %d bytes and 1 to %d details", len(raw), len(details), MaxDetailsBytes, DefaultMaxDetails)
	}
	for _, d := range details {
		if d.Type != DetailType || checkProviderID(d.Provider) != nil {
			t.Fatalf("ParseDetails(%q) type, provider = %q, %q; want valid", raw, d.Type, d.Provider)
		}
		if d.AnyModel != (len(d.Models) == 0) || len(d.Models) > MaxModels || len(d.Capabilities) > MaxCapabilities {
			t.Fatalf("ParseDetails(%q) AnyModel %v with %d models, %d capabilities", raw, d.AnyModel, len(d.Models), len(d.Capabilities))
		}
		if len(Distinct(d.Models)) != len(d.Models) || len(Distinct(d.Capabilities)) != len(d.Capabilities) {
			t.Fatalf("ParseDetails(%q) models %q, capabilities %q; want no duplicates", raw, d.Models, d.Capabilities)
		}
		for _, f := range limitFields {
			if v := f.get(d.Limits); v != nil && (*v < 0 || *v > f.max) {
				t.Fatalf("ParseDetails(%q) %s = %d; want 0 to %d", raw, f.name, *v, f.max)
			}
		}
	}
}

func FuzzParseScope(f *testing.F) {
	seeds := []string{
		"ai:openai:gpt-4o:chat", "ai:ollama:llama3.1:8b:chat", "ai:openai:*:*", "ai:", "ai:openai",
		"ai:openai:gpt-4o", "ai::m:c", "ai:*:m:c", "ai:a:b::c:d", "ai:a:\x00:c", "openid",
	}
	for _, s := range seeds {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, s string) {
		scope, err := ParseScope(s)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeInvalidScope || e.Field != scopeField(s) {
				t.Fatalf("ParseScope(%q) error = %#v; want *Error with code %q on %q", s, err, CodeInvalidScope, scopeField(s))
			}
			if !isPrintableASCII(e.Description) {
				t.Fatalf("ParseScope(%q) error description = %q; want printable ASCII", s, e.Description)
			}
			return
		}

		joined := ScopePrefix + scope.Provider + ":" + scope.Model + ":" + scope.Capability
		if scope.Raw != s || joined != s {
			t.Fatalf("ParseScope(%q) = %+v; its parts join to %q", s, scope, joined)
		}
		if checkProviderID(scope.Provider) != nil || strings.Contains(scope.Capability, ":") {
			t.Fatalf("ParseScope(%q) = %+v; want a valid provider and a capability without ':'", s, scope)
		}
		if scope.Model != AnyModel && checkModelID(scope.Model) != nil {
			t.Fatalf("ParseScope(%q) model %q is not a valid model id", s, scope.Model)
		}
		if again, err := ParseScope(joined); err != nil || again != scope {
			t.Fatalf("ParseScope(%q) = %+v, %v; want %+v", joined, again, err, scope)
		}
	})
}
