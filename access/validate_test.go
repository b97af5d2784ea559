package access

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func detailsRequest(raw string) AuthorizationRequest {
	return AuthorizationRequest{AuthorizationDetails: []byte(raw)}
}

func TestNewRequest(t *testing.T) {
	tests := []struct {
		name  string
		raw   string // authorization_details, "" for none
		scope []string
		want  *Request
	}{
		{
			name: "details with capabilities filled in",
			raw:  `[{"type":"ai_model_access","provider":"openai","models":["text-embedding-3-small","o3-mini"],"limits":{"daily_spend":"5","currency":"USD"},"reason":"Search"}]`,
			want: &Request{Details: []Detail{{
				Type: DetailType, Provider: "openai", Models: []string{"text-embedding-3-small", "o3-mini"},
				Capabilities: []string{"chat", "tools", "embeddings"},
				Limits:       Limits{Currency: "USD", DailySpend: amount("5")}, Reason: "Search",
			}}},
		},
		{
			name: "any model gets every capability",
			raw:  `[{"type":"ai_model_access","provider":"anthropic"}]`,
			want: &Request{Details: []Detail{{
				Type: DetailType, Provider: "anthropic", AnyModel: true,
				Capabilities: []string{"chat", "vision", "tools"}, Limits: Limits{Currency: "USD"},
			}}},
		},
		{
			name:  "scopes with colons in model ids",
			scope: []string{"openid", "ai:ollama:llama3.1:8b:chat", "offline_access", "ai:ollama:nomic-embed-text:*"},
			want: &Request{
				Details: []Detail{{
					Type: DetailType, Provider: "ollama", Models: []string{"llama3.1:8b", "nomic-embed-text"},
					Capabilities: []string{"chat", "embeddings"}, Limits: Limits{Currency: "USD"},
				}},
				AIScopes: []Scope{
					{Raw: "ai:ollama:llama3.1:8b:chat", Provider: "ollama", Model: "llama3.1:8b", Capability: "chat"},
					{Raw: "ai:ollama:nomic-embed-text:*", Provider: "ollama", Model: "nomic-embed-text", Capability: "*"},
				},
				OtherScopes: []string{"openid", "offline_access"},
			},
		},
		{
			name: "details and scopes merged per provider",
			raw: `[{"type":"ai_model_access","provider":"openai","models":["gpt-4o"],"capabilities":["chat"],` +
				`"limits":{"daily_spend":"5","monthly_spend":"50","requests_per_minute":10},"expires":"2026-06-01T00:00:00Z","reason":"Chat"},` +
				`{"type":"ai_model_access","provider":"google","models":["gemini-2.0-flash"],"capabilities":["audio"]},` +
				`{"type":"ai_model_access","provider":"openai","models":["gpt-4o-mini","gpt-4o"],"capabilities":["vision"],` +
				`"limits":{"daily_spend":"2","total_spend":"100","requests_per_minute":20},"expires":"2026-05-01T00:00:00Z","reason":"Images"}]`,
			scope: []string{"ai:openai:o3-mini:tools", "ai:google:*:chat", "ai:openai:o3-mini:tools", "openid"},
			want: &Request{
				Details: []Detail{
					{
						Type: DetailType, Provider: "openai", Models: []string{"gpt-4o", "gpt-4o-mini", "o3-mini"},
						Capabilities: []string{"chat", "vision", "tools"},
						Limits: Limits{Currency: "USD", DailySpend: amount("2"), MonthlySpend: amount("50"), TotalSpend: amount("100"),
							RequestsPerMinute: count(10)},
						Expires: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC),
						Reason:  "Chat\nImages",
					},
					{
						Type: DetailType, Provider: "google", AnyModel: true,
						Capabilities: []string{"audio", "chat"}, Limits: Limits{Currency: "USD"},
					},
				},
				AIScopes: []Scope{
					{Raw: "ai:openai:o3-mini:tools", Provider: "openai", Model: "o3-mini", Capability: "tools"},
					{Raw: "ai:google:*:chat", Provider: "google", Model: "*", Capability: "chat"},
				},
				OtherScopes: []string{"openid"},
			},
		},
		{
			name:  "only standard scopes",
			scope: []string{"openid", "email"},
			want:  &Request{OtherScopes: []string{"openid", "email"}},
		},
	}
	c := DefaultCatalog()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ar AuthorizationRequest
			if tt.raw != "" {
				ar = detailsRequest(tt.raw)
			}
			got, err := c.NewRequest(ar, tt.scope, testNow)
			if err != nil {
				t.Fatalf("NewRequest(%s, %q) error = %v; want nil", tt.raw, tt.scope, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("NewRequest(%s, %q) =\n%+v\nwant\n%+v", tt.raw, tt.scope, got, tt.want)
			}
		})
	}
}

