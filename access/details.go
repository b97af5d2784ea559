package access

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aiconsent/aiconsent/money"
)

// Size limits of authorization_details. Hydra carries the whole
// authorization request in its redirect URLs, so a request must stay small.
const (
	// MaxDetailsBytes is the largest authorization_details JSON text.
	MaxDetailsBytes = 8192

	// MaxModels is the most entries of one detail's models.
	MaxModels = 32

	// MaxCapabilities is the most entries of one detail's capabilities.
	MaxCapabilities = 16

	// MaxReasonChars is the most characters (Unicode code points) of a
	// detail's reason.
	MaxReasonChars = 500

	// MaxCount is the largest rate limit: requests per minute or per day,
	// tokens per minute.
	MaxCount = 1_000_000_000

	maxProviderBytes = 64
	maxNameBytes     = 128
)

// ParseDetails parses the JSON text of authorization_details and checks
// its syntax and size; NewRequest checks it against the catalog. Only the
// fields this app implements are accepted, so an unknown field (also one of
// the RFC 9396 common fields locations, datatypes, identifier and
// privileges) is an error. acceptsType reports whether a type is accepted;
// nil accepts DetailType only.
//
// A detail without models, or with models ["*"], has AnyModel set. A
// detail without capabilities has none; NewRequest fills in what its models
// offer. Every error is an *Error with Code
// CodeInvalidAuthorizationDetails.
func ParseDetails(raw []byte, p Policy, acceptsType func(string) bool) ([]Detail, error) {
	if acceptsType == nil {
		acceptsType = func(t string) bool { return t == DetailType }
	}
	maxDetails := p.MaxDetails
	if maxDetails <= 0 {
		maxDetails = DefaultMaxDetails
	}

	elements, err := detailElements(raw, maxDetails)
	if err != nil {
		return nil, err
	}

	details := make([]Detail, 0, len(elements))
	for i, element := range elements {
		d, err := parseDetail(element, fmt.Sprintf("authorization_details[%d]", i), acceptsType)
		if err != nil {
			return nil, err
		}
		details = append(details, d)
	}
	return details, nil
}

// detailElements checks that raw is a JSON array of 1 to maxDetails
// entries and returns them.
func detailElements(raw []byte, maxDetails int) ([]json.RawMessage, error) {
	const field = "authorization_details"
	switch {
	case len(raw) > MaxDetailsBytes:
		return nil, detailError(field, "is %d bytes long; send at most %d bytes, with fewer or shorter details", len(raw), MaxDetailsBytes)
	case len(bytes.TrimSpace(raw)) == 0:
		return nil, emptyDetailsError()
	case !utf8.Valid(raw):
		return nil, detailError(field, "is not valid UTF-8")
	case !json.Valid(raw):
		return nil, detailError(field, "is not valid JSON; send a JSON array of objects such as [{\"type\":%+q,\"provider\":\"openai\"}]", DetailType)
	}
	if kind := jsonKind(raw); kind != "an array" {
		return nil, detailError(field, "is %s; send a JSON array of objects", kind)
	}

	var elements []json.RawMessage
	if err := json.Unmarshal(raw, &elements); err != nil {
		return nil, detailError(field, "could not be decoded as a JSON array")
	}
	switch {
	case len(elements) == 0:
		return nil, detailError(field, "is an empty array; send at least one detail, or leave the parameter out")
	case len(elements) > maxDetails:
		return nil, detailError(field, "has %d details; send at most %d, one per provider", len(elements), maxDetails)
	}
	return elements, nil
}

