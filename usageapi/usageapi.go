// Package usageapi serves the usage API to resource servers, such as an AI
// gateway, over HTTP with JSON. Before each AI call a resource server
// reserves the worst-case cost on a grant, and after it settles the real
// cost or releases the hold (see package usage). The package also serves an
// RFC 7662 introspection endpoint that adds the grant's current details and
// usage to Hydra's response, the RFC 9728 protected-resource metadata, and an
// index document of the endpoints and the catalog.
//
// Endpoints, relative to the app's base URL:
//
//	GET  /usage/v1                                   index: endpoints, catalog (public)
//	GET  /.well-known/oauth-protected-resource       RFC 9728 metadata (public)
//	POST /usage/v1/reservations                      reserve
//	POST /usage/v1/reservations/{id}/settle          settle with the real usage
//	POST /usage/v1/reservations/{id}/release         release an unused hold
//	GET  /usage/v1/grants/{grant_id}                 usage report of a grant
//	POST /usage/v1/introspect                        RFC 7662 introspection with usage
//
// Every endpoint but the two public ones requires a resource-server key,
// sent as "Authorization: Bearer <key>" or as the password of HTTP Basic
// authentication with the resource server's name as the user. Errors are
// JSON objects {"error": "<reason>", "error_description": "..."} with the
// statuses listed at statusOf.
package usageapi

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aiconsent/aiconsent/access"
	"github.com/aiconsent/aiconsent/usage"
)

// Paths of the API, in echo's route syntax.
const (
	PathIndex        = "/usage/v1"
	PathReservations = "/usage/v1/reservations"
	PathSettle       = "/usage/v1/reservations/:id/settle"
	PathRelease      = "/usage/v1/reservations/:id/release"
	PathGrantUsage   = "/usage/v1/grants/:id"
	PathIntrospect   = "/usage/v1/introspect"
	PathMetadata     = "/.well-known/oauth-protected-resource"
)

// PathPrefix is the prefix of every path that takes a resource-server key.
// Those requests carry no cookies, so browser CSRF protection must skip
// them (web.Options.APIPrefixes).
const PathPrefix = "/usage/"

// MinKeyLength is the shortest resource-server key accepted: 24 characters
// of the key alphabet carry at least 128 bits when drawn at random.
const MinKeyLength = 24

// maxKeyLength bounds keys so that a configuration mistake, such as a
// pasted file, is caught at start-up.
const maxKeyLength = 256

// ResourceServer is a resource server allowed to use the API.
type ResourceServer struct {
	// Name identifies the resource server in logs and as the user name of
	// HTTP Basic authentication. It is not secret.
	Name string

	// Key is the secret the resource server sends. It is compared in
	// constant time and never logged.
	Key string
}

// Handler serves the usage API. Set its fields, then call Register once;
// the fields must not change afterwards.
type Handler struct {
	// Store records reservations and spend. Required.
	Store usage.Store

	// Catalog prices token counts and is listed in the index document.
	// Required.
	Catalog *access.Catalog

	// ResourceServers are the callers allowed to use the API. At least one
	// is required.
	ResourceServers []ResourceServer

	// HydraAdminURL is the base URL of Hydra's admin API, used to
	// introspect access tokens. Required.
	HydraAdminURL *url.URL

	// HTTPClient calls Hydra. Nil means a client with a 10-second timeout.
	HTTPClient *http.Client

	// PublicURL is this app's base URL as resource servers reach it. It is
	// the resource identifier of the RFC 9728 metadata and the base of the
	// URLs in the index document. Nil means the scheme and host of each
	// request.
	PublicURL *url.URL

	// AuthorizationServers are the issuer URLs of the authorization server
	// (Hydra's public URL) listed in the RFC 9728 metadata.
	AuthorizationServers []string

	// HoldTTL is the hold lifetime of the usage.Expirer the server runs,
	// published in the index document. Zero means usage.DefaultHoldTTL.
	HoldTTL time.Duration

	// Now is the clock. Nil means time.Now.
	Now func() time.Time

	// Log receives refusals, authentication failures and internal errors.
	// Nil means slog.Default().
	Log *slog.Logger

	keys []serverKey
}

