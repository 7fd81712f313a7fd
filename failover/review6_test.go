package failover_test

// Each test here fails on the code as it stands, for the reason its comment states.
// Helpers come from runner_test.go and routes_test.go.

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"integration-dr/command"
	"integration-dr/drerr"
	"integration-dr/drift"
	"integration-dr/failover"
	"integration-dr/journal"
	"integration-dr/replication"
)

// A standby whose route is already enabled before the move (a Traffic Manager profile
// set up the usual way, both endpoints enabled; a route someone enabled by hand; a
// move cancelled after its enable-target) is routed from stop-old on, all through the
// bumps and their settle: partners are sent to a side whose numbers have not taken
// effect. Neither readiness (the standby's route is "online") nor the plan notices:
// stop-old only disables the old side's routes, enable-target finds the new one on.
// The move should either be refused at readiness (the standby is routed while it does
// not serve) or take the standby's routes off before the bumps.
func TestAStandbyRouteEnabledBeforeTheMoveIsNotRoutedWhileTheBumpsSettle(t *testing.T) {
	r := newRouted(t, 15*time.Second)
	r.newRoute.enabled = true
	op := r.submit(t, command.Command{ID: "c1", Action: command.Failover})
	if op.Status == journal.Rejected {
		return // refused before anything changed: the operator is told
	}
	if st := op.StepByName(failover.StepSettle); st == nil || st.Status != journal.StepWaiting {
		t.Fatalf("status %s %q; want waiting on the settle", op.Status, op.Error)
	}
	if r.newRoute.on() {
		t.Errorf("while the secondary's bumped numbers settle (bump step %s), its route is enabled: partners are sent to it before its numbers take effect (stop-old: %q; readiness: %q)",
			op.StepByName(failover.StepBump).Status, changesOf(op, failover.StepStopOld), op.StepByName(failover.StepReadiness).Outcome)
	}
}

// downOnce is a route whose next n Disable calls cannot reach its profile.
type downOnce struct {
	*route
	mu sync.Mutex
	n  int
}

func (d *downOnce) Disable(ctx context.Context) error {
	d.mu.Lock()
	if d.n > 0 {
		d.n--
		d.mu.Unlock()
		return drerr.Errorf(drerr.Unreachable, "route", "the profile's resource group does not answer")
	}
	d.mu.Unlock()
	return d.route.Disable(ctx)
}

// An earlier attempt of stop-old disabled the primary's route, then held on a
// throttled workflow. The attempt that resumes it cannot reach the route's profile
// (the route is off already), so stop-old ends with "route fence pending" for it —
// replacing the earlier attempt's "disabled route". The move is then refused (the
// secondary's route cannot be enabled) and its undo gives the primary its intake back
// but skips the route as one "its stop never reached": the primary takes traffic again
// with no partner routed to it, while the error says the routes are enabled again.
func TestARefusedMoveRoutesTheOldSideAgainEvenWhenALaterAttemptFoundItsRouteUnreachable(t *testing.T) {
	r := newRouted(t, 0)
	flaky := &downOnce{route: r.oldRoute}
	r.pair.Primary.Routes = []failover.Route{flaky}
	r.runner.Pairs["p"] = r.pair
	r.primary.faults = map[string]error{"workflow": drerr.Errorf(drerr.Throttled, "workflow", "429 too many requests")}
	op := r.submit(t, command.Command{ID: "c1", Action: command.Failover})
	if op.Status != journal.Waiting || op.StepByName(failover.StepStopOld).Status != journal.StepWaiting || r.oldRoute.on() {
		t.Fatalf("first attempt: %s %q, primary routed %v; want stop-old holding with the route off", op.Status, op.Error, r.oldRoute.on())
	}
	// The workflow answers now; the route's profile does not, once.
	r.primary.faults = nil
	flaky.mu.Lock()
	flaky.n = 1
	flaky.mu.Unlock()
	r.newRoute.refuse = drerr.Errorf(drerr.Invalid, "route", "the profile refuses the endpoint's target")
	op = r.advanceUntil(t, "c1", time.Second, func(o journal.Operation) bool { return o.Status.Terminal() })
	if op.Status != journal.Rejected {
		t.Fatalf("status %s %q; want the move refused and undone", op.Status, op.Error)
	}
	if r.primary.workflow.on() && !r.oldRoute.on() {
		t.Errorf("after the undo the primary's intake is on again but its route stays disabled (no partner is sent to either side); the operation says: %q; stop-old's changes: %q",
			op.Error, changesOf(op, failover.StepStopOld))
	}
}