func parseDetail(raw json.RawMessage, path string, acceptsType func(string) bool) (Detail, error) {
	fields, err := objectFields(raw, path)
	if err != nil {
		return Detail{}, err
	}

	var d Detail
	var capabilitiesKey string
	for _, f := range fields {
		field := memberPath(path, f.key)
		switch f.key {
		case "type":
			d.Type, err = parseType(f.value, field, acceptsType)
		case "provider":
			d.Provider, err = parseProvider(f.value, field)
		case "models":
			d.Models, d.AnyModel, err = parseModels(f.value, field)
		case "capabilities", "actions":
			if capabilitiesKey != "" {
				return Detail{}, detailError(field, "is given together with %s.%s; actions is another name for capabilities, so send only one of them", path, capabilitiesKey)
			}
			capabilitiesKey = f.key
			d.Capabilities, err = parseCapabilities(f.value, field)
		case "limits":
			d.Limits, err = parseLimits(f.value, field)
		case "expires":
			d.Expires, err = parseExpires(f.value, field)
		case "reason":
			d.Reason, err = parseReason(f.value, field)
		default:
			err = detailError(field, "is not a known field; the known fields are type, provider, models, capabilities (or actions), limits, expires and reason")
		}
		if err != nil {
			return Detail{}, err
		}
	}

	if d.Type == "" {
		return Detail{}, detailError(path+".type", "is missing; set it to %+q", DetailType)
	}
	if d.Provider == "" {
		return Detail{}, detailError(path+".provider", "is missing; name a provider of this server, such as \"openai\"")
	}
	if !slices.ContainsFunc(fields, func(f jsonField) bool { return f.key == "models" }) {
		d.AnyModel = true
	}
	return d, nil
}

func parseType(raw json.RawMessage, field string, acceptsType func(string) bool) (string, error) {
	t, ok := jsonString(raw)
	if !ok {
		return "", detailError(field, "is %s; it must be the string %+q", jsonKind(raw), DetailType)
	}
	if !acceptsType(t) {
		return "", detailError(field, "%+q is not accepted by this server; use %+q (types are compared byte for byte)", t, DetailType)
	}
	return t, nil
}

func parseProvider(raw json.RawMessage, field string) (string, error) {
	p, ok := jsonString(raw)
	if !ok {
		return "", detailError(field, "is %s; it must be a provider id string such as \"openai\"", jsonKind(raw))
	}
	if err := checkProviderID(p); err != nil {
		return "", detailError(field, "%+q is invalid: %v", p, err)
	}
	return p, nil
}

// parseModels returns the models without duplicates, and reports any
// model: no entries, or the single entry AnyModel.
func parseModels(raw json.RawMessage, field string) ([]string, bool, error) {
	models, err := stringList(raw, field, MaxModels, "model ids such as \"gpt-4o\"")
	if err != nil {
		return nil, false, err
	}
	if len(models) == 0 || slices.Equal(models, []string{AnyModel}) {
		return nil, true, nil
	}

	for i, m := range models {
		if err := checkModelID(m); err != nil {
			return nil, false, detailError(fmt.Sprintf("%s[%d]", field, i), "%+q is invalid: %v", m, err)
		}
	}
	return Distinct(models), false, nil
}

func parseCapabilities(raw json.RawMessage, field string) ([]string, error) {
	capabilities, err := stringList(raw, field, MaxCapabilities, "capabilities such as \"chat\"")
	if err != nil {
		return nil, err
	}

	for i, c := range capabilities {
		if c == "*" {
			return nil, detailError(fmt.Sprintf("%s[%d]", field, i), "\"*\" is not accepted; name each capability, or leave the field out to request every capability of the models")
		}
		if err := checkName(c); err != nil {
			return nil, detailError(fmt.Sprintf("%s[%d]", field, i), "%+q is invalid: %v", c, err)
		}
	}
	return Distinct(capabilities), nil
}

// stringList decodes a JSON array of at most maxEntries strings.
func stringList(raw json.RawMessage, field string, maxEntries int, want string) ([]string, error) {
	if jsonKind(raw) != "an array" {
		return nil, detailError(field, "is %s; it must be an array of %s", jsonKind(raw), want)
	}
	var elements []json.RawMessage
	if err := json.Unmarshal(raw, &elements); err != nil {
		return nil, detailError(field, "could not be decoded as an array")
	}
	if len(elements) > maxEntries {
		return nil, detailError(field, "has %d entries; send at most %d", len(elements), maxEntries)
	}

	list := make([]string, 0, len(elements))
	for i, element := range elements {
		s, ok := jsonString(element)
		if !ok {
			return nil, detailError(fmt.Sprintf("%s[%d]", field, i), "is %s; it must be a string", jsonKind(element))
		}
		list = append(list, s)
	}
	return list, nil
}

