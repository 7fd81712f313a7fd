package handlers

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"integration-dr/alert"
	"integration-dr/command"
	"integration-dr/failover"
	"integration-dr/journal"
	"integration-dr/journal/journaltest"
)

// longValueHandler is a handler whose commands go to the real failover runner on an
// in-memory journal that validates what it stores, as Table Storage does.
func longValueHandler(t *testing.T) (*Handler, *journaltest.Store, *operationsCalls) {
	t.Helper()
	store := journaltest.New()
	runner := &failover.Runner{Journal: store, Pairs: map[string]failover.Pair{"contoso-b2b": {}}}
	rules, err := alert.ParseRules(`{"rules":[{"ruleId":"/subscriptions/s/resourceGroups/g/providers/Microsoft.Insights/metricAlerts/ia-down","pair":"contoso-b2b","action":"failover","mode":"auto","targets":["/subscriptions/s"]}]}`)
	if err != nil {
		t.Fatal(err)
	}
	calls := &operationsCalls{Runner: runner}
	h := &Handler{Operations: ByPair{calls}, KnownPair: runner.Owns, AlertRules: rules, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Timeout: time.Minute}
	return h, store, calls
}

// operationsCalls counts what the handler starts beside rejections.
type operationsCalls struct {
	*failover.Runner
	submitted, proposed int
}

func (o *operationsCalls) Submit(ctx context.Context, c command.Command, src journal.Source, at time.Time) (journal.Operation, error) {
	o.submitted++
	return o.Runner.Submit(ctx, c, src, at)
}

func (o *operationsCalls) Propose(ctx context.Context, c command.Command, src journal.Source, at time.Time) (journal.Operation, error) {
	o.proposed++
	return o.Runner.Propose(ctx, c, src, at)
}

// allOps lists every operation the journal holds, of every pair the tests use.
func allOps(t *testing.T, s *journaltest.Store) []journal.Operation {
	t.Helper()
	var out []journal.Operation
	for _, pair := range []string{unknownPair, "contoso-b2b"} {
		ops, err := s.List(context.Background(), pair, 0)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ops...)
	}
	return out
}

func post(t *testing.T, h *Handler, fn string, inv map[string]any) (int, Reply) {
	t.Helper()
	body, _ := json.Marshal(inv)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/"+fn, strings.NewReader(string(body))))
	var r Reply
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
		t.Fatalf("reply %q: %v", rec.Body.String(), err)
	}
	return rec.Code, r
}

