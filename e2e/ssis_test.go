package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"integration-dr/azure/tables"
	"integration-dr/command"
	"integration-dr/dev/armstandin"
	"integration-dr/dev/hostsim"
	"integration-dr/dev/localstack"
	"integration-dr/dev/sqlstandin"
	"integration-dr/handlers"
	"integration-dr/journal"
	"integration-dr/mssql"
	"integration-dr/ssis"
	"integration-dr/view"
)

// ssisStack is a stack whose topology also has the SSIS pair, its SSISDBs on the
// in-memory SQL stand-in, and the host simulator in front of the handler.
type ssisStack struct {
	*stack
	sql  *sqlstandin.Server
	host *hostsim.Host
}

func newSSISStack(t *testing.T, standby string) *ssisStack {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sql := sqlstandin.New()
	sqlURL, err := sql.Start(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var topo map[string]any
	_ = json.Unmarshal([]byte(localstack.Topology(time.Minute)), &topo)
	topo["ssisPairs"] = []any{localstack.SSISTopology(standby)}
	raw, _ := json.Marshal(topo)
	s := newStack(t, time.Minute, map[string]string{
		"DR_TOPOLOGY": string(raw), "DR_SQL_STANDIN": sqlURL,
		"DR_COMMAND_QUEUE": commandsQ, "ServiceBusConnection__fullyQualifiedNamespace": "local.servicebus.example",
		"DR_REPLICATION_SCHEDULE": "*/10 * * * * *", "DR_OPERATIONS_SCHEDULE": "*/10 * * * * *", "DR_SSIS_SCHEDULE": "*/10 * * * * *",
	})
	if err := localstack.SeedSSIS(s.arm, sql, standby); err != nil {
		t.Fatal(err)
	}
	app, err := hostsim.Load(filepath.Join("..", "functions"), s.env)
	if err != nil {
		t.Fatal(err)
	}
	return &ssisStack{stack: s, sql: sql, host: hostsim.New(app, s.handler.URL, hostsim.Options{})}
}

// reconcile runs one ReconcileSSIS tick and returns the SSIS pair's report.
func (s *ssisStack) reconcile() ssis.Report {
	s.t.Helper()
	res, err := s.host.Timer(s.ctx, handlers.FnReconcileSSIS, time.Now(), hostsim.TimerStatus{Unmonitored: true})
	if err != nil {
		s.t.Fatal(err)
	}
	var reps []ssis.Report
	if err := json.Unmarshal(res.ReturnValue, &reps); err != nil || len(reps) != 1 {
		s.t.Fatalf("ReconcileSSIS answered %d %s %v: %v", res.Status, res.ReturnValue, res.Logs, err)
	}
	return reps[0]
}

// writes counts what changed Azure or SSISDB: ARM writes in both regions and
// schedule updates and catalog calls on both instances.
func (s *ssisStack) writes() []string {
	var out []string
	for _, side := range localstack.SSISSides {
		for _, w := range s.arm.Writes(side.Group, "") {
			out = append(out, side.Group+": "+w.Op+" "+w.Name)
		}
		for _, c := range s.sql.Calls(side.Endpoint) {
			if c.Op != "role" && c.Op != "schedules" {
				out = append(out, side.Group+": "+c.Op)
			}
		}
	}
	return out
}

// follows lists how the pair differs from following primary (0 or 1) under the policy.
func (s *ssisStack) follows(primary int, standby string) []string {
	var bad []string
	for i, side := range localstack.SSISSides {
		isPrimary := i == primary
		wantIR, wantTrigger := "Started", "Started"
		if !isPrimary {
			wantTrigger = "Stopped"
			if standby == "stopped" {
				wantIR = "Stopped"
			}
		}
		if got, _ := s.arm.IntegrationRuntimeState(side.Group, side.Factory, side.IR); got != wantIR {
			bad = append(bad, side.IR+" is "+got+", want "+wantIR)
		}
		for _, tr := range []string{localstack.SSISTrigger, "weekly-archive"} {
			if got, _ := s.arm.TriggerState(side.Group, side.Factory, tr); got != wantTrigger {
				bad = append(bad, side.Factory+"/"+tr+" is "+got+", want "+wantTrigger)
			}
		}
		if got, _ := s.arm.TriggerState(side.Group, side.Factory, "adhoc-export"); got != "Started" {
			bad = append(bad, side.Factory+"/adhoc-export, not the pair's, is "+got)
		}
		for _, sc := range s.sql.Schedules(side.Endpoint) {
			if sc.Enabled != isPrimary {
				bad = append(bad, side.Instance+" schedule enabled="+map[bool]string{true: "1", false: "0"}[sc.Enabled])
			}
		}
	}
	return bad
}

// journalOps lists the SSIS pair's journal.
func (s *ssisStack) journalOps() ([]journal.Operation, error) {
	svc, err := tables.NewServiceClient(s.azurite.ConnectionString(), "", nil, nil)
	if err != nil {
		return nil, err
	}
	j, err := tables.OpenJournal(s.ctx, svc, "drstate")
	if err != nil {
		return nil, err
	}
	return j.List(s.ctx, localstack.SSISPairName, 0)
}

func (s *ssisStack) send(c command.Command) hostsim.Delivery {
	s.t.Helper()
	if _, err := s.host.Send(commandsQ, hostsim.Message{Body: c.Encode(), MessageID: c.ID}); err != nil {
		s.t.Fatal(err)
	}
	del, err := s.host.DeliverOne(s.ctx, handlers.FnRunCommand)
	if err != nil {
		s.t.Fatal(err)
	}
	return del
}

// advanceUntilDone runs AdvanceOperations until the operation ends, as the journal
// records it.
func (s *ssisStack) advanceUntilDone(id string) journal.Operation {
	s.t.Helper()
	var op journal.Operation
	var last []string
	s.t.Cleanup(func() {
		if s.t.Failed() {
			s.t.Logf("last AdvanceOperations answered %v; the operation was %s: %s; steps %+v", last, op.Status, op.Error, op.Steps)
		}
	})
	s.waitFor("operation "+id+" to end", time.Minute, func() bool {
		ops, err := s.journalOps()
		if err != nil {
			s.t.Fatal(err)
		}
		for _, o := range ops {
			if o.ID == id {
				op = o
			}
		}
		if op.Status.Terminal() {
			return true
		}
		res, err := s.host.Timer(s.ctx, handlers.FnAdvanceOperations, time.Now(), hostsim.TimerStatus{Unmonitored: true})
		if err != nil {
			s.t.Fatal(err)
		}
		last = res.Logs
		return false
	})
	return op
}

func TestSSISPairFollowsTheFailoverGroup(t *testing.T) {
	const standby = "running"
	s := newSSISStack(t, standby)

	// Converged as set up: a tick changes nothing.
	if rep := s.reconcile(); !rep.Converged || len(s.writes()) > 0 {
		t.Fatalf("converged pair: report %+v, writes %v", rep, s.writes())
	}

	// Someone fails the group over outside the app (the portal, the group's own
	// policy): within two ticks everything follows.
	s.arm.PutFailoverGroup(armstandin.FailoverGroup{Name: localstack.SSISFailoverGroup, Kind: armstandin.ManagedInstance, Primary: 1,
		Members: [2]armstandin.FailoverGroupMember{
			{Group: localstack.SSISSides[0].Group, Server: localstack.SSISSides[0].Instance, Location: localstack.SSISSides[0].Location},
			{Group: localstack.SSISSides[1].Group, Server: localstack.SSISSides[1].Instance, Location: localstack.SSISSides[1].Location},
		}})
	s.reconcile()
	s.reconcile()
	if bad := s.follows(1, standby); len(bad) > 0 {
		t.Fatalf("two ticks after a planned failover: %v", bad)
	}
	n := len(s.writes())
	if rep := s.reconcile(); !rep.Converged || len(s.writes()) != n {
		t.Fatalf("the pair did not settle: %+v; new writes %v", rep, s.writes()[n:])
	}

	// The operator forces the group back; the message is delivered twice.
	c := command.Command{ID: "ssis-force-back", Action: command.SSISFailover, Pair: localstack.SSISPairName, Force: true, RequestedBy: "ops@contoso"}
	if del := s.send(c); del.Status != http.StatusOK {
		t.Fatalf("command: %d %v", del.Status, del.Logs)
	}
	s.send(c)
	op := s.advanceUntilDone(c.ID)
	if op.Status != journal.Succeeded || !op.Force || op.RTO <= 0 {
		t.Fatalf("operation %s force=%v RTO=%s: %s; steps %+v", op.Status, op.Force, op.RTO, op.Error, op.Steps)
	}
	if got := s.arm.ForcedFailovers(localstack.SSISFailoverGroup); got != 1 {
		t.Fatalf("%d forced failovers for one command delivered twice", got)
	}
	s.reconcile()
	if bad := s.follows(0, standby); len(bad) > 0 {
		t.Fatalf("after the forced failover: %v", bad)
	}
	t.Logf("forced ssis-failover RTO (command to runtime running and triggers started): %s", op.RTO.Round(time.Millisecond))
}

func TestSSISRuntimeStartSpansTicksAndAHandlerRestart(t *testing.T) {
	const standby = "stopped"
	s := newSSISStack(t, standby)
	s.arm.SetPollsToComplete(4)
	c := command.Command{ID: "ssis-planned", Action: command.SSISFailover, Pair: localstack.SSISPairName}
	s.send(c)
	s.waitFor("the group to fail over", time.Minute, func() bool {
		if _, err := s.host.Timer(s.ctx, handlers.FnAdvanceOperations, time.Now(), hostsim.TimerStatus{Unmonitored: true}); err != nil {
			t.Fatal(err)
		}
		st, _ := s.arm.IntegrationRuntimeState(localstack.SSISSides[1].Group, localstack.SSISSides[1].Factory, localstack.SSISSides[1].IR)
		return st == "Starting"
	})
	// The handler dies while the runtime starts; a new one resumes from the token.
	s.handler.Kill()
	s.start()
	s.host.SetURL(s.handler.URL)
	op := s.advanceUntilDone(c.ID)
	if op.Status != journal.Succeeded {
		t.Fatalf("operation %s: %s; steps %+v", op.Status, op.Error, op.Steps)
	}
	if bad := s.follows(1, standby); len(bad) > 0 {
		t.Fatalf("after the start: %v", bad)
	}
	starts := 0
	for _, w := range s.writes() {
		if strings.Contains(w, "integrationRuntimes.start") {
			starts++
		}
	}
	if starts != 1 {
		t.Fatalf("the runtime was started %d times: %v", starts, s.writes())
	}
	if rep := s.reconcile(); !rep.Converged {
		t.Fatalf("not converged after the operation: %+v", rep)
	}
}

func TestSSISUnknownRoleChangesNothing(t *testing.T) {
	s := newSSISStack(t, "stopped")
	// The link row is gone on the secondary, and the standby runs against the policy:
	// a known role would stop it.
	s.arm.PutIntegrationRuntime(localstack.SSISSides[1].Group, localstack.SSISSides[1].Factory, localstack.SSISSides[1].IR, "Started")
	if err := s.sql.SetRoleRows(localstack.SSISSides[1].Endpoint); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if rep := s.reconcile(); !strings.Contains(rep.Unknown, "no geo-replication link") {
			t.Fatalf("unknown = %q", rep.Unknown)
		}
	}
	// Commands are refused while the role is unknown, dry run or not.
	for _, c := range []command.Command{
		{ID: "ssis-unknown", Action: command.SSISFailover, Pair: localstack.SSISPairName, Force: true},
		{ID: "ssis-unknown-dry", Action: command.AttachIR, Pair: localstack.SSISPairName, DryRun: true},
	} {
		op := operation(t, s.send(c).Result)
		if op.Status != journal.Rejected || !strings.Contains(op.Error, "unknown") {
			t.Fatalf("%s: %s (%s), want rejected for the unknown role", c.ID, op.Status, op.Error)
		}
	}
	if w := s.writes(); len(w) > 0 {
		t.Fatalf("an unknown role changed things: %v", w)
	}
	var status view.Status
	resp, err := s.host.HTTP(s.ctx, handlers.FnStatus, hostsim.Request{Method: http.MethodGet})
	if err != nil || json.Unmarshal([]byte(resp.Body), &status) != nil || len(status.SSIS) != 1 || !strings.Contains(status.SSIS[0].Unknown, "no geo-replication link") {
		t.Fatalf("status does not show the unknown role: %v %s", err, resp.Body)
	}
	ops, err := s.journalOps()
	if err != nil {
		t.Fatal(err)
	}
	unknown := 0
	for _, o := range ops {
		if o.Action == command.Reconcile && strings.Contains(o.Error, "role unknown") {
			unknown++
		}
	}
	if unknown != 1 {
		t.Fatalf("the unknown role was journaled %d times over two ticks, want once", unknown)
	}
}

