package failover_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"integration-dr/command"
	"integration-dr/drerr"
	"integration-dr/failover"
	"integration-dr/journal"
	"integration-dr/replication"
)

// events is the order in which routes and workflows changed, each with the number of
// session writes the target had taken then.
type events struct {
	mu   sync.Mutex
	list []string
	// puts reads the target's writes so far.
	puts func() int
}

func (e *events) add(what string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, fmt.Sprintf("%s@%d", what, e.puts()))
}

// index is the position of the first event starting with what, -1 if none.
func (e *events) index(what string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.IndexFunc(e.list, func(s string) bool { return strings.HasPrefix(s, what+"@") })
}

// writesAt is the target's writes when the event happened.
func (e *events) writesAt(what string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range e.list {
		if w, ok := strings.CutPrefix(s, what+"@"); ok {
			var n int
			_, _ = fmt.Sscan(w, &n)
			return n
		}
	}
	return -1
}

// route is a router's entry for one side: it fails as its fault says, else records
// its state; Enable and Disable change it only when it differs, as the adapters do.
type route struct {
	name    string
	mu      sync.Mutex
	enabled bool
	health  string
	fault   error
	// refuse answers Enable alone: a route the router will not enable.
	refuse error
	ev     *events
	writes int
}

func (r *route) Name() string { return r.name }
func (r *route) set(on bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fault != nil {
		return r.fault
	}
	if r.enabled == on {
		return nil
	}
	r.enabled, r.writes = on, r.writes+1
	verb := "disable "
	if on {
		verb = "enable "
	}
	r.ev.add(verb + r.name)
	return nil
}
func (r *route) Enable(context.Context) error {
	if r.refuse != nil {
		return r.refuse
	}
	return r.set(true)
}
func (r *route) Disable(context.Context) error { return r.set(false) }
func (r *route) State(context.Context) (failover.RouteState, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fault != nil {
		return failover.RouteState{}, r.fault
	}
	return failover.RouteState{Enabled: r.enabled, Health: r.health, Target: r.name + ".example.net"}, nil
}
func (r *route) on() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.enabled
}
func (r *route) setFault(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fault = err
}

// loggedWorkflow records its changes among the routes'.
type loggedWorkflow struct {
	failover.Workflow
	ev *events
}

func (w loggedWorkflow) Enable(ctx context.Context) error {
	err := w.Workflow.Enable(ctx)
	if err == nil {
		w.ev.add("enable " + w.Name())
	}
	return err
}

func (w loggedWorkflow) Disable(ctx context.Context) error {
	err := w.Workflow.Disable(ctx)
	if err == nil {
		w.ev.add("disable " + w.Name())
	}
	return err
}

type routed struct {
	*fixture
	ev                 *events
	oldRoute, newRoute *route
}

// newRouted is the fixture with one route per side, the primary's enabled, and a
// settle time the tests step over.
func newRouted(t *testing.T, settle time.Duration) *routed {
	t.Helper()
	f := newFixture(t, 2, failover.Bounds{Lower: 1, Upper: 999999999})
	ev := &events{puts: func() int { return f.secondary.acct.Puts + f.primary.acct.Puts }}
	r := &routed{fixture: f, ev: ev,
		oldRoute: &route{name: "tm prof/ep-primary", enabled: true, health: "Online", ev: ev},
		newRoute: &route{name: "tm prof/ep-secondary", health: "Online", ev: ev},
	}
	f.pair.Primary.Routes = []failover.Route{r.oldRoute}
	f.pair.Secondary.Routes = []failover.Route{r.newRoute}
	f.pair.Primary.Workflows = []failover.Workflow{loggedWorkflow{f.primary.workflow, ev}}
	f.pair.Secondary.Workflows = []failover.Workflow{loggedWorkflow{f.secondary.workflow, ev}}
	f.pair.Settle = settle
	f.runner.Pairs["p"] = f.pair
	return r
}

