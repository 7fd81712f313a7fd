package view

import (
	"embed"
	"io/fs"
)

//go:embed schema/*.schema.json
var schemas embed.FS

// Schemas holds the published JSON Schemas (draft 2020-12), one file per document:
// status.schema.json, operation.schema.json, readiness.schema.json, … and the
// definitions they share, defs.schema.json.
func Schemas() fs.FS {
	sub, err := fs.Sub(schemas, "schema")
	if err != nil {
		panic(err) // the directory is embedded above: it is there
	}
	return sub
}