func parseLimits(raw json.RawMessage, path string) (Limits, error) {
	if jsonKind(raw) != "an object" {
		return Limits{}, detailError(path, "is %s; it must be an object such as {\"monthly_spend\":\"25.00\",\"requests_per_minute\":60}", jsonKind(raw))
	}
	fields, err := objectFields(raw, path)
	if err != nil {
		return Limits{}, err
	}

	var l Limits
	for _, f := range fields {
		field := memberPath(path, f.key)
		if f.key == "currency" {
			l.Currency, err = parseCurrency(f.value, field)
		} else if amount := amountField(&l, f.key); amount != nil {
			*amount, err = parseAmount(f.value, field)
		} else if count := countField(&l, f.key); count != nil {
			*count, err = parseCount(f.value, field)
		} else {
			err = detailError(field, "is not a known limit; the known limits are %s and currency", strings.Join(limitNames(), ", "))
		}
		if err != nil {
			return Limits{}, err
		}
	}
	return l, nil
}

func parseCurrency(raw json.RawMessage, field string) (string, error) {
	c, ok := jsonString(raw)
	if !ok {
		return "", detailError(field, "is %s; it must be an ISO 4217 code such as \"USD\"", jsonKind(raw))
	}
	if !isCurrencyCode(c) {
		return "", detailError(field, "%+q is not an ISO 4217 code; write three uppercase letters such as \"USD\"", c)
	}
	return c, nil
}

// parseAmount accepts a JSON string or a JSON number in plain decimal.
func parseAmount(raw json.RawMessage, field string) (*money.Amount, error) {
	var a money.Amount
	var err error
	var shown string
	switch jsonKind(raw) {
	case "a string":
		s, _ := jsonString(raw)
		a, err = money.Parse(s)
		shown = strconv.QuoteToASCII(s)
	case "a number":
		shown = string(bytes.TrimSpace(raw))
		a, err = money.ParseNumber(shown)
	default:
		return nil, detailError(field, "is %s; write the amount as a decimal string such as \"25.00\"", jsonKind(raw))
	}
	if err != nil {
		return nil, detailError(field, "%s is invalid: %v; write a decimal amount such as \"25.00\", from 0 to 1000000 with at most %d decimal places", shown, err, money.FractionDigits)
	}
	return &a, nil
}

// parseCount accepts a JSON integer from 0 to MaxCount.
func parseCount(raw json.RawMessage, field string) (*int64, error) {
	if jsonKind(raw) != "a number" {
		return nil, detailError(field, "is %s; it must be a whole JSON number from 0 to %d", jsonKind(raw), MaxCount)
	}
	text := string(bytes.TrimSpace(raw))
	if strings.HasPrefix(text, "-") {
		return nil, detailError(field, "%s is negative; it must be a whole number from 0 to %d", text, MaxCount)
	}
	if strings.ContainsAny(text, ".eE") {
		return nil, detailError(field, "%s is not a whole number; write digits only, from 0 to %d", text, MaxCount)
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil || n > MaxCount {
		return nil, detailError(field, "%s is too large; the maximum is %d", text, MaxCount)
	}
	return &n, nil
}

func parseExpires(raw json.RawMessage, field string) (time.Time, error) {
	s, ok := jsonString(raw)
	if !ok {
		return time.Time{}, detailError(field, "is %s; it must be an RFC 3339 time string such as \"2030-01-31T00:00:00Z\"", jsonKind(raw))
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, detailError(field, "%+q is not an RFC 3339 time; write a time such as \"2030-01-31T00:00:00Z\"", s)
	}
	return t.UTC(), nil
}

func parseReason(raw json.RawMessage, field string) (string, error) {
	s, ok := jsonString(raw)
	if !ok {
		return "", detailError(field, "is %s; it must be a string", jsonKind(raw))
	}
	if n := utf8.RuneCountInString(s); n > MaxReasonChars {
		return "", detailError(field, "is %d characters long; write at most %d", n, MaxReasonChars)
	}
	if strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' }) {
		return "", detailError(field, "contains a control character; write plain text, with line breaks if needed")
	}
	return s, nil
}

// jsonField is one member of a JSON object.
type jsonField struct {
	key   string
	value json.RawMessage
}

