package access

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aiconsent/aiconsent/money"
)

var badDetailsTests = []struct {
	name  string
	raw   string
	field string
}{
	{"not JSON", `[{"type":`, "authorization_details"},
	{"not JSON text", `openai`, "authorization_details"},
	{"not an array", `{"type":"ai_model_access","provider":"openai"}`, "authorization_details"},
	{"string", `"[]"`, "authorization_details"},
	{"null", `null`, "authorization_details"},
	{"empty array", `[]`, "authorization_details"},
	{"blank", `  `, "authorization_details"},
	{"invalid UTF-8", "[{\"type\":\"ai_model_access\",\"provider\":\"openai\",\"reason\":\"\xff\"}]", "authorization_details"},
	{"element not an object", `[{"type":"ai_model_access","provider":"openai"},"openai"]`, "authorization_details[1]"},
	{"element null", `[null]`, "authorization_details[0]"},
	{"element array", `[[]]`, "authorization_details[0]"},
	{"unknown type", `[{"type":"payment_initiation","provider":"openai"}]`, "authorization_details[0].type"},
	{"type other case", `[{"type":"AI_MODEL_ACCESS","provider":"openai"}]`, "authorization_details[0].type"},
	{"type number", `[{"type":1,"provider":"openai"}]`, "authorization_details[0].type"},
	{"type array", `[{"type":["ai_model_access"],"provider":"openai"}]`, "authorization_details[0].type"},
	{"missing type", `[{"provider":"openai"}]`, "authorization_details[0].type"},
	{"missing provider", `[{"type":"ai_model_access","models":["gpt-4o"]}]`, "authorization_details[0].provider"},
	{"empty provider", `[{"type":"ai_model_access","provider":""}]`, "authorization_details[0].provider"},
	{"provider uppercase", `[{"type":"ai_model_access","provider":"OpenAI"}]`, "authorization_details[0].provider"},
	{"provider colon", `[{"type":"ai_model_access","provider":"open:ai"}]`, "authorization_details[0].provider"},
	{"provider too long", `[{"type":"ai_model_access","provider":"` + strings.Repeat("a", 65) + `"}]`, "authorization_details[0].provider"},
	{"provider number", `[{"type":"ai_model_access","provider":7}]`, "authorization_details[0].provider"},
	{"unknown field", `[{"type":"ai_model_access","provider":"openai","foo":1}]`, "authorization_details[0].foo"},
	{"RFC 9396 locations", `[{"type":"ai_model_access","provider":"openai","locations":["https://api.openai.com"]}]`, "authorization_details[0].locations"},
	{"unknown field with control character", `[{"type":"ai_model_access","provider":"openai","a\u0000b":1}]`, `authorization_details[0]["a\x00b"]`},
	{"unknown field with space", `[{"type":"ai_model_access","provider":"openai","a b":1}]`, `authorization_details[0]["a b"]`},
	{"field other case", `[{"type":"ai_model_access","Provider":"openai"}]`, "authorization_details[0].Provider"},
	{"duplicate key", `[{"type":"ai_model_access","provider":"openai","provider":"google"}]`, "authorization_details[0].provider"},
	{"duplicate key escaped", `[{"type":"ai_model_access","provider":"openai","\u0074ype":"ai_model_access"}]`, "authorization_details[0].type"},
	{"duplicate limit key", `[{"type":"ai_model_access","provider":"openai","limits":{"daily_spend":"1","daily_spend":"2"}}]`, "authorization_details[0].limits.daily_spend"},
	{"models as string", `[{"type":"ai_model_access","provider":"openai","models":"gpt-4o"}]`, "authorization_details[0].models"},
	{"models null", `[{"type":"ai_model_access","provider":"openai","models":null}]`, "authorization_details[0].models"},
	{"model number", `[{"type":"ai_model_access","provider":"openai","models":["gpt-4o",4]}]`, "authorization_details[0].models[1]"},
	{"model empty", `[{"type":"ai_model_access","provider":"openai","models":[""]}]`, "authorization_details[0].models[0]"},
	{"model with space", `[{"type":"ai_model_access","provider":"openai","models":["gpt 4o"]}]`, "authorization_details[0].models[0]"},
	{"model with control character", `[{"type":"ai_model_access","provider":"openai","models":["gpt\u00074o"]}]`, "authorization_details[0].models[0]"},
	{"model too long", `[{"type":"ai_model_access","provider":"openai","models":["` + strings.Repeat("m", 129) + `"]}]`, "authorization_details[0].models[0]"},
	{"model star among others", `[{"type":"ai_model_access","provider":"openai","models":["gpt-4o","*"]}]`, "authorization_details[0].models[1]"},
	{"model pattern", `[{"type":"ai_model_access","provider":"openai","models":["gpt-4*"]}]`, "authorization_details[0].models[0]"},
	{"model leading colon", `[{"type":"ai_model_access","provider":"ollama","models":[":8b"]}]`, "authorization_details[0].models[0]"},
	{"too many models", `[{"type":"ai_model_access","provider":"openai","models":[` + manyStrings(33) + `]}]`, "authorization_details[0].models"},
	{"capabilities as object", `[{"type":"ai_model_access","provider":"openai","capabilities":{"chat":true}}]`, "authorization_details[0].capabilities"},
	{"capability star", `[{"type":"ai_model_access","provider":"openai","capabilities":["*"]}]`, "authorization_details[0].capabilities[0]"},
	{"capability number", `[{"type":"ai_model_access","provider":"openai","actions":[1]}]`, "authorization_details[0].actions[0]"},
	{"too many capabilities", `[{"type":"ai_model_access","provider":"openai","capabilities":[` + manyStrings(17) + `]}]`, "authorization_details[0].capabilities"},
	{"actions and capabilities", `[{"type":"ai_model_access","provider":"openai","actions":["chat"],"capabilities":["chat"]}]`, "authorization_details[0].capabilities"},
	{"capabilities and actions", `[{"type":"ai_model_access","provider":"openai","capabilities":["chat"],"actions":["chat"]}]`, "authorization_details[0].actions"},
	{"limits as array", `[{"type":"ai_model_access","provider":"openai","limits":[]}]`, "authorization_details[0].limits"},
	{"unknown limit", `[{"type":"ai_model_access","provider":"openai","limits":{"weekly_spend":"5"}}]`, "authorization_details[0].limits.weekly_spend"},
	{"negative amount", `[{"type":"ai_model_access","provider":"openai","limits":{"daily_spend":"-5"}}]`, "authorization_details[0].limits.daily_spend"},
	{"negative amount number", `[{"type":"ai_model_access","provider":"openai","limits":{"daily_spend":-5}}]`, "authorization_details[0].limits.daily_spend"},
	{"exponent amount", `[{"type":"ai_model_access","provider":"openai","limits":{"monthly_spend":1e3}}]`, "authorization_details[0].limits.monthly_spend"},
	{"exponent amount string", `[{"type":"ai_model_access","provider":"openai","limits":{"monthly_spend":"1e3"}}]`, "authorization_details[0].limits.monthly_spend"},
	{"NaN amount", `[{"type":"ai_model_access","provider":"openai","limits":{"total_spend":"NaN"}}]`, "authorization_details[0].limits.total_spend"},
	{"Infinity amount", `[{"type":"ai_model_access","provider":"openai","limits":{"total_spend":"Infinity"}}]`, "authorization_details[0].limits.total_spend"},
	{"amount over 1000000", `[{"type":"ai_model_access","provider":"openai","limits":{"total_spend":"1000000.01"}}]`, "authorization_details[0].limits.total_spend"},
	{"amount too many decimals", `[{"type":"ai_model_access","provider":"openai","limits":{"daily_spend":"0.0000000000001"}}]`, "authorization_details[0].limits.daily_spend"},
	{"amount boolean", `[{"type":"ai_model_access","provider":"openai","limits":{"daily_spend":true}}]`, "authorization_details[0].limits.daily_spend"},
	{"amount with spaces", `[{"type":"ai_model_access","provider":"openai","limits":{"daily_spend":" 5"}}]`, "authorization_details[0].limits.daily_spend"},
	{"non-integer rate limit", `[{"type":"ai_model_access","provider":"openai","limits":{"requests_per_minute":1.5}}]`, "authorization_details[0].limits.requests_per_minute"},
	{"rate limit with fraction zero", `[{"type":"ai_model_access","provider":"openai","limits":{"requests_per_minute":60.0}}]`, "authorization_details[0].limits.requests_per_minute"},
	{"rate limit exponent", `[{"type":"ai_model_access","provider":"openai","limits":{"requests_per_day":1e3}}]`, "authorization_details[0].limits.requests_per_day"},
	{"rate limit string", `[{"type":"ai_model_access","provider":"openai","limits":{"requests_per_minute":"60"}}]`, "authorization_details[0].limits.requests_per_minute"},
	{"negative rate limit", `[{"type":"ai_model_access","provider":"openai","limits":{"tokens_per_minute":-1}}]`, "authorization_details[0].limits.tokens_per_minute"},
	{"rate limit over 1e9", `[{"type":"ai_model_access","provider":"openai","limits":{"tokens_per_minute":1000000001}}]`, "authorization_details[0].limits.tokens_per_minute"},
	{"rate limit over int64", `[{"type":"ai_model_access","provider":"openai","limits":{"tokens_per_minute":99999999999999999999}}]`, "authorization_details[0].limits.tokens_per_minute"},
	{"currency lowercase", `[{"type":"ai_model_access","provider":"openai","limits":{"currency":"usd"}}]`, "authorization_details[0].limits.currency"},
	{"currency number", `[{"type":"ai_model_access","provider":"openai","limits":{"currency":840}}]`, "authorization_details[0].limits.currency"},
	{"expires not RFC 3339", `[{"type":"ai_model_access","provider":"openai","expires":"2030-01-31"}]`, "authorization_details[0].expires"},
	{"expires number", `[{"type":"ai_model_access","provider":"openai","expires":1893456000}]`, "authorization_details[0].expires"},
	{"reason too long", `[{"type":"ai_model_access","provider":"openai","reason":"` + strings.Repeat("é", 501) + `"}]`, "authorization_details[0].reason"},
	{"reason control character", `[{"type":"ai_model_access","provider":"openai","reason":"a\u001bb"}]`, "authorization_details[0].reason"},
	{"reason number", `[{"type":"ai_model_access","provider":"openai","reason":1}]`, "authorization_details[0].reason"},
	{"too many entries", `[` + strings.Repeat(`{"type":"ai_model_access","provider":"openai"},`, 4) + `{"type":"ai_model_access","provider":"google"}]`, "authorization_details"},
	{"oversized", `[{"type":"ai_model_access","provider":"openai","reason":"` + strings.Repeat(" ", MaxDetailsBytes) + `"}]`, "authorization_details"},
	{"error in second entry", `[{"type":"ai_model_access","provider":"openai"},{"type":"ai_model_access","provider":"google","limits":{"daily_spend":"x"}}]`, "authorization_details[1].limits.daily_spend"},
}