// slowSessions lists nothing until its caller's deadline: a large old side whose
// sessions listing takes longer than the report's budget.
type slowSessions struct{ replication.Account }

func (s slowSessions) List(ctx context.Context, _ time.Time, _ string, _ func(replication.Page) error) error {
	<-ctx.Done()
	return drerr.E(drerr.Interrupted, "list sessions", ctx.Err())
}

// driftByDeadline reports the standby lacking a map, or "not compared" when it is
// asked with a context already spent, as the mirror's report does when its listings
// are cut short.
type driftByDeadline struct{}

func (driftByDeadline) Report(ctx context.Context, pair string) (drift.PairReport, error) {
	if err := ctx.Err(); err != nil {
		return drift.PairReport{Pair: pair, NotCompared: "the active side (primary) did not answer: " + err.Error()}, nil
	}
	return drift.PairReport{Pair: pair, Active: "primary", Standby: "secondary", Result: drift.Result{Active: 1, Differences: []drift.Difference{
		{Kind: drift.Map, Name: "InvoicesToSAP", Change: drift.Create, What: "only on the active side"},
	}}}, nil
}

// The operations timer gives each readiness report one reach budget. The old side's
// sessions listing (read for the floors a move would fix) is slow on a large account
// and spends all of it — a read the report only notes — so the drift comparison that
// comes last is asked with a spent context, is "not compared", and the kept report
// says ready: the standby lacks a map, and the status page shows the pair ready. Before
// the budget, the same report found the map missing. A check cut short by the report's
// own budget must not leave the report "ready" (give the drift its own budget, or
// count a report whose budget ran out as not ready).
func TestTheKeptReadinessReportIsNotReadyWhenItsBudgetRanOutBeforeTheDriftWasCompared(t *testing.T) {
	f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 999999999})
	f.pair.Primary.Sessions = slowSessions{f.pair.Primary.Sessions}
	f.runner.Pairs["p"] = f.pair
	f.runner.ReachBudget = 150 * time.Millisecond
	f.runner.ReadinessEvery = time.Hour
	f.runner.Drift = driftByDeadline{}
	if _, err := f.runner.Advance(context.Background()); err != nil {
		t.Fatal(err)
	}
	rep, err := f.runner.LastReadiness(context.Background(), "p")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Ready() {
		var checks []string
		for _, c := range rep.Checks {
			checks = append(checks, c.Name+": "+c.Why)
		}
		t.Errorf("the kept report says ready while the standby lacks map InvoicesToSAP (the drift was not compared: the report's budget was spent on the old side's sessions); checks: %s",
			strings.Join(checks, " | "))
	}
}

// The fallback's counterpart: the primary's route enabled by hand while the secondary
// serves is taken off before the fallback's bumps, and enabled again only after they
// settle.
func TestAPrimaryRouteEnabledBeforeAFallbackIsNotRoutedWhileTheBumpsSettle(t *testing.T) {
	r := newRouted(t, 0)
	ctx := context.Background()
	if op := r.submit(t, command.Command{ID: "f1", Action: command.Failover}); op.Status != journal.Succeeded {
		t.Fatalf("failover: %s %q", op.Status, op.Error)
	}
	r.pair.Settle = time.Minute
	r.runner.Pairs["p"] = r.pair
	r.oldRoute.enabled = true // by hand, while the secondary serves
	if _, err := r.engine.Run(ctx, r.pair.Replication); err != nil {
		t.Fatal(err)
	}
	op := r.submit(t, command.Command{ID: "b1", Action: command.Fallback})
	for range 50 {
		if st := op.StepByName(failover.StepSettle); op.Status != journal.Waiting || st != nil && st.Status == journal.StepWaiting {
			break
		}
		if _, err := r.engine.Run(ctx, r.pair.Replication); err != nil {
			t.Fatal(err)
		}
		if _, err := r.runner.Advance(ctx); err != nil {
			t.Fatal(err)
		}
		var err error
		if op, err = r.journal.Get(ctx, "p", "b1"); err != nil {
			t.Fatal(err)
		}
	}
	if st := op.StepByName(failover.StepSettle); st == nil || st.Status != journal.StepWaiting {
		t.Fatalf("status %s %q; want waiting on the settle (steps %+v)", op.Status, op.Error, op.Steps)
	}
	if r.oldRoute.on() {
		t.Errorf("while the primary's bumped numbers settle, its route is enabled (stop-intake: %q)", changesOf(op, failover.StepStopIntake))
	}
}
