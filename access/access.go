// Package access holds the AI access model: the catalog of providers and
// models an admin allows, the authorization details of type
// ai_model_access and the ai: scopes an app requests, the limits a person
// grants, the grants themselves, and the claim that carries a grant in
// Hydra's token session.
//
// The package knows nothing of HTTP, Hydra's API or storage technology.
// Storage implementations satisfy GrantStore.
package access

import (
	"context"
	"errors"
	"time"

	"github.com/aiconsent/aiconsent/money"
)

// DetailType is the RFC 9396 authorization details type this app
// understands. An admin may accept further type names (see
// Policy.DetailTypes); types are compared byte for byte.
const DetailType = "ai_model_access"

// AnyModel is the model id that stands for every model of a provider, in
// ai: scopes and in the models of a granted claim.
const AnyModel = "*"

// Limits are the spend caps and rate limits of one detail. A nil field has
// no value: in a request it means the app asked for nothing, in a grant it
// means no limit of that kind.
type Limits struct {
	// Currency is the ISO 4217 code of every amount. It is always the
	// deployment's currency once a request has been validated.
	Currency string

	DailySpend   *money.Amount
	MonthlySpend *money.Amount
	TotalSpend   *money.Amount

	RequestsPerMinute *int64
	RequestsPerDay    *int64
	TokensPerMinute   *int64
}

// Detail is one entry of AI access for one provider: an authorization
// detail as an app requested it, or as a person granted it.
type Detail struct {
	// Type is the authorization details type: DetailType or a type the
	// admin configured.
	Type string

	// Provider is the catalog id of the provider, such as "openai".
	Provider string

	// AnyModel reports whether the detail covers every model of the
	// provider, including models added to the catalog later. Models is
	// then empty.
	AnyModel bool

	// Models are catalog model ids of Provider, in request order, without
	// duplicates.
	Models []string

	// Capabilities such as "chat" or "embeddings", without duplicates.
	Capabilities []string

	Limits Limits

	// Expires is when access ends; the zero time means the request set
	// none. Granted details always have an expiry.
	Expires time.Time

	// Reason is the app's explanation for the person; never in a grant.
	Reason string
}

// Status is the state of a grant.
type Status string

// Grant states. Only an active grant may be used; a paused grant still
// receives tokens so that it can be resumed without a new consent.
const (
	StatusActive   Status = "active"
	StatusPaused   Status = "paused"
	StatusRevoked  Status = "revoked"
	StatusReplaced Status = "replaced"
)

// Grant is what a person granted one app (an OAuth 2.0 client): the live
// decision for that subject and client. A new consent for the same subject
// and client replaces the live grant (its status becomes StatusReplaced),
// because Hydra revokes consent per subject and client and finer grants
// could not be revoked apart.
type Grant struct {
	// ID is random and public: it travels in token claims as grant_id.
	ID string

	Subject  string
	ClientID string

	// ConsentChallenge is the Hydra consent challenge that created the
	// grant. Stores keep it unique, which is how a reused challenge is
	// detected: Hydra accepts a challenge more than once.
	ConsentChallenge string

	Status Status

	// Details are the granted details, each with its own limits and expiry.
	Details []Detail

	// Scopes is the grant_scope sent to Hydra, standard and ai: scopes.
	Scopes []string

	// Remember reports whether the person asked Hydra to remember the
	// decision, so later requests within it skip the consent screen.
	Remember bool

	CreatedAt time.Time
	UpdatedAt time.Time
}

// Errors returned by GrantStore implementations.
var (
	ErrGrantNotFound = errors.New("grant not found")
	ErrChallengeUsed = errors.New("consent challenge already used")
)

// GrantStore stores grants. Implementations must make CreateGrant atomic:
// either the new grant is stored and the previous live grant of the same
// subject and client is marked replaced, or nothing changes.
type GrantStore interface {
	// CreateGrant stores g and replaces the live grant of g.Subject and
	// g.ClientID, if any. It returns ErrChallengeUsed, storing nothing,
	// when a grant with g.ConsentChallenge exists.
	CreateGrant(ctx context.Context, g *Grant) error

	// FindGrant returns the grant with the given id, or ErrGrantNotFound.
	FindGrant(ctx context.Context, id string) (*Grant, error)

	// FindGrantByChallenge returns the grant made by a consent challenge,
	// or ErrGrantNotFound.
	FindGrantByChallenge(ctx context.Context, challenge string) (*Grant, error)

	// FindLiveGrant returns the grant of subject and clientID that is
	// active or paused, or ErrGrantNotFound.
	FindLiveGrant(ctx context.Context, subject, clientID string) (*Grant, error)
}

// LatestExpiry returns the latest expiry among details, which is when a
// grant ends as a whole, or the zero time for none.
func LatestExpiry(details []Detail) time.Time {
	var t time.Time
	for _, d := range details {
		if d.Expires.After(t) {
			t = d.Expires
		}
	}
	return t
}
