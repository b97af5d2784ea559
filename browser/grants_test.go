package browser

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// revokeTimeout bounds the wait for Hydra to end the tokens of a revoked
// grant. aiconsent queues the revocation and wakes the worker that sends
// it to Hydra at once, so the wait is short unless Hydra is down.
const revokeTimeout = 10 * time.Second

// exampleGrant is the grant a person gave the Example App, with the
// tokens the Example App received.
type exampleGrant struct {
	id     string // grant_id in the token's authorization details
	tokens tokenResponse
}

// allowExampleApp signs the stack's user in, allows the Example App's
// request unchanged and returns the grant.
func (tb *tab) allowExampleApp(s *stack) exampleGrant {
	tb.t.Helper()
	tb.connect(s)
	tb.signIn(s.user)
	tb.follow(chromedp.Click(testID("allow")))

	in := tb.tokenIntrospection()
	if !in.Active || len(in.Ext.AuthorizationDetails) == 0 {
		tb.t.Fatalf("introspection after Allow: active %v, %d authorization details; want an active token with details",
			in.Active, len(in.Ext.AuthorizationDetails))
	}
	id := in.Ext.AuthorizationDetails[0].GrantID
	if id == "" {
		tb.t.Fatalf("introspection after Allow: authorization details %+v carry no grant_id", in.Ext.AuthorizationDetails)
	}
	return exampleGrant{id: id, tokens: tb.exampleTokens()}
}

// exampleTokens reads the token response that the Example App shows.
func (tb *tab) exampleTokens() tokenResponse {
	tb.t.Helper()

	raw, err := chromedp.Run(tb.ctx, chromedp.TextContent(testID("tokens")))
	if err != nil {
		tb.t.Fatalf("read the tokens at %s: %v", tb.location(), err)
	}
	var tok tokenResponse
	if err := json.Unmarshal([]byte(raw), &tok); err != nil {
		tb.t.Fatalf("token response shown by the Example App is not JSON: %v", err)
	}
	if tok.RefreshToken == "" {
		tb.t.Fatalf("Example App shows %s; want a refresh token, because it requests offline_access", tok)
	}
	return tok
}

// openSignedIn opens target as u, who signs in through Hydra when
// aiconsent shows the login page, and waits for the element with
// data-testid id.
func (tb *tab) openSignedIn(target string, u testUser, id string) {
	tb.t.Helper()
	tb.follow(chromedp.Navigate(target))
	if tb.count(`[data-testid="login-page"]`) == 1 {
		tb.submitLogin(u.username, u.password, false)
	}
	tb.waitFor(id)
}

// openGrants opens My grants as u.
func (tb *tab) openGrants(s *stack, u testUser) {
	tb.t.Helper()
	tb.openSignedIn(s.appURL+"/grants", u, "grants-page")
}

// inCard selects the elements that inner matches inside the card of a
// grant on My grants.
func inCard(grantID, inner string) chromedp.CSS {
	return chromedp.CSS(fmt.Sprintf(`[data-testid="grant-%s"] %s`, grantID, inner))
}

// openEditForm opens the card's "Change models and limits" section by
// clicking its summary, as a person does, and waits for the form.
func (tb *tab) openEditForm(grantID string) {
	tb.t.Helper()
	tb.do(chromedp.Click(inCard(grantID, "details.edit > summary")))
	tb.waitFor("save")
}

// inputValue returns the current value of the input that sel matches.
func (tb *tab) inputValue(sel chromedp.CSS) string {
	tb.t.Helper()
	return evaluate[string](tb, fmt.Sprintf(`document.querySelector(%q)?.value ?? "(no such input)"`, string(sel)))
}

// grantStep is a click on a grant's card and what My grants must show
// afterwards.
type grantStep struct {
	button     string // data-testid of the button to click
	notice     string // start of the confirmation
	status     string // start of the grant's status text
	nextButton string // data-testid of the button that takes its place
}

// click clicks the step's button on the grant's card and checks the page
// that follows.
func (st grantStep) click(t *testing.T, tb *tab, grantID string) {
	t.Helper()
	tb.follow(chromedp.Click(inCard(grantID, fmt.Sprintf("[data-testid=%q]", st.button))))
	tb.waitFor(st.nextButton)

	if got := tb.text(testID("notice")); !strings.HasPrefix(got, st.notice) {
		t.Errorf("notice after %s = %q; want it to start with %q", st.button, got, st.notice)
	}
	if got := tb.text(inCard(grantID, `[data-testid="grant-status"]`)); !strings.HasPrefix(got, st.status) {
		t.Errorf("grant status after %s = %q; want it to start with %q", st.button, got, st.status)
	}
	if n := tb.count(fmt.Sprintf("[data-testid=%q]", st.button)); n != 0 {
		t.Errorf("%s buttons after %s = %d; want 0, replaced by %s", st.button, st.button, n, st.nextButton)
	}
}

