package browser

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

const (
	// chromiumEnv names the Chromium binary to run instead of
	// defaultChromium.
	chromiumEnv     = "AICONSENT_CHROMIUM"
	defaultChromium = "/usr/bin/chromium"

	// screenshotsEnv names the directory the tests write screenshots to;
	// unset, they write none.
	screenshotsEnv = "AICONSENT_SCREENSHOTS"

	// waitTimeout bounds one wait for a page or an element, so a failing
	// test still has time to report what the tab shows.
	waitTimeout = 15 * time.Second
)

// viewport is the size of the emulated screen in CSS pixels.
type viewport struct {
	name          string
	width, height int64
	mobile        bool
	scale         float64 // device pixels per CSS pixel
}

var (
	desktop = viewport{name: "desktop", width: 1280, height: 900, scale: 1}
	phone   = viewport{name: "phone", width: 375, height: 812, mobile: true, scale: 2}
)

// tabOptions configure newTab.
type tabOptions struct {
	viewport viewport

	// noScript turns JavaScript off in the page, as a person may.
	noScript bool
}

// tab is one page of a fresh headless Chromium. It records every document
// response and console message, and when the test ends it fails the test
// for each aiconsent page that lacks a security header and for each
// Content-Security-Policy violation.
type tab struct {
	t   *testing.T
	ctx context.Context

	// appOrigin is aiconsent's origin, whose pages must carry the security
	// headers; empty for a tab that shows no aiconsent page.
	appOrigin string

	mu        sync.Mutex
	documents []document
	console   []consoleEntry
}

// document is an HTML page the browser received.
type document struct {
	url    string
	status int64
	header http.Header
}

// consoleEntry is a console message or browser log entry, such as a
// Content-Security-Policy violation or an uncaught exception.
type consoleEntry struct {
	source string // "security", "network", "javascript", ...
	level  string // "error", "warning", ...
	text   string
	url    string
}

func (e consoleEntry) String() string {
	return fmt.Sprintf("%s %s at %s: %s", e.source, e.level, withoutQuery(e.url), e.text)
}

// newTab starts Chromium with a fresh profile in a temporary directory and
// returns its first tab. Chromium and the test's context end when the test
// ends or after testTimeout. It fails the test, with how to install it,
// when Chromium is missing.
func newTab(t *testing.T, s *stack, opt tabOptions) *tab {
	t.Helper()
	path := chromiumPath(t)
	if opt.viewport.width == 0 {
		opt.viewport = desktop
	}

	tb := &tab{t: t}
	if s != nil {
		tb.appOrigin = s.appURL
	}

	var output syncBuffer
	base, cancelBase := context.WithTimeout(context.Background(), testTimeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(base, chromiumOptions(path, t.TempDir(), opt.viewport, &output)...)
	ctx, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithListener(tb.record))
	tb.ctx = ctx

	t.Cleanup(func() {
		_ = chromedp.Cancel(ctx)
		cancelTab()
		cancelAlloc()
		cancelBase()
		tb.checkRecorded()
		if t.Failed() {
			t.Logf("Chromium output, without D-Bus errors:\n%s", withoutDBus(output.String()))
		}
	})

	if err := chromedp.Do(ctx, emulate(opt.viewport)); err != nil {
		t.Fatalf("start Chromium %s: %v\noutput:\n%s", path, err, output.String())
	}
	if opt.noScript {
		params := emulation.SetScriptExecutionDisabledParams{Value: true}
		if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, params); err != nil {
			t.Fatalf("turn JavaScript off: %v", err)
		}
	}
	return tb
}

// withoutDBus drops Chromium's complaints about the missing D-Bus, which
// it prints many times at every start on a machine without a desktop.
func withoutDBus(output string) string {
	var kept []string
	for line := range strings.Lines(output) {
		if !strings.Contains(line, "dbus/") {
			kept = append(kept, line)
		}
	}
	return strings.Join(kept, "")
}

// chromiumPath returns $AICONSENT_CHROMIUM or /usr/bin/chromium, failing
// the test with install instructions when the file is missing.
func chromiumPath(t *testing.T) string {
	t.Helper()

	path := defaultChromium
	if p := os.Getenv(chromiumEnv); p != "" {
		path = p
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("Chromium not found at %q (%v): install it with `apt-get install -y chromium`, "+
			"or set %s to the path of a Chromium or Chrome binary", path, err, chromiumEnv)
	}
	return path
}