// serverKey is a resource server with the SHA-256 digest of its key, so
// that comparisons take the same time for keys of every length.
type serverKey struct {
	name   string
	digest [sha256.Size]byte
}

// Register adds the API's routes to e. It panics when a required field is
// missing or a resource server is invalid, because that is a programming
// or configuration error that ParseResourceServers reports at start-up.
func (h *Handler) Register(e *echo.Echo) {
	if err := h.init(); err != nil {
		panic("usageapi: " + err.Error())
	}

	e.GET(PathIndex, h.index)
	e.GET(PathMetadata, h.metadata)

	auth := h.authenticate
	e.POST(PathReservations, h.reserve, auth)
	e.POST(PathSettle, h.settle, auth)
	e.POST(PathRelease, h.release, auth)
	e.GET(PathGrantUsage, h.grantUsage, auth)
	e.POST(PathIntrospect, h.introspect, auth)
}

func (h *Handler) init() error {
	switch {
	case h.Store == nil:
		return errors.New("Handler.Store is nil")
	case h.Catalog == nil:
		return errors.New("Handler.Catalog is nil")
	case h.HydraAdminURL == nil:
		return errors.New("Handler.HydraAdminURL is nil")
	case len(h.ResourceServers) == 0:
		return errors.New("Handler.ResourceServers is empty; configure at least one resource server")
	}
	if h.Now == nil {
		h.Now = time.Now
	}
	if h.Log == nil {
		h.Log = slog.Default()
	}
	if h.HTTPClient == nil {
		h.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}

	h.keys = nil
	for i, rs := range h.ResourceServers {
		if err := checkResourceServer(rs); err != nil {
			return fmt.Errorf("resource server %d: %w", i+1, err)
		}
		h.keys = append(h.keys, serverKey{name: rs.Name, digest: sha256.Sum256([]byte(rs.Key))})
	}
	return nil
}

var (
	serverNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	keyPattern        = regexp.MustCompile(`^[A-Za-z0-9._~+/=-]+$`)
)

func checkResourceServer(rs ResourceServer) error {
	switch {
	case !serverNamePattern.MatchString(rs.Name):
		return fmt.Errorf("name %q is invalid; use 1 to 64 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit", rs.Name)
	case len(rs.Key) < MinKeyLength || len(rs.Key) > maxKeyLength:
		return fmt.Errorf("the key of %q has %d characters; use %d to %d random characters, for example from: openssl rand -hex 32", rs.Name, len(rs.Key), MinKeyLength, maxKeyLength)
	case !keyPattern.MatchString(rs.Key):
		return fmt.Errorf("the key of %q contains a character other than letters, digits and . _ ~ + / = -", rs.Name)
	}
	return nil
}

// ParseResourceServers parses resource servers written as comma-separated
// name:key pairs, such as "gateway:3f9c...,batch:8e1a...", the form of a
// single environment variable. Errors name the entry but never show a key.
func ParseResourceServers(s string) ([]ResourceServer, error) {
	var servers []ResourceServer
	for i, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		name, key, ok := strings.Cut(entry, ":")
		if !ok || entry == "" {
			return nil, fmt.Errorf("resource server %d is not written as name:key; write entries such as gateway:<key>, separated by commas", i+1)
		}

		rs := ResourceServer{Name: name, Key: key}
		if err := checkResourceServer(rs); err != nil {
			return nil, fmt.Errorf("resource server %d: %w", i+1, err)
		}
		for _, other := range servers {
			if other.Name == name {
				return nil, fmt.Errorf("resource server %d: name %q is used twice; give each resource server its own name", i+1, name)
			}
		}
		servers = append(servers, rs)
	}
	return servers, nil
}
