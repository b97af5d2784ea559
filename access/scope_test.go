package access

import "testing"

func TestParseScope(t *testing.T) {
	tests := []struct {
		in   string
		want Scope
	}{
		{"ai:openai:gpt-4o:chat", Scope{Raw: "ai:openai:gpt-4o:chat", Provider: "openai", Model: "gpt-4o", Capability: "chat"}},
		{"ai:openai:*:*", Scope{Raw: "ai:openai:*:*", Provider: "openai", Model: "*", Capability: "*"}},
		{"ai:openai:gpt-4o:*", Scope{Raw: "ai:openai:gpt-4o:*", Provider: "openai", Model: "gpt-4o", Capability: "*"}},
		{"ai:ollama:llama3.1:8b:chat", Scope{Raw: "ai:ollama:llama3.1:8b:chat", Provider: "ollama", Model: "llama3.1:8b", Capability: "chat"}},
		{
			"ai:bedrock:anthropic.claude-3-5-sonnet-20240620-v1:0:chat",
			Scope{Raw: "ai:bedrock:anthropic.claude-3-5-sonnet-20240620-v1:0:chat", Provider: "bedrock", Model: "anthropic.claude-3-5-sonnet-20240620-v1:0", Capability: "chat"},
		},
	}
	for _, tt := range tests {
		got, err := ParseScope(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseScope(%q) = %+v, %v; want %+v, nil", tt.in, got, err, tt.want)
		}
	}
}

func TestParseScopeRejects(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"prefix only", "ai:"},
		{"provider only", "ai:openai"},
		{"no capability", "ai:openai:gpt-4o"},
		{"empty provider", "ai::m:c"},
		{"star provider", "ai:*:m:c"},
		{"empty model", "ai:openai::chat"},
		{"empty capability", "ai:openai:gpt-4o:"},
		{"empty model segment", "ai:ollama:llama3.1::8b:chat"},
		{"model pattern", "ai:openai:gpt-4*:chat"},
		{"uppercase provider", "ai:OpenAI:gpt-4o:chat"},
		{"uppercase capability", "ai:openai:gpt-4o:Chat"},
		{"other prefix", "openid"},
		{"uppercase prefix", "AI:openai:gpt-4o:chat"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseScope(tt.in)
			if err == nil {
				t.Fatalf("ParseScope(%q) = %+v, nil; want error", tt.in, got)
			}
			checkError(t, err, CodeInvalidScope, scopeField(tt.in))
		})
	}
}

func TestIsAIScope(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"ai:openai:gpt-4o:chat", true},
		{"ai:", true},
		{"openid", false},
		{"AI:openai:*:*", false},
		{"email", false},
	}
	for _, tt := range tests {
		if got := IsAIScope(tt.in); got != tt.want {
			t.Errorf("IsAIScope(%q) = %v; want %v", tt.in, got, tt.want)
		}
	}
}