func TestNewRequestPrompt(t *testing.T) {
	r, err := DefaultCatalog().NewRequest(AuthorizationRequest{Prompt: "consent"}, nil, testNow)
	if err != nil || r.Prompt != "consent" {
		t.Errorf("NewRequest(prompt consent) = %+v, %v; want Prompt %q", r, err, "consent")
	}
}

func TestNewRequestRejects(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		scope   []string
		code    string
		field   string
		mention string // a word the description must contain
	}{
		{
			name: "unknown provider", raw: `[{"type":"ai_model_access","provider":"mistral"}]`,
			code: CodeInvalidAuthorizationDetails, field: "authorization_details[0].provider", mention: `"openai", "anthropic", "google", "ollama"`,
		},
		{
			name: "unknown model", raw: `[{"type":"ai_model_access","provider":"openai","models":["gpt-4o","gpt-5"]}]`,
			code: CodeInvalidAuthorizationDetails, field: "authorization_details[0].models", mention: `"gpt-5"`,
		},
		{
			name: "model of another provider", raw: `[{"type":"ai_model_access","provider":"openai","models":["gemini-1.5-pro"]}]`,
			code: CodeInvalidAuthorizationDetails, field: "authorization_details[0].models", mention: `"gemini-1.5-pro"`,
		},
		{
			name: "unknown capability", raw: `[{"type":"ai_model_access","provider":"openai","capabilities":["teleport"]}]`,
			code: CodeInvalidAuthorizationDetails, field: "authorization_details[0].capabilities", mention: `"teleport"`,
		},
		{
			name: "capability not offered by models", raw: `[{"type":"ai_model_access","provider":"openai","models":["gpt-4o"],"capabilities":["embeddings"]}]`,
			code: CodeInvalidAuthorizationDetails, field: "authorization_details[0].capabilities", mention: `"gpt-4o"`,
		},
		{
			name: "other currency", raw: `[{"type":"ai_model_access","provider":"openai","limits":{"currency":"EUR","daily_spend":"5"}}]`,
			code: CodeInvalidAuthorizationDetails, field: "authorization_details[0].limits.currency", mention: "exchange rate",
		},
		{
			name: "expired expires", raw: `[{"type":"ai_model_access","provider":"openai","expires":"2026-03-01T11:59:59Z"}]`,
			code: CodeInvalidAuthorizationDetails, field: "authorization_details[0].expires", mention: "future",
		},
		{
			name: "expires now", raw: `[{"type":"ai_model_access","provider":"openai","expires":"2026-03-01T12:00:00Z"}]`,
			code: CodeInvalidAuthorizationDetails, field: "authorization_details[0].expires", mention: "future",
		},
		{
			name: "extra type not configured", raw: `[{"type":"https://example.com/ai","provider":"openai"}]`,
			code: CodeInvalidAuthorizationDetails, field: "authorization_details[0].type", mention: "byte for byte",
		},
		{
			name: "syntax error in details", raw: `[{"type":"ai_model_access"}]`,
			code: CodeInvalidAuthorizationDetails, field: "authorization_details[0].provider", mention: "missing",
		},
		{name: "scope prefix only", scope: []string{"ai:"}, code: CodeInvalidScope, field: `scope "ai:"`},
		{name: "scope provider only", scope: []string{"ai:openai"}, code: CodeInvalidScope, field: `scope "ai:openai"`},
		{name: "scope without capability", scope: []string{"ai:openai:gpt-4o"}, code: CodeInvalidScope, field: `scope "ai:openai:gpt-4o"`},
		{name: "scope empty provider", scope: []string{"ai::m:c"}, code: CodeInvalidScope, field: `scope "ai::m:c"`},
		{name: "scope star provider", scope: []string{"ai:*:m:c"}, code: CodeInvalidScope, field: `scope "ai:*:m:c"`},
		{
			name: "scope unknown provider", scope: []string{"openid", "ai:mistral:*:*"},
			code: CodeInvalidScope, field: `scope "ai:mistral:*:*"`, mention: `provider "mistral"`,
		},
		{
			name: "scope unknown model", scope: []string{"ai:ollama:llama3.1:70b:chat"},
			code: CodeInvalidScope, field: `scope "ai:ollama:llama3.1:70b:chat"`, mention: `model "llama3.1:70b"`,
		},
		{
			name: "scope capability not offered", scope: []string{"ai:openai:text-embedding-3-small:chat"},
			code: CodeInvalidScope, field: `scope "ai:openai:text-embedding-3-small:chat"`, mention: `capability "chat"`,
		},
		{
			name: "scope unknown capability", scope: []string{"ai:openai:*:teleport"},
			code: CodeInvalidScope, field: `scope "ai:openai:*:teleport"`, mention: `capability "teleport"`,
		},
	}
	c := DefaultCatalog()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ar AuthorizationRequest
			if tt.raw != "" {
				ar = detailsRequest(tt.raw)
			}
			got, err := c.NewRequest(ar, tt.scope, testNow)
			if err == nil {
				t.Fatalf("NewRequest(%s, %q) = %+v, nil; want error", tt.raw, tt.scope, got)
			}
			checkError(t, err, tt.code, tt.field)
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("NewRequest(%s, %q) error = %q; want it to mention %q", tt.raw, tt.scope, err, tt.mention)
			}
		})
	}
}

