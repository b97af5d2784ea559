package templates

// GrantsView is the "My grants" page of a signed-in person.
type GrantsView struct {
	CSRF     string
	Username string
	Admin    bool
	Grants   []GrantCard

	// Notice confirms the last action, such as "Access paused".
	Notice string
}

// GrantCard is one app's grant on the "My grants" page.
type GrantCard struct {
	ID         string
	Client     ClientView
	Status     string // active, paused
	StatusText string
	Created    string
	Expires    string
	LastUsed   string
	Providers  []GrantProvider
	History    []HistoryLine
	Currency   string

	// Chart is spend per day over the last days, oldest first.
	Chart []ChartBar
}

// GrantProvider is one provider of a grant with its edit fields. Index
// names its form fields: d<Index>.model, d<Index>.capability, ...
type GrantProvider struct {
	Index int
	Name  string

	// Granted lists the models and capabilities in words, such as
	// "GPT-4o, GPT-4o mini; chat, vision".
	Granted string

	AnyModel     bool
	Models       []ModelChoice
	Capabilities []CapabilityChoice
	Limits       []LimitField
	Spend        []SpendLine
	Expires      string
}

// SpendLine is spend in the current period against one cap.
type SpendLine struct {
	Label string // "Today", "This month", "In total"
	Spent string
	Cap   string // empty when there is no cap
	// Percent of the cap spent, 0 to 100, for the bar.
	Percent int
}

// HistoryLine is one audit log entry in words.
type HistoryLine struct {
	At      string
	Actor   string
	Action  string
	Changes []string
}

// AdminGrantsView is the admin's list of everyone's grants.
type AdminGrantsView struct {
	CSRF     string
	Username string
	User     string
	Client   string
	Rows     []AdminGrantRow
	Notice   string

	// Month names the current month; SpendByUser and SpendByClient are
	// its spend, largest first.
	Month         string
	SpendByUser   []SpendRow
	SpendByClient []SpendRow
}

// SpendRow is the spend of one user or client in a period.
type SpendRow struct {
	Name  string
	Spent string
	Held  string
}

// AdminGrantRow is one grant in the admin list.
type AdminGrantRow struct {
	ID        string
	Username  string
	ClientID  string
	Status    string
	Providers string
	Created   string
	Expires   string
	Live      bool
}

// RevokeView is the confirmation page of a revocation. A revocation
// cannot be undone, because the app needs a new consent to get access again.
type RevokeView struct {
	CSRF string

	// Action is the path the confirmation posts to; CancelURL the page to
	// go back to. Both are this app's own paths.
	Action    string
	CancelURL string

	Client ClientView

	// Owner names the person who gave the grant when an admin revokes it;
	// empty on the person's own page.
	Owner string

	// Paused is set when the grant is already paused, so Pause is no
	// alternative to offer.
	Paused bool
}
