package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/logic/armlogic"

	"integration-dr/dev/armstandin"
	"integration-dr/dev/hostsim"
	"integration-dr/dev/localstack"
	"integration-dr/dev/sqlstandin"
	"integration-dr/handlers"
	"integration-dr/journal"
	"integration-dr/replication"
)

const (
	demoQueue  = "dr-commands"
	demoRule   = "contoso-ia-weu-unavailable"
	demoIntake = "x12-intake"
)

// drSettings are the handler's settings for the disaster half of the demo: the
// intake workflows (Consumption and Standard) and routes (a Traffic Manager endpoint
// and a Front Door origin) of each side, a short settle time (Microsoft documents 15 s; the
// demo waits 2 s), no cooldown (it fails over and back within a minute), an alert
// rule that fails over at once, and the command queue.
func drSettings(overlap time.Duration) map[string]string {
	sides := localstack.RoutingSides()
	topo, _ := json.Marshal(map[string]any{"ssisPairs": []any{localstack.SSISTopology(ssisStandby)}, "pairs": []map[string]any{{
		"name": localstack.PairName, "overlap": overlap.String(),
		"primary":   localstack.AccountID(localstack.PrimaryGroup, localstack.PrimaryAcct),
		"secondary": localstack.AccountID(localstack.SecondaryGroup, localstack.SecondaryAcct),
		"failover": map[string]any{
			"primaryWorkflows":   []string{localstack.WorkflowID(localstack.PrimaryGroup, demoIntake), sides[0].StandardWorkflowID()},
			"secondaryWorkflows": []string{localstack.WorkflowID(localstack.SecondaryGroup, demoIntake), sides[1].StandardWorkflowID()},
			"primaryRoutes":      []string{sides[0].TrafficManagerEndpointID(), sides[0].FrontDoorOriginID()},
			"secondaryRoutes":    []string{sides[1].TrafficManagerEndpointID(), sides[1].FrontDoorOriginID()},
			"settle":             "2s", "cooldown": "0s",
		},
	}}})
	rules, _ := json.Marshal(map[string]any{"rules": []map[string]string{{"ruleId": "/subscriptions/" + localstack.Subscription + "/resourceGroups/" + localstack.PrimaryGroup + "/providers/Microsoft.Insights/metricAlerts/" + demoRule, "pair": localstack.PairName, "action": "failover", "mode": "auto"}}})
	return map[string]string{
		"DR_TOPOLOGY": string(topo), "DR_ALERT_RULES": string(rules), "DR_COMMAND_QUEUE": demoQueue,
		"ServiceBusConnection__fullyQualifiedNamespace": "local.servicebus.example",
		"DR_REPLICATION_SCHEDULE":                       "*/3 * * * * *", "DR_OPERATIONS_SCHEDULE": "*/1 * * * * *", "DR_SSIS_SCHEDULE": "*/2 * * * * *",
	}
}

// drDemo is the disaster half of the demo: the handler driven through the host
// simulator as the Functions host would.
type drDemo struct {
	o      options
	arm    *armstandin.Server
	host   *hostsim.Host
	sender *localstack.Sender
	out    io.Writer
	rows   [][]string
	ops    map[string]journal.Operation
}