func TestNewRequestTooManyProviders(t *testing.T) {
	c := DefaultCatalog()
	c.Policy.MaxDetails = 2

	raw := `[{"type":"ai_model_access","provider":"openai"},{"type":"ai_model_access","provider":"google"}]`
	mixed := []string{"ai:openai:gpt-4o:chat", "ai:ollama:*:chat"}
	_, err := c.NewRequest(detailsRequest(raw), mixed, testNow)
	if err == nil {
		t.Fatalf("NewRequest(%s, %q, MaxDetails 2) error = nil; want error", raw, mixed)
	}
	checkError(t, err, CodeInvalidAuthorizationDetails, "authorization_details")
	if !strings.Contains(err.Error(), "at most 2") {
		t.Errorf("NewRequest(%s, %q) error = %q; want it to mention %q", raw, mixed, err, "at most 2")
	}

	scope := []string{"ai:openai:*:*", "ai:google:*:*", "ai:ollama:*:*"}
	_, err = c.NewRequest(AuthorizationRequest{}, scope, testNow)
	if err == nil {
		t.Fatalf("NewRequest(%q, MaxDetails 2) error = nil; want error", scope)
	}
	checkError(t, err, CodeInvalidScope, "scope")

	merged := []string{"ai:openai:gpt-4o:chat", "ai:openai:o3-mini:chat", "ai:google:*:*"}
	if _, err := c.NewRequest(AuthorizationRequest{}, merged, testNow); err != nil {
		t.Errorf("NewRequest(%q, MaxDetails 2) error = %v; want nil, as two providers remain after merging", merged, err)
	}
}