// advance runs the operations timer until op leaves waiting or the step named waits
// on something else, moving the clock by step each time.
func (r *routed) advanceUntil(t *testing.T, id string, step time.Duration, done func(journal.Operation) bool) journal.Operation {
	t.Helper()
	for range 50 {
		op, err := r.journal.Get(context.Background(), "p", id)
		if err != nil {
			t.Fatal(err)
		}
		if done(op) {
			return op
		}
		r.shift += step
		if _, err := r.runner.Advance(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	op, _ := r.journal.Get(context.Background(), "p", id)
	t.Fatalf("operation %s never got there: %s %q, steps %+v", id, op.Status, op.Error, op.Steps)
	return op
}

func changesOf(op journal.Operation, step string) string {
	if s := op.StepByName(step); s != nil {
		return strings.Join(s.Changes, "; ")
	}
	return ""
}

func TestAFailoverMovesTheRouteAroundTheBumps(t *testing.T) {
	r := newRouted(t, 15*time.Second)
	before := r.ev.puts()
	op := r.submit(t, command.Command{ID: "c1", Action: command.Failover})
	if op.Status != journal.Waiting || op.StepByName(failover.StepSettle).Status != journal.StepWaiting {
		t.Fatalf("status %s %q; want waiting on the settle", op.Status, op.Error)
	}
	if r.oldRoute.on() || r.newRoute.on() {
		t.Fatalf("while the bumps settle: primary routed %v, secondary routed %v; want neither", r.oldRoute.on(), r.newRoute.on())
	}
	op = r.advanceUntil(t, "c1", 5*time.Second, func(o journal.Operation) bool { return o.Status.Terminal() })
	if op.Status != journal.Succeeded || r.oldRoute.on() || !r.newRoute.on() {
		t.Fatalf("status %s %q; primary routed %v, secondary routed %v", op.Status, op.Error, r.oldRoute.on(), r.newRoute.on())
	}
	ev := r.ev
	if w := ev.writesAt("disable tm prof/ep-primary"); w != before {
		t.Errorf("the old side's route was disabled after %d bumps; want before any (%d)", w-before, 0)
	}
	if ev.index("disable tm prof/ep-primary") > ev.index("disable primary-intake") {
		t.Errorf("the old side's workflows were stopped before its route: %v", ev.list)
	}
	if ev.index("enable secondary-intake") > ev.index("enable tm prof/ep-secondary") {
		t.Errorf("the new side was routed before its workflows took traffic: %v", ev.list)
	}
	enable := op.StepByName(failover.StepEnable)
	if settled := op.StepByName(failover.StepSettle).Ended; enable.Started.Before(settled) {
		t.Errorf("the new side was routed at %s, before the bumps settled at %s", enable.Started, settled)
	}
	if !strings.Contains(changesOf(op, failover.StepStopOld), "disabled route tm prof/ep-primary") ||
		!strings.Contains(changesOf(op, failover.StepEnable), "enabled route tm prof/ep-secondary") {
		t.Errorf("the journal does not name the route changes: %+v", op.Steps)
	}
	// Redelivered: nothing is written again.
	writes := r.oldRoute.writes + r.newRoute.writes
	if again := r.submit(t, command.Command{ID: "c1", Action: command.Failover}); again.Status != journal.Succeeded || r.oldRoute.writes+r.newRoute.writes != writes {
		t.Fatalf("a redelivered command wrote routes again: %s, %d writes", again.Status, r.oldRoute.writes+r.newRoute.writes-writes)
	}
}

func TestAFallbackMirrorsTheRouteMoves(t *testing.T) {
	r := newRouted(t, 0)
	ctx := context.Background()
	if op := r.submit(t, command.Command{ID: "f1", Action: command.Failover}); op.Status != journal.Succeeded {
		t.Fatalf("failover: %s %q", op.Status, op.Error)
	}
	r.ev.mu.Lock()
	r.ev.list = nil
	r.ev.mu.Unlock()
	if _, err := r.engine.Run(ctx, r.pair.Replication); err != nil {
		t.Fatal(err)
	}
	op := r.submit(t, command.Command{ID: "b1", Action: command.Fallback})
	for deadline := time.Now().Add(10 * time.Second); op.Status == journal.Waiting; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("fallback still waiting: %+v", op.Steps)
		}
		// The timer: replication carries the secondary's last numbers back, then
		// the plan resumes.
		if _, err := r.engine.Run(ctx, r.pair.Replication); err != nil {
			t.Fatal(err)
		}
		ops, err := r.runner.Advance(ctx)
		if err != nil {
			t.Fatal(err)
		}
		op = ops[0]
	}
	if op.Status != journal.Succeeded || !r.oldRoute.on() || r.newRoute.on() {
		t.Fatalf("fallback: %s %q; primary routed %v, secondary routed %v", op.Status, op.Error, r.oldRoute.on(), r.newRoute.on())
	}
	ev := r.ev
	order := []string{"disable tm prof/ep-secondary", "disable secondary-intake", "enable primary-intake", "enable tm prof/ep-primary"}
	for i := 1; i < len(order); i++ {
		if ev.index(order[i-1]) < 0 || ev.index(order[i-1]) > ev.index(order[i]) {
			t.Fatalf("want %v in that order, got %v", order, ev.list)
		}
	}
}

