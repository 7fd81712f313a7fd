// Package statuspage renders an overview as one self-contained HTML page.
package statuspage

import (
	"bytes"
	"html/template"

	"integration-dr/overview"
)

var page = template.Must(template.New("page").Parse(`<!doctype html><title>integration-dr status</title><pre>{{printf "%+v" .}}</pre>`))

// Render returns the page for o.
func Render(o overview.Overview) ([]byte, error) {
	var b bytes.Buffer
	err := page.Execute(&b, o)
	return b.Bytes(), err
}
