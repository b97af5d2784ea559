package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// ExampleClientID is the OAuth2 client id of the Example App.
const ExampleClientID = "example-app"

// ExampleScope is the scope the Example App requests and has on its client
// record. Hydra's "exact" scope strategy rejects any scope not listed here.
const ExampleScope = "openid offline_access ai:google:gemini-2.0-flash:chat"

// Client is an OAuth2 client as Hydra's admin API (/admin/clients) takes it.
// The JSON names are Hydra's, which follow RFC 7591.
type Client struct {
	ClientID                string   `json:"client_id"`
	ClientName              string   `json:"client_name"`
	ClientSecret            string   `json:"client_secret"`
	RedirectURIs            []string `json:"redirect_uris"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
	Scope                   string   `json:"scope"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	LogoURI                 string   `json:"logo_uri"`
	ClientURI               string   `json:"client_uri"`
	PostLogoutRedirectURIs  []string `json:"post_logout_redirect_uris"`
}

// ExampleClient returns the client record of the Example App served on
// p.DemoApp, with the given client secret.
func ExampleClient(p Ports, secret string) Client {
	base := p.DemoAppURL()

	return Client{
		ClientID:                ExampleClientID,
		ClientName:              "Example App",
		ClientSecret:            secret,
		RedirectURIs:            []string{base + "/callback"},
		GrantTypes:              []string{"authorization_code", "refresh_token"},
		ResponseTypes:           []string{"code"},
		Scope:                   ExampleScope,
		TokenEndpointAuthMethod: "client_secret_basic",
		LogoURI:                 base + "/logo.svg",
		ClientURI:               base + "/",
		PostLogoutRedirectURIs:  []string{base + "/"},
	}
}

// RegisterClient creates c through Hydra's admin API at adminURL, or
// replaces the client with the same id when one exists, so running it
// again against a persistent database succeeds.
func RegisterClient(ctx context.Context, hc *http.Client, adminURL string, c Client) error {
	body, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode client %q: %w", c.ClientID, err)
	}

	base := strings.TrimSuffix(adminURL, "/")
	status, err := sendClient(ctx, hc, http.MethodPost, base+"/admin/clients", body)
	if err != nil {
		return fmt.Errorf("create client %q: %w", c.ClientID, err)
	}
	if status != http.StatusConflict {
		return nil
	}

	_, err = sendClient(ctx, hc, http.MethodPut, base+"/admin/clients/"+url.PathEscape(c.ClientID), body)
	if err != nil {
		return fmt.Errorf("replace client %q: %w", c.ClientID, err)
	}
	return nil
}

// sendClient sends a client record and returns the status code of a
// success or of a 409 Conflict. Any other status becomes an error with
// Hydra's error and error_description, never with the request body, which
// contains the secret.
func sendClient(ctx context.Context, hc *http.Client, method, target string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")

	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()

	if resp.StatusCode/100 == 2 || resp.StatusCode == http.StatusConflict {
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}

	var hydraErr struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&hydraErr)
	return resp.StatusCode, fmt.Errorf("%s %s returned %s: %s: %s",
		method, target, resp.Status, hydraErr.Error, hydraErr.Description)
}
