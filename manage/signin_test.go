package manage

import (
	"encoding/base64"
	"testing"
)

func TestLocalPath(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"grants", "/grants", "/grants"},
		{"admin with query", "/admin/grants?user=alice", "/admin/grants?user=alice"},
		{"other site", "https://evil.example/grants", "/grants"},
		{"scheme-relative", "//evil.example/grants", "/grants"},
		{"backslash", "/grants\\@evil.example", "/grants"},
		{"header injection", "/grants\r\nSet-Cookie: x=1", "/grants"},
		{"other local page", "/consent", "/grants"},
		{"empty", "", "/grants"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := localPath(base64.RawURLEncoding.EncodeToString([]byte(tt.in))); got != tt.want {
				t.Errorf("localPath(%q) = %q; want %q", tt.in, got, tt.want)
			}
		})
	}
	if got := localPath("%%%"); got != "/grants" {
		t.Errorf("localPath of invalid base64 = %q; want /grants", got)
	}
}

func TestPercent(t *testing.T) {
	tests := []struct {
		spent, limit int64
		want         int
	}{
		{0, 100, 0},
		{50, 100, 50},
		{100, 100, 100},
		{150, 100, 100},
		{1, 0, 100},
		{0, 0, 0},
		{999_999_999_999_999_999, 1_000_000_000_000_000_000, 99},
		{1, 3, 33},
	}
	for _, tt := range tests {
		if got := percent(tt.spent, tt.limit); got != tt.want {
			t.Errorf("percent(%d, %d) = %d; want %d", tt.spent, tt.limit, got, tt.want)
		}
	}
}
