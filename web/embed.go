// Package web holds the analysts' web pages, embedded in the binary and
// served by the same server.
package web

import "embed"

// Files are the static pages; index.html is served at /.
//
//go:embed index.html
var Files embed.FS
