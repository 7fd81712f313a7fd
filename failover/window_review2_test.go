package failover_test

// Review tests (second round): each one fails on the code as reviewed, for the reason
// its comment states. Helpers come from runner_test.go and regression_test.go.

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"integration-dr/command"
	"integration-dr/drerr"
	"integration-dr/failover"
	"integration-dr/journal"
	"integration-dr/replication"
)

// skippingCatchUp is a final catch-up that finds the stream held by a replication run
// of the timer (an ordinary event: runs are frequent) and so replicates nothing.
type skippingCatchUp struct{}

func (skippingCatchUp) Run(context.Context, replication.Pair) (replication.Stats, error) {
	return replication.Stats{Skipped: "another run holds the stream until later"}, nil
}

// The old side rolled over (rollover allowed) after the last replication run and has
// sent 1..5000 of its new cycle; it answers, and the floors step reads it (the
// catch-up was skipped). raiseTo keeps only a *higher* number from what is known, so
// the old side's 5000 — the newest state of a session of which the target holds only a
// stale replica (older stamp) — is dropped, and with it the old side's stamp that
// Compute's "trails" rule exists for. The floor is then the stale 999900 + margin,
// which wraps to 901: the secondary resends 902..5000, numbers the primary sent
// minutes ago. The old side's own answer was ignored although it was read.
func TestARolledOverOldSideThatAnswersIsAFloor(t *testing.T) {
	f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 999999, Rollover: true})
	ctx := context.Background()
	for _, l := range []failover.Level{failover.ICN, failover.GCN, failover.TSCN} {
		f.primary.acct.Set(failover.SessionName("A00", l), cnAt(999900, t0))
	}
	if _, err := f.engine.Run(ctx, f.pair.Replication); err != nil {
		t.Fatal(err)
	}
	// After that run the primary reaches its upper bound, rolls over and goes on.
	for _, l := range []failover.Level{failover.ICN, failover.GCN, failover.TSCN} {
		f.primary.acct.Set(failover.SessionName("A00", l), cnAt(5000, t0.Add(time.Minute)))
	}
	f.runner.CatchUp = skippingCatchUp{}
	op := f.submit(t, command.Command{ID: "c1", Action: command.Failover})
	if op.Status != journal.Succeeded {
		t.Fatalf("failover: %s %q %+v", op.Status, op.Error, op.Steps)
	}
	t.Logf("floors: %s %v", op.StepByName(failover.StepFloors).Outcome, op.StepByName(failover.StepFloors).Changes)
	noDuplicates(t, f)
}

// A failover whose floor passes the upper bound wraps the target into a new cycle
// (rollover allowed: Compute's Wrapped bump). The old primary, down but still
// sending, goes on in the *old* cycle within the margin the wrap covered (999501..
// 999700). When it answers again its fence lands and the merge-back runs:
// session.MergeBack compares the two numbers only ("the higher number wins") and
// raises the secondary from 600 — its own number in the new cycle, newer by stamp —
// back to 999700 in the old one. The secondary then sends 999701..999999, rolls over
// and sends 1..600 again: numbers it sent itself minutes ago. The wrap the plan
// journaled is undone by the merge-back.
func TestTheMergeBackDoesNotUndoAWrappedBump(t *testing.T) {
	f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 999999, Rollover: true})
	ctx := context.Background()
	for _, l := range []failover.Level{failover.ICN, failover.GCN, failover.TSCN} {
		f.primary.acct.Set(failover.SessionName("A00", l), cnAt(999500, t0))
	}
	if _, err := f.engine.Run(ctx, f.pair.Replication); err != nil {
		t.Fatal(err)
	}
	f.primary.down = true
	op := f.submit(t, command.Command{ID: "c1", Action: command.Failover})
	if op.Status != journal.Waiting || op.StepByName(failover.StepFenceOld).Status != journal.StepWaiting {
		t.Fatalf("failover: %s %q %+v", op.Status, op.Error, op.Steps)
	}
	bumped := numbers(t, f.secondary.acct)
	if bumped["A00-Icn"] > 1000 {
		t.Fatalf("expected a wrapped bump, got %v", bumped)
	}
	// The secondary sends in its new cycle; the primary, unreachable, still sends in
	// the old one, within the margin.
	for name, n := range bumped {
		f.secondary.acct.Set(name, cnAt(n+100, time.Now().Add(time.Minute)))
	}
	sent := numbers(t, f.secondary.acct)
	for name := range bumped {
		f.primary.acct.Set(name, cnAt(999700, time.Now()))
	}
	f.primary.down = false
	if op = f.advanceUntilDone(t, op); op.Status != journal.Succeeded {
		t.Fatalf("failover: %s %q", op.Status, op.Error)
	}
	for i := 0; i < 3; i++ { // the merge-back runs once the fence has landed
		if _, err := f.engine.Run(ctx, f.pair.Replication); err != nil {
			t.Fatal(err)
		}
	}
	for name, n := range numbers(t, f.secondary.acct) {
		if n != sent[name] {
			t.Errorf("%s: the merge-back moved the secondary from %d (its new cycle) to %d (the old cycle): after its next rollover it resends 1..%d", name, sent[name], n, sent[name])
		}
	}
}

