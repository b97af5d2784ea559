// Package static holds the files served under /static/: the style sheet
// and the small script that improves the consent form when JavaScript runs.
package static

import "embed"

// Files are the embedded static files, served as they are.
//
//go:embed *.css *.js *.svg
var Files embed.FS
