package browser

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/aiconsent/aiconsent/web"
)

// allowedReferrerPolicies keep the Origin header of a same-origin form
// post. With no-referrer Chromium sends "Origin: null", which
// cross-origin protection rejects on plain-HTTP hosts.
var allowedReferrerPolicies = []string{"same-origin", "strict-origin-when-cross-origin"}

// securityHeaderProblems returns what is missing or too weak in the
// browser defences of a page's response headers.
func securityHeaderProblems(h http.Header) []string {
	var problems []string

	csp := h.Get("Content-Security-Policy")
	if csp == "" {
		problems = append(problems, "no Content-Security-Policy header")
	} else {
		problems = append(problems, cspProblems(csp)...)
	}

	if got := h.Get("X-Content-Type-Options"); !strings.EqualFold(got, "nosniff") {
		problems = append(problems, fmt.Sprintf("X-Content-Type-Options = %q; want \"nosniff\"", got))
	}
	if got := h.Get("Referrer-Policy"); !slices.Contains(allowedReferrerPolicies, strings.ToLower(strings.TrimSpace(got))) {
		problems = append(problems, fmt.Sprintf("Referrer-Policy = %q; want one of %q", got, allowedReferrerPolicies))
	}
	return problems
}

// cspProblems checks that a policy allows no inline script and forbids
// framing. Scripts fall back to default-src when script-src is absent.
func cspProblems(csp string) []string {
	directives := parseCSP(csp)
	var problems []string

	scripts, ok := directives["script-src"]
	if !ok {
		scripts, ok = directives["default-src"]
	}
	switch {
	case !ok:
		problems = append(problems, fmt.Sprintf("Content-Security-Policy %q has neither script-src nor default-src, so any script runs", csp))
	case slices.Contains(scripts, "'unsafe-inline'"):
		problems = append(problems, fmt.Sprintf("Content-Security-Policy %q allows inline script ('unsafe-inline')", csp))
	}

	if got := directives["frame-ancestors"]; !slices.Equal(got, []string{"'none'"}) {
		problems = append(problems, fmt.Sprintf("Content-Security-Policy %q: frame-ancestors = %q; want 'none'", csp, got))
	}
	return problems
}

// parseCSP splits a policy into its directives, names lowercased. The
// first occurrence of a directive counts, as browsers apply it.
func parseCSP(csp string) map[string][]string {
	directives := map[string][]string{}
	for part := range strings.SplitSeq(csp, ";") {
		fields := strings.Fields(part)
		if len(fields) == 0 {
			continue
		}
		name := strings.ToLower(fields[0])
		if _, seen := directives[name]; !seen {
			directives[name] = fields[1:]
		}
	}
	return directives
}

func header(pairs ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(pairs); i += 2 {
		h.Set(pairs[i], pairs[i+1])
	}
	return h
}

const strictCSP = "default-src 'none'; script-src 'self'; frame-ancestors 'none'"

var securityHeaderTests = []struct {
	name   string
	header http.Header
	want   int // number of problems
}{
	{"aiconsent policy", header("Content-Security-Policy", web.ContentSecurityPolicy, "X-Content-Type-Options", "nosniff", "Referrer-Policy", "same-origin"), 0},
	{"strict origin when cross origin", header("Content-Security-Policy", strictCSP, "X-Content-Type-Options", "nosniff", "Referrer-Policy", "strict-origin-when-cross-origin"), 0},
	{"no headers", http.Header{}, 3},
	{"inline script", header("Content-Security-Policy", "script-src 'self' 'unsafe-inline'; frame-ancestors 'none'", "X-Content-Type-Options", "nosniff", "Referrer-Policy", "same-origin"), 1},
	{"inline script by default-src", header("Content-Security-Policy", "default-src 'self' 'unsafe-inline'; frame-ancestors 'none'", "X-Content-Type-Options", "nosniff", "Referrer-Policy", "same-origin"), 1},
	{"no script directive", header("Content-Security-Policy", "img-src 'self'; frame-ancestors 'none'", "X-Content-Type-Options", "nosniff", "Referrer-Policy", "same-origin"), 1},
	{"framing allowed", header("Content-Security-Policy", "default-src 'self'", "X-Content-Type-Options", "nosniff", "Referrer-Policy", "same-origin"), 1},
	{"framing by self", header("Content-Security-Policy", "default-src 'self'; frame-ancestors 'self'", "X-Content-Type-Options", "nosniff", "Referrer-Policy", "same-origin"), 1},
	{"sniffing", header("Content-Security-Policy", strictCSP, "Referrer-Policy", "same-origin"), 1},
	{"no referrer", header("Content-Security-Policy", strictCSP, "X-Content-Type-Options", "nosniff", "Referrer-Policy", "no-referrer"), 1},
	{"unsafe url", header("Content-Security-Policy", strictCSP, "X-Content-Type-Options", "nosniff", "Referrer-Policy", "unsafe-url"), 1},
}

