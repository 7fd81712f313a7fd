package infra

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"time"

	"integration-dr/alert"
	"integration-dr/command"
	"integration-dr/handlers"
	"integration-dr/journal"
	"integration-dr/replication"
	"integration-dr/ssis"
)

// probeOps records what the handler asked of the operations.
type probeOps struct{ submitted, proposed, rejected []command.Command }

func (o *probeOps) Submit(_ context.Context, c command.Command, _ journal.Source, _ time.Time) (journal.Operation, error) {
	o.submitted = append(o.submitted, c)
	return journal.Operation{ID: c.ID, Pair: c.Pair, Action: c.Action}, nil
}

func (o *probeOps) Propose(_ context.Context, c command.Command, _ journal.Source, _ time.Time) (journal.Operation, error) {
	o.proposed = append(o.proposed, c)
	return journal.Operation{ID: c.ID, Pair: c.Pair, Action: c.Action}, nil
}

func (o *probeOps) Reject(_ context.Context, c command.Command, _ journal.Source, _ string) (journal.Operation, error) {
	o.rejected = append(o.rejected, c)
	return journal.Operation{ID: c.ID, Pair: c.Pair}, nil
}

func (o *probeOps) Advance(context.Context) ([]journal.Operation, error) { return nil, nil }

type probeReplicator struct{}

func (probeReplicator) ReplicateAll(context.Context) ([]replication.Stats, error) { return nil, nil }

type probeSSIS struct{}

func (probeSSIS) ReconcileAll(context.Context) ([]ssis.Report, error) { return nil, nil }
func (probeSSIS) Status(context.Context) ([]ssis.PairStatus, error)   { return nil, nil }

const (
	probePair, probeRule = "probe-pair", "probe-rule"
	probeRuleID          = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Insights/metricAlerts/" + probeRule
	probeTarget          = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Logic/integrationAccounts/probe"
)

// probeAlert is a Fired alert of an allow-listed rule, in the common alert schema.
var probeAlert = `{"schemaId":"azureMonitorCommonAlertSchema","data":{"essentials":{"alertId":"/subscriptions/s/providers/Microsoft.AlertsManagement/alerts/probe","alertRule":"` + probeRule + `","severity":"Sev1","signalType":"Metric","monitorCondition":"Fired","firedDateTime":"2026-01-01T00:00:00Z","alertTargetIDs":["` + probeTarget + `"]},"alertContext":{}}}`

// checkHandlerDecodes runs the real handler on invocations shaped by
// handlers.Functions(): each input under its binding's name must be read (a past-due
// timer is logged, a queued command is run, not rejected, an alert is decided), and
// every output the handler writes must be a binding of the function.
func checkHandlerDecodes(w *world) problems {
	var p problems
	for _, fn := range w.functions {
		var logs bytes.Buffer
		ops := &probeOps{}
		h := &handlers.Handler{
			Replicator: probeReplicator{}, Operations: ops, SSIS: probeSSIS{},
			KnownPair:  func(name string) bool { return name == probePair },
			AlertRules: []alert.Rule{{RuleID: probeRuleID, Pair: probePair, Action: command.Failover, Mode: alert.Auto, Resources: []string{probeTarget}}},
			Log:        slog.New(slog.NewJSONHandler(&logs, nil)),
			Timeout:    10 * time.Second,
		}
		data, meta := map[string]any{}, map[string]any{}
		outs := map[string]bool{}
		var expect []func(handlers.Reply) string
		for _, b := range fn.Bindings {
			if b.Direction == "out" {
				outs[b.Name] = true
				continue
			}
			switch b.Type {
			case "timerTrigger":
				data[b.Name] = map[string]any{"Schedule": map[string]any{"AdjustForDST": true}, "ScheduleStatus": nil, "IsPastDue": true}
				if fn.Name == handlers.FnReplicateSessions {
					expect = append(expect, func(handlers.Reply) string {
						if !strings.Contains(logs.String(), "timer is past due") {
							return "the handler did not read the timer under binding " + b.Name
						}
						return ""
					})
				}
			case "serviceBusTrigger":
				body, _ := json.Marshal(map[string]string{"id": "probe-1", "action": "drill", "pair": probePair})
				data[b.Name] = string(body) // the host encodes a string body once more
				meta["MessageId"] = "probe-1"
				meta["DeliveryCount"] = "1"
				expect = append(expect, func(handlers.Reply) string {
					if len(ops.submitted) != 1 || len(ops.rejected) != 0 {
						return "the handler did not read the command under binding " + b.Name
					}
					return ""
				})
			case "httpTrigger":
				method := "GET"
				if len(b.Methods) > 0 {
					method = strings.ToUpper(b.Methods[0])
				}
				req := map[string]any{"Url": "https://localhost/api/" + b.Route, "Method": method, "Query": map[string]string{}, "Headers": map[string][]string{}, "Params": map[string]string{}}
				if fn.Name == handlers.FnAlertIntake {
					req["Body"] = json.RawMessage(probeAlert)
					req["Headers"] = map[string][]string{"Content-Type": {"application/json"}}
					expect = append(expect, func(r handlers.Reply) string {
						if len(ops.rejected) != 0 || len(r.Outputs) < 2 {
							return "the handler did not read the alert under binding " + b.Name
						}
						return ""
					})
				}
				data[b.Name] = req
			default:
				p.add("%s: no probe for a %s binding", fn.Name, b.Type)
			}
		}
		body, _ := json.Marshal(map[string]any{"Data": data, "Metadata": meta})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/"+fn.Name, bytes.NewReader(body)))
		if rec.Code == http.StatusNotFound {
			p.add("%s: the handler does not serve /%s", fn.Name, fn.Name)
			continue
		}
		var reply handlers.Reply
		if err := json.Unmarshal(rec.Body.Bytes(), &reply); err != nil {
			p.add("%s: reply is not JSON: %v", fn.Name, err)
			continue
		}
		if rec.Code/100 != 2 {
			p.add("%s: the handler answered %d to a well-formed invocation: %v", fn.Name, rec.Code, reply.Logs)
		}
		var wrote []string
		for name := range reply.Outputs {
			wrote = append(wrote, name)
			if !outs[name] {
				p.add("%s: the handler writes output %q, which is not one of its bindings", fn.Name, name)
			}
		}
		sort.Strings(wrote)
		for _, e := range expect {
			if msg := e(reply); msg != "" {
				p.add("%s: %s (outputs %v, logs %v)", fn.Name, msg, wrote, reply.Logs)
			}
		}
	}
	return p
}