// chromiumOptions are the command-line settings of a test browser. This
// machine has no network beyond the package registries, so every feature
// that calls Google's servers is off.
func chromiumOptions(path, profile string, v viewport, output *syncBuffer) []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(profile),
		chromedp.CombinedOutput(output),
		chromedp.WindowSize(int(v.width), int(v.height)),
		chromedp.Headless,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		// Tests run as root in CI, where Chromium's sandbox cannot start.
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-client-side-phishing-detection", true),
		chromedp.Flag("safebrowsing-disable-auto-update", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter"),
		// Keeps saved passwords in the profile directory, not a keyring.
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		// Colours in screenshots and contrast checks match the CSS values.
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.Flag("disable-dev-shm-usage", true),
	}
}

func emulate(v viewport) chromedp.Action[chromedp.Void] {
	opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(v.scale)}
	if v.mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
	}
	return chromedp.EmulateViewport(v.width, v.height, opts...)
}

// record runs in the tab's event loop for every event, so it only stores.
func (tb *tab) record(ev any) {
	tb.mu.Lock()
	defer tb.mu.Unlock()

	switch ev := ev.(type) {
	case *network.EventResponseReceived:
		if ev.Type == network.ResourceTypeDocument && ev.Response != nil {
			tb.documents = append(tb.documents, document{
				url:    ev.Response.URL,
				status: ev.Response.Status,
				header: toHeader(ev.Response.Headers),
			})
		}
	case *log.EventEntryAdded:
		if ev.Entry != nil {
			tb.console = append(tb.console, consoleEntry{
				source: string(ev.Entry.Source), level: string(ev.Entry.Level), text: ev.Entry.Text, url: ev.Entry.URL,
			})
		}
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning {
			tb.console = append(tb.console, consoleEntry{source: "console-api", level: string(ev.Type), text: consoleArgs(ev.Args)})
		}
	case *runtime.EventExceptionThrown:
		if d := ev.ExceptionDetails; d != nil {
			text := d.Text
			if d.Exception != nil {
				text += " " + d.Exception.Description
			}
			tb.console = append(tb.console, consoleEntry{source: "javascript", level: "exception", text: text, url: d.URL})
		}
	}
}

func toHeader(h network.Headers) http.Header {
	out := http.Header{}
	for key, value := range h {
		for _, v := range strings.Split(fmt.Sprint(value), "\n") {
			out.Add(key, v)
		}
	}
	return out
}

func consoleArgs(args []*runtime.RemoteObject) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		if a.Description != "" {
			parts = append(parts, a.Description)
		} else {
			parts = append(parts, string(a.Value))
		}
	}
	return strings.Join(parts, " ")
}

// takeConsole returns the console entries recorded so far and clears
// them, so the end-of-test check does not report them again.
func (tb *tab) takeConsole() []consoleEntry {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	entries := tb.console
	tb.console = nil
	return entries
}

// takeAppDocuments returns the aiconsent pages the tab received so far
// and clears the recorded pages.
func (tb *tab) takeAppDocuments() []document {
	tb.mu.Lock()
	defer tb.mu.Unlock()

	var docs []document
	for _, d := range tb.documents {
		if tb.appOrigin != "" && strings.HasPrefix(d.url, tb.appOrigin+"/") {
			docs = append(docs, d)
		}
	}
	tb.documents = nil
	return docs
}

// checkRecorded fails the test for each aiconsent page without the
// security headers and for each Content-Security-Policy violation since
// the last check, and returns the pages it checked.
func (tb *tab) checkRecorded() []document {
	docs := tb.takeAppDocuments()
	for _, d := range docs {
		for _, p := range securityHeaderProblems(d.header) {
			tb.t.Errorf("page %s (status %d): %s", withoutQuery(d.url), d.status, p)
		}
	}
	for _, e := range cspViolations(tb.takeConsole()) {
		tb.t.Errorf("Content-Security-Policy violation: %s", e)
	}
	return docs
}

// cspViolations returns the entries that report a blocked resource or
// script. Chromium 156 logs each violation as a "security" error whose
// text names the Content Security Policy.
func cspViolations(entries []consoleEntry) []consoleEntry {
	var found []consoleEntry
	for _, e := range entries {
		if strings.Contains(e.text, "Content Security Policy") {
			found = append(found, e)
		}
	}
	return found
}

// withoutQuery drops the query, which carries login and consent challenges.
func withoutQuery(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.RawQuery = ""
	return u.String()
}

// do runs actions and fails the test with the page's address on error.
func (tb *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, actions...); err != nil {
		tb.t.Fatalf("at %s: %v", tb.location(), err)
	}
}

// follow runs an action that loads a new page, such as a click on a
// submit button or a link, waits until the last page of its redirects has
// loaded and returns that page's HTTP status. It fails the test when no
// page loads within waitTimeout.
func (tb *tab) follow(action chromedp.Action[chromedp.Void]) int64 {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, waitTimeout)
	defer cancel()

	resp, err := chromedp.RunResponse(ctx, action)
	if err != nil {
		tb.t.Fatalf("waiting for a new page: %v; the tab shows %s", err, tb.describe())
	}
	return resp.Status
}