func disaster(ctx context.Context, o options, arm *armstandin.Server, sql *sqlstandin.Server, h *localstack.Handler, env map[string]string, agr []localstack.Agreement, out io.Writer) error {
	root, err := localstack.ProjectRoot()
	if err != nil {
		return err
	}
	app, err := hostsim.Load(filepath.Join(root, "functions"), env)
	if err != nil {
		return err
	}
	d := &drDemo{o: o, arm: arm, host: hostsim.New(app, h.URL, hostsim.Options{}), sender: localstack.NewSender(arm, agr, 11), out: out, ops: map[string]journal.Operation{}}
	primary, secondary := side{localstack.PrimaryGroup, localstack.PrimaryAcct}, side{localstack.SecondaryGroup, localstack.SecondaryAcct}
	driftBefore, driftAfter, err := d.artifacts(ctx, env)
	if err != nil {
		return err
	}

	fmt.Fprintf(out, "\nDisaster: partner traffic goes on; the primary region is lost; an alert fails the pair over; the primary comes back; the operator falls back.\n\n")
	if err := d.traffic(ctx, "1 traffic on the primary", primary); err != nil {
		return err
	}
	for range 15 { // sent, never replicated: the outage comes first
		_ = d.sender.Step(primary.group, primary.acct, time.Now())
	}
	d.row("2 more traffic, not replicated", "15 messages on the primary", "")
	arm.SetUnreachable(localstack.PrimaryGroup, "", true)
	d.row("3 the primary region is lost", "ARM for b2b-westeurope does not answer", "")

	alertBody := demoAlert()
	resp, err := d.host.HTTP(ctx, handlers.FnAlertIntake, hostsim.Request{Method: http.MethodPost, Headers: http.Header{"Content-Type": {"application/json"}}, Body: alertBody})
	if err != nil {
		return err
	}
	d.row("4 alert → AlertIntake", fmt.Sprintf("%d %s", resp.StatusCode, resp.Body), fmt.Sprintf("%d command queued", len(d.host.Messages(demoQueue))))
	del, err := d.host.DeliverOne(ctx, handlers.FnRunCommand)
	if err != nil {
		return err
	}
	failover := d.remember(del.Result)
	if err := d.until(ctx, "the secondary becomes active", func(st replication.StreamStatus) bool { return st.Epoch == 1 }); err != nil {
		return err
	}
	failover = d.ops[failover.ID]
	d.row("5 RunCommand: failover", string(failover.Status)+" "+stepSummary(failover), fmt.Sprintf("RTO %s, lag at start %s", failover.RTO.Round(time.Millisecond), failover.LagAtStart.Round(time.Millisecond)))
	afterFailover := readTraffic(arm)
	d.row("  partner traffic", afterFailover.String(), routedNote(afterFailover.only(1)))

	if err := d.traffic(ctx, "6 traffic on the secondary", secondary); err != nil {
		return err
	}
	arm.SetUnreachable(localstack.PrimaryGroup, "", false)
	if err := d.until(ctx, "the pending fence lands and the reverse backlog drains", func(st replication.StreamStatus) bool {
		return !workflowOn(arm, localstack.PrimaryGroup) && !readTraffic(arm).running[0] && st.LastError == "" && d.behind(secondary, primary) == 0
	}); err != nil {
		return err
	}
	d.row("7 the primary is back", "its intake (Consumption and Standard) disabled by the pending fence", "reverse replication caught up")

	if _, err := d.host.Send(demoQueue, hostsim.Message{Body: []byte(fmt.Sprintf(`{"id":"fallback-1","action":"fallback","pair":%q,"reason":"primary region restored","requestedBy":"demo operator"}`, localstack.PairName))}); err != nil {
		return err
	}
	if del, err = d.host.DeliverOne(ctx, handlers.FnRunCommand); err != nil {
		return err
	}
	fallback := d.remember(del.Result)
	if err := d.until(ctx, "the fallback completes", func(replication.StreamStatus) bool { return d.ops[fallback.ID].Status == journal.Succeeded }); err != nil {
		return err
	}
	fallback = d.ops[fallback.ID]
	d.row("8 RunCommand: fallback", string(fallback.Status)+" "+stepSummary(fallback), fmt.Sprintf("RTO %s", fallback.RTO.Round(time.Millisecond)))
	afterFallback := readTraffic(arm)
	d.row("  partner traffic", afterFallback.String(), routedNote(afterFallback.only(0)))

	if err := d.traffic(ctx, "9 traffic on the primary", primary); err != nil {
		return err
	}
	if err := d.until(ctx, "the secondary converges", func(st replication.StreamStatus) bool { return st.LastError == "" && d.converged(primary, secondary) }); err != nil {
		return err
	}

	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "step\twhat happened\tresult\t")
	for _, r := range d.rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t\n", r[0], r[1], r[2])
	}
	tw.Flush()

	p, s := arm.Sessions(primary.group, primary.acct), arm.Sessions(secondary.group, secondary.acct)
	lost := len(localstack.Differences(p, s))
	for _, name := range d.sender.Ledger.Received {
		if _, ok := p[name]; !ok {
			lost++
		}
	}
	result := map[string]any{
		"duplicate_control_numbers": d.sender.Ledger.Duplicates(primary.acct, secondary.acct),
		"lost_changes":              lost,
		"numbers_sent_primary":      d.sender.Ledger.Sent(primary.acct),
		"numbers_sent_secondary":    d.sender.Ledger.Sent(secondary.acct),
		"failover_rto_s":            round2(failover.RTO.Seconds()),
		"fallback_rto_s":            round2(fallback.RTO.Seconds()),
		"lag_at_failover_s":         round2(failover.LagAtStart.Seconds()),
		// The routes and the Standard intake moved with the plan: to the secondary
		// alone with the failover, back to the primary alone with the fallback.
		"traffic_switched_with_failover": afterFailover.only(1) && afterFallback.only(0),
		// Differences not on the pairs' allow-lists, before and after the mirror.
		"drift_before": driftBefore,
		"drift_after":  driftAfter,
	}
	if result["duplicate_control_numbers"] != 0 || lost != 0 || result["traffic_switched_with_failover"] != true || driftAfter != 0 {
		line, _ := json.Marshal(result)
		fmt.Fprintf(out, "\n%s\n", line)
		return fmt.Errorf("%d duplicate control numbers, %d lost changes, traffic switched with the plans: %v, drift after the mirror: %d", result["duplicate_control_numbers"], lost, result["traffic_switched_with_failover"], driftAfter)
	}
	serr := (&ssisDemo{arm: arm, sql: sql, host: d.host, out: out}).run(ctx, result)
	line, _ := json.Marshal(result)
	fmt.Fprintf(out, "\n%s\n", line)
	return serr
}

