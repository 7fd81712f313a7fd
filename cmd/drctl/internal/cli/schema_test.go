package cli

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"reflect"
	"strings"
	"testing"

	"integration-dr/view"
	"integration-dr/view/viewtest"
)

// The --json documents are checked against the published JSON Schemas
// (view/schema/*.schema.json): the schema is the contract scripts rely on, so every
// document a test makes drctl print goes through it. checkSchema validates doc
// against the schema of T (additionalProperties false: an unknown key, a missing
// one, a null list or a time not in UTC fails it) and returns it decoded.
//
// schemaOf names the schema file of each document type.
var schemaOf = map[reflect.Type]string{
	reflect.TypeFor[view.Status]():           "status.schema.json",
	reflect.TypeFor[view.Operation]():        "operation.schema.json",
	reflect.TypeFor[[]view.Operation]():      "operations.schema.json",
	reflect.TypeFor[[]view.Readiness]():      "readiness.schema.json",
	reflect.TypeFor[view.Checkpoint]():       "checkpoint.schema.json",
	reflect.TypeFor[view.Queued]():           "queued.schema.json",
	reflect.TypeFor[[]view.DeadLetter]():     "dead-letters.schema.json",
	reflect.TypeFor[view.DeadLetter]():       "dead-letter.schema.json",
	reflect.TypeFor[view.Plan]():             "plan.schema.json",
	reflect.TypeFor[[]view.ReplicationRun](): "replicate.schema.json",
	reflect.TypeFor[view.Error]():            "error.schema.json",
	reflect.TypeFor[view.Reset]():            "checkpoint-reset.schema.json",
	reflect.TypeFor[view.Drift]():            "drift.schema.json",
	reflect.TypeFor[view.Mirror]():           "mirror.schema.json",
}

// checkSchema validates doc, which must be the only document on stdout, against T's
// schema, and returns it decoded.
func checkSchema[T any](t testing.TB, what, doc string) T {
	t.Helper()
	name, ok := schemaOf[reflect.TypeFor[T]()]
	if !ok {
		t.Fatalf("%s: no schema for %s", what, reflect.TypeFor[T]())
	}
	viewtest.Validate(t, name, what, []byte(doc))
	var v T
	dec := json.NewDecoder(bytes.NewReader([]byte(doc)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, doc)
	}
	if dec.More() {
		t.Fatalf("%s: more than one JSON document on stdout", what)
	}
	return v
}

// Every schema the tests name compiles, and every published schema is named.
func TestEveryPublishedSchemaIsCheckedHere(t *testing.T) {
	named := map[string]bool{"defs.schema.json": true, "drctl-wait-event.schema.json": true}
	for _, n := range schemaOf {
		named[n] = true
		if err := viewtest.Check(n, []byte(`null`)); err == nil {
			t.Errorf("%s accepts null", n)
		}
	}
	entries, _ := fsGlob()
	for _, n := range entries {
		if !named[n] {
			t.Errorf("%s is published but no drctl document is checked against it", n)
		}
	}
}

func fsGlob() ([]string, error) { return fs.Glob(view.Schemas(), "*.schema.json") }

// With --json, an error is also a document on stdout (stderr keeps its one line),
// with the exit code the process ends with; secrets in the message are masked.
func TestJSONErrorsComeOutAsJSONOnStdoutWithTheExitCode(t *testing.T) {
	env := offlineEnv()
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"an unknown flag", []string{"status", "--json", "--bogus"}, ExitUsage, "unknown flag: --bogus"},
		{"an unknown pair", []string{"failover", "--pair", "nope", "--json"}, ExitUsage, `unknown pair "nope"`},
		{"replicate without --once", []string{"replicate", "--json"}, ExitUsage, "add --once"},
		{"a settings file that is not there", []string{"journal", "--json", "--settings", "no-such.json"}, ExitUsage, "no such file"},
		{"a secret-shaped argument", []string{"status", "--json", "--pair", "x;AccountKey=c2VjcmV0"}, ExitUsage, "AccountKey=[redacted]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := offline(env, tc.args...)
			if r.code != tc.code {
				t.Fatalf("want exit %d\n%s", tc.code, r)
			}
			e := checkSchema[view.Error](t, "error --json", r.out)
			if e.Error.ExitCode != tc.code || !strings.Contains(e.Error.Message, tc.want) || strings.Contains(r.out, "c2VjcmV0") || strings.Contains(r.err, "c2VjcmV0") {
				t.Errorf("error document %+v\n%s", e, r)
			}
			if strings.Contains(r.out, `\u003e`) || strings.Contains(r.out, `\u003c`) {
				t.Errorf("HTML-escaped JSON:\n%s", r.out)
			}
		})
	}
	// Without --json, stdout stays empty.
	if r := offline(env, "replicate"); r.out != "" {
		t.Errorf("an error without --json printed on stdout:\n%s", r)
	}
}