func TestSecurityHeaderProblems(t *testing.T) {
	for _, tt := range securityHeaderTests {
		t.Run(tt.name, func(t *testing.T) {
			got := securityHeaderProblems(tt.header)
			if len(got) != tt.want {
				t.Errorf("securityHeaderProblems(%v) = %q; want %d problems", tt.header, got, tt.want)
			}
		})
	}
}

// TestConsoleReportsCSPViolation shows that the end-of-test check detects
// a blocked inline script: a page with aiconsent's policy and an inline
// script must produce exactly one entry that cspViolations reports.
func TestConsoleReportsCSPViolation(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", web.ContentSecurityPolicy)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><html lang="en"><title>t</title><main data-testid="page">x</main>`+
			`<script>document.title = "ran"</script></html>`)
	}))
	defer srv.Close()

	tb := newTab(t, nil, tabOptions{})
	tb.open(srv.URL, "page")

	if got := evaluate[string](tb, "document.title"); got != "t" {
		t.Errorf("document.title = %q; want %q, because the policy blocks the inline script", got, "t")
	}
	entries := tb.takeConsole()
	if got := cspViolations(entries); len(got) != 1 {
		t.Errorf("cspViolations(%v) = %v; want 1 violation for the inline script", entries, got)
	}
}

// TestSecurityHeadersEveryPage visits each kind of aiconsent page in the
// browser and checks the security headers of every page it received, and
// that no page broke its Content-Security-Policy.
func TestSecurityHeadersEveryPage(t *testing.T) {
	s := startStack(t)
	tb := newTab(t, s, tabOptions{})

	tb.follow(chromedp.Navigate(s.appURL + "/consent"))
	tb.waitFor("error-page")
	tb.connect(s)
	tb.submitLogin(s.user.username, "not the password", true)
	tb.waitFor("login-error")
	tb.submitLogin(s.user.username, s.user.password, true)
	tb.waitFor("consent-page")
	tb.setField("p0.monthly_spend", "lots")
	tb.follow(chromedp.Click(testID("allow")))
	tb.waitFor("consent-errors")
	tb.setField("p0.monthly_spend", "1.00")
	tb.follow(chromedp.Click(testID("allow")))
	tb.waitFor("sign-out")
	tb.follow(chromedp.Click(testID("sign-out")))
	tb.waitFor("logout-page")
	tb.follow(chromedp.Click(chromedp.CSS(`button[value="reject"]`)))
	tb.waitFor("message-page")

	var visited []string
	for _, d := range tb.checkRecorded() {
		visited = append(visited, fmt.Sprintf("%s %d", pathOf(d.url), d.status))
	}
	want := []string{"/consent 400", "/login 200", "/login 401", "/consent 200", "/consent 400", "/logout 200", "/logout 200"}
	if !slices.Equal(visited, want) {
		t.Errorf("aiconsent pages checked = %q; want %q", visited, want)
	}
}

// pathOf returns the path of a URL, or the URL itself when it does not parse.
func pathOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Path
}