func TestNewRequestDetailTypes(t *testing.T) {
	c := DefaultCatalog()
	c.Policy.DetailTypes = []string{"https://example.com/ai"}
	tests := []struct {
		name   string
		typ    string
		wantOK bool
	}{
		{"admin type", "https://example.com/ai", true},
		{"admin type other case", "https://example.com/AI", false},
		{"admin type with slash", "https://example.com/ai/", false},
		{"standard type", DetailType, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := `[{"type":"` + tt.typ + `","provider":"openai"}]`
			r, err := c.NewRequest(detailsRequest(raw), nil, testNow)
			if gotOK := err == nil; gotOK != tt.wantOK {
				t.Fatalf("NewRequest(%s) error = %v; want success %v", raw, err, tt.wantOK)
			}
			if err != nil {
				checkError(t, err, CodeInvalidAuthorizationDetails, "authorization_details[0].type")
				return
			}
			if r.Details[0].Type != tt.typ {
				t.Errorf("NewRequest(%s) type = %q; want %q", raw, r.Details[0].Type, tt.typ)
			}
		})
	}
}

func TestNewRequestMergeKeepsFirstType(t *testing.T) {
	c := DefaultCatalog()
	c.Policy.DetailTypes = []string{"https://example.com/ai"}
	raw := `[{"type":"https://example.com/ai","provider":"openai","models":["gpt-4o"]}]`
	r, err := c.NewRequest(detailsRequest(raw), []string{"ai:openai:o3-mini:chat"}, testNow)
	if err != nil {
		t.Fatalf("NewRequest(%s) error = %v", raw, err)
	}
	if got := r.Details[0].Type; got != "https://example.com/ai" {
		t.Errorf("merged type = %q; want the first, %q", got, "https://example.com/ai")
	}
}

func TestNewRequestUnlistedModels(t *testing.T) {
	c := DefaultCatalog()
	raw := `[{"type":"ai_model_access","provider":"openai","models":["gpt-5"],"capabilities":["chat"]}]`
	scope := []string{"ai:ollama:qwen2.5:7b:chat"}

	if _, err := c.NewRequest(detailsRequest(raw), nil, testNow); err == nil {
		t.Errorf("NewRequest(%s) without AllowUnlistedModels error = nil; want error", raw)
	}

	c.Policy.AllowUnlistedModels = true
	r, err := c.NewRequest(detailsRequest(raw), scope, testNow)
	if err != nil {
		t.Fatalf("NewRequest(%s, %q) with AllowUnlistedModels error = %v; want nil", raw, scope, err)
	}
	want := []Detail{
		{Type: DetailType, Provider: "openai", Models: []string{"gpt-5"}, Capabilities: []string{"chat"}, Limits: Limits{Currency: "USD"}},
		{Type: DetailType, Provider: "ollama", Models: []string{"qwen2.5:7b"}, Capabilities: []string{"chat"}, Limits: Limits{Currency: "USD"}},
	}
	if !reflect.DeepEqual(r.Details, want) {
		t.Errorf("NewRequest details =\n%+v\nwant\n%+v", r.Details, want)
	}

	unknownProvider := `[{"type":"ai_model_access","provider":"mistral","models":["large"]}]`
	if _, err := c.NewRequest(detailsRequest(unknownProvider), nil, testNow); err == nil {
		t.Errorf("NewRequest(%s) with AllowUnlistedModels error = nil; want unknown provider", unknownProvider)
	}
	unknownCapability := `[{"type":"ai_model_access","provider":"openai","models":["gpt-5"],"capabilities":["teleport"]}]`
	if _, err := c.NewRequest(detailsRequest(unknownCapability), nil, testNow); err == nil {
		t.Errorf("NewRequest(%s) with AllowUnlistedModels error = nil; want unknown capability", unknownCapability)
	}
}