// TestGrantsLowerPauseRevoke allows the Example App's request, then on
// My grants lowers the OpenAI monthly cap from $5.00 to $2.00, pauses,
// resumes and revokes. The new cap must reach the next token through the
// token hook and the usage checks at once, and the revocation must end
// the app's tokens at Hydra.
func TestGrantsLowerPauseRevoke(t *testing.T) {
	s := startStack(t)
	tb := newTab(t, s, tabOptions{})
	g := tb.allowExampleApp(s)

	tb.openGrants(s, s.user)
	tb.waitFor("grant-" + g.id)
	lowerMonthlyCap(t, tb, g.id, "5.00", "2.00")

	tok := s.refreshExampleApp(t, g.tokens.RefreshToken)
	openai := s.introspect(t, tok.AccessToken).detail(t, "openai")
	if got := openai.Limits["monthly_spend"]; got != "2.00" {
		t.Errorf("openai limits.monthly_spend after a refresh = %v; want \"2.00\" as saved on My grants", got)
	}
	checkReservations(t, s, g.id)

	grantStep{button: "pause", notice: "Access paused.", status: "Paused", nextButton: "resume"}.click(t, tb, g.id)
	grantStep{button: "resume", notice: "Access resumed.", status: "Active", nextButton: "pause"}.click(t, tb, g.id)

	tb.follow(chromedp.Click(inCard(g.id, `[data-testid="revoke"]`)))
	tb.waitFor("confirm-revoke")
	tb.follow(chromedp.Click(testID("confirm-revoke")))
	tb.waitFor("no-grants")
	if got := tb.text(testID("notice")); !strings.HasPrefix(got, "Access revoked.") {
		t.Errorf("notice after revoke = %q; want it to start with %q", got, "Access revoked.")
	}
	if n := tb.count(fmt.Sprintf(`[data-testid="grant-%s"]`, g.id)); n != 0 {
		t.Errorf("cards of grant %s after revoke = %d; want 0", g.id, n)
	}
	s.waitInactive(t, tok.AccessToken, revokeTimeout)
}

// lowerMonthlyCap checks that the first provider of the edit form is
// OpenAI with the monthly cap from, types to and saves.
func lowerMonthlyCap(t *testing.T, tb *tab, grantID, from, to string) {
	t.Helper()
	tb.openEditForm(grantID)
	if got := tb.text(inCard(grantID, "fieldset.provider > legend")); got != "OpenAI" {
		t.Fatalf("first provider of the edit form = %q; want OpenAI, the first the Example App requests", got)
	}

	field := inCard(grantID, `input[name="d0.monthly_spend"]`)
	if got := tb.inputValue(field); got != from {
		t.Errorf("OpenAI monthly cap field before the edit = %q; want %q", got, from)
	}
	tb.do(chromedp.Clear(field), chromedp.SendKeys(field, to))
	tb.follow(chromedp.Click(inCard(grantID, `[data-testid="save"]`)))
	tb.waitFor("notice")

	if got := tb.text(testID("notice")); !strings.HasPrefix(got, "Changes saved.") {
		t.Errorf("notice after saving = %q; want it to start with %q", got, "Changes saved.")
	}
	if got := tb.inputValue(field); got != to {
		t.Errorf("OpenAI monthly cap field after saving = %q; want %q", got, to)
	}
	want := "This month: $0.00 of $" + to
	if got := tb.text(inCard(grantID, ".spend")); !strings.Contains(got, want) {
		t.Errorf("OpenAI spend after saving = %q; want it to contain %q", got, want)
	}
}

// checkReservations reserves amounts for a GPT-4o call through the usage
// API after the OpenAI monthly cap was lowered to $2.00. An amount above
// the new cap but below the old $5.00 must be rejected.
func checkReservations(t *testing.T, s *stack, grantID string) {
	t.Helper()
	tests := []struct {
		amount     string
		wantStatus int
		wantError  string
	}{
		{"3.00", http.StatusPaymentRequired, "budget_exhausted"},
		{"1.50", http.StatusCreated, ""},
	}
	for _, tt := range tests {
		status, r := s.reserve(t, grantID, tt.amount)
		if status != tt.wantStatus || r.Error != tt.wantError {
			t.Errorf("reserve %s for gpt-4o under a $2.00 cap: status %d, error %q; want %d, %q",
				tt.amount, status, r.Error, tt.wantStatus, tt.wantError)
		}
		if r.ReservationID != "" {
			s.release(t, r.ReservationID)
		}
	}
}

