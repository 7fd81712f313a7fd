// Package viewtest validates documents against the published JSON Schemas, for
// tests: the schemas are the contract, and real output is checked against them.
package viewtest

import (
	"bytes"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"integration-dr/view"
)

// base is where the schemas are loaded from, so that their relative $refs resolve.
const base = "https://integration-dr.invalid/schema/"

var compiled = sync.OnceValues(func() (map[string]*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	names, err := fs.Glob(view.Schemas(), "*.schema.json")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		raw, err := fs.ReadFile(view.Schemas(), n)
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		if err := c.AddResource(base+n, doc); err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
	}
	out := map[string]*jsonschema.Schema{}
	for _, n := range names {
		s, err := c.Compile(base + n)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		out[n] = s
	}
	return out, nil
})

// Check validates doc, one JSON document, against the named schema file
// ("status.schema.json"); the error says where it differs.
func Check(name string, doc []byte) error {
	all, err := compiled()
	if err != nil {
		return err
	}
	s, ok := all[name]
	if !ok {
		return fmt.Errorf("no schema %s", name)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("not one JSON document: %w", err)
	}
	return s.Validate(v)
}

// Validate fails the test unless doc is valid under the named schema.
func Validate(tb testing.TB, name, what string, doc []byte) {
	tb.Helper()
	if err := Check(name, doc); err != nil {
		tb.Fatalf("%s: not of %s: %v\n%s", what, name, err, doc)
	}
}

// Lines validates each non-empty line of out as one document of the named schema
// (drctl --wait --json prints one event per line).
func Lines(tb testing.TB, name, what string, out []byte) {
	tb.Helper()
	for i, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l == "" {
			continue
		}
		Validate(tb, name, fmt.Sprintf("%s, line %d", what, i+1), []byte(l))
	}
}