func TestAnOldRouteThatCannotBeReachedIsFencedOnceItAnswers(t *testing.T) {
	r := newRouted(t, 0)
	r.oldRoute.setFault(drerr.Errorf(drerr.Unreachable, "route", "the profile's group does not answer"))
	op := r.submit(t, command.Command{ID: "c1", Action: command.Failover})
	if op.Status != journal.Waiting || op.StepByName(failover.StepFenceOld).Status != journal.StepWaiting {
		t.Fatalf("status %s %q; want waiting on the fence", op.Status, op.Error)
	}
	if _, region, _ := r.store.Load(context.Background(), "p"); region.Active != replication.Secondary {
		t.Fatal("a route that cannot be reached held the flip")
	}
	if !strings.Contains(changesOf(op, failover.StepStopOld), "route fence pending: tm prof/ep-primary") {
		t.Errorf("stop-old does not say the route's fence is pending: %q", changesOf(op, failover.StepStopOld))
	}
	if out := op.StepByName(failover.StepEnable).Outcome; !strings.Contains(out, "both sides may be routed") {
		t.Errorf("enable-target does not say both sides may be routed: %q", out)
	}
	if f := op.StepByName(failover.StepFenceOld); !strings.Contains(f.Outcome, "tm prof/ep-primary") || !strings.Contains(strings.Join(f.Changes, ";"), "disabled primary-intake") {
		t.Errorf("the fence does not say what is pending and what landed: %+v", f)
	}
	// The old side's workflows are fenced: replication may write into it again.
	if cp, _, _ := r.store.Load(context.Background(), "p"); cp.FencePending != "" {
		r.shift += time.Second
		if _, err := r.runner.Advance(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if cp, _, _ := r.store.Load(context.Background(), "p"); cp.FencePending != "" {
		op, _ = r.journal.Get(context.Background(), "p", "c1")
		t.Errorf("replication still fenced off the old side whose workflows are disabled: %+v", op.StepByName(failover.StepFenceOld))
	}
	// Still pending while the route does not answer.
	op = r.advanceUntil(t, "c1", time.Second, func(o journal.Operation) bool { return true })
	if op.Status != journal.Waiting {
		t.Fatalf("status %s; want still waiting on the route", op.Status)
	}
	r.oldRoute.setFault(nil)
	op = r.advanceUntil(t, "c1", time.Second, func(o journal.Operation) bool { return o.Status.Terminal() })
	if op.Status != journal.Succeeded || r.oldRoute.on() || !r.newRoute.on() {
		t.Fatalf("after the route answered: %s %q; primary routed %v", op.Status, op.Error, r.oldRoute.on())
	}
}

func TestAnOldRouteThatAnswersBadlyHoldsStopFirst(t *testing.T) {
	tests := []struct {
		name  string
		force bool
		want  journal.Status
	}{
		{"unforced: the plan holds, nothing bumped", false, journal.Waiting},
		{"forced: the plan goes on, the route's fence pending", true, journal.Waiting},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRouted(t, 0)
			r.oldRoute.setFault(drerr.Errorf(drerr.Throttled, "route", "429 too many requests"))
			puts := r.secondary.acct.Puts
			op := r.submit(t, command.Command{ID: "c1", Action: command.Failover, Force: tt.force})
			if op.Status != tt.want {
				t.Fatalf("status %s %q, want %s", op.Status, op.Error, tt.want)
			}
			stop := op.StepByName(failover.StepStopOld)
			if !tt.force {
				if stop.Status != journal.StepWaiting || r.secondary.acct.Puts != puts || r.newRoute.on() {
					t.Fatalf("stop-first did not hold: stop-old %s, %d bumps, secondary routed %v", stop.Status, r.secondary.acct.Puts-puts, r.newRoute.on())
				}
				return
			}
			if stop.Status != journal.StepDone || !strings.Contains(strings.Join(stop.Changes, ";"), "forced past a route") || !r.newRoute.on() {
				t.Fatalf("forced: stop-old %s %+v; secondary routed %v", stop.Status, stop.Changes, r.newRoute.on())
			}
		})
	}
}