// A command with a long value is bad input like any other: journaled as rejected,
// with a clear error cut to what the journal keeps, and completed (2xx), never
// retried until it is dead-lettered. Nothing runs.
func TestACommandWithALongValueIsRejectedNotDeadLettered(t *testing.T) {
	big := strings.Repeat("x", 100<<10) // over the body limit
	near := strings.Repeat("y", 60<<10) // under it: the error quotes it
	for _, tc := range []struct {
		name, body, says string
	}{
		{"a 100 KB reason", `{"id":"c-1","action":"failover","pair":"contoso-b2b","reason":"` + big + `"}`, "the limit is 65536"},
		{"a 60 KB action", `{"id":"c-1","action":"` + near + `","pair":"contoso-b2b"}`, "command.action"},
		{"a 60 KB pair", `{"id":"c-1","action":"failover","pair":"` + near + `"}`, "command.pair"},
		{"a 60 KB id", `{"id":"` + near + `","action":"failover","pair":"contoso-b2b"}`, "command.id"},
		{"a 60 KB target", `{"id":"c-1","action":"confirm","pair":"contoso-b2b","target":"` + near + `"}`, "command.target"},
		{"a 60 KB key", `{"id":"c-1","action":"failover","pair":"contoso-b2b","` + near + `":1}`, "is not a command field"},
		{"a 60 KB side", `{"id":"c-1","action":"attach-ir","pair":"contoso-b2b","side":"` + near + `"}`, "command.side"},
		{"a 100 KB unknown pair", `{"id":"c-1","action":"failover","pair":"contoso-` + strings.Repeat("z", 100<<10) + `"}`, "the limit is 65536"},
		{"a reason just over its limit", `{"id":"c-1","action":"failover","pair":"contoso-b2b","reason":"` + strings.Repeat("r", 513) + `"}`, "command.reason"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, store, calls := longValueHandler(t)
			code, reply := post(t, h, FnRunCommand, map[string]any{
				"Data":     map[string]any{"command": tc.body},
				"Metadata": map[string]any{"MessageId": "msg-1", "DeliveryCount": "1"},
			})
			if code != http.StatusOK {
				t.Fatalf("answered %d (%q): the message would be retried until dead-lettered", code, reply.Logs)
			}
			ops := allOps(t, store)
			if len(ops) != 1 || ops[0].Status != journal.Rejected || !strings.Contains(ops[0].Error, tc.says) {
				t.Fatalf("journal %+v; want one rejection saying %q", ops, tc.says)
			}
			if n := len([]rune(ops[0].Error)); n > journal.MaxError {
				t.Errorf("the error is %d characters", n)
			}
			if err := ops[0].Validate(); err != nil {
				t.Error(err)
			}
			if calls.submitted+calls.proposed != 0 {
				t.Errorf("bad input started something: %d submitted, %d proposed", calls.submitted, calls.proposed)
			}
			if l := len(strings.Join(reply.Logs, "")); l > 2*journal.MaxError {
				t.Errorf("the reply's logs carry %d characters", l)
			}
		})
	}
}

// An alert that starts nothing is journaled, whatever the length of its rule's name
// or its id; the action group gets its answer and nothing is queued.
func TestARefusedAlertWithALongRuleNameIsJournaled(t *testing.T) {
	longRule := strings.Repeat("r", 10<<10)
	for _, tc := range []struct {
		name, essentials string
		status           float64
		says             string
	}{
		{"a 10 KB rule name not on the list", `"alertId":"/subscriptions/s/alerts/a1","alertRule":"` + longRule + `","monitorCondition":"Fired"`, 403, "is not in DR_ALERT_RULES"},
		{"a 10 KB alert id of a rule not on the list", `"alertId":"/subscriptions/s/alerts/` + longRule + `","alertRule":"other","monitorCondition":"Fired"`, 403, "is not in DR_ALERT_RULES"},
		{"a 10 KB rule name and a bad condition", `"alertId":"a1","alertRule":"` + longRule + `","monitorCondition":"` + longRule + `"`, 400, "is not Fired or Resolved"},
		{"a listed rule, Resolved, with a 10 KB description", `"alertId":"/subscriptions/s/alerts/a1","alertRule":"ia-down","alertTargetIDs":["/subscriptions/s"],"monitorCondition":"Resolved","description":"` + longRule + `"`, 200, "never starts a fallback"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, store, calls := longValueHandler(t)
			a := `{"schemaId":"azureMonitorCommonAlertSchema","data":{"essentials":{` + tc.essentials + `}}}`
			code, reply := post(t, h, FnAlertIntake, map[string]any{"Data": map[string]any{"req": map[string]any{"Method": "POST", "Body": a}}})
			if code != http.StatusOK {
				t.Fatalf("answered %d: %q", code, reply.Logs)
			}
			res, _ := reply.Outputs["res"].(map[string]any)
			if res["statusCode"] != tc.status || reply.Outputs["command"] != nil {
				t.Errorf("res %v, command %v", res["statusCode"], reply.Outputs["command"])
			}
			ops := allOps(t, store)
			if len(ops) != 1 || ops[0].Status != journal.Rejected || !strings.Contains(ops[0].Error, tc.says) {
				t.Fatalf("journal %+v; want one record saying %q", ops, tc.says)
			}
			if calls.submitted+calls.proposed != 0 {
				t.Errorf("a refused alert started something")
			}
		})
	}
}
