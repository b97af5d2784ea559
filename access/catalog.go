package access

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/aiconsent/aiconsent/money"
)

// Policy defaults, used where the catalog file is silent.
const (
	// DefaultMaxDetails is the default Policy.MaxDetails. Hydra carries the
	// whole authorization request in its redirect URLs, which limits how
	// many details fit.
	DefaultMaxDetails = 4

	// DefaultExpiry is the default Policy.DefaultExpiry.
	DefaultExpiry = 90 * 24 * time.Hour

	// DefaultMaxExpiry is the default Policy.MaxExpiry.
	DefaultMaxExpiry = 365 * 24 * time.Hour

	// maxDetailsLimit is the largest MaxDetails a catalog may set.
	maxDetailsLimit = 16

	// maxExpiryDays bounds the expiry settings, so that every expiry is a
	// valid time.Duration with room to spare.
	maxExpiryDays = 3650

	tokensPerMillion = 1_000_000
)

//go:embed catalog.yaml
var defaultCatalogYAML []byte

// Catalog is the admin's list of the providers and models that apps may
// request, with their prices and the policy for requests and grants.
type Catalog struct {
	// Currency is the ISO 4217 code of every price and spend limit.
	Currency string

	Providers []Provider

	Policy Policy
}

// Provider is an AI provider, such as OpenAI, with the models offered.
type Provider struct {
	// ID is used in authorization details, ai: scopes and claims.
	ID string

	// Name is shown to people.
	Name string

	Models []Model
}

// Model is one model of a provider.
type Model struct {
	// ID is the provider's model id, such as "gpt-4o".
	ID string

	// Name is shown to people.
	Name string

	// Capabilities are the uses the model supports, such as "chat".
	Capabilities []string

	// InputPrice is the price of one input token, in picounits.
	InputPrice money.Amount

	// OutputPrice is the price of one output token, in picounits.
	OutputPrice money.Amount
}

// InputPerMillion returns the price of one million input tokens.
func (m Model) InputPerMillion() money.Amount {
	return m.InputPrice * tokensPerMillion
}

// OutputPerMillion returns the price of one million output tokens.
func (m Model) OutputPerMillion() money.Amount {
	return m.OutputPrice * tokensPerMillion
}

// Policy is the admin's rules for requests and grants.
type Policy struct {
	// MaxDetails is the most authorization details a request may have,
	// counted before and after merging per provider.
	MaxDetails int

	// AllowUnlistedModels lets requests and grants name model ids that
	// the catalog does not list, for providers that it lists.
	AllowUnlistedModels bool

	// DetailTypes are authorization details types accepted besides
	// DetailType, compared byte for byte.
	DetailTypes []string

	// Defaults are the limits the consent form proposes where a request
	// states none.
	Defaults Limits

	// Maxima are the largest limits any grant may have. A nil field sets
	// no maximum.
	Maxima Limits

	// DefaultExpiry is how long a grant lasts when the request states no
	// expiry.
	DefaultExpiry time.Duration

	// MaxExpiry is the longest a grant may last.
	MaxExpiry time.Duration
}

// DefaultCatalog returns the catalog embedded in the program (catalog.yaml
// in this package). Each call returns a new copy that the caller may
// change.
func DefaultCatalog() *Catalog {
	c, err := ParseCatalog(defaultCatalogYAML)
	if err != nil {
		panic("access: embedded catalog.yaml is invalid: " + err.Error())
	}
	return c
}

// LoadCatalog reads and parses the catalog file at path. An empty path
// returns DefaultCatalog.
func LoadCatalog(path string) (*Catalog, error) {
	if path == "" {
		return DefaultCatalog(), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read catalog: %w", err)
	}
	c, err := ParseCatalog(data)
	if err != nil {
		return nil, fmt.Errorf("catalog file %q: %w", path, err)
	}
	return c, nil
}

// ParseCatalog parses a catalog written in YAML or JSON, in the format of
// the embedded catalog.yaml, and validates it. Unknown fields are errors.
// Every error wraps ErrInvalidCatalog and names the path of the value,
// such as providers[1].models[0].input_per_million.
func ParseCatalog(data []byte) (*Catalog, error) {
	var file catalogFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: the file is empty", ErrInvalidCatalog)
		}
		return nil, fmt.Errorf("%w: %s", ErrInvalidCatalog, yamlErrorText(err))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: the file has more than one YAML document; keep one", ErrInvalidCatalog)
	}

	c, err := file.catalog()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidCatalog, err)
	}
	return c, nil
}

