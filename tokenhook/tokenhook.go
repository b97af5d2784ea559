// Package tokenhook serves Hydra's token hook (oauth2.token_hook), which
// Hydra calls before it issues any token, refresh included. The hook keeps
// each token's authorization_details claim in step with the grant as it is
// now: narrowed after an edit, refused after a revocation or expiry.
package tokenhook

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"time"

	"github.com/aiconsent/aiconsent/access"
)

// DefaultHeader is the header Hydra is configured to send the API key in.
const DefaultHeader = "X-Hook-Key"

// maxBody bounds a hook request. Hydra sends the session and a few form
// fields, a few kilobytes in practice.
const maxBody = 1 << 20

// Handler serves Hydra's token hook and responds with:
//   - 204 for a token that carries no AI grant: Hydra issues it unchanged;
//   - 200 with the token's claims brought up to date;
//   - 403 when the grant is revoked, replaced or expired, belongs to
//     another client or subject, or its user is disabled: Hydra refuses
//     the token with access_denied;
//   - 401 without the API key, 400 for a malformed body;
//   - 503 only when the store fails, which a retry may cure (Hydra retries
//     5xx answers).
//
// It reads one grant and its user by primary key and never calls Hydra.
type Handler struct {
	Store Store

	// APIKey is the secret Hydra sends in Header. It must not be empty.
	APIKey string

	// Header names the API key header; empty means DefaultHeader.
	Header string

	Now func() time.Time
	Log *slog.Logger
}

// Store is the one read the hook makes per token.
type Store interface {
	// FindGrantForToken returns the grant and reports whether its user
	// exists and is enabled, or returns access.ErrGrantNotFound.
	FindGrantForToken(ctx context.Context, grantID string) (*access.Grant, bool, error)
}

// request is the part of Hydra's hook request this handler reads.
type request struct {
	Session *struct {
		ClientID string         `json:"client_id"`
		Subject  string         `json:"subject"`
		Extra    map[string]any `json:"extra"`
		IDToken  *struct {
			Claims *struct {
				Subject string         `json:"sub"`
				Ext     map[string]any `json:"ext"`
			} `json:"id_token_claims"`
		} `json:"id_token"`
	} `json:"session"`
	Request *struct {
		ClientID   string   `json:"client_id"`
		GrantTypes []string `json:"grant_types"`
	} `json:"request"`
}

