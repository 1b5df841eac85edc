package main

import (
	"embed"
	"io/fs"
)

//go:embed web/templates web/static
var webFiles embed.FS

// webFS is the embedded UI handed to the app: templates/ and static/.
func webFS() fs.FS {
	sub, err := fs.Sub(webFiles, "web")
	if err != nil {
		panic(err)
	}
	return sub
}
