package browser

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// pageStates are the states of aiconsent's pages that axe-core checks.
// Each reach func starts from a fresh browser and stack and leaves the tab
// showing the state. A new page gets its own row.
var pageStates = []struct {
	name  string
	reach func(t *testing.T, s *stack, tb *tab)
}{
	{"login", func(t *testing.T, s *stack, tb *tab) {
		tb.connect(s)
	}},
	{"login with error", func(t *testing.T, s *stack, tb *tab) {
		tb.connect(s)
		tb.submitLogin(s.user.username, "not the password", false)
		tb.waitFor("login-error")
	}},
	{"consent", func(t *testing.T, s *stack, tb *tab) {
		tb.connect(s)
		tb.signIn(s.user)
	}},
	{"consent with error", func(t *testing.T, s *stack, tb *tab) {
		tb.connect(s)
		tb.signIn(s.user)
		tb.setField("p0.monthly_spend", "lots")
		if status := tb.follow(chromedp.Click(testID("allow"))); status != http.StatusBadRequest {
			t.Errorf("Allow with monthly cap %q: status %d; want %d", "lots", status, http.StatusBadRequest)
		}
		tb.waitFor("consent-errors")
	}},
	{"error page", func(t *testing.T, s *stack, tb *tab) {
		if status := tb.follow(chromedp.Navigate(s.appURL + "/login")); status != http.StatusBadRequest {
			t.Errorf("GET /login without a challenge: status %d; want %d", status, http.StatusBadRequest)
		}
		tb.waitFor("error-page")
	}},
	{"logout", func(t *testing.T, s *stack, tb *tab) {
		tb.reachLogout(s)
	}},
	{"still signed in", func(t *testing.T, s *stack, tb *tab) {
		tb.reachLogout(s)
		tb.follow(chromedp.Click(chromedp.CSS(`button[value="reject"]`)))
		tb.waitFor("message-page")
	}},
	{"my grants", func(t *testing.T, s *stack, tb *tab) {
		g := tb.allowExampleApp(s)
		s.spend(t, g.id, "1.25")
		tb.openGrants(s, s.user)
		tb.waitFor("spend-chart")
	}},
	{"my grants with the edit form open", func(t *testing.T, s *stack, tb *tab) {
		g := tb.allowExampleApp(s)
		tb.openGrants(s, s.user)
		tb.openEditForm(g.id)
	}},
	{"my grants paused", func(t *testing.T, s *stack, tb *tab) {
		g := tb.allowExampleApp(s)
		tb.openGrants(s, s.user)
		tb.follow(chromedp.Click(inCard(g.id, `[data-testid="pause"]`)))
		tb.waitFor("resume")
		// Opens the history, which lists the pause.
		tb.do(chromedp.Click(inCard(g.id, "details.history > summary")))
	}},
	{"revoke confirmation", func(t *testing.T, s *stack, tb *tab) {
		g := tb.allowExampleApp(s)
		tb.openGrants(s, s.user)
		tb.follow(chromedp.Click(inCard(g.id, `[data-testid="revoke"]`)))
		tb.waitFor("confirm-revoke")
	}},
	{"my grants empty", func(t *testing.T, s *stack, tb *tab) {
		tb.openGrants(s, s.user)
		tb.waitFor("no-grants")
	}},
	{"all grants", func(t *testing.T, s *stack, tb *tab) {
		g := tb.allowExampleApp(s)
		s.spend(t, g.id, "1.25")
		admin := addUser(t, s.server, "root", "admin's long password", true)
		tb.openSignedIn(s.appURL+"/admin/grants", admin, "admin-grants-page")
		tb.waitFor("admin-grant-" + g.id)
	}},
	{"signed out of my grants", func(t *testing.T, s *stack, tb *tab) {
		tb.openGrants(s, s.user)
		tb.follow(chromedp.Click(chromedp.CSS(`form[action="/grants/signout"] button`)))
		tb.waitFor("message-page")
		if got := tb.text(chromedp.CSS("h1")); got != "Signed out of My grants" {
			t.Errorf("heading after Sign out = %q; want %q", got, "Signed out of My grants")
		}
	}},
}

