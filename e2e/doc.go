// Package e2e holds end-to-end tests of the whole flow: a real Hydra
// v2.3.0 built from the tools module, aiconsent on a temporary SQLite
// database, and a cookie-keeping HTTP client in the place of a browser.
package e2e
