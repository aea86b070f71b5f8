// Package web holds the analysts' dashboard front end. Its sources are in
// src/ (plain JavaScript modules and CSS); `npm run build` bundles them with
// esbuild into dist/, which is committed, so a fresh clone builds and serves
// the dashboard without npm. TestDistIsFresh fails when dist/ is stale.
package web

import (
	"embed"
	"io/fs"
)

//go:embed dist
var dist embed.FS

// Assets returns the built front end (app.js, app.css), rooted at dist/.
func Assets() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // "dist" is a valid path: cannot happen
	}
	return sub
}
