package browser

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// testTimeout bounds the browser of one test: Chromium and every step in
// it stop then. A flow takes a few seconds here, under the race detector
// too.
const testTimeout = 60 * time.Second

// workDir holds what the tests build once per test binary: the Example
// App's binary. TestMain removes it at the end.
var workDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "aiconsent-browser-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "browser tests: create a work directory:", err)
		os.Exit(1)
	}
	workDir = dir

	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