// location returns the tab's current URL without its query, or a note
// when the browser cannot tell.
func (tb *tab) location() string {
	loc, err := chromedp.Run(tb.ctx, chromedp.Location())
	if err != nil {
		return "(unknown page: " + err.Error() + ")"
	}
	return withoutQuery(loc)
}

// open navigates to target and waits for the element with data-testid id.
func (tb *tab) open(target, id string) {
	tb.t.Helper()
	tb.do(chromedp.Navigate(target))
	tb.waitFor(id)
}

// waitFor waits until the element with data-testid id is visible. It
// fails the test, with the page's address, heading and alerts, when the
// element does not show within waitTimeout.
func (tb *tab) waitFor(id string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, waitTimeout)
	defer cancel()

	if err := chromedp.Do(ctx, chromedp.WaitVisible(testID(id))); err != nil {
		tb.t.Fatalf("waiting for [data-testid=%q]: %v; the tab shows %s", id, err, tb.describe())
	}
}

// pageSummary reads what a person sees first on a page: its heading and
// its alerts.
const pageSummary = `[document.querySelector("h1")?.innerText || "(no heading)",
	...[...document.querySelectorAll('[role="alert"]')].map(e => e.innerText)].join(" | ")`

// describe returns the tab's address, heading and alerts for a failure
// message.
func (tb *tab) describe() string {
	text, err := chromedp.Run(tb.ctx, chromedp.Evaluate[string](pageSummary))
	if err != nil {
		text = "(page text unreadable: " + err.Error() + ")"
	}
	return fmt.Sprintf("%s: %s", tb.location(), strings.Join(strings.Fields(text), " "))
}

// testID selects the element with the given data-testid.
func testID(id string) chromedp.CSS {
	return chromedp.CSS(fmt.Sprintf("[data-testid=%q]", id))
}

// text returns the visible text of the first element sel matches.
func (tb *tab) text(sel chromedp.CSS) string {
	tb.t.Helper()
	s, err := chromedp.Run(tb.ctx, chromedp.Text(sel))
	if err != nil {
		tb.t.Fatalf("read the text of %s at %s: %v", sel, tb.location(), err)
	}
	return strings.Join(strings.Fields(s), " ")
}

// count returns how many elements sel matches, without waiting.
func (tb *tab) count(sel string) int {
	tb.t.Helper()
	return evaluate[int](tb, fmt.Sprintf("document.querySelectorAll(%q).length", sel))
}

// evaluate runs a JavaScript expression in the page through DevTools,
// which the page's Content-Security-Policy does not govern, and decodes
// its value.
func evaluate[T any](tb *tab, expression string) T {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](expression, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("evaluate %.80q at %s: %v", expression, tb.location(), err)
	}
	return v
}

// shot selects how much of the page a screenshot captures.
type shot int

const (
	firstScreen shot = iota // the viewport, scrolled to the top
	fullPage                // the whole page, however long
)

// screenshot captures the page as PNG and, when AICONSENT_SCREENSHOTS is
// set, writes it there under name. It always captures, so the code that
// makes the README's pictures runs in every test run.
func (tb *tab) screenshot(name string, size shot) {
	tb.t.Helper()
	capture := chromedp.FullScreenshot(100)
	if size == firstScreen {
		tb.do(chromedp.Evaluate[chromedp.Void]("window.scrollTo(0, 0)"))
		capture = chromedp.CaptureScreenshot()
	}
	png, err := chromedp.Run(tb.ctx, capture)
	if err != nil {
		tb.t.Fatalf("screenshot %s at %s: %v", name, tb.location(), err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		tb.t.Fatalf("screenshot %s is not a PNG image (starts with % x)", name, png[:min(8, len(png))])
	}

	dir := screenshotDir(tb.t)
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.t.Fatalf("create the screenshot directory %s=%q: %v", screenshotsEnv, dir, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		tb.t.Fatalf("write screenshot: %v", err)
	}
}

// screenshotDir returns $AICONSENT_SCREENSHOTS with a relative path taken
// from the repository root, where `make` runs, and not from this package's
// directory, where `go test` runs the tests. It returns "" when unset.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv(screenshotsEnv)
	if dir == "" || filepath.IsAbs(dir) {
		return dir
	}

	wd, err := os.Getwd()
	if err != nil {
		t.Fatalf("resolve %s=%q: %v", screenshotsEnv, dir, err)
	}
	for root := wd; ; root = filepath.Dir(root) {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			return filepath.Join(root, dir)
		}
		if filepath.Dir(root) == root {
			t.Fatalf("resolve %s=%q: no go.mod in %q or above it; give an absolute path", screenshotsEnv, dir, wd)
		}
	}
}