func TestARefusedPlanRoutesTheOldSideAgainAfterItsWorkflows(t *testing.T) {
	r := newRouted(t, 0)
	r.newRoute.refuse = drerr.Errorf(drerr.Invalid, "route", "the profile refuses the endpoint's target")
	op := r.submit(t, command.Command{ID: "c1", Action: command.Failover})
	if op.Status != journal.Rejected || !r.oldRoute.on() || !r.primary.workflow.on() || r.secondary.workflow.on() {
		t.Fatalf("status %s %q; primary routed %v, primary intake %v, secondary intake %v", op.Status, op.Error, r.oldRoute.on(), r.primary.workflow.on(), r.secondary.workflow.on())
	}
	ev := r.ev
	if i, j := ev.index("enable primary-intake"), ev.index("enable tm prof/ep-primary"); i < 0 || i > j {
		t.Fatalf("the old side was routed again before its intake took traffic: %v", ev.list)
	}
	if !strings.Contains(op.Error, "routes are enabled again") {
		t.Errorf("the error does not say the routes were undone: %q", op.Error)
	}
}

func TestADrillReadsTheRoutesAndWritesNone(t *testing.T) {
	for _, c := range []command.Command{{ID: "d1", Action: command.Drill}, {ID: "d2", Action: command.Failover, DryRun: true}} {
		t.Run(c.ID, func(t *testing.T) {
			r := newRouted(t, 0)
			op := r.submit(t, c)
			if op.Status != journal.Succeeded || r.oldRoute.writes+r.newRoute.writes != 0 {
				t.Fatalf("status %s %q, route writes %d", op.Status, op.Error, r.oldRoute.writes+r.newRoute.writes)
			}
			got := changesOf(op, failover.StepReadiness)
			for _, want := range []string{"would disable route tm prof/ep-primary", "would enable route tm prof/ep-secondary"} {
				if !strings.Contains(got, want) {
					t.Errorf("the preview lacks %q: %q", want, got)
				}
			}
		})
	}
}

func TestTheReadinessReportRecordsTheRoutes(t *testing.T) {
	tests := []struct {
		name   string
		health string
		fault  error
		ready  bool
	}{
		{"an online standby is ready", "Online", nil, true},
		{"a router that reports no health is no failure", "", nil, true},
		{"a degraded standby is not ready", "Degraded", nil, false},
		{"a standby route that does not exist is not ready", "Online", drerr.Errorf(drerr.NotFound, "route", "404"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRouted(t, 0)
			r.newRoute.health = tt.health
			r.newRoute.setFault(tt.fault)
			rep, err := r.runner.Readiness(context.Background(), "p")
			if err != nil {
				t.Fatal(err)
			}
			var check *failover.Check
			for i := range rep.Checks {
				if rep.Checks[i].Name == failover.CheckNameRoutes {
					check = &rep.Checks[i]
				}
			}
			if check == nil || check.OK != tt.ready {
				t.Fatalf("routes check %+v, want ok=%v", check, tt.ready)
			}
			if len(rep.Routes) != 2 || rep.Routes[0].Name != "tm prof/ep-primary" || !rep.Routes[0].Enabled || rep.Routes[0].At.IsZero() {
				t.Fatalf("routes recorded: %+v", rep.Routes)
			}
		})
	}
}
