package demo

import (
	"reflect"
	"testing"
)

var hydraEnvTests = []struct {
	key  string
	want string
}{
	{"URLS_SELF_ISSUER", "http://127.0.0.1:4444"},
	{"URLS_LOGIN", "http://127.0.0.1:3000/login"},
	{"URLS_CONSENT", "http://127.0.0.1:3000/consent"},
	{"URLS_LOGOUT", "http://127.0.0.1:3000/logout"},
	{"URLS_POST_LOGOUT_REDIRECT", "http://127.0.0.1:5555/"},
	{"SERVE_PUBLIC_PORT", "4444"},
	{"SERVE_ADMIN_PORT", "4445"},
	{"SERVE_PUBLIC_HOST", "127.0.0.1"},
	{"SERVE_ADMIN_HOST", "127.0.0.1"},
	{"STRATEGIES_SCOPE", "exact"},
	{"STRATEGIES_ACCESS_TOKEN", "opaque"},
	{"OAUTH2_ALLOWED_TOP_LEVEL_CLAIMS", "authorization_details"},
	{"LOG_LEAK_SENSITIVE_VALUES", "false"},
	{"SQA_OPT_OUT", "true"},
}

func TestHydraEnvDefaultPorts(t *testing.T) {
	env := HydraEnv(DefaultPorts())

	for _, tt := range hydraEnvTests {
		t.Run(tt.key, func(t *testing.T) {
			if got, ok := env[tt.key]; !ok || got != tt.want {
				t.Errorf("HydraEnv(DefaultPorts())[%q] = %q (set: %v); want %q", tt.key, got, ok, tt.want)
			}
		})
	}
}

func TestHydraEnvLeavesOutCallerSettings(t *testing.T) {
	env := HydraEnv(DefaultPorts())

	for _, key := range []string{"DSN", "SECRETS_SYSTEM"} {
		if got, ok := env[key]; ok {
			t.Errorf("HydraEnv(DefaultPorts())[%q] = %q; want it unset, callers set it", key, got)
		}
	}
}

func TestHydraEnvOtherPorts(t *testing.T) {
	p := Ports{HydraPublic: 14444, HydraAdmin: 14445, App: 13000, DemoApp: 15555}
	env := HydraEnv(p)

	tests := map[string]string{
		"URLS_SELF_ISSUER":          "http://127.0.0.1:14444",
		"URLS_LOGIN":                "http://127.0.0.1:13000/login",
		"URLS_POST_LOGOUT_REDIRECT": "http://127.0.0.1:15555/",
		"SERVE_PUBLIC_PORT":         "14444",
		"SERVE_ADMIN_PORT":          "14445",
	}
	for key, want := range tests {
		if got := env[key]; got != want {
			t.Errorf("HydraEnv(%+v)[%q] = %q; want %q", p, key, got, want)
		}
	}
}

func TestExampleClient(t *testing.T) {
	got := ExampleClient(DefaultPorts(), "s3cret")
	want := Client{
		ClientID:                "example-app",
		ClientName:              "Example App",
		ClientSecret:            "s3cret",
		RedirectURIs:            []string{"http://127.0.0.1:5555/callback"},
		GrantTypes:              []string{"authorization_code", "refresh_token"},
		ResponseTypes:           []string{"code"},
		Scope:                   "openid offline_access ai:google:gemini-2.0-flash:chat",
		TokenEndpointAuthMethod: "client_secret_basic",
		LogoURI:                 "http://127.0.0.1:5555/logo.svg",
		ClientURI:               "http://127.0.0.1:5555/",
		PostLogoutRedirectURIs:  []string{"http://127.0.0.1:5555/"},
	}

	if !reflect.DeepEqual(got, want) {
		t.Errorf("ExampleClient(DefaultPorts(), %q) =\n%+v\nwant\n%+v", "s3cret", got, want)
	}
}
