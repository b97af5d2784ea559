package access

import (
	"encoding/base64"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// requestObject returns a JWS in compact form with the given JSON payload
// and a signature that is not checked.
func requestObject(payload string) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"RS256","kid":"k1"}`)) + "." + enc.EncodeToString([]byte(payload)) + "." + enc.EncodeToString([]byte("signature"))
}

// authURL returns Hydra's authorization URL with the given query.
func authURL(query url.Values) string {
	return "http://127.0.0.1:4444/oauth2/auth?" + query.Encode()
}

const queryDetails = `[{"type":"ai_model_access","provider":"openai","models":["gpt-4o"]}]`

func TestReadAuthorizationRequest(t *testing.T) {
	objectDetails := `[{"type":"ai_model_access","provider":"google"}]`
	tests := []struct {
		name  string
		query url.Values
		want  AuthorizationRequest
	}{
		{
			name:  "query form",
			query: url.Values{"scope": {"openid  offline_access ai:openai:gpt-4o:chat"}, "prompt": {"consent"}, "authorization_details": {queryDetails}},
			want:  AuthorizationRequest{AuthorizationDetails: []byte(queryDetails), Scope: []string{"openid", "offline_access", "ai:openai:gpt-4o:chat"}, Prompt: "consent"},
		},
		{
			name:  "no details",
			query: url.Values{"scope": {"openid"}},
			want:  AuthorizationRequest{Scope: []string{"openid"}},
		},
		{
			name: "request object with openid overrides",
			query: url.Values{
				"scope":                 {"openid email"},
				"prompt":                {"none"},
				"authorization_details": {queryDetails},
				"request":               {requestObject(`{"iss":"app","authorization_details":` + objectDetails + `,"scope":"profile openid","prompt":"login"}`)},
			},
			want: AuthorizationRequest{AuthorizationDetails: []byte(objectDetails), Scope: []string{"profile", "openid", "email"}, Prompt: "login"},
		},
		{
			name: "request object details as string",
			query: url.Values{
				"scope":   {"openid"},
				"request": {requestObject(`{"authorization_details":` + quoteJSON(objectDetails) + `}`)},
			},
			want: AuthorizationRequest{AuthorizationDetails: []byte(objectDetails), Scope: []string{"openid"}},
		},
		{
			name: "request object without claims keeps query",
			query: url.Values{
				"scope":                 {"openid"},
				"authorization_details": {queryDetails},
				"request":               {requestObject(`{"iss":"app"}`)},
			},
			want: AuthorizationRequest{AuthorizationDetails: []byte(queryDetails), Scope: []string{"openid"}},
		},
		{
			name: "request object without openid ignored",
			query: url.Values{
				"scope":                 {"email"},
				"authorization_details": {queryDetails},
				"request":               {requestObject(`{"authorization_details":` + objectDetails + `,"scope":"openid profile"}`)},
			},
			want: AuthorizationRequest{AuthorizationDetails: []byte(queryDetails), Scope: []string{"email"}},
		},
		{
			name: "malformed request object without openid ignored",
			query: url.Values{
				"scope":   {"email"},
				"request": {"not-a-jwt"},
			},
			want: AuthorizationRequest{Scope: []string{"email"}},
		},
		{
			name: "openid only in request object does not count",
			query: url.Values{
				"request": {requestObject(`{"authorization_details":` + objectDetails + `,"scope":"openid"}`)},
			},
			want: AuthorizationRequest{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := authURL(tt.query)
			got, err := ReadAuthorizationRequest(in)
			if err != nil {
				t.Fatalf("ReadAuthorizationRequest(%q) error = %v; want nil", in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ReadAuthorizationRequest(%q) =\n%+v\nwant\n%+v", in, got, tt.want)
			}
		})
	}
}

func quoteJSON(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}

func TestReadAuthorizationRequestRejects(t *testing.T) {
	tests := []struct {
		name  string
		url   string
		code  string
		field string
	}{
		{
			name: "request_uri",
			url:  authURL(url.Values{"scope": {"openid"}, "request_uri": {"https://app.example/request.jwt"}}),
			code: CodeRequestURINotSupported, field: "request_uri",
		},
		{
			name: "request_uri without openid",
			url:  authURL(url.Values{"request_uri": {"urn:example:1"}}),
			code: CodeRequestURINotSupported, field: "request_uri",
		},
		{
			name: "details twice",
			url:  authURL(url.Values{"authorization_details": {queryDetails, queryDetails}}),
			code: CodeInvalidAuthorizationDetails, field: "authorization_details",
		},
		{
			name: "details empty",
			url:  authURL(url.Values{"authorization_details": {""}}),
			code: CodeInvalidAuthorizationDetails, field: "authorization_details",
		},
		{
			name: "malformed request object",
			url:  authURL(url.Values{"scope": {"openid"}, "request": {"not-a-jwt"}}),
			code: CodeInvalidRequest, field: "request",
		},
		{
			name: "request object payload not base64url",
			url:  authURL(url.Values{"scope": {"openid"}, "request": {"a.!!!.c"}}),
			code: CodeInvalidRequest, field: "request",
		},
		{
			name: "request object payload not JSON",
			url:  authURL(url.Values{"scope": {"openid"}, "request": {requestObject(`{"scope":`)}}),
			code: CodeInvalidRequest, field: "request",
		},
		{
			name: "request object payload array",
			url:  authURL(url.Values{"scope": {"openid"}, "request": {requestObject(`[]`)}}),
			code: CodeInvalidRequest, field: "request",
		},
		{
			name: "request object scope not a string",
			url:  authURL(url.Values{"scope": {"openid"}, "request": {requestObject(`{"scope":["openid"]}`)}}),
			code: CodeInvalidRequest, field: "request.scope",
		},
		{
			name: "request object prompt not a string",
			url:  authURL(url.Values{"scope": {"openid"}, "request": {requestObject(`{"prompt":1}`)}}),
			code: CodeInvalidRequest, field: "request.prompt",
		},
		{
			name: "request object details empty string",
			url:  authURL(url.Values{"scope": {"openid"}, "request": {requestObject(`{"authorization_details":""}`)}}),
			code: CodeInvalidAuthorizationDetails, field: "authorization_details",
		},
		{
			name: "unparseable URL",
			url:  "http://127.0.0.1:4444/oauth2/auth?scope=%zz",
			code: CodeInvalidRequest, field: "query",
		},
		{
			name: "bad URL",
			url:  "http://[::1/oauth2/auth",
			code: CodeInvalidRequest, field: "query",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadAuthorizationRequest(tt.url)
			if err == nil {
				t.Fatalf("ReadAuthorizationRequest(%q) = %+v, nil; want error", tt.url, got)
			}
			checkError(t, err, tt.code, tt.field)
		})
	}
}