// Provider returns the provider with the given id.
func (c *Catalog) Provider(id string) (*Provider, bool) {
	for i := range c.Providers {
		if c.Providers[i].ID == id {
			return &c.Providers[i], true
		}
	}
	return nil, false
}

// ProviderIDs returns the ids of the providers in catalog order.
func (c *Catalog) ProviderIDs() []string {
	ids := make([]string, len(c.Providers))
	for i, p := range c.Providers {
		ids[i] = p.ID
	}
	return ids
}

// Model returns the model with the given id.
func (p *Provider) Model(id string) (*Model, bool) {
	for i := range p.Models {
		if p.Models[i].ID == id {
			return &p.Models[i], true
		}
	}
	return nil, false
}

// Capabilities returns the capabilities of all models of p, without
// duplicates, in catalog order.
func (p *Provider) Capabilities() []string {
	var all []string
	for _, m := range p.Models {
		for _, capability := range m.Capabilities {
			if !slices.Contains(all, capability) {
				all = append(all, capability)
			}
		}
	}
	return all
}

// AcceptsType reports whether t is DetailType or one of
// Policy.DetailTypes, compared byte for byte.
func (c *Catalog) AcceptsType(t string) bool {
	return t == DetailType || slices.Contains(c.Policy.DetailTypes, t)
}

// catalogFile is the YAML form of a Catalog.
type catalogFile struct {
	Currency  string         `yaml:"currency"`
	Providers []providerFile `yaml:"providers"`
	Policy    policyFile     `yaml:"policy"`
}

type providerFile struct {
	ID     string      `yaml:"id"`
	Name   string      `yaml:"name"`
	Models []modelFile `yaml:"models"`
}

type modelFile struct {
	ID               string     `yaml:"id"`
	Name             string     `yaml:"name"`
	Capabilities     []string   `yaml:"capabilities"`
	InputPerMillion  yamlScalar `yaml:"input_per_million"`
	OutputPerMillion yamlScalar `yaml:"output_per_million"`
}

type policyFile struct {
	MaxDetails          yamlScalar `yaml:"max_details"`
	AllowUnlistedModels bool       `yaml:"allow_unlisted_models"`
	DetailTypes         []string   `yaml:"detail_types"`
	Defaults            limitsFile `yaml:"defaults"`
	Maxima              limitsFile `yaml:"maxima"`
	DefaultExpiryDays   yamlScalar `yaml:"default_expiry_days"`
	MaxExpiryDays       yamlScalar `yaml:"max_expiry_days"`
}

type limitsFile struct {
	DailySpend        yamlScalar `yaml:"daily_spend"`
	MonthlySpend      yamlScalar `yaml:"monthly_spend"`
	TotalSpend        yamlScalar `yaml:"total_spend"`
	RequestsPerMinute yamlScalar `yaml:"requests_per_minute"`
	RequestsPerDay    yamlScalar `yaml:"requests_per_day"`
	TokensPerMinute   yamlScalar `yaml:"tokens_per_minute"`
}

