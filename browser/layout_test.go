package browser

import (
	"fmt"
	"testing"
)

// box is where an element sits after it was scrolled into view, in CSS
// pixels of the viewport.
type box struct {
	Left, Top, Width, Height float64
	Right, Bottom            float64
	Visible                  bool // displayed, not hidden and not transparent
	OnTop                    bool // no other element covers its centre
	ViewportWidth            float64
	ViewportHeight           float64
}

// elementBox scrolls the element with a data-testid into the middle of
// the viewport and measures it.
const elementBox = `((id) => {
	const e = document.querySelector('[data-testid="' + id + '"]');
	if (!e) return null;
	e.scrollIntoView({block: "center", inline: "nearest"});
	const r = e.getBoundingClientRect();
	const s = getComputedStyle(e);
	const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
	return {
		Left: r.left, Top: r.top, Width: r.width, Height: r.height, Right: r.right, Bottom: r.bottom,
		Visible: s.display !== "none" && s.visibility === "visible" && parseFloat(s.opacity) > 0,
		OnTop: hit === e || e.contains(hit),
		ViewportWidth: innerWidth, ViewportHeight: innerHeight
	};
})(%q)`

// minTarget is the smallest width and height, in CSS pixels, of the
// buttons that decide or change a grant: the 44 px target size of WCAG
// 2.1 success criterion 2.5.5, which is level AAA.
const minTarget = 44

// measure returns the box of the element with data-testid id, failing
// the test when the page has no such element.
func (tb *tab) measure(id string) box {
	tb.t.Helper()
	b := evaluate[*box](tb, fmt.Sprintf(elementBox, id))
	if b == nil {
		tb.t.Fatalf("no [data-testid=%q] at %s", id, tb.location())
	}
	return *b
}

// checkActionButton fails the test unless the button is shown whole
// inside the viewport's width, uncovered and at least minTarget large.
func checkActionButton(t *testing.T, v viewport, id string, b box) {
	t.Helper()
	if !b.Visible || !b.OnTop {
		t.Errorf("%s: %s button visible %v, on top %v; want it visible and uncovered", v.name, id, b.Visible, b.OnTop)
	}
	if b.Left < 0 || b.Right > b.ViewportWidth || b.Top < 0 || b.Bottom > b.ViewportHeight {
		t.Errorf("%s: %s button at left %g, right %g, top %g, bottom %g; want it inside the %gx%g viewport",
			v.name, id, b.Left, b.Right, b.Top, b.Bottom, b.ViewportWidth, b.ViewportHeight)
	}
	if b.Width < minTarget || b.Height < minTarget {
		t.Errorf("%s: %s button is %gx%g px; want at least %dx%d", v.name, id, b.Width, b.Height, minTarget, minTarget)
	}
}

// TestConsentLayout opens the consent page on a desktop and a phone
// screen: the page must not scroll sideways, Allow and Deny must be shown
// whole and equally large, and the summary must start on the first
// screen. It takes the README's screenshots.
func TestConsentLayout(t *testing.T) {
	for _, v := range []viewport{desktop, phone} {
		t.Run(v.name, func(t *testing.T) {
			s := startStack(t)
			tb := newTab(t, s, tabOptions{viewport: v})

			tb.connect(s)
			if v == phone {
				tb.screenshot("login-phone.png", firstScreen)
				checkAccessibility(tb, "login on a phone")
			}
			tb.signIn(s.user)
			// A phone shows the top of the consent page first; a desktop
			// picture shows the whole page, Allow and Deny included.
			size := fullPage
			if v.mobile {
				size = firstScreen
			}
			tb.screenshot("consent-"+v.name+".png", size)

			if got := evaluate[float64](tb, "document.documentElement.scrollWidth"); got > float64(v.width) {
				t.Errorf("%s: consent page scrollWidth = %g; want at most the %d px of the screen, with no sideways scroll", v.name, got, v.width)
			}
			if top := evaluate[float64](tb, `document.querySelector('[data-testid="summary"]').getBoundingClientRect().top`); top >= float64(v.height) {
				t.Errorf("%s: summary starts at %g px; want it on the first screen of %d px", v.name, top, v.height)
			}

			allow, deny := tb.measure("allow"), tb.measure("deny")
			checkActionButton(t, v, "allow", allow)
			checkActionButton(t, v, "deny", deny)
			if allow.Width != deny.Width || allow.Height != deny.Height {
				t.Errorf("%s: Allow is %gx%g px and Deny %gx%g px; want the same size, so Deny is as easy to hit",
					v.name, allow.Width, allow.Height, deny.Width, deny.Height)
			}
			if v == phone {
				checkAccessibility(tb, "consent on a phone")
			}
		})
	}
}