func manyStrings(n int) string {
	list := make([]string, n)
	for i := range list {
		list[i] = `"m` + strings.Repeat("x", i) + `"`
	}
	return strings.Join(list, ",")
}

func TestParseDetailsRejects(t *testing.T) {
	for _, tt := range badDetailsTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDetails([]byte(tt.raw), Policy{MaxDetails: 4}, nil)
			if err == nil {
				t.Fatalf("ParseDetails(%q) = %+v, nil; want error on %s", tt.raw, got, tt.field)
			}
			checkError(t, err, CodeInvalidAuthorizationDetails, tt.field)
		})
	}
}

// checkError checks that err is an *Error with the given code and field,
// and that its description names the field.
func checkError(t *testing.T, err error, code, field string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T); want *Error", err, err)
	}
	if e.Code != code {
		t.Errorf("Code = %q; want %q (error %q)", e.Code, code, e.Description)
	}
	if e.Field != field {
		t.Errorf("Field = %q; want %q (error %q)", e.Field, field, e.Description)
	}
	if !strings.Contains(e.Description, field) {
		t.Errorf("Description = %q; want it to name %q", e.Description, field)
	}
}

func amount(s string) *money.Amount {
	a, err := money.Parse(s)
	if err != nil {
		panic(err)
	}
	return &a
}