// yamlScalar is a value kept as written, so that validation can name its
// path in errors and numbers never pass through floating point. YAML null
// leaves it unset.
type yamlScalar struct {
	set    bool
	scalar bool
	tag    string
	value  string
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (s *yamlScalar) UnmarshalYAML(n *yaml.Node) error {
	*s = yamlScalar{set: true, scalar: n.Kind == yaml.ScalarNode, tag: n.ShortTag(), value: n.Value}
	return nil
}

// amount parses a decimal amount; quoted and unquoted numbers are both
// accepted.
func (s yamlScalar) amount(path string) (money.Amount, error) {
	if !s.scalar || s.tag == "!!bool" {
		return 0, fmt.Errorf("%s must be a decimal amount such as \"2.50\"", path)
	}
	a, err := money.Parse(s.value)
	if err != nil {
		return 0, fmt.Errorf("%s %q is invalid: %w", path, s.value, err)
	}
	return a, nil
}

// integer parses a whole number from min to max.
func (s yamlScalar) integer(path string, min, max int64) (int64, error) {
	n, err := strconv.ParseInt(s.value, 10, 64)
	if !s.scalar || s.tag != "!!int" || err != nil {
		return 0, fmt.Errorf("%s must be a whole number from %d to %d", path, min, max)
	}
	if n < min || n > max {
		return 0, fmt.Errorf("%s is %d; it must be from %d to %d", path, n, min, max)
	}
	return n, nil
}

func (f *catalogFile) catalog() (*Catalog, error) {
	c := &Catalog{Currency: f.Currency}
	if c.Currency == "" {
		c.Currency = "USD"
	}
	if !isCurrencyCode(c.Currency) {
		return nil, fmt.Errorf("currency %q is not an ISO 4217 code; write three uppercase letters such as \"USD\"", c.Currency)
	}

	if len(f.Providers) == 0 {
		return nil, errors.New("providers is missing; list at least one provider with its models")
	}
	for i, pf := range f.Providers {
		p, err := pf.provider(fmt.Sprintf("providers[%d]", i))
		if err != nil {
			return nil, err
		}
		if _, ok := c.Provider(p.ID); ok {
			return nil, fmt.Errorf("providers[%d].id %q is used twice; give each provider its own id", i, p.ID)
		}
		c.Providers = append(c.Providers, p)
	}

	policy, err := f.Policy.policy(c.Currency)
	if err != nil {
		return nil, err
	}
	c.Policy = policy
	return c, nil
}

func (f *providerFile) provider(path string) (Provider, error) {
	if err := checkProviderID(f.ID); err != nil {
		return Provider{}, fmt.Errorf("%s.id %q is invalid: %w", path, f.ID, err)
	}
	if f.Name == "" {
		return Provider{}, fmt.Errorf("%s.name is missing; give the name people know the provider by", path)
	}
	if len(f.Models) == 0 {
		return Provider{}, fmt.Errorf("%s.models is missing; list at least one model", path)
	}

	p := Provider{ID: f.ID, Name: f.Name}
	for i, mf := range f.Models {
		m, err := mf.model(fmt.Sprintf("%s.models[%d]", path, i))
		if err != nil {
			return Provider{}, err
		}
		if _, ok := p.Model(m.ID); ok {
			return Provider{}, fmt.Errorf("%s.models[%d].id %q is used twice in this provider; list each model once", path, i, m.ID)
		}
		p.Models = append(p.Models, m)
	}
	return p, nil
}

func (f *modelFile) model(path string) (Model, error) {
	if err := checkModelID(f.ID); err != nil {
		return Model{}, fmt.Errorf("%s.id %q is invalid: %w", path, f.ID, err)
	}
	if f.Name == "" {
		return Model{}, fmt.Errorf("%s.name is missing; give the name people know the model by", path)
	}
	if len(f.Capabilities) == 0 {
		return Model{}, fmt.Errorf("%s.capabilities is missing; list at least one, such as chat or embeddings", path)
	}
	for i, capability := range f.Capabilities {
		if err := checkCapabilityID(capability); err != nil {
			return Model{}, fmt.Errorf("%s.capabilities[%d] %q is invalid: %w", path, i, capability, err)
		}
		if slices.Index(f.Capabilities, capability) != i {
			return Model{}, fmt.Errorf("%s.capabilities[%d] %q is listed twice", path, i, capability)
		}
	}

	input, err := tokenPrice(f.InputPerMillion, path+".input_per_million")
	if err != nil {
		return Model{}, err
	}
	output, err := tokenPrice(f.OutputPerMillion, path+".output_per_million")
	if err != nil {
		return Model{}, err
	}
	return Model{
		ID:           f.ID,
		Name:         f.Name,
		Capabilities: slices.Clone(f.Capabilities),
		InputPrice:   input,
		OutputPrice:  output,
	}, nil
}

// tokenPrice converts a price per million tokens into the price of one
// token, which must be a whole number of picounits.
func tokenPrice(s yamlScalar, path string) (money.Amount, error) {
	if !s.set {
		return 0, fmt.Errorf("%s is missing; write the price per million tokens, such as \"2.50\"", path)
	}
	perMillion, err := s.amount(path)
	if err != nil {
		return 0, err
	}
	if perMillion%tokensPerMillion != 0 {
		return 0, fmt.Errorf("%s %q has more than 6 decimal places; round it to at most 6, so that one token costs a whole number of picounits", path, s.value)
	}
	return perMillion / tokensPerMillion, nil
}

func (f *policyFile) policy(currency string) (Policy, error) {
	p := Policy{
		MaxDetails:          DefaultMaxDetails,
		AllowUnlistedModels: f.AllowUnlistedModels,
		DefaultExpiry:       DefaultExpiry,
		MaxExpiry:           DefaultMaxExpiry,
	}
	var err error
	if f.MaxDetails.set {
		n, err := f.MaxDetails.integer("policy.max_details", 1, maxDetailsLimit)
		if err != nil {
			return Policy{}, err
		}
		p.MaxDetails = int(n)
	}
	if p.DetailTypes, err = detailTypes(f.DetailTypes); err != nil {
		return Policy{}, err
	}
	if p.DefaultExpiry, err = expiryDays(f.DefaultExpiryDays, "policy.default_expiry_days", p.DefaultExpiry); err != nil {
		return Policy{}, err
	}
	if p.MaxExpiry, err = expiryDays(f.MaxExpiryDays, "policy.max_expiry_days", p.MaxExpiry); err != nil {
		return Policy{}, err
	}
	if p.DefaultExpiry > p.MaxExpiry {
		return Policy{}, errors.New("policy.default_expiry_days is above policy.max_expiry_days; lower it or raise the maximum")
	}

	if p.Defaults, err = f.Defaults.limits("policy.defaults", currency); err != nil {
		return Policy{}, err
	}
	if p.Maxima, err = f.Maxima.limits("policy.maxima", currency); err != nil {
		return Policy{}, err
	}
	if name, above := aboveCeiling(p.Defaults, p.Maxima); above {
		return Policy{}, fmt.Errorf("policy.defaults.%s is above policy.maxima.%s; a default must not exceed its maximum", name, name)
	}
	return p, nil
}

func detailTypes(types []string) ([]string, error) {
	if len(types) == 0 {
		return nil, nil
	}
	for i, t := range types {
		path := fmt.Sprintf("policy.detail_types[%d]", i)
		if err := checkName(t); err != nil {
			return nil, fmt.Errorf("%s %q is invalid: %w", path, t, err)
		}
		if t == DetailType || slices.Index(types, t) != i {
			return nil, fmt.Errorf("%s %q is listed twice (%q is always accepted)", path, t, DetailType)
		}
	}
	return slices.Clone(types), nil
}

func expiryDays(s yamlScalar, path string, fallback time.Duration) (time.Duration, error) {
	if !s.set {
		return fallback, nil
	}
	days, err := s.integer(path, 1, maxExpiryDays)
	if err != nil {
		return 0, err
	}
	return time.Duration(days) * 24 * time.Hour, nil
}

func (f *limitsFile) limits(path, currency string) (Limits, error) {
	l := Limits{Currency: currency}
	amounts := []struct {
		name string
		s    yamlScalar
		dst  **money.Amount
	}{
		{"daily_spend", f.DailySpend, &l.DailySpend},
		{"monthly_spend", f.MonthlySpend, &l.MonthlySpend},
		{"total_spend", f.TotalSpend, &l.TotalSpend},
	}
	for _, a := range amounts {
		if !a.s.set {
			continue
		}
		v, err := a.s.amount(path + "." + a.name)
		if err != nil {
			return Limits{}, err
		}
		*a.dst = &v
	}

	counts := []struct {
		name string
		s    yamlScalar
		dst  **int64
	}{
		{"requests_per_minute", f.RequestsPerMinute, &l.RequestsPerMinute},
		{"requests_per_day", f.RequestsPerDay, &l.RequestsPerDay},
		{"tokens_per_minute", f.TokensPerMinute, &l.TokensPerMinute},
	}
	for _, c := range counts {
		if !c.s.set {
			continue
		}
		v, err := c.s.integer(path+"."+c.name, 0, MaxCount)
		if err != nil {
			return Limits{}, err
		}
		*c.dst = &v
	}
	return l, nil
}

// Messages of yaml.v3 that name Go types: an unknown field, and a value of
// the wrong kind for a list or a mapping.
var (
	yamlFieldError = regexp.MustCompile(`field (\S+) not found in type \S+`)
	yamlListType   = regexp.MustCompile(` into \[\]access\.\w+`)
	yamlMapType    = regexp.MustCompile(` into access\.\w+`)
)

// yamlErrorText returns the message of a yaml.v3 error without the Go
// type names that it contains.
func yamlErrorText(err error) string {
	var typeErr *yaml.TypeError
	if !errors.As(err, &typeErr) {
		return err.Error()
	}
	var text []byte
	for i, e := range typeErr.Errors {
		if i > 0 {
			text = append(text, "; "...)
		}
		e = yamlFieldError.ReplaceAllString(e, `field "$1" is not a known field`)
		e = yamlListType.ReplaceAllString(e, " into a list")
		e = yamlMapType.ReplaceAllString(e, " into a mapping")
		text = append(text, e...)
	}
	return string(text)
}

// ProviderName returns the display name of a provider, or id itself when
// the catalog does not list it or gives no name.
func (c *Catalog) ProviderName(id string) string {
	if p, ok := c.Provider(id); ok && p.Name != "" {
		return p.Name
	}
	return id
}

// ModelName returns the display name of a provider's model, or id itself
// when the catalog does not list it or gives no name.
func (c *Catalog) ModelName(provider, id string) string {
	if p, ok := c.Provider(provider); ok {
		if m, ok := p.Model(id); ok && m.Name != "" {
			return m.Name
		}
	}
	return id
}