// objectFields returns the members of a JSON object in order, and rejects
// a key given twice. raw must be valid JSON.
func objectFields(raw json.RawMessage, path string) ([]jsonField, error) {
	if jsonKind(raw) != "an object" {
		return nil, detailError(path, "is %s; each detail must be a JSON object", jsonKind(raw))
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil {
		return nil, detailError(path, "could not be decoded as an object")
	}

	var fields []jsonField
	for dec.More() {
		token, err := dec.Token()
		key, ok := token.(string)
		if err != nil || !ok {
			return nil, detailError(path, "could not be decoded as an object")
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, detailError(memberPath(path, key), "could not be decoded")
		}
		if slices.ContainsFunc(fields, func(f jsonField) bool { return f.key == key }) {
			return nil, detailError(memberPath(path, key), "is given more than once; send each field once")
		}
		fields = append(fields, jsonField{key: key, value: value})
	}
	return fields, nil
}

// memberPath returns the path of an object member: path.key, or
// path["key"] with the key quoted in ASCII when it has characters other
// than letters, digits, '_' and '-', so that error fields stay printable
// ASCII.
func memberPath(path, key string) string {
	plain := key != "" && !strings.ContainsFunc(key, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-')
	})
	if plain {
		return path + "." + key
	}
	return path + "[" + strconv.QuoteToASCII(key) + "]"
}

// jsonKind names the JSON type of a valid JSON value, with its article,
// for error descriptions.
func jsonKind(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "empty"
	}
	switch raw[0] {
	case '[':
		return "an array"
	case '{':
		return "an object"
	case '"':
		return "a string"
	case 'n':
		return "null"
	case 't', 'f':
		return "a boolean"
	}
	return "a number"
}

func jsonString(raw json.RawMessage) (string, bool) {
	if jsonKind(raw) != "a string" {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

func detailError(field, format string, args ...any) *Error {
	return &Error{
		Code:        CodeInvalidAuthorizationDetails,
		Field:       field,
		Description: field + " " + fmt.Sprintf(format, args...),
	}
}

// Errors of the identifier checks, wrapped in error descriptions.
var (
	errEmpty        = errors.New("it is empty")
	errProviderChar = errors.New("use only lowercase letters, digits, '-', '_' and '.'")
	errNameChar     = errors.New("use only printable characters without spaces")
	errModelStar    = errors.New("'*' stands for any model and cannot be part of a model id")
	errModelColon   = errors.New("a ':' must not start or end the id or follow another ':'")
)

// checkProviderID checks a provider id: 1 to 64 bytes of lowercase
// letters, digits, '-', '_' and '.'. Ids never contain ':', so that an ai:
// scope can be split.
func checkProviderID(id string) error {
	switch {
	case id == "":
		return errEmpty
	case len(id) > maxProviderBytes:
		return fmt.Errorf("it is longer than %d bytes", maxProviderBytes)
	case strings.ContainsFunc(id, func(r rune) bool { return !isProviderRune(r) }):
		return errProviderChar
	}
	return nil
}

// checkCapabilityID checks a catalog capability id, which follows the rules
// of provider ids.
func checkCapabilityID(id string) error {
	return checkProviderID(id)
}

// checkName checks a model id or capability as an app may write it: 1 to
// 128 bytes of printable characters other than spaces.
func checkName(s string) error {
	switch {
	case s == "":
		return errEmpty
	case len(s) > maxNameBytes:
		return fmt.Errorf("it is longer than %d bytes", maxNameBytes)
	case strings.ContainsFunc(s, func(r rune) bool { return r == ' ' || !unicode.IsPrint(r) }):
		return errNameChar
	}
	return nil
}

// checkModelID checks a model id: a name without '*', whose ':'-separated
// parts are not empty, so that it can stand between the provider and the
// capability of an ai: scope.
func checkModelID(id string) error {
	if err := checkName(id); err != nil {
		return err
	}
	if strings.Contains(id, "*") {
		return errModelStar
	}
	if strings.HasPrefix(id, ":") || strings.HasSuffix(id, ":") || strings.Contains(id, "::") {
		return errModelColon
	}
	return nil
}

func isProviderRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
}

func isCurrencyCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := range len(s) {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// Distinct returns the non-empty strings of list without repeats, in the
// order they first appear.
func Distinct(list []string) []string {
	var out []string
	for _, s := range list {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