type side struct{ group, acct string }

func round2(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }

// traffic sends on a side for the demo's load time while the replication timer ticks
// beside it, as the host's timer would, one tick at a time.
func (d *drDemo) traffic(ctx context.Context, name string, s side) error {
	type tick struct {
		ok  bool
		err error
	}
	ticks := make(chan tick, 1)
	inFlight, done, failed := false, 0, 0
	collect := func(t tick) error {
		inFlight = false
		done++
		if !t.ok {
			failed++
		}
		return t.err
	}
	sent := 0
	next := time.Now()
	for end := time.Now().Add(d.o.drLoad); time.Now().Before(end) || inFlight; {
		if time.Now().Before(end) && d.sender.Step(s.group, s.acct, time.Now()) == nil {
			sent++
		}
		if !inFlight && time.Now().After(next) && time.Now().Before(end) {
			inFlight, next = true, time.Now().Add(d.o.tick)
			go func() {
				r, err := d.timer(ctx, handlers.FnReplicateSessions)
				ticks <- tick{r.Success, err}
			}()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case t := <-ticks:
			if err := collect(t); err != nil {
				return err
			}
		case <-time.After(time.Duration(float64(time.Second) / d.o.rate)):
		}
	}
	note := fmt.Sprintf("%d replication ticks", done)
	if failed > 0 {
		// The host drops a failed invocation's logs: the reason is in the stream's status.
		why := ""
		if st, err := d.status(ctx); err == nil {
			why = shorten(st.LastError, 80)
		}
		note += fmt.Sprintf(", %d failed (the other side is down: %s)", failed, why)
	}
	d.row(name, fmt.Sprintf("%d messages sent", sent), note)
	return nil
}

func (d *drDemo) timer(ctx context.Context, fn string) (hostsim.Result, error) {
	r, err := d.host.Timer(ctx, fn, time.Now(), hostsim.TimerStatus{Unmonitored: true})
	if err != nil {
		return r, err
	}
	if fn == handlers.FnAdvanceOperations {
		var ops []journal.Operation
		if json.Unmarshal(r.ReturnValue, &ops) == nil {
			for _, op := range ops {
				d.ops[op.ID] = op
			}
		}
	}
	return r, nil
}