// TestAccessibility runs axe-core's WCAG 2.1 A and AA rules on every page
// state and fails on any violation.
func TestAccessibility(t *testing.T) {
	for _, st := range pageStates {
		t.Run(st.name, func(t *testing.T) {
			s := startStack(t)
			tb := newTab(t, s, tabOptions{})
			st.reach(t, s, tb)
			checkAccessibility(tb, st.name)
		})
	}
}

// focusState describes the focused element and its focus indicator.
type focusState struct {
	TestID       string  `json:"testid"`
	Tag          string  `json:"tag"`
	ID           string  `json:"id"`
	Name         string  `json:"name"`
	Text         string  `json:"text"`
	FocusVisible bool    `json:"focusVisible"`
	OutlineStyle string  `json:"outlineStyle"`
	OutlineWidth float64 `json:"outlineWidth"`
}

func (f focusState) String() string {
	desc := "<" + f.Tag
	for _, attr := range []struct{ name, value string }{{"data-testid", f.TestID}, {"id", f.ID}, {"name", f.Name}} {
		if attr.value != "" {
			desc += fmt.Sprintf(" %s=%q", attr.name, attr.value)
		}
	}
	desc += ">"
	if f.Text != "" {
		desc += " " + f.Text
	}
	return desc
}

// focusedElement reads document.activeElement and its computed outline.
const focusedElement = `(() => {
	const e = document.activeElement || document.body;
	const s = getComputedStyle(e);
	return {
		testid: e.dataset.testid || "", tag: e.tagName.toLowerCase(), id: e.id, name: e.getAttribute("name") || "",
		text: (e.innerText || "").trim().slice(0, 40),
		focusVisible: e.matches(":focus-visible"), outlineStyle: s.outlineStyle, outlineWidth: parseFloat(s.outlineWidth) || 0
	};
})()`

// minOutlineWidth is the thinnest focus outline, in CSS pixels, that the
// tests accept as visible.
const minOutlineWidth = 2

// maxTabs bounds the walk through the consent page's tab order. For the
// Example App's request the page has about 35 tab stops.
const maxTabs = 120

// tabTo presses Tab until the element with data-testid id has the focus,
// checking that every element it passes shows a focus outline. It returns
// the elements in the order they got the focus.
func (tb *tab) tabTo(id string) []focusState {
	tb.t.Helper()

	var order []focusState
	for range maxTabs {
		tb.do(chromedp.KeyEvent(kb.Tab))
		f := evaluate[focusState](tb, focusedElement)
		order = append(order, f)

		if f.Tag != "body" && (f.OutlineStyle == "none" || f.OutlineWidth < minOutlineWidth) {
			tb.t.Errorf("focus on %s after %d Tab presses: :focus-visible %v, outline %s %gpx; want a visible outline of at least %dpx",
				f, len(order), f.FocusVisible, f.OutlineStyle, f.OutlineWidth, minOutlineWidth)
		}
		if f.TestID == id {
			return order
		}
	}
	tb.t.Fatalf("Tab pressed %d times without reaching [data-testid=%q]; focus went through %v", maxTabs, id, order)
	return nil
}

// TestKeyboardConsent decides on the consent page with the keyboard
// alone: Tab reaches Allow and then Deny, every focused control shows its
// focus, and Enter or Space on a focused Allow completes the flow.
func TestKeyboardConsent(t *testing.T) {
	tests := []struct {
		name string
		key  string
	}{
		{"enter", kb.Enter},
		{"space", " "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startStack(t)
			tb := newTab(t, s, tabOptions{})
			tb.connect(s)
			tb.do(chromedp.SendKeys(chromedp.ID("username"), s.user.username), chromedp.SendKeys(chromedp.ID("password"), s.user.password))
			tb.follow(chromedp.KeyEvent(kb.Enter))
			tb.waitFor("consent-page")

			tb.tabTo("allow")
			after := tb.tabTo("deny")
			if len(after) != 1 {
				t.Errorf("Tab presses from Allow to Deny = %d (through %v); want 1, so the two choices sit side by side", len(after), after)
			}

			tb.do(chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift)))
			if f := evaluate[focusState](tb, focusedElement); f.TestID != "allow" {
				t.Fatalf("focus after Shift+Tab from Deny = %s; want Allow", f)
			}
			tb.follow(chromedp.KeyEvent(tt.key))

			if in := tb.tokenIntrospection(); !in.Active {
				t.Errorf("after %s on Allow: token active = false; want an active token", tt.name)
			}
		})
	}
}
