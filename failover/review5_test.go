package failover_test

// Review tests (fifth round): each one fails on the code as reviewed, for the reason
// its comment states. Helpers come from runner_test.go.

import (
	"context"
	"testing"
	"time"

	"integration-dr/command"
	"integration-dr/drerr"
	"integration-dr/failover"
)

// slowWorkflow answers each call after delay, as ARM does when it throttles: a call
// whose deadline comes sooner is cut short, as azcore's would be.
type slowWorkflow struct {
	failover.Workflow
	delay time.Duration
}

func (w slowWorkflow) wait(ctx context.Context) error {
	select {
	case <-time.After(w.delay):
		return nil
	case <-ctx.Done():
		return drerr.E(drerr.Interrupted, "workflow "+w.Name(), ctx.Err())
	}
}
func (w slowWorkflow) Disable(ctx context.Context) error {
	if err := w.wait(ctx); err != nil {
		return err
	}
	return w.Workflow.Disable(ctx)
}

// As TestAnOldSideWhoseAgreementsCannotBeReachedIsStillStoppedFirst (the primary's
// agreements listing is out, so assess marks the side down), but the primary's
// workflow API answers slowly — 6 s a call, throttled, well within the 30 s reach
// budget that stop-first gives a side nobody found down. Because another endpoint was
// found down, stop-first's second chance gets only secondChance (5 s): the disable is
// cut short, counted as "could not be reached" (the journal even says "within the 30s
// reach budget"), stop-old-intake is skipped, and the plan enables the secondary and
// flips with the primary still taking traffic until a later pass lands its fence. A
// side whose workflows answer, slowly, is held or stopped, not passed by: the second
// chance should get the reach budget (or the plan wait, as for a side that answers
// badly), not a budget shorter than the one that makes a side "down".
func TestASlowOldSideWhoseAgreementsAreOutIsStillStoppedFirst(t *testing.T) {
	t.Skip("open, listed in docs/guarantees.md: stop-first's second chance on a side another endpoint found down gets 5 s, not the reach budget")
	f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 999999999})
	f.primary.faults = map[string]error{"agreements": drerr.Errorf(drerr.Unreachable, "agreements", "no route to host")}
	f.pair.Primary.Workflows = []failover.Workflow{slowWorkflow{Workflow: f.primary.workflow, delay: 6 * time.Second}}
	f.runner.Pairs["p"] = f.pair
	op := f.submit(t, command.Command{ID: "c1", Action: command.Failover})
	t.Logf("status %s; stop-old: %s", op.Status, op.StepByName(failover.StepStopOld).Outcome)
	if f.primary.workflow.on() && f.secondary.workflow.on() {
		t.Errorf("both sides take traffic after the move (%s): the primary's workflows answer within the reach budget, yet stop-first gave up on them after %s", op.Status, 5*time.Second)
	}
}