// modeWorkflow answers Enable and Disable with err while it is set.
type modeWorkflow struct {
	name string
	err  atomic.Pointer[error]
	on   atomic.Bool
}

func (w *modeWorkflow) Name() string { return w.name }
func (w *modeWorkflow) set(on bool) error {
	if e := w.err.Load(); e != nil {
		return *e
	}
	w.on.Store(on)
	return nil
}
func (w *modeWorkflow) Enable(context.Context) error  { return w.set(true) }
func (w *modeWorkflow) Disable(context.Context) error { return w.set(false) }
func (w *modeWorkflow) fail(err error)                { w.err.Store(&err) }

// (Found by the simulation, seed 6298.) The enable-target step of a first attempt
// enables the target's first workflow, then fails transiently (5xx) on the second:
// the attempt ends with a transient error, and the step's changes ("enabled
// secondary-x12") are not journaled. The target then starts refusing (4xx). The next
// attempt's enable fails on the first workflow, with no change of its own, and the
// plan is refused: compensate reads only that attempt's (empty) changes, believes the
// target was never enabled, gives the primary its intake back and ends "rejected ...
// nothing else was changed". Both sides now take traffic, the pair is not flipped, and
// replication (primary -> secondary, newest stamp wins) writes the primary's numbers
// over the secondary's bumps while the secondary sends: duplicates both ways.
func TestARefusedEnableDoesNotLeaveBothSidesTakingTraffic(t *testing.T) {
	f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 999999999})
	x12 := &modeWorkflow{name: "secondary-x12"}
	edi := &modeWorkflow{name: "secondary-edifact"}
	edi.fail(drerr.Errorf(drerr.Unavailable, "enable", "503"))
	f.pair.Secondary.Workflows = []failover.Workflow{x12, edi}
	f.runner.Pairs["p"] = f.pair
	ctx := context.Background()
	op, err := f.runner.Submit(ctx, command.Command{ID: "c1", Action: command.Failover, Pair: "p"}, journal.Source{RequestedBy: "test"}, f.now())
	if err == nil || !x12.on.Load() {
		t.Fatalf("setup: first attempt %s %v, x12 on %v; want a transient error after enabling x12", op.Status, err, x12.on.Load())
	}
	refused := drerr.Errorf(drerr.Invalid, "enable", "403 AuthorizationFailed")
	x12.fail(refused)
	edi.fail(refused)
	if _, err := f.runner.Advance(ctx); err != nil {
		t.Logf("timer: %v", err)
	}
	op, _ = f.journal.Get(ctx, "p", "c1")
	t.Logf("c1: %s %q", op.Status, op.Error)
	if f.primary.workflow.on() && x12.on.Load() {
		t.Fatalf("both sides take X12 traffic: the primary's intake was given back while the secondary's x12 workflow, enabled by an earlier attempt, stays on (c1 %s: %q)", op.Status, op.Error)
	}
}
