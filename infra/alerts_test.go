package infra

// The alerts an operator expects (modules/alerts.bicep) read what the handler logs:
// these checks run the real handler, collect the structured events it writes into its
// replies' Logs (which the host keeps in Application Insights), and hold every query's
// function names, event names and field names to them.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"time"

	"integration-dr/command"
	"integration-dr/config"
	"integration-dr/handlers"
	"integration-dr/journal"
)

// eventOps is an Operations whose commands and timer leave a waiting operation.
type eventOps struct{ probeOps }

func waitingOp(id, pair string) journal.Operation {
	return journal.Operation{ID: id, Pair: pair, Action: command.Failover, Status: journal.Waiting, RTOStart: time.Now().Add(-time.Hour),
		Steps: []journal.Step{{Name: "fence", Status: journal.StepDone}, {Name: "drain", Status: journal.StepWaiting}}}
}

func (o *eventOps) Submit(_ context.Context, c command.Command, _ journal.Source, _ time.Time) (journal.Operation, error) {
	return waitingOp(c.ID, c.Pair), nil
}

func (o *eventOps) Advance(context.Context) ([]journal.Operation, error) {
	return []journal.Operation{waitingOp("op-1", probePair)}, nil
}

// loggedEvents runs each function of the handler once and returns the structured
// events each wrote: function → events.
func loggedEvents() (map[string][]map[string]any, error) {
	h := &handlers.Handler{
		Replicator: reviewReplicator{{Pair: probePair, Lag: 12 * time.Second}, {Pair: "new-pair", Lag: -time.Second}},
		Operations: &eventOps{}, KnownPair: func(p string) bool { return p == probePair },
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Timeout: 10 * time.Second,
	}
	cmd, _ := json.Marshal(`{"id":"op-2","action":"failover","pair":"` + probePair + `"}`)
	invocations := map[string]string{
		handlers.FnReplicateSessions: `{"Data":{"timer":{}}}`,
		handlers.FnAdvanceOperations: `{"Data":{"timer":{}}}`,
		handlers.FnRunCommand:        `{"Data":{"command":` + string(cmd) + `},"Metadata":{"MessageId":"m-1"}}`,
	}
	out := map[string][]map[string]any{}
	for fn, inv := range invocations {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/"+fn, strings.NewReader(inv)))
		var reply handlers.Reply
		if err := json.Unmarshal(rec.Body.Bytes(), &reply); err != nil {
			return nil, fmt.Errorf("%s replied %q: %w", fn, rec.Body.String(), err)
		}
		for _, l := range reply.Logs {
			if !strings.HasPrefix(l, "{") {
				continue
			}
			var e map[string]any
			if err := json.Unmarshal([]byte(l), &e); err != nil {
				return nil, fmt.Errorf("%s logged %q, not JSON: %w", fn, l, err)
			}
			out[fn] = append(out[fn], e)
		}
	}
	return out, nil
}

var (
	reOneFunction  = regexp.MustCompile(`operation_Name == '(\w+)'`)
	reFunctions    = regexp.MustCompile(`operation_Name in \(([^)]*)\)`)
	reEventName    = regexp.MustCompile(`tostring\(e\.event\) == '(\w+)'`)
	reEventField   = regexp.MustCompile(`\be\.(\w+)`)
	reProject      = regexp.MustCompile(`(?m)^\| project (.*)$`)
	reQuotedName   = regexp.MustCompile(`'(\w+)'`)
	reLetAndSource = regexp.MustCompile(`(?m)^(\w+)\s*$`)
)

// kql is what the checks read of a query: the table, the functions whose telemetry it
// reads, the event it picks and the fields it reads of it, and the columns it projects.
type kql struct {
	table, event     string
	functions        []string
	fields, columns  []string
	source, ruleName string
}

func parseKQL(rule, q string) kql {
	k := kql{source: q, ruleName: rule}
	if m := reLetAndSource.FindStringSubmatch(q); m != nil {
		k.table = m[1]
	}
	if m := reOneFunction.FindStringSubmatch(q); m != nil {
		k.functions = []string{m[1]}
	}
	if m := reFunctions.FindStringSubmatch(q); m != nil {
		for _, n := range reQuotedName.FindAllStringSubmatch(m[1], -1) {
			k.functions = append(k.functions, n[1])
		}
	}
	if m := reEventName.FindStringSubmatch(q); m != nil {
		k.event = m[1]
	}
	for _, m := range reEventField.FindAllStringSubmatch(q, -1) {
		if m[1] != "event" && !slices.Contains(k.fields, m[1]) {
			k.fields = append(k.fields, m[1])
		}
	}
	if m := reProject.FindStringSubmatch(q); m != nil {
		for _, c := range strings.Split(m[1], ",") {
			k.columns = append(k.columns, strings.TrimSpace(c))
		}
	}
	return k
}

