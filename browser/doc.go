// Package browser tests the login, consent, error and logout pages, "My
// grants" and the admins' page of all grants in a real headless Chromium
// driven over the DevTools protocol. Each test starts the whole stack:
// Hydra built from tools/hydra, aiconsent in the test process with its
// token hook and usage API on, and the Example App (cmd/demoapp) as its
// own process, all on 127.0.0.1. Some tests also act from Go as the
// Example App's server, refreshing its token at Hydra, and as a resource
// server calling the usage API.
//
// The package holds only tests. They need:
//
//   - Chromium at /usr/bin/chromium (Debian: apt-get install -y chromium),
//     or its path in AICONSENT_CHROMIUM. Without it the tests fail.
//   - npm, which installs the pinned axe-core from testdata/axe/package-lock.json
//     with `npm ci` the first time the tests run.
//
// When AICONSENT_SCREENSHOTS names a directory, the tests write their
// screenshots there as PNG files, such as consent-desktop.png and
// grants.png.
package browser