// checkNoSidewaysScroll fails the test when the page is wider than the
// screen.
func checkNoSidewaysScroll(t *testing.T, tb *tab, v viewport, state string) {
	t.Helper()
	if got := evaluate[float64](tb, "document.documentElement.scrollWidth"); got > float64(v.width) {
		t.Errorf("%s: %s scrollWidth = %g; want at most the %d px of the screen, with no sideways scroll", v.name, state, got, v.width)
	}
}

// pageOverhang returns how far, in CSS pixels, the page scrolls below
// the end of <main>: content that is hidden from sight but still takes
// room, such as a table for screen readers, leaves blank space there.
const pageOverhang = `document.documentElement.scrollHeight -
	Math.max(innerHeight, document.querySelector("main").getBoundingClientRect().bottom + scrollY)`

// checkNoBlankScroll fails the test when the page scrolls on past the end
// of its content.
func checkNoBlankScroll(t *testing.T, tb *tab, v viewport, state string) {
	t.Helper()
	if got := evaluate[float64](tb, pageOverhang); got > 1 {
		t.Errorf("%s: %s scrolls %g px past the end of <main>; want 0, with no blank space below the content", v.name, state, got)
	}
}

// minEdgeGap is the least space, in CSS pixels, between the left edge
// of the screen and text that sits outside a card. On a phone the cards
// reach the screen edges, and the text between them must not.
const minEdgeGap = 8

// checkEdgeGap fails the test when the element sel matches starts closer
// than minEdgeGap to the left edge of the screen.
func checkEdgeGap(t *testing.T, tb *tab, v viewport, sel string) {
	t.Helper()
	left := evaluate[*float64](tb, fmt.Sprintf(`document.querySelector(%q)?.getBoundingClientRect().left ?? null`, sel))
	switch {
	case left == nil:
		t.Errorf("%s: no %s at %s", v.name, sel, tb.location())
	case *left < minEdgeGap:
		t.Errorf("%s: %s starts %g px from the left edge of the screen; want at least %d px", v.name, sel, *left, minEdgeGap)
	}
}

// TestGrantsLayout opens My grants with one grant that has spent $1.25,
// on a desktop and a phone screen, with the edit form closed and open.
// The page must not scroll sideways or past its content, and the text
// outside the card must keep off the screen's edge. Pause, Revoke access and Save changes must
// be shown whole and large enough to tap. It takes the README's
// screenshots of My grants.
func TestGrantsLayout(t *testing.T) {
	for _, v := range []viewport{desktop, phone} {
		t.Run(v.name, func(t *testing.T) {
			s := startStack(t)
			tb := newTab(t, s, tabOptions{viewport: v})
			g := tb.allowExampleApp(s)
			s.spend(t, g.id, "1.25")

			tb.openGrants(s, s.user)
			tb.waitFor("spend-chart")
			name, size := "grants.png", fullPage
			if v.mobile {
				name, size = "grants-phone.png", firstScreen
			}
			tb.screenshot(name, size)

			checkNoSidewaysScroll(t, tb, v, "My grants")
			checkNoBlankScroll(t, tb, v, "My grants")
			for _, sel := range []string{"nav.account", `[data-testid="grants-page"] > h1`} {
				checkEdgeGap(t, tb, v, sel)
			}
			for _, id := range []string{"pause", "revoke"} {
				checkActionButton(t, v, id, tb.measure(id))
			}

			tb.openEditForm(g.id)
			checkNoSidewaysScroll(t, tb, v, "My grants with the edit form open")
			checkActionButton(t, v, "save", tb.measure("save"))
		})
	}
}

// TestKeyboardGrants pauses and revokes on My grants with the keyboard
// alone: Tab reaches Pause and later Revoke access, every control on the
// way shows its focus, and Enter on each does what a click does.
func TestKeyboardGrants(t *testing.T) {
	s := startStack(t)
	tb := newTab(t, s, tabOptions{})
	g := tb.allowExampleApp(s)
	tb.openGrants(s, s.user)

	tb.tabTo("pause")
	tb.follow(chromedp.KeyEvent(kb.Enter))
	tb.waitFor("resume")
	if got := tb.text(inCard(g.id, `[data-testid="grant-status"]`)); !strings.HasPrefix(got, "Paused") {
		t.Errorf("grant status after Enter on Pause = %q; want it to start with \"Paused\"", got)
	}

	tb.tabTo("revoke")
	tb.follow(chromedp.KeyEvent(kb.Enter))
	tb.waitFor("confirm-revoke")
	tb.tabTo("confirm-revoke")
	tb.follow(chromedp.KeyEvent(kb.Enter))
	tb.waitFor("no-grants")
}
