package access

import (
	"fmt"
	"strings"
)

// ScopePrefix starts every scope that requests AI access.
const ScopePrefix = "ai:"

// Scope is a parsed ai: scope, ai:<provider>:<model>:<capability>. The
// provider is the first part after "ai:" and the capability the last, so a
// model id may contain colons, as in ai:ollama:llama3.1:8b:chat.
type Scope struct {
	// Raw is the scope as requested.
	Raw string

	Provider string

	// Model is a model id, or AnyModel ("*") for every model of Provider.
	Model string

	// Capability is a capability, or "*" for every capability that Model
	// offers.
	Capability string
}

// IsAIScope reports whether s is meant as an ai: scope, valid or not.
func IsAIScope(s string) bool {
	return strings.HasPrefix(s, ScopePrefix)
}

// ParseScope parses an ai: scope. It checks only the syntax; NewRequest
// checks the parts against the catalog. Errors are *Error with Code
// CodeInvalidScope.
func ParseScope(s string) (Scope, error) {
	rest, ok := strings.CutPrefix(s, ScopePrefix)
	if !ok {
		return Scope{}, scopeError(s, "does not start with %+q", ScopePrefix)
	}
	provider, rest, ok1 := strings.Cut(rest, ":")
	cut := strings.LastIndexByte(rest, ':')
	if !ok1 || cut < 0 {
		return Scope{}, scopeError(s, "does not have the form ai:<provider>:<model>:<capability>; write for example \"ai:openai:gpt-4o:chat\" or \"ai:openai:*:*\"")
	}
	scope := Scope{Raw: s, Provider: provider, Model: rest[:cut], Capability: rest[cut+1:]}

	if scope.Provider == "" || scope.Model == "" || scope.Capability == "" {
		return Scope{}, scopeError(s, "has an empty part; write ai:<provider>:<model>:<capability>, with \"*\" for any model or any capability")
	}
	if scope.Provider == "*" {
		return Scope{}, scopeError(s, "has \"*\" as provider; name one provider per scope, such as \"ai:openai:*:*\"")
	}
	if err := checkProviderID(scope.Provider); err != nil {
		return Scope{}, scopeError(s, "has an invalid provider %+q: %v", scope.Provider, err)
	}
	if err := checkScopeModel(scope.Model); err != nil {
		return Scope{}, scopeError(s, "has an invalid model %+q: %v", scope.Model, err)
	}
	if scope.Capability != "*" {
		if err := checkCapabilityID(scope.Capability); err != nil {
			return Scope{}, scopeError(s, "has an invalid capability %+q: %v", scope.Capability, err)
		}
	}
	return scope, nil
}

func checkScopeModel(model string) error {
	if model == AnyModel {
		return nil
	}
	return checkModelID(model)
}

// scopeField names a scope in Error.Field.
func scopeField(scope string) string {
	return fmt.Sprintf("scope %+q", scope)
}

func scopeError(scope, format string, args ...any) *Error {
	field := scopeField(scope)
	return &Error{
		Code:        CodeInvalidScope,
		Field:       field,
		Description: field + " " + fmt.Sprintf(format, args...),
	}
}
