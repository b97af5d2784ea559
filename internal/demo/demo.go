// Package demo holds the Hydra settings and the Example App's OAuth2 client
// that `make demo`, the tests and docker-compose.yml share, so all three run
// Hydra the same way.
//
// Every URL uses the host 127.0.0.1 because browsers treat 127.0.0.1 and
// localhost as different cookie sites: mixing them loses Hydra's session and
// CSRF cookies half-way through a flow.
package demo

import (
	"encoding/json"
	"strconv"
)

// Ports are the TCP ports on 127.0.0.1 of the programs in a demo or test.
type Ports struct {
	HydraPublic int // Hydra's public API: /oauth2/auth, /oauth2/token
	HydraAdmin  int // Hydra's admin API: clients, login and consent requests
	App         int // aiconsent, the login and consent app
	DemoApp     int // the Example App, a third-party OAuth2 client
}

// DefaultPorts returns the ports of `make demo` and docker-compose.yml.
func DefaultPorts() Ports {
	return Ports{HydraPublic: 4444, HydraAdmin: 4445, App: 3000, DemoApp: 5555}
}

// HydraPublicURL returns the base URL of Hydra's public API, which is also
// its issuer.
func (p Ports) HydraPublicURL() string { return localURL(p.HydraPublic) }

// HydraAdminURL returns the base URL of Hydra's admin API.
func (p Ports) HydraAdminURL() string { return localURL(p.HydraAdmin) }

// AppURL returns the base URL of aiconsent.
func (p Ports) AppURL() string { return localURL(p.App) }

// DemoAppURL returns the base URL of the Example App.
func (p Ports) DemoAppURL() string { return localURL(p.DemoApp) }

func localURL(port int) string {
	return "http://127.0.0.1:" + strconv.Itoa(port)
}

// HydraEnv returns the Hydra v2.3.0 settings, as environment variables,
// shared by `make demo`, the tests and docker-compose.yml. It leaves out
// the settings each caller makes itself: DSN and SECRETS_SYSTEM (the demo
// and the tests use an in-memory database and a fresh secret per start),
// and OAUTH2_TOKEN_HOOK (see TokenHook), whose URL and key depend on where
// aiconsent runs.
//
// Hydra must run with `serve all --dev` because the issuer is plain HTTP.
func HydraEnv(p Ports) map[string]string {
	return map[string]string{
		"URLS_SELF_ISSUER":          p.HydraPublicURL(),
		"URLS_LOGIN":                p.AppURL() + "/login",
		"URLS_CONSENT":              p.AppURL() + "/consent",
		"URLS_LOGOUT":               p.AppURL() + "/logout",
		"URLS_POST_LOGOUT_REDIRECT": p.DemoAppURL() + "/",

		"SERVE_PUBLIC_PORT": strconv.Itoa(p.HydraPublic),
		"SERVE_ADMIN_PORT":  strconv.Itoa(p.HydraAdmin),
		// Hydra listens on every interface when the host is empty. A
		// container needs that (docker-compose.yml sets 0.0.0.0), a
		// developer machine does not.
		"SERVE_PUBLIC_HOST": "127.0.0.1",
		"SERVE_ADMIN_HOST":  "127.0.0.1",

		// The default "wildcard" strategy splits scopes on '.', so a
		// registered ai:ollama:llama3.* would match
		// ai:ollama:llama3.1:8b:chat. With "exact" a client may request
		// only the scopes on its record, character for character.
		"STRATEGIES_SCOPE":        "exact",
		"STRATEGIES_ACCESS_TOKEN": "opaque",
		// Hydra v2.3.0 reads a list setting from an environment variable
		// as comma-separated values or a JSON array (ory/x configx). The
		// claim is lifted to the top level of JWT access tokens and stays
		// under "ext" as well.
		"OAUTH2_ALLOWED_TOP_LEVEL_CLAIMS": "authorization_details",

		// At "info" Hydra logs two lines per HTTP request and one per
		// migration, which buries the demo's own output. Tests can raise it
		// through hydratest.Options.Env.
		"LOG_LEVEL":                 "warn",
		"LOG_LEAK_SENSITIVE_VALUES": "false",

		// Without it Hydra sends usage reports to Ory over the internet.
		"SQA_OPT_OUT": "true",
	}
}

// TokenHook returns Hydra's OAUTH2_TOKEN_HOOK setting: Hydra calls hookURL
// before it issues or refreshes a token and sends apiKey in the named
// header. It is one JSON value because Hydra v2.3.0 silently ignores the
// split OAUTH2_TOKEN_HOOK_AUTH_* variables and calls the hook without the
// key.
func TokenHook(hookURL, header, apiKey string) string {
	setting := map[string]any{
		"url": hookURL,
		"auth": map[string]any{
			"type":   "api_key",
			"config": map[string]any{"in": "header", "name": header, "value": apiKey},
		},
	}
	data, _ := json.Marshal(setting) // cannot fail: only strings and maps
	return string(data)
}
