package browser

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// axeDir holds package.json and package-lock.json, which pin axe-core.
const axeDir = "testdata/axe"

// axeRun runs axe-core on the whole document with the WCAG 2.0 and 2.1
// rules of levels A and AA, and returns each violation with the CSS
// selectors of the elements that fail it.
const axeRun = `axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})
	.then(r => r.violations.map(v => ({
		id: v.id, impact: v.impact || "", help: v.help, helpUrl: v.helpUrl,
		targets: v.nodes.map(n => n.target.join(" "))
	})))`

// axeViolation is one failed axe-core rule.
type axeViolation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	HelpURL string   `json:"helpUrl"`
	Targets []string `json:"targets"`
}

func (v axeViolation) String() string {
	return fmt.Sprintf("%s (%s): %s\n    elements: %s\n    see %s", v.ID, v.Impact, v.Help, strings.Join(v.Targets, ", "), v.HelpURL)
}

// axeInstall guards the one install of axe-core per test binary.
var axeInstall struct {
	once   sync.Once
	source string
	err    error
}

// axeSource returns the text of axe.min.js. When node_modules lacks the
// version that package-lock.json pins, it runs `npm ci` first.
func axeSource(t *testing.T) string {
	t.Helper()
	axeInstall.once.Do(func() {
		axeInstall.source, axeInstall.err = loadAxe()
	})
	if axeInstall.err != nil {
		t.Fatal(axeInstall.err)
	}
	return axeInstall.source
}

func loadAxe() (string, error) {
	want, err := packageVersion(filepath.Join(axeDir, "package-lock.json"), "node_modules/axe-core")
	if err != nil {
		return "", err
	}

	got, err := packageVersion(filepath.Join(axeDir, "node_modules", "axe-core", "package.json"), "")
	if errors.Is(err, fs.ErrNotExist) || (err == nil && got != want) {
		if err := npmCI(); err != nil {
			return "", err
		}
	} else if err != nil {
		return "", err
	}

	source, err := os.ReadFile(filepath.Join(axeDir, "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		return "", fmt.Errorf("read axe-core after npm ci: %w", err)
	}
	return string(source), nil
}

// packageVersion reads the version from a package.json, or with key set,
// of that package in a package-lock.json.
func packageVersion(path, key string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}

	var file struct {
		Version  string `json:"version"`
		Packages map[string]struct {
			Version string `json:"version"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		return "", fmt.Errorf("parse %s: %w", path, err)
	}
	if key == "" {
		return file.Version, nil
	}
	p, ok := file.Packages[key]
	if !ok || p.Version == "" {
		return "", fmt.Errorf("%s pins no version of %q", path, key)
	}
	return p.Version, nil
}

// npmCI installs exactly what package-lock.json lists, without running
// package scripts.
func npmCI() error {
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("npm not found in PATH (%v): the accessibility checks install axe-core with npm; "+
			"install Node.js and npm (Debian: apt-get install -y npm)", err)
	}

	cmd := exec.Command(npm, "ci", "--prefix", axeDir, "--no-audit", "--no-fund", "--ignore-scripts")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("npm ci --prefix %s: %w\n%s", axeDir, err, out)
	}
	return nil
}

// axeViolations injects axe-core into the page through DevTools, which the
// page's Content-Security-Policy does not govern, and runs it.
func axeViolations(tb *tab) []axeViolation {
	tb.t.Helper()
	if !evaluate[bool](tb, `typeof axe === "object"`) {
		evaluate[bool](tb, axeSource(tb.t)+"\n;true")
	}
	return evaluate[[]axeViolation](tb, axeRun)
}

// checkAccessibility fails the test for each WCAG 2.1 A or AA violation
// that axe-core finds on the page in the tab.
func checkAccessibility(tb *tab, state string) {
	tb.t.Helper()
	for _, v := range axeViolations(tb) {
		tb.t.Errorf("%s: axe-core violation %s", state, v)
	}
}

// TestAxeFindsViolations shows that the accessibility check can fail: a
// page with an unlabelled input, an image without alt text and grey text
// on white must break the three matching rules.
func TestAxeFindsViolations(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><html lang="en"><head><title>Bad page</title></head><body>`+
			`<main data-testid="page"><h1>Bad page</h1>`+
			`<form><input type="text" name="q"></form>`+
			`<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" width="10" height="10">`+
			`<p style="color:#bbb;background:#fff">Faint text</p></main></body></html>`)
	}))
	defer srv.Close()

	tb := newTab(t, nil, tabOptions{})
	tb.open(srv.URL, "page")
	got := axeViolations(tb)

	var ids []string
	for _, v := range got {
		ids = append(ids, v.ID)
	}
	for _, want := range []string{"label", "image-alt", "color-contrast"} {
		if !slices.Contains(ids, want) {
			t.Errorf("axe-core violations on the bad page = %q; want %q among them", ids, want)
		}
	}
}