// response is the body of a 200 response. Hydra replaces the access token's
// extra claims and the ID token's custom claims with these maps, so both
// carry every claim, not only the changed one.
type response struct {
	Session struct {
		AccessToken map[string]any `json:"access_token"`
		IDToken     map[string]any `json:"id_token"`
	} `json:"session"`
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := h.logger()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "use POST", http.StatusMethodNotAllowed)
		return
	}
	if !h.authorized(r) {
		log.Warn("token hook call without a valid API key", slog.String("remote_addr", r.RemoteAddr))
		http.Error(w, "missing or invalid API key", http.StatusUnauthorized)
		return
	}

	var req request
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	if err := dec.Decode(&req); err != nil || req.Session == nil || req.Request == nil {
		log.Warn("token hook request malformed", slog.Any("error", err))
		http.Error(w, "malformed token hook request: expected a JSON object with session and request", http.StatusBadRequest)
		return
	}

	status, body, err := h.decide(r, &req)
	switch {
	case err != nil && status >= 500:
		log.Error("token hook failed", slog.Any("error", err))
	case err != nil:
		log.Info("token hook rejected token", slog.Int("status", status), slog.Any("reason", err),
			slog.String("client_id", req.Request.ClientID))
	}
	if body == nil {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

// decide returns the hook's status and, for 200, its body. A non-nil error
// explains a refusal and is logged, never sent.
func (h *Handler) decide(r *http.Request, req *request) (int, *response, error) {
	raw, ok := req.Session.Extra[access.ClaimName]
	if !ok {
		return http.StatusNoContent, nil, nil
	}
	// ParseClaim checks that every detail names the same grant_id.
	claims, tokenDetails, err := access.ParseClaim(raw)
	if err != nil {
		return http.StatusBadRequest, nil, fmt.Errorf("token claim: %w", err)
	}
	if len(claims) == 0 {
		return http.StatusBadRequest, nil, errors.New("token claim: authorization_details is empty")
	}
	grantID := claims[0].GrantID

	g, userEnabled, err := h.Store.FindGrantForToken(r.Context(), grantID)
	if errors.Is(err, access.ErrGrantNotFound) {
		return http.StatusForbidden, nil, fmt.Errorf("grant %q not found", grantID)
	}
	if err != nil {
		return http.StatusServiceUnavailable, nil, err
	}
	if err := h.checkGrant(req, g); err != nil {
		return http.StatusForbidden, nil, err
	}
	if !userEnabled {
		return http.StatusForbidden, nil, fmt.Errorf("grant %q: user is missing or disabled", g.ID)
	}

	current := access.Intersect(tokenDetails, g.Details, h.now())
	if len(current) == 0 {
		return http.StatusForbidden, nil, fmt.Errorf("grant %q: nothing of the token is still granted", g.ID)
	}
	return http.StatusOK, buildResponse(req, g.ID, current), nil
}

// checkGrant returns why the token must be refused, or nil.
func (h *Handler) checkGrant(req *request, g *access.Grant) error {
	clientID := req.Request.ClientID
	if clientID == "" {
		clientID = req.Session.ClientID
	}
	if g.ClientID != clientID || (req.Session.ClientID != "" && req.Session.ClientID != g.ClientID) {
		return fmt.Errorf("grant %q belongs to another client than %q", g.ID, clientID)
	}
	if subject := sessionSubject(req); subject != g.Subject {
		return fmt.Errorf("grant %q belongs to another subject", g.ID)
	}
	if g.Status != access.StatusActive && g.Status != access.StatusPaused {
		return fmt.Errorf("grant %q is %s", g.ID, g.Status)
	}

	return nil
}

func buildResponse(req *request, grantID string, current []access.Detail) *response {
	claim := access.Claim(grantID, current)

	var out response
	out.Session.AccessToken = maps.Clone(req.Session.Extra)
	out.Session.AccessToken[access.ClaimName] = claim

	out.Session.IDToken = map[string]any{}
	if t := req.Session.IDToken; t != nil && t.Claims != nil && t.Claims.Ext != nil {
		out.Session.IDToken = maps.Clone(t.Claims.Ext)
		if _, ok := out.Session.IDToken[access.ClaimName]; ok {
			out.Session.IDToken[access.ClaimName] = claim
		}
	}
	return &out
}

// sessionSubject returns the subject of the hook's session. Hydra sends it
// as session.subject and in the ID token claims; both must agree.
func sessionSubject(req *request) string {
	s := req.Session.Subject
	if t := req.Session.IDToken; t != nil && t.Claims != nil && t.Claims.Subject != "" {
		if s != "" && s != t.Claims.Subject {
			return ""
		}
		s = t.Claims.Subject
	}
	return s
}

// authorized compares the API key in constant time. Both sides are hashed
// first, so the comparison takes the same time whatever their lengths.
func (h *Handler) authorized(r *http.Request) bool {
	name := h.Header
	if name == "" {
		name = DefaultHeader
	}
	got := r.Header.Get(name)
	if got == "" || h.APIKey == "" {
		return false
	}
	a := sha256.Sum256([]byte(got))
	b := sha256.Sum256([]byte(h.APIKey))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

func (h *Handler) now() time.Time {
	if h.Now == nil {
		return time.Now()
	}
	return h.Now()
}

func (h *Handler) logger() *slog.Logger {
	if h.Log == nil {
		return slog.Default()
	}
	return h.Log
}
