package usageapi

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aiconsent/aiconsent/access"
	"github.com/aiconsent/aiconsent/usage"
)

// resourceMetadata is the RFC 9728 protected-resource metadata, with the
// authorization_details_types_supported member that RFC 9396 defines for
// it.
type resourceMetadata struct {
	Resource                           string   `json:"resource"`
	AuthorizationServers               []string `json:"authorization_servers,omitempty"`
	ScopesSupported                    []string `json:"scopes_supported"`
	AuthorizationDetailsTypesSupported []string `json:"authorization_details_types_supported"`
	ResourceName                       string   `json:"resource_name"`
	ResourceDocumentation              string   `json:"resource_documentation"`
}

// indexDocument lists the endpoints of the API and the catalog.
type indexDocument struct {
	Endpoints                 endpoints      `json:"endpoints"`
	Authentication            string         `json:"authentication"`
	HoldTTLSeconds            int64          `json:"hold_ttl_seconds"`
	Currency                  string         `json:"currency"`
	AuthorizationDetailsTypes []string       `json:"authorization_details_types"`
	Providers                 []providerJSON `json:"providers"`
}

type endpoints struct {
	Reserve                   string `json:"reserve"`
	Settle                    string `json:"settle"`
	Release                   string `json:"release"`
	GrantUsage                string `json:"grant_usage"`
	Introspection             string `json:"introspection"`
	ProtectedResourceMetadata string `json:"protected_resource_metadata"`
}

type providerJSON struct {
	ID     string      `json:"id"`
	Name   string      `json:"name"`
	Models []modelJSON `json:"models"`
}

type modelJSON struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	Capabilities []string `json:"capabilities"`

	// Prices per million tokens, as in the catalog file.
	InputPerMillion  string `json:"input_per_million"`
	OutputPerMillion string `json:"output_per_million"`
}

// metadata handles GET /.well-known/oauth-protected-resource. Hydra's own
// discovery document cannot be extended with these members, so this app
// publishes them.
func (h *Handler) metadata(c echo.Context) error {
	base := h.baseURL(c)
	return c.JSON(http.StatusOK, resourceMetadata{
		Resource:                           base,
		AuthorizationServers:               h.AuthorizationServers,
		ScopesSupported:                    h.scopes(),
		AuthorizationDetailsTypesSupported: h.detailTypes(),
		ResourceName:                       "AI model access",
		ResourceDocumentation:              base + PathIndex,
	})
}

// index handles GET /usage/v1.
func (h *Handler) index(c echo.Context) error {
	base := h.baseURL(c)
	ttl := h.HoldTTL
	if ttl <= 0 {
		ttl = usage.DefaultHoldTTL
	}

	doc := indexDocument{
		Endpoints: endpoints{
			Reserve:                   base + PathReservations,
			Settle:                    base + PathReservations + "/{reservation_id}/settle",
			Release:                   base + PathReservations + "/{reservation_id}/release",
			GrantUsage:                base + "/usage/v1/grants/{grant_id}",
			Introspection:             base + PathIntrospect,
			ProtectedResourceMetadata: base + PathMetadata,
		},
		Authentication:            "Authorization: Bearer <resource-server key>, or HTTP Basic with the resource server's name and key",
		HoldTTLSeconds:            int64(ttl / time.Second),
		Currency:                  h.Catalog.Currency,
		AuthorizationDetailsTypes: h.detailTypes(),
	}
	for _, p := range h.Catalog.Providers {
		pj := providerJSON{ID: p.ID, Name: p.Name, Models: []modelJSON{}}
		for _, m := range p.Models {
			pj.Models = append(pj.Models, modelJSON{
				ID:               m.ID,
				Name:             m.Name,
				Capabilities:     m.Capabilities,
				InputPerMillion:  m.InputPerMillion().String(),
				OutputPerMillion: m.OutputPerMillion().String(),
			})
		}
		doc.Providers = append(doc.Providers, pj)
	}
	return c.JSON(http.StatusOK, doc)
}

// baseURL returns PublicURL without a trailing slash, or else the scheme
// and host of the request.
func (h *Handler) baseURL(c echo.Context) string {
	if h.PublicURL != nil {
		return strings.TrimRight(h.PublicURL.String(), "/")
	}
	u := url.URL{Scheme: c.Scheme(), Host: c.Request().Host}
	return u.String()
}

func (h *Handler) detailTypes() []string {
	return append([]string{access.DetailType}, h.Catalog.Policy.DetailTypes...)
}

// scopes returns the ai:<provider>:<model>:<capability> scope of every
// capability of every catalog model, in catalog order.
func (h *Handler) scopes() []string {
	var scopes []string
	for _, p := range h.Catalog.Providers {
		for _, m := range p.Models {
			for _, capability := range m.Capabilities {
				scopes = append(scopes, "ai:"+p.ID+":"+m.ID+":"+capability)
			}
		}
	}
	return scopes
}
