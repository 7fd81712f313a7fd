package hostsim

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLoadResolvesTheTestApp(t *testing.T) {
	app, err := Load(writeApp(t, testHostJSON, testFunctions), testSettings)
	if err != nil {
		t.Fatal(err)
	}
	if got := app.Names(); !slices.Equal(got, []string{"Command", "Intake", "Tick"}) {
		t.Fatalf("functions %v", got)
	}
	tick, intake, cmd := app.Functions["Tick"], app.Functions["Intake"], app.Functions["Command"]
	checks := []struct {
		what      string
		got, want any
	}{
		{"Tick trigger", tick.Trigger, TimerTrigger},
		{"Tick binding", tick.TriggerBinding, "timer"},
		{"Tick schedule (from %TICK_SCHEDULE%)", tick.Schedule, "0 */5 * * * *"},
		{"Tick useMonitor", tick.UseMonitor, true},
		{"Intake trigger", intake.Trigger, HTTPTrigger},
		{"Intake route", intake.Route, "alerts"},
		{"Intake methods", strings.Join(intake.Methods, ","), "POST"},
		{"Intake authLevel", intake.AuthLevel, "function"},
		{"Intake http output", intake.HTTPOutput, "res"},
		{"Intake queue output (from %CMD_QUEUE%)", intake.ServiceBusOutputs[0], QueueOutput{Name: "outbox", Queue: "commands", Connection: "ServiceBusConnection"}},
		{"Command trigger", cmd.Trigger, ServiceBusTrigger},
		{"Command binding", cmd.TriggerBinding, "command"},
		{"Command queue (from %CMD_QUEUE%)", cmd.Queue, "commands"},
		{"Command connection", cmd.Connection, "ServiceBusConnection"},
		{"functionTimeout", app.FunctionTimeout, 5 * time.Minute},
		{"route prefix", app.RoutePrefix, "api"},
		{"autoComplete", app.AutoComplete, true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	h := New(app, "http://127.0.0.1:1", Options{})
	if got := h.timeout(); got != 6*time.Minute {
		t.Errorf("default invocation timeout %s, want functionTimeout + 1 minute", got)
	}
	for _, q := range []string{"commands", "audit"} {
		if _, err := h.Send(q, Message{Body: []byte("x")}); err != nil {
			t.Errorf("queue %s from function.json should exist: %v", q, err)
		}
	}
	if _, err := h.Send("nope", Message{}); err == nil {
		t.Error("sending to a queue nobody declared should fail")
	}
}

func TestLoadRefusesWhatTheHostRefuses(t *testing.T) {
	tests := []struct {
		name     string
		hostJSON string
		fn       string // function.json of a function named F
		settings map[string]string
		want     []string // substrings of the error
	}{
		{
			name:     "missing setting",
			fn:       `{"bindings": [{"name": "m", "type": "serviceBusTrigger", "direction": "in", "queueName": "%NO_SUCH_QUEUE%", "connection": "C"}]}`,
			settings: map[string]string{"C": "Endpoint=sb://x/"},
			want:     []string{"function F", `"NO_SUCH_QUEUE"`},
		},
		{
			name:     "serviceBusTrigger without queueName",
			fn:       `{"bindings": [{"name": "m", "type": "serviceBusTrigger", "direction": "in", "connection": "C"}]}`,
			settings: map[string]string{"C": "Endpoint=sb://x/"},
			want:     []string{"function F", "queueName"},
		},
		{
			name: "connection setting missing",
			fn:   `{"bindings": [{"name": "m", "type": "serviceBusTrigger", "direction": "in", "queueName": "q"}]}`,
			want: []string{"function F", "AzureWebJobsServiceBus"},
		},
		{
			name: "five-field cron",
			fn:   `{"bindings": [{"name": "t", "type": "timerTrigger", "direction": "in", "schedule": "*/5 * * * *"}]}`,
			want: []string{"function F", "six fields"},
		},
		{
			name: "no trigger",
			fn:   `{"bindings": [{"name": "res", "type": "http", "direction": "out"}]}`,
			want: []string{"function F", "trigger"},
		},
		{
			name: "two triggers",
			fn: `{"bindings": [{"name": "t", "type": "timerTrigger", "direction": "in", "schedule": "0 * * * * *"},
				{"name": "u", "type": "timerTrigger", "direction": "in", "schedule": "0 * * * * *"}]}`,
			want: []string{"function F", "more than one trigger"},
		},
		{
			name: "duplicate binding names",
			fn: `{"bindings": [{"name": "req", "type": "httpTrigger", "direction": "in"},
				{"name": "REQ", "type": "http", "direction": "out"}]}`,
			want: []string{"function F", "unique"},
		},
		{
			name: "binding not simulated",
			fn: `{"bindings": [{"name": "t", "type": "timerTrigger", "direction": "in", "schedule": "0 * * * * *"},
				{"name": "b", "type": "blob", "direction": "out", "path": "x/y"}]}`,
			want: []string{"function F", "blob"},
		},
		{
			name:     "host.json version",
			hostJSON: `{"version": "1.0"}`,
			fn:       `{"bindings": [{"name": "t", "type": "timerTrigger", "direction": "in", "schedule": "0 * * * * *"}]}`,
			want:     []string{"host.json", "2.0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeApp(t, tt.hostJSON, map[string]string{"F": tt.fn}), tt.settings)
			if err == nil {
				t.Fatal("Load succeeded; the host would refuse this app")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
		})
	}
}

func TestSchedule(t *testing.T) {
	at := time.Date(2026, 11, 20, 9, 1, 30, 0, time.UTC)
	tests := []struct {
		expr      string
		next      time.Time
		monitored bool
	}{
		{"0 */5 * * * *", time.Date(2026, 11, 20, 9, 5, 0, 0, time.UTC), true},
		{"*/10 * * * * *", time.Date(2026, 11, 20, 9, 1, 40, 0, time.UTC), false},
		{"0 * * * * *", time.Date(2026, 11, 20, 9, 2, 0, 0, time.UTC), true},
		{"0 30 9 * * Mon-Fri", time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC), true}, // a Friday
		{"0 0 0 1 Jan *", time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"00:00:30", at.Add(30 * time.Second), false},
		{"01:00:00", at.Add(time.Hour), true},
	}
	for _, tt := range tests {
		s, err := parseSchedule(tt.expr)
		if err != nil {
			t.Errorf("%s: %v", tt.expr, err)
			continue
		}
		if got := s.next(at); !got.Equal(tt.next) {
			t.Errorf("%s: next after %s = %s, want %s", tt.expr, at, got, tt.next)
		}
		if got := s.monitored(true, at); got != tt.monitored {
			t.Errorf("%s: monitored = %v, want %v", tt.expr, got, tt.monitored)
		}
	}
	for _, bad := range []string{"* * * * *", "61 * * * * *", "0 0 25 * * *", "every minute", ""} {
		if _, err := parseSchedule(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestLoadRealFunctions loads the repository's functions/ folder. It must keep passing
// as functions are added: settings come from local.settings.json.example, and any
// placeholder or connection the example does not document gets a dummy value.
func TestLoadRealFunctions(t *testing.T) {
	dir := filepath.Join("..", "..", "functions")
	settings := map[string]string{}
	if raw, err := os.ReadFile(filepath.Join("..", "..", "local.settings.json.example")); err == nil {
		var doc struct {
			Values map[string]any `json:"Values"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("local.settings.json.example: %v", err)
		}
		for k, v := range doc.Values {
			if s, ok := v.(string); ok {
				settings[k] = s
			}
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*", "function.json"))
	if len(files) == 0 {
		t.Fatalf("no function.json under %s", dir)
	}
	placeholder := regexp.MustCompile(`%([^%]+)%`)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range placeholder.FindAllStringSubmatch(string(raw), -1) {
			if _, ok := settings[m[1]]; !ok {
				settings[m[1]] = "hostsim-" + strings.ToLower(m[1])
			}
		}
		var doc struct {
			Bindings []map[string]any `json:"bindings"`
		}
		_ = json.Unmarshal(raw, &doc)
		for _, b := range doc.Bindings {
			if typ, _ := b["type"].(string); strings.EqualFold(typ, "serviceBusTrigger") || strings.EqualFold(typ, "serviceBus") {
				conn, _ := b["connection"].(string)
				if conn == "" {
					conn = "AzureWebJobsServiceBus"
				}
				if settings[conn] == "" {
					settings[conn+"__fullyQualifiedNamespace"] = "example.servicebus.windows.net"
				}
			}
		}
	}

	app, err := Load(dir, settings)
	if err != nil {
		t.Fatal(err)
	}
	if len(app.Functions) != len(files) {
		t.Errorf("indexed %v from %d function.json files", app.Names(), len(files))
	}
	rs, err := app.Function("ReplicateSessions")
	if err != nil {
		t.Fatal(err)
	}
	if rs.Trigger != TimerTrigger || rs.TriggerBinding != "timer" {
		t.Errorf("ReplicateSessions: %s %q, want a timerTrigger bound as timer", rs.Trigger, rs.TriggerBinding)
	}
	st, err := app.Function("Status")
	if err != nil {
		t.Fatal(err)
	}
	if st.Trigger != HTTPTrigger || st.Route != "status" || st.HTTPOutput == "" {
		t.Errorf("Status: %s route %q output %q, want an httpTrigger on route status with an http output", st.Trigger, st.Route, st.HTTPOutput)
	}
	if _, ok := matchRoute(app.RoutePrefix, st.Route, "/api/status"); !ok {
		t.Error("Status does not answer /api/status")
	}
}