func TestAttachIRRunsTheGuidesProcedureInOrder(t *testing.T) {
	s := newSSISStack(t, "stopped")
	// A dry run first: it says what it would do and does nothing.
	dry := operation(t, s.send(command.Command{ID: "attach-dry", Action: command.AttachIR, Pair: localstack.SSISPairName, DryRun: true}).Result)
	if dry.Status != journal.Succeeded || len(s.writes()) > 0 {
		t.Fatalf("dry run: %s %s; writes %v", dry.Status, dry.Error, s.writes())
	}
	if plan := dry.StepByName(ssis.StepPlan); plan == nil || !strings.Contains(strings.Join(plan.Changes, "\n"), "failover_integration_runtime") {
		t.Fatalf("dry run does not show the procedure: %+v", dry.Steps)
	}

	c := command.Command{ID: "attach-neu", Action: command.AttachIR, Pair: localstack.SSISPairName, Side: "secondary", RequestedBy: "ops@contoso"}
	s.send(c)
	s.send(c) // redelivered: acts once
	op := s.advanceUntilDone(c.ID)
	if op.Status != journal.Succeeded {
		t.Fatalf("attach-ir %s: %s; steps %+v", op.Status, op.Error, op.Steps)
	}
	weu, neu := localstack.SSISSides[0], localstack.SSISSides[1]
	var stopped, started time.Time
	for _, e := range s.arm.Events() {
		switch {
		case e.Op == "integrationRuntimes.stop" && e.Name == weu.IR && e.Phase == armstandin.PhaseCompleted:
			stopped = e.At
		case e.Op == "integrationRuntimes.start" && e.Name == neu.IR && e.Phase == armstandin.PhaseBegun:
			started = e.At
		}
	}
	var attached []sqlstandin.Call
	for _, call := range s.sql.Calls(weu.Endpoint) {
		if strings.HasPrefix(call.Op, "failover_integration_runtime") {
			attached = append(attached, call)
		}
	}
	if len(attached) != 1 || attached[0].Op != "failover_integration_runtime "+neu.Factory+" "+neu.IR {
		t.Fatalf("catalog.failover_integration_runtime calls on the primary SSISDB: %+v", attached)
	}
	if stopped.IsZero() || started.IsZero() || !stopped.Before(attached[0].At) || !attached[0].At.Before(started) {
		t.Fatalf("out of order: old runtime stopped %v, attached %v, new runtime started %v", stopped, attached[0].At, started)
	}
	// The reconcile keeps it so: the old runtime stays stopped, the new side's
	// triggers run, the schedules stay with SSISDB.
	s.reconcile()
	if got, _ := s.arm.IntegrationRuntimeState(weu.Group, weu.Factory, weu.IR); got != "Stopped" {
		t.Fatalf("the old runtime is %s after the attach", got)
	}
	if got, _ := s.arm.TriggerState(neu.Group, neu.Factory, localstack.SSISTrigger); got != "Started" {
		t.Fatalf("the new side's trigger is %s", got)
	}
	if slices.ContainsFunc(s.sql.Schedules(weu.Endpoint), func(sc mssql.Schedule) bool { return !sc.Enabled }) {
		t.Fatal("the primary SSISDB's schedule was disabled by the attach")
	}
}
