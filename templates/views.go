// Package templates holds the HTML pages, written with templ, and the view
// models they render. Handlers build a view model; templates never see
// storage rows or Hydra's types.
package templates

import "strings"

// ErrorView is the error page: a title, what to do next, and the request id
// to quote to an admin.
type ErrorView struct {
	Status      int
	Title       string
	Message     string
	RequestID   string
	ActionLabel string
	ActionURL   string
}

// LoginView is the sign-in form of a Hydra login request.
type LoginView struct {
	CSRF      string
	Challenge string
	Client    ClientView
	Username  string

	// Error is the one public message for every failed sign-in.
	Error string
}

// ClientView is an OAuth 2.0 client as its Hydra record describes it.
// Verified is true only when an admin marked the client as verified.
type ClientView struct {
	ID   string
	Name string

	// FirstParty is set for this app's own client, such as the "My
	// grants" sign-in, which requests no AI access.
	FirstParty bool

	LogoURI   string
	ClientURI string
	PolicyURI string
	TosURI    string
	Verified  bool
}

// ConsentView is the consent screen of a Hydra consent request.
type ConsentView struct {
	CSRF      string
	Challenge string
	Client    ClientView
	Username  string

	// Summary sentences lead the page, one per provider, in plain words.
	Summary []string

	Providers []ProviderChoice

	// OtherScopes are the standard scopes also requested, such as openid.
	OtherScopes []ScopeView

	Currency string
	Remember bool

	// Errors, when the form was rejected, say what to correct.
	Errors []FormError
}

// FormError is one thing to correct, linked to the input it concerns.
type FormError struct {
	Text string

	// Anchor is the id of the input to correct, or "".
	Anchor string
}

// ProviderChoice is one provider's part of the consent form. Index names
// its form fields: p<Index>.model, p<Index>.capability, and so on.
type ProviderChoice struct {
	Index int
	ID    string
	Name  string

	// Reasons are the app's own words for why it requests access.
	Reasons []string

	// AnyModel is set when the app asked for every model of the provider,
	// including models added later. AnyModelChecked is the form's state.
	AnyModel        bool
	AnyModelChecked bool

	Models       []ModelChoice
	Capabilities []CapabilityChoice
	Limits       []LimitField

	Expires    string // YYYY-MM-DD, in UTC
	ExpiresMax string
	ExpiresMin string

	// ExpiresMaxText is ExpiresMax in words, such as "4 December 2027".
	ExpiresMaxText string

	// ExpiresError describes what is wrong with the posted end date, or "".
	ExpiresError string

	// DetailsOpen shows the capabilities and rate limits expanded, as
	// when one of them must be corrected.
	DetailsOpen bool
}

// ModelChoice is a model the person may allow.
type ModelChoice struct {
	ID      string
	Name    string
	Checked bool

	// InputPrice and OutputPrice are per million tokens, formatted with
	// the currency; empty for models the catalog does not list.
	InputPrice  string
	OutputPrice string
}

// CapabilityChoice is a capability the person may allow.
type CapabilityChoice struct {
	ID      string
	Label   string
	Checked bool
}

// LimitField is one spend cap or rate limit input.
type LimitField struct {
	Name  string // form field suffix: daily_spend, requests_per_minute, ...
	Label string
	Unit  string
	Value string

	// Max is the largest value allowed, as text for the input's max
	// attribute and the hint; empty when there is no ceiling.
	Max      string
	MaxHint  string
	Required bool
	Money    bool

	// Error describes what is wrong with the posted value, or "".
	Error string
}

// ScopeView is a standard scope with its description.
type ScopeView struct {
	Name        string
	Description string
}

// LogoutView is the confirmation page of a logout request.
type LogoutView struct {
	CSRF      string
	Challenge string
	Client    string
}

// MessageView is a page with a title and a message, such as "signed out".
type MessageView struct {
	Title   string
	Message string

	// LinkURL, when set, is a page of this app the message offers.
	LinkURL   string
	LinkLabel string
}

// LimitLabel names and describes one limit input, by the limit's JSON
// name.
type LimitLabel struct {
	Name  string
	Label string
	Unit  string
}

// LimitLabels are the limit inputs in the order forms show them.
var LimitLabels = []LimitLabel{
	{"daily_spend", "Daily spending cap", "a day"},
	{"monthly_spend", "Monthly spending cap", "a month"},
	{"total_spend", "Total spending cap", "in total"},
	{"requests_per_minute", "Requests per minute", "requests"},
	{"requests_per_day", "Requests per day", "requests"},
	{"tokens_per_minute", "Tokens per minute", "tokens"},
}

// CapabilityLabel returns a capability id as a label: "chat" reads "Chat".
func CapabilityLabel(id string) string {
	if id == "" {
		return id
	}
	return strings.ToUpper(id[:1]) + id[1:]
}
