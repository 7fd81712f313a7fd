package ssis_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"integration-dr/command"
	"integration-dr/journal"
	"integration-dr/ssis"
)

func (f *fixture) runner() *ssis.Runner { return &ssis.Runner{Reconciler: f.rec} }

func submit(t *testing.T, r *ssis.Runner, c command.Command) journal.Operation {
	t.Helper()
	op, err := r.Submit(context.Background(), c, journal.Source{RequestedBy: c.RequestedBy}, time.Time{})
	if err != nil {
		t.Fatalf("submit %s: %v", c.ID, err)
	}
	return op
}

// advance runs the operations timer until op ends, at most n times.
func advance(t *testing.T, f *fixture, r *ssis.Runner, id string, n int) journal.Operation {
	t.Helper()
	for range n {
		op, err := f.journal.Get(context.Background(), pairName, id)
		if err != nil {
			t.Fatal(err)
		}
		if op.Status.Terminal() {
			return op
		}
		f.clock.Add(time.Second)
		if _, err := r.Advance(context.Background()); err != nil {
			t.Fatalf("advance: %v", err)
		}
	}
	op, _ := f.journal.Get(context.Background(), pairName, id)
	return op
}

func TestSSISFailover(t *testing.T) {
	for _, force := range []bool{false, true} {
		name := map[bool]string{false: "planned", true: "forced"}[force]
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, ssis.StandbyStopped)
			r := f.runner()
			c := command.Command{ID: "fo-1", Action: command.SSISFailover, Pair: pairName, Force: force, RequestedBy: "ops@contoso"}
			op := submit(t, r, c)
			if op.Status != journal.Waiting {
				t.Fatalf("status %s (%s), want waiting on the group's failover", op.Status, op.Error)
			}
			// The message comes back while the plan waits: nothing is done twice.
			submit(t, r, c)
			op = advance(t, f, r, c.ID, 10)
			if op.Status != journal.Succeeded {
				t.Fatalf("status %s: %s; steps %+v", op.Status, op.Error, op.Steps)
			}
			if op.RTO <= 0 {
				t.Fatalf("RTO not reported: %v", op.RTO)
			}
			want := "secondary: failover"
			if force {
				want = "secondary: force-failover"
			}
			if got := countPrefix(f.world.WritesSoFar(), want); got != 1 || !op.Force == force {
				t.Fatalf("%q written %d times (writes %v)", want, got, f.world.WritesSoFar())
			}
			if bad := f.matches(ssis.SideSecondary, ssis.StandbyStopped); len(bad) > 0 {
				t.Fatalf("after the operation: %v", bad)
			}
			// Sent again after it ended: the journal answers, nothing runs.
			n := len(f.world.WritesSoFar())
			if again := submit(t, r, c); again.Status != journal.Succeeded || len(f.world.WritesSoFar()) != n {
				t.Fatalf("a re-sent command acted again: %v", f.world.WritesSoFar()[n:])
			}
		})
	}
}

func TestSSISFailoverRefusedWhenRoleUnknown(t *testing.T) {
	f := newFixture(t, ssis.StandbyRunning)
	f.world.SetSQLRole(ssis.SideSecondary, "none")
	op := submit(t, f.runner(), command.Command{ID: "fo-2", Action: command.SSISFailover, Pair: pairName, Force: true})
	if op.Status != journal.Rejected || !strings.Contains(op.Error, "unknown") {
		t.Fatalf("status %s (%s), want rejected: role unknown", op.Status, op.Error)
	}
	if w := f.world.WritesSoFar(); len(w) > 0 {
		t.Fatalf("changed: %v", w)
	}
}

