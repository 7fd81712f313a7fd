package hostsim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// The test app: a timer, an HTTP intake that answers through res and puts commands on
// %CMD_QUEUE%, and the command function listening on that queue (with an audit
// output), as the product's functions will look.
var testFunctions = map[string]string{
	"Tick": `{"bindings": [
		{"name": "timer", "type": "timerTrigger", "direction": "in", "schedule": "%TICK_SCHEDULE%", "useMonitor": true}]}`,
	"Intake": `{"bindings": [
		{"name": "req", "type": "httpTrigger", "direction": "in", "authLevel": "function", "methods": ["post"], "route": "alerts"},
		{"name": "res", "type": "http", "direction": "out"},
		{"name": "outbox", "type": "serviceBus", "direction": "out", "queueName": "%CMD_QUEUE%", "connection": "ServiceBusConnection"}]}`,
	"Command": `{"bindings": [
		{"name": "command", "type": "serviceBusTrigger", "direction": "in", "queueName": "%CMD_QUEUE%", "connection": "ServiceBusConnection"},
		{"name": "audit", "type": "serviceBus", "direction": "out", "queueName": "audit", "connection": "ServiceBusConnection"}]}`,
}

var testSettings = map[string]string{
	"TICK_SCHEDULE": "0 */5 * * * *",
	"CMD_QUEUE":     "commands",
	"ServiceBusConnection__fullyQualifiedNamespace": "example.servicebus.windows.net",
}

const testHostJSON = `{"version": "2.0", "functionTimeout": "00:05:00",
	"extensions": {"serviceBus": {"autoCompleteMessages": true}}}`

// writeApp lays out an app folder (host.json beside functions/) and returns the
// functions folder.
func writeApp(t *testing.T, hostJSON string, functions map[string]string) string {
	t.Helper()
	root := t.TempDir()
	if hostJSON != "" {
		if err := os.WriteFile(filepath.Join(root, "host.json"), []byte(hostJSON), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(root, "functions")
	for name, body := range functions {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "function.json"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// envelope is an invocation as the fake handler receives it.
type envelope struct {
	Data     map[string]json.RawMessage `json:"Data"`
	Metadata map[string]json.RawMessage `json:"Metadata"`
}

type call struct {
	Path   string
	Header http.Header
	Raw    []byte
	Inv    envelope
}

// fakeHandler is a custom handler written for the tests: it records every request and
// answers with reply, which a test may swap.
type fakeHandler struct {
	mu    sync.Mutex
	calls []call
	reply func(w http.ResponseWriter, r *http.Request, c call)
}

func (f *fakeHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	c := call{Path: r.URL.Path, Header: r.Header.Clone(), Raw: body}
	_ = json.Unmarshal(body, &c.Inv)
	f.mu.Lock()
	f.calls = append(f.calls, c)
	reply := f.reply
	f.mu.Unlock()
	if reply == nil {
		writeJSON(w, http.StatusOK, map[string]any{"Outputs": map[string]any{}, "Logs": []string{}, "ReturnValue": nil})
		return
	}
	reply(w, r, c)
}

func (f *fakeHandler) setReply(reply func(w http.ResponseWriter, r *http.Request, c call)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reply = reply
}

func (f *fakeHandler) Calls() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

func (f *fakeHandler) last(t *testing.T) call {
	t.Helper()
	calls := f.Calls()
	if len(calls) == 0 {
		t.Fatal("the handler was not invoked")
	}
	return calls[len(calls)-1]
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// outputs answers 200 with the given Outputs.
func outputs(o map[string]any) func(http.ResponseWriter, *http.Request, call) {
	return func(w http.ResponseWriter, _ *http.Request, _ call) {
		writeJSON(w, http.StatusOK, map[string]any{"Outputs": o, "Logs": []string{"ok"}, "ReturnValue": nil})
	}
}

var testNow = time.Date(2026, 11, 20, 9, 1, 30, 0, time.UTC)

// newTestHost loads the test app and starts a fake handler behind a Host with a fixed
// clock.
func newTestHost(t *testing.T, opts Options) (*Host, *fakeHandler) {
	t.Helper()
	app, err := Load(writeApp(t, testHostJSON, testFunctions), testSettings)
	if err != nil {
		t.Fatal(err)
	}
	fake := &fakeHandler{}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	if opts.Now == nil {
		opts.Now = func() time.Time { return testNow }
	}
	return New(app, srv.URL, opts), fake
}

// unquote decodes a JSON string, failing the test when raw is not one.
func unquote(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("%s is not a JSON string: %v", raw, err)
	}
	return s
}

// newHostFor serves fake behind a Host for app, with the fixed test clock.
func newHostFor(t *testing.T, app *App, fake *fakeHandler) *Host {
	t.Helper()
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return New(app, srv.URL, Options{Now: func() time.Time { return testNow }})
}
