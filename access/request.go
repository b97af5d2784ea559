package access

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strings"
)

// OAuth 2.0 error codes that Error carries. The first is defined by
// RFC 9396, request_uri_not_supported by OpenID Connect Core 1.0, the
// others by RFC 6749.
const (
	CodeInvalidAuthorizationDetails = "invalid_authorization_details"
	CodeInvalidScope                = "invalid_scope"
	CodeInvalidRequest              = "invalid_request"
	CodeRequestURINotSupported      = "request_uri_not_supported"
)

// Errors wrapped by ParseCatalog and ParseClaim. Request and grant checks
// return an *Error instead, whose description is meant for app developers.
var (
	ErrInvalidCatalog = errors.New("invalid catalog")
	ErrInvalidClaim   = errors.New("invalid authorization_details claim")
)

// Error is a rejected authorization request or grant. Its Description is
// meant for the app developer (or, for CheckGrant, the consent page) and
// contains no secret: it quotes only request values that are not
// credentials.
type Error struct {
	// Code is the OAuth 2.0 error code, one of the Code constants.
	Code string

	// Field is the path of the rejected value, such as
	// "authorization_details[1].limits.daily_spend" or `scope "ai:openai"`.
	Field string

	// Description is a plain sentence that names the field, what was wrong
	// and what is allowed. It is printable ASCII, because values are quoted
	// with Go's %+q. RFC 6749 also forbids '"' and '\' in an
	// error_description, so a caller sending one must replace them.
	Description string
}

// Error returns the code and the description.
func (e *Error) Error() string {
	return e.Code + ": " + e.Description
}

// AuthorizationRequest contains the parts of an OAuth 2.0 authorization
// request that this app reads, after request object claims have been
// applied the way Hydra applies them.
type AuthorizationRequest struct {
	// AuthorizationDetails is the raw JSON text of authorization_details,
	// nil when the request has none.
	AuthorizationDetails []byte

	// Scope is the scope parameter split on spaces, without empty entries.
	Scope []string

	Prompt string
}

// ReadAuthorizationRequest reads the parts this app needs from Hydra's
// request_url, which is Hydra's authorization URL with the original query.
//
// A request object (the request parameter) counts only when the query
// scope contains openid, because Hydra v2.3.0 (fosite v0.49.0) ignores it
// otherwise. Its claims then replace the query parameters of the same
// name, and its scope is merged with the query scope as fosite does. Hydra
// has checked its signature, so this function only decodes the payload.
// A request_uri is rejected and never fetched.
func ReadAuthorizationRequest(requestURL string) (AuthorizationRequest, error) {
	u, err := url.Parse(requestURL)
	if err != nil {
		return AuthorizationRequest{}, requestError("query", "the authorization request URL and its query could not be parsed; send a standard OAuth 2.0 authorization request")
	}
	query, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return AuthorizationRequest{}, requestError("query", "the query of the authorization request could not be parsed; URL-encode every parameter value")
	}

	if _, ok := query["request_uri"]; ok {
		return AuthorizationRequest{}, &Error{
			Code:        CodeRequestURINotSupported,
			Field:       "request_uri",
			Description: "request_uri is not supported; send authorization_details as a query parameter of the authorization request",
		}
	}

	ar, err := readQuery(query)
	if err != nil {
		return AuthorizationRequest{}, err
	}
	if object := query.Get("request"); object != "" && slices.Contains(ar.Scope, "openid") {
		if err := applyRequestObject(&ar, object); err != nil {
			return AuthorizationRequest{}, err
		}
	}
	return ar, nil
}

func readQuery(query url.Values) (AuthorizationRequest, error) {
	ar := AuthorizationRequest{
		Scope:  splitScope(query.Get("scope")),
		Prompt: query.Get("prompt"),
	}

	values, ok := query["authorization_details"]
	switch {
	case !ok:
		return ar, nil
	case len(values) > 1:
		return ar, &Error{
			Code:        CodeInvalidAuthorizationDetails,
			Field:       "authorization_details",
			Description: "authorization_details is given more than once; send one JSON array that lists every detail",
		}
	case values[0] == "":
		return ar, emptyDetailsError()
	}
	ar.AuthorizationDetails = []byte(values[0])
	return ar, nil
}

// applyRequestObject applies the claims of a request object (a JWS in
// compact form) to ar: authorization_details, scope and prompt replace the
// query values, and query scopes missing from the scope claim are added
// after it, as fosite does.
func applyRequestObject(ar *AuthorizationRequest, object string) error {
	claims, err := requestObjectClaims(object)
	if err != nil {
		return err
	}

	if raw, ok := claims["authorization_details"]; ok {
		details, err := detailsClaim(raw)
		if err != nil {
			return err
		}
		ar.AuthorizationDetails = details
	}
	if raw, ok := claims["scope"]; ok {
		var scope string
		if err := json.Unmarshal(raw, &scope); err != nil {
			return requestError("request.scope", "the scope claim of the request object (request.scope) must be a string of space-separated scopes")
		}
		ar.Scope = mergeScopes(splitScope(scope), ar.Scope)
	}
	if raw, ok := claims["prompt"]; ok {
		if err := json.Unmarshal(raw, &ar.Prompt); err != nil {
			return requestError("request.prompt", "the prompt claim of the request object (request.prompt) must be a string")
		}
	}
	return nil
}

// requestObjectClaims decodes the payload of a compact JWS. Claims keep
// their raw JSON, so that an authorization_details array reaches
// ParseDetails exactly as the app wrote it.
func requestObjectClaims(object string) (map[string]json.RawMessage, error) {
	parts := strings.Split(object, ".")
	if len(parts) != 3 {
		return nil, requestError("request", "the request object is not a signed JWT in compact form (three dot-separated parts)")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, requestError("request", "the payload of the request object is not base64url-encoded")
	}

	var claims map[string]json.RawMessage
	if err := json.Unmarshal(payload, &claims); err != nil || claims == nil {
		return nil, requestError("request", "the payload of the request object is not a JSON object")
	}
	return claims, nil
}

// detailsClaim returns the JSON text of an authorization_details claim,
// which may be the array itself or a string that contains it.
func detailsClaim(raw json.RawMessage) ([]byte, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '"' {
		return raw, nil
	}

	var text string
	if err := json.Unmarshal(raw, &text); err != nil {
		return nil, requestError("request.authorization_details", "the authorization_details claim of the request object (request.authorization_details) is not a valid JSON string")
	}
	if text == "" {
		return nil, emptyDetailsError()
	}
	return []byte(text), nil
}

// splitScope splits a scope parameter on spaces and drops empty entries,
// as fosite does.
func splitScope(scope string) []string {
	var scopes []string
	for s := range strings.SplitSeq(scope, " ") {
		if s = strings.TrimSpace(s); s != "" {
			scopes = append(scopes, s)
		}
	}
	return scopes
}

// mergeScopes returns first followed by the scopes of second that are not
// in first.
func mergeScopes(first, second []string) []string {
	merged := slices.Clone(first)
	for _, s := range second {
		if !slices.Contains(merged, s) {
			merged = append(merged, s)
		}
	}
	return merged
}

func requestError(field, description string) *Error {
	return &Error{Code: CodeInvalidRequest, Field: field, Description: description}
}

func emptyDetailsError() *Error {
	return &Error{
		Code:        CodeInvalidAuthorizationDetails,
		Field:       "authorization_details",
		Description: "authorization_details is empty; send a JSON array of authorization details, or leave the parameter out",
	}
}
