package main

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"
)

// randomBytes is the entropy of the state and of the PKCE verifier. 32
// bytes encode to 43 base64url characters, the minimum verifier length of
// RFC 7636.
const randomBytes = 32

// flow is the per-sign-in data the app keeps between /connect and
// /callback. It lives in a cookie, so the app stores nothing on the server.
type flow struct {
	state    string // the OAuth2 state, which ties the callback to this browser
	verifier string // the PKCE code_verifier
}

func newFlow() flow {
	return flow{state: randomToken(), verifier: randomToken()}
}

func randomToken() string {
	b := make([]byte, randomBytes)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// cookieValue encodes the flow as "state.verifier", which parses back
// because base64url has no '.'.
func (f flow) cookieValue() string {
	return f.state + "." + f.verifier
}

// parseFlowCookie decodes a cookieValue and reports whether it was one.
func parseFlowCookie(value string) (flow, bool) {
	state, verifier, ok := strings.Cut(value, ".")
	if !ok || !isToken(state) || !isToken(verifier) {
		return flow{}, false
	}
	return flow{state: state, verifier: verifier}, true
}

// isToken reports whether s has the shape randomToken returns.
func isToken(s string) bool {
	if len(s) != base64.RawURLEncoding.EncodedLen(randomBytes) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}

// codeChallenge returns the S256 code_challenge of a PKCE verifier:
// BASE64URL(SHA256(verifier)) without padding (RFC 7636, section 4.2).
func codeChallenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// sameState reports whether the state returned to the callback equals the
// one in the flow cookie, in constant time.
func sameState(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
