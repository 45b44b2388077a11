package main

import (
	"embed"
	"io/fs"
)

// dist is the bundle `make web` writes (functions/web/ui → functions/web/dist). The folder
// always exists in a checkout (its .gitkeep is committed, the bundle is not), so `go build`
// and `go vet` work on a fresh clone; a binary built before the bundle refuses to start
// (see newSite) instead of serving a blank page.
//
//go:embed all:dist
var dist embed.FS

func builtApp() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // "dist" is a literal directory of this package: cannot fail
	}
	return sub
}