func count(n int64) *int64 { return &n }

var goodDetailsTests = []struct {
	name string
	raw  string
	want []Detail
}{
	{
		name: "minimal means any model",
		raw:  `[{"type":"ai_model_access","provider":"openai"}]`,
		want: []Detail{{Type: DetailType, Provider: "openai", AnyModel: true}},
	},
	{
		name: "empty models means any model",
		raw:  `[{"type":"ai_model_access","provider":"openai","models":[]}]`,
		want: []Detail{{Type: DetailType, Provider: "openai", AnyModel: true}},
	},
	{
		name: "star model means any model",
		raw:  `[{"type":"ai_model_access","provider":"openai","models":["*"]}]`,
		want: []Detail{{Type: DetailType, Provider: "openai", AnyModel: true}},
	},
	{
		name: "actions synonym",
		raw:  `[{"type":"ai_model_access","provider":"openai","models":["gpt-4o"],"actions":["chat","vision"]}]`,
		want: []Detail{{Type: DetailType, Provider: "openai", Models: []string{"gpt-4o"}, Capabilities: []string{"chat", "vision"}}},
	},
	{
		name: "duplicates removed",
		raw:  `[{"type":"ai_model_access","provider":"ollama","models":["llama3.1:8b","llama3.1:8b"],"capabilities":["chat","chat"]}]`,
		want: []Detail{{Type: DetailType, Provider: "ollama", Models: []string{"llama3.1:8b"}, Capabilities: []string{"chat"}}},
	},
	{
		name: "amounts as strings and numbers",
		raw: `[{"type":"ai_model_access","provider":"openai","limits":{"currency":"USD","daily_spend":"2.50","monthly_spend":25.5,"total_spend":0,` +
			`"requests_per_minute":60,"requests_per_day":0,"tokens_per_minute":1000000000}}]`,
		want: []Detail{{Type: DetailType, Provider: "openai", AnyModel: true, Limits: Limits{
			Currency:          "USD",
			DailySpend:        amount("2.50"),
			MonthlySpend:      amount("25.5"),
			TotalSpend:        amount("0"),
			RequestsPerMinute: count(60),
			RequestsPerDay:    count(0),
			TokensPerMinute:   count(MaxCount),
		}}},
	},
	{
		name: "largest amount",
		raw:  `[{"type":"ai_model_access","provider":"openai","limits":{"total_spend":"1000000.000000000000"}}]`,
		want: []Detail{{Type: DetailType, Provider: "openai", AnyModel: true, Limits: Limits{TotalSpend: amount("1000000")}}},
	},
	{
		name: "expires and reason",
		raw:  `[{"type":"ai_model_access","provider":"google","expires":"2030-01-31T12:00:00+01:00","reason":"Summaries of your notes.\nNothing else."}]`,
		want: []Detail{{Type: DetailType, Provider: "google", AnyModel: true,
			Expires: time.Date(2030, 1, 31, 11, 0, 0, 0, time.UTC), Reason: "Summaries of your notes.\nNothing else."}},
	},
	{
		name: "whitespace and four entries",
		raw: " [ {\"type\":\"ai_model_access\",\"provider\":\"openai\"} ,\n{\"type\":\"ai_model_access\",\"provider\":\"google\"}," +
			"{\"type\":\"ai_model_access\",\"provider\":\"anthropic\"},{\"type\":\"ai_model_access\",\"provider\":\"ollama\"} ] ",
		want: []Detail{
			{Type: DetailType, Provider: "openai", AnyModel: true},
			{Type: DetailType, Provider: "google", AnyModel: true},
			{Type: DetailType, Provider: "anthropic", AnyModel: true},
			{Type: DetailType, Provider: "ollama", AnyModel: true},
		},
	},
}

