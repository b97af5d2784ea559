package consent

import (
	"github.com/aiconsent/aiconsent/access"
)

// readRequest parses and validates the app's AI request from Hydra's
// request_url and requested scopes. Validation errors are *access.Error.
func (h *Handler) readRequest(requestURL string, requestedScope []string) (*access.Request, error) {
	ar, err := access.ReadAuthorizationRequest(requestURL)
	if err != nil {
		return nil, err
	}
	return h.Catalog.NewRequest(ar, requestedScope, h.Now())
}