// until runs the timers (operations every second, replication every tick) until cond
// holds for the pair's stream, or two minutes pass.
func (d *drDemo) until(ctx context.Context, what string, cond func(replication.StreamStatus) bool) error {
	deadline := time.Now().Add(2 * time.Minute)
	nextTick := time.Now()
	for {
		if _, err := d.timer(ctx, handlers.FnAdvanceOperations); err != nil {
			return err
		}
		if time.Now().After(nextTick) {
			nextTick = time.Now().Add(d.o.tick)
			if _, err := d.timer(ctx, handlers.FnReplicateSessions); err != nil {
				return err
			}
		}
		st, err := d.status(ctx)
		if err != nil {
			return err
		}
		if cond(st) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out waiting until %s (stream %+v)%s", what, st, d.lastSteps())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// status reads the pair's stream through the Status function. A failed invocation is
// tried again twice, saying why, before the demo gives up.
func (d *drDemo) status(ctx context.Context) (replication.StreamStatus, error) {
	var last error
	for range 3 {
		resp, err := d.host.HTTP(ctx, handlers.FnStatus, hostsim.Request{Method: http.MethodGet})
		if err != nil {
			return replication.StreamStatus{}, err
		}
		var body struct{ Streams []replication.StreamStatus }
		if err := json.Unmarshal(resp.Body, &body); err == nil && len(body.Streams) > 0 {
			return body.Streams[0], nil
		}
		last = fmt.Errorf("status answered %d %q (invocation: %v, logs %v)", resp.StatusCode, resp.Body, resp.Result.Err, resp.Result.Logs)
		fmt.Fprintln(os.Stderr, "demo:", last)
	}
	return replication.StreamStatus{}, last
}

// lastSteps says where each operation the demo started stands, step by step: what a
// demo that timed out waited on.
func (d *drDemo) lastSteps() string {
	var b strings.Builder
	for _, op := range d.ops {
		fmt.Fprintf(&b, "\noperation %s %s: %s", op.Action, op.ID, op.Status)
		for _, s := range op.Steps {
			fmt.Fprintf(&b, "\n  %s %s %s–%s %s", s.Name, s.Status, s.Started.Format("15:04:05.0"), s.Ended.Format("15:04:05.0"), shorten(s.Outcome, 300))
		}
	}
	return b.String()
}

func (d *drDemo) remember(r hostsim.Result) journal.Operation {
	var op journal.Operation
	_ = json.Unmarshal(r.ReturnValue, &op)
	d.ops[op.ID] = op
	return op
}

func (d *drDemo) converged(active, standby side) bool {
	return len(localstack.Differences(d.arm.Sessions(active.group, active.acct), d.arm.Sessions(standby.group, standby.acct))) == 0
}

// behind counts the active side's sessions the standby lacks or holds in another
// state; sessions only the standby has (sent on the old side just before the outage)
// come back to the other side with the reconciliation after the fallback.
func (d *drDemo) behind(active, standby side) int {
	n := 0
	for _, diff := range localstack.Differences(d.arm.Sessions(active.group, active.acct), d.arm.Sessions(standby.group, standby.acct)) {
		if !strings.HasSuffix(diff, "only on the standby") {
			n++
		}
	}
	return n
}

func (d *drDemo) row(step, what, result string) {
	d.rows = append(d.rows, []string{step, what, result})
}

func workflowOn(arm *armstandin.Server, group string) bool {
	st, _ := arm.WorkflowState(group, demoIntake)
	return st == armlogic.WorkflowStateEnabled
}

func stepSummary(op journal.Operation) string {
	done := 0
	for _, s := range op.Steps {
		if s.Status == journal.StepDone || s.Status == journal.StepSkipped {
			done++
		}
	}
	return fmt.Sprintf("(%d/%d steps)", done, len(op.Steps))
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func demoAlert() []byte {
	b, _ := json.Marshal(map[string]any{
		"schemaId": "azureMonitorCommonAlertSchema",
		"data": map[string]any{
			"essentials": map[string]any{
				"alertId":   "/subscriptions/" + localstack.Subscription + "/providers/Microsoft.AlertsManagement/alerts/b2b-outage-1",
				"alertRule": demoRule, "severity": "Sev0", "signalType": "Metric", "monitorCondition": "Fired",
				"monitoringService": "Platform", "alertTargetIDs": []string{localstack.AccountID(localstack.PrimaryGroup, localstack.PrimaryAcct)},
				"firedDateTime": time.Now().UTC().Format(time.RFC3339),
			},
			"alertContext": map[string]any{},
		},
	})
	return b
}