func TestParseDetailsAccepts(t *testing.T) {
	for _, tt := range goodDetailsTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDetails([]byte(tt.raw), Policy{MaxDetails: 4}, nil)
			if err != nil {
				t.Fatalf("ParseDetails(%q) error = %v; want nil", tt.raw, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseDetails(%q) =\n%+v\nwant\n%+v", tt.raw, got, tt.want)
			}
		})
	}
}

func TestParseDetailsTypes(t *testing.T) {
	const extra = "https://example.com/ai-access"
	accepts := func(s string) bool { return s == DetailType || s == extra }
	tests := []struct {
		name   string
		typ    string
		wantOK bool
	}{
		{"standard type", DetailType, true},
		{"admin type", extra, true},
		{"admin type trailing slash", extra + "/", false},
		{"admin type other case", strings.ToUpper(extra), false},
		{"standard type with space", DetailType + " ", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := `[{"type":"` + tt.typ + `","provider":"openai"}]`
			_, err := ParseDetails([]byte(raw), Policy{}, accepts)
			if gotOK := err == nil; gotOK != tt.wantOK {
				t.Fatalf("ParseDetails(%q) error = %v; want success %v", raw, err, tt.wantOK)
			}
			if err != nil {
				checkError(t, err, CodeInvalidAuthorizationDetails, "authorization_details[0].type")
			}
		})
	}
}

func TestParseDetailsMaxDetailsPolicy(t *testing.T) {
	raw := []byte(`[{"type":"ai_model_access","provider":"openai"},{"type":"ai_model_access","provider":"google"}]`)
	if _, err := ParseDetails(raw, Policy{MaxDetails: 2}, nil); err != nil {
		t.Errorf("ParseDetails(two details, MaxDetails 2) error = %v; want nil", err)
	}
	_, err := ParseDetails(raw, Policy{MaxDetails: 1}, nil)
	if err == nil {
		t.Fatalf("ParseDetails(two details, MaxDetails 1) error = nil; want error")
	}
	checkError(t, err, CodeInvalidAuthorizationDetails, "authorization_details")
}