func TestAttachIR(t *testing.T) {
	f := newFixture(t, ssis.StandbyStopped)
	r := f.runner()
	c := command.Command{ID: "attach-1", Action: command.AttachIR, Pair: pairName}
	submit(t, r, c)
	op := advance(t, f, r, c.ID, 10)
	if op.Status != journal.Succeeded {
		t.Fatalf("status %s: %s; steps %+v", op.Status, op.Error, op.Steps)
	}
	w := f.world.WritesSoFar()
	order := []string{
		"primary: stop ir-primary",
		"primary: failover_integration_runtime adf-secondary ir-secondary",
		"secondary: start ir-secondary",
	}
	last := -1
	for _, step := range order {
		i := slices.Index(w, step)
		if i < 0 || i < last {
			t.Fatalf("want %q in order %v; writes %v", step, order, w)
		}
		last = i
	}
	// The pair stays attached: the reconcile does not start the old runtime again,
	// and the new side's triggers run.
	f.tick(t)
	f.tick(t)
	if got := f.world.IR(ssis.SidePrimary); got != ssis.IRStopped {
		t.Fatalf("the old runtime is %s after the attach", got)
	}
	if got := f.world.Trigger(ssis.SideSecondary, "nightly"); got != ssis.TriggerStarted {
		t.Fatalf("the serving side's trigger is %s", got)
	}
	if got := f.world.Trigger(ssis.SidePrimary, "nightly"); got != ssis.TriggerStopped {
		t.Fatalf("the old side's trigger is %s", got)
	}
	// Schedules follow SSISDB, which has not moved.
	if !f.world.Schedule(ssis.SidePrimary, 7) {
		t.Fatal("the primary SSISDB's schedule was disabled")
	}
}

func TestAttachIRWithTheOldRegionDown(t *testing.T) {
	f := newFixture(t, ssis.StandbyStopped)
	// The old side's factory cannot be reached: it is taken as down, and its trigger
	// (which the world still shows started) is stopped once it answers.
	f.overlapAllowed = true
	r := f.runner()
	// The old runtime's region is down but SQL there answers: only the factory is lost.
	down := f.rec.Pairs[pairName]
	e := down.Sides[ssis.SidePrimary]
	e.Factory = f.world.Factory("nowhere")
	f.world.SetDown("nowhere", true)
	down.Sides[ssis.SidePrimary] = e
	f.rec.Pairs[pairName] = down
	submit(t, r, command.Command{ID: "attach-2", Action: command.AttachIR, Pair: pairName, Side: "secondary"})
	op := advance(t, f, r, "attach-2", 10)
	if op.Status != journal.Succeeded {
		t.Fatalf("status %s: %s; steps %+v", op.Status, op.Error, op.Steps)
	}
	if st := op.StepByName(ssis.StepStopOld); st.Status != journal.StepSkipped {
		t.Fatalf("stop of an unreachable runtime: %s (%s)", st.Status, st.Outcome)
	}
}

func TestDryRunsChangeNothing(t *testing.T) {
	for _, c := range []command.Command{
		{ID: "dry-fo", Action: command.SSISFailover, Pair: pairName, DryRun: true},
		{ID: "dry-attach", Action: command.AttachIR, Pair: pairName, DryRun: true},
	} {
		t.Run(string(c.Action), func(t *testing.T) {
			f := newFixture(t, ssis.StandbyStopped)
			saves := f.store.Saves
			op := submit(t, f.runner(), c)
			if op.Status != journal.Succeeded {
				t.Fatalf("status %s: %s", op.Status, op.Error)
			}
			plan := op.StepByName(ssis.StepPlan)
			if plan == nil || len(plan.Changes) < 2 {
				t.Fatalf("dry run does not say what would change: %+v", op.Steps)
			}
			if w := f.world.WritesSoFar(); len(w) > 0 || f.store.Saves != saves {
				t.Fatalf("dry run changed things: %v", w)
			}
		})
	}
}

func TestTimerLeavesAPairTheOperationHolds(t *testing.T) {
	f := newFixture(t, ssis.StandbyStopped)
	f.world.PollsToFinish = 100 // the failover stays in progress
	r := f.runner()
	submit(t, r, command.Command{ID: "fo-3", Action: command.SSISFailover, Pair: pairName})
	n := len(f.world.WritesSoFar())
	rep := f.tick(t)
	if len(rep.Problems) == 0 || !strings.Contains(rep.Problems[0], "operation") {
		t.Fatalf("the timer did not leave the pair to the operation: %+v", rep)
	}
	if len(f.world.WritesSoFar()) != n {
		t.Fatal("the timer acted on a pair an operation holds")
	}
}

func TestNonSSISActionRejected(t *testing.T) {
	f := newFixture(t, ssis.StandbyRunning)
	op := submit(t, f.runner(), command.Command{ID: "x", Action: command.Failover, Pair: pairName})
	if op.Status != journal.Rejected {
		t.Fatalf("an integration-account failover on an SSIS pair: %s", op.Status)
	}
}