// checkOperatorAlerts: the alerts an operator expects are there, and each reads what
// the handler logs: replication stopped from the host's requests of ReplicateSessions
// (so it fires when the handler is silent), lag above maxLag from the lagSeconds field,
// dead-lettered commands on the command queue, operations failed or past their RTO
// from the operation events; the lag threshold is the topology's default maxLag.
func checkOperatorAlerts(w *world) problems {
	var p problems
	events, err := loggedEvents()
	if err != nil {
		p.add("running the handler: %v", err)
		return p
	}
	fnNames := map[string]bool{}
	for _, fn := range w.functions {
		fnNames[fn.Name] = true
	}
	al := w.bicep(&p, "modules/alerts.bicep")
	byMeasure := map[string]kql{}
	var stopped *kql
	for _, r := range al.resourcesOf("Microsoft.Insights/scheduledQueryRules") {
		crit := r.body().get("properties", "criteria", "allOf")
		if crit == nil || len(crit.items) != 1 {
			p.add("modules/alerts.bicep: %s: want one criterion", r.name)
			continue
		}
		c := crit.items[0]
		v := al.find("var", c.get("query").src())
		if v == nil || v.value.kind != stringNode {
			p.add("modules/alerts.bicep: %s: its query %s is not a var holding a query", r.name, c.get("query").src())
			continue
		}
		k := parseKQL(r.name, v.value.str)
		if len(k.functions) == 0 {
			p.add("modules/alerts.bicep: %s reads no function's telemetry (operation_Name)", r.name)
		}
		for _, fn := range k.functions {
			if !fnNames[fn] {
				p.add("modules/alerts.bicep: %s reads telemetry of %s, which is no function of the handler", r.name, fn)
			}
		}
		switch k.table {
		case "requests":
			if !strings.Contains(k.source, "success == true") || c.get("timeAggregation").lit() != "Count" || c.get("operator").lit() != "LessThan" || c.get("threshold").src() != "1" {
				p.add("modules/alerts.bicep: %s must count successful requests and fire below 1, so that no data fires it", r.name)
			}
			if slices.Contains(k.functions, handlers.FnReplicateSessions) {
				stopped = &k
			}
		case "traces":
			for _, fn := range k.functions {
				var logged []map[string]any
				for _, e := range events[fn] {
					if e["event"] == k.event {
						logged = append(logged, e)
					}
				}
				if len(logged) == 0 {
					p.add("modules/alerts.bicep: %s reads %q events of %s; the handler logs none there", r.name, k.event, fn)
					continue
				}
				for _, f := range k.fields {
					if _, ok := logged[0][f]; !ok {
						p.add("modules/alerts.bicep: %s reads field %s of %s's %q events; the handler logs %v", r.name, f, fn, k.event, keys(logged[0]))
					}
				}
			}
			m := c.get("metricMeasureColumn").lit()
			if !slices.Contains(k.columns, m) {
				p.add("modules/alerts.bicep: %s measures %s, which its query does not project (%v)", r.name, m, k.columns)
			}
			for _, d := range c.get("dimensions").items {
				if n := d.get("name").lit(); !slices.Contains(k.columns, n) {
					p.add("modules/alerts.bicep: %s splits by %s, which its query does not project (%v)", r.name, n, k.columns)
				}
			}
			byMeasure[m] = k
			byMeasure[m+" threshold"] = kql{source: c.get("threshold").src()}
		default:
			p.add("modules/alerts.bicep: %s queries %q, not traces or requests", r.name, k.table)
		}
	}
	if stopped == nil {
		p.add("modules/alerts.bicep: no rule fires when %s has not succeeded for a while (requests, success == true, counted)", handlers.FnReplicateSessions)
	}
	if k, ok := byMeasure["lagSeconds"]; !ok || !slices.Contains(k.functions, handlers.FnReplicateSessions) || byMeasure["lagSeconds threshold"].source != "maxLagSeconds" {
		p.add("modules/alerts.bicep: no rule fires on %s's lagSeconds above maxLagSeconds", handlers.FnReplicateSessions)
	}
	if k, ok := byMeasure["ageSeconds"]; !ok || k.event != handlers.EventOperation || !strings.Contains(k.source, "'failed'") || byMeasure["ageSeconds threshold"].source != "expectedRtoSeconds" {
		p.add("modules/alerts.bicep: no rule fires on an operation failed or older than expectedRtoSeconds (ageSeconds of operation events)")
	}

	// Dead letters of the command queue the bindings use.
	main := w.bicep(&p, "main.bicep")
	call := moduleCall(&p, main, "modules/alerts.bicep")
	sbCall := moduleCall(&p, main, "modules/servicebus.bicep")
	found := false
	for _, r := range al.resourcesOf("Microsoft.Insights/metricAlerts") {
		crit := r.body().get("properties", "criteria", "allOf")
		if crit == nil || len(crit.items) == 0 || crit.items[0].get("metricName").lit() != "DeadletteredMessages" {
			continue
		}
		found = true
		c := crit.items[0]
		dims := c.get("dimensions")
		if c.get("metricNamespace").lit() != "Microsoft.ServiceBus/namespaces" || dims == nil || len(dims.items) != 1 || dims.items[0].get("name").lit() != "EntityName" ||
			len(dims.items[0].get("values").items) != 1 || dims.items[0].get("values").items[0].src() != "commandQueueName" ||
			c.get("operator").lit() != "GreaterThan" || c.get("threshold").src() != "0" {
			p.add("modules/alerts.bicep: %s must fire on DeadletteredMessages above 0 of the namespace's EntityName commandQueueName", r.name)
		}
		if s := r.body().get("properties", "scopes"); s == nil || len(s.items) != 1 || s.items[0].src() != "serviceBusNamespaceId" {
			p.add("modules/alerts.bicep: %s watches %s, not serviceBusNamespaceId", r.name, s.src())
		}
	}
	if !found {
		p.add("modules/alerts.bicep: no alert on dead-lettered commands (DeadletteredMessages)")
	}
	if a := arg(call, "commandQueueName"); a != sbCall.name+".outputs.queueName" {
		p.add("the alerts module watches queue %s, not the command queue (%s.outputs.queueName)", a, sbCall.name)
	}
	if a := arg(call, "serviceBusNamespaceId"); a != sbCall.name+".outputs.id" {
		p.add("the alerts module watches namespace %s, not the command queue's (%s.outputs.id)", a, sbCall.name)
	}

	// Sampling must not drop what the rules count: a sampled-out request reads as a
	// replication that did not succeed.
	var host struct {
		Logging struct {
			ApplicationInsights struct {
				SamplingSettings struct {
					IsEnabled     *bool  `json:"isEnabled"`
					ExcludedTypes string `json:"excludedTypes"`
				} `json:"samplingSettings"`
			} `json:"applicationInsights"`
		} `json:"logging"`
	}
	if err := json.Unmarshal([]byte(w.files["host.json"]), &host); err != nil {
		p.add("host.json: %v", err)
	}
	ss := host.Logging.ApplicationInsights.SamplingSettings
	excluded := strings.Split(ss.ExcludedTypes, ";")
	if (ss.IsEnabled == nil || *ss.IsEnabled) && (!slices.Contains(excluded, "Request") || !slices.Contains(excluded, "Trace")) {
		p.add("host.json: Application Insights sampling may drop the requests and traces the alert rules count: exclude Request;Trace (logging.applicationInsights.samplingSettings.excludedTypes)")
	}

	// The lag threshold is the topology's maxLag unless an operator changes both.
	cfg, err := config.Load(func(k string) string {
		return map[string]string{config.EnvPort: "7071", config.EnvTableURL: "https://example.table.core.windows.net",
			config.EnvTopology: `{"pairs":[{"name":"p","primary":"/subscriptions/s/resourceGroups/a/providers/Microsoft.Logic/integrationAccounts/a","secondary":"/subscriptions/s/resourceGroups/b/providers/Microsoft.Logic/integrationAccounts/b"}]}`}[k]
	})
	if err != nil {
		p.add("config: %v", err)
	} else if d := main.find("param", "maxLagSeconds"); d == nil || d.value.src() != fmt.Sprint(int(cfg.Pairs[0].Failover.MaxLag.Seconds())) {
		p.add("main.bicep: maxLagSeconds defaults to %s; the topology's maxLag defaults to %s", d.value.src(), cfg.Pairs[0].Failover.MaxLag)
	}
	return p
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
