package failover_test

import (
	"context"
	"testing"
	"time"

	"integration-dr/command"
	"integration-dr/failover"
	"integration-dr/journal"
)

// A confirm is its own message, not a redelivery of the one whose attempt holds the
// operation: a second confirm (an operator's retry, a second operator) arriving while
// the first confirm's attempt is in the middle of the plan must leave the operation
// to it, as the timer and drctl --direct do. Otherwise two attempts run the same
// steps (bumps, workflows, flip) at once.
func TestASecondConfirmLeavesAnOperationTheFirstConfirmIsRunning(t *testing.T) {
	f := newFixture(t, 2, failover.Bounds{Lower: 1, Upper: 999999999})
	ctx := context.Background()
	// alert-1 was proposed, confirmed by confirm-1, whose attempt runs it now (its
	// claim is alive).
	op := journal.New(command.Command{ID: "alert-1", Action: command.Failover, Pair: "p"}, journal.Source{RequestedBy: "alert"}, f.now(), f.now())
	op.Status, op.AttemptUntil, op.AttemptBy = journal.Running, f.now().Add(time.Minute), "msg-confirm-1"
	if _, err := f.journal.Create(ctx, op); err != nil {
		t.Fatal(err)
	}
	if _, err := f.journal.Lock(ctx, "p", "alert-1", f.now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	puts := f.secondary.acct.Puts
	primaryOn := f.primary.workflow.on()
	got, err := f.runner.Submit(journal.WithDelivery(ctx, "msg-confirm-2"), command.Command{ID: "confirm-2", Action: command.Confirm, Pair: "p", Target: "alert-1", RequestedBy: "op2"}, journal.Source{RequestedBy: "op2"}, f.now())
	stored, _ := f.journal.Get(ctx, "p", "alert-1")
	if f.secondary.acct.Puts != puts || f.primary.workflow.on() != primaryOn || len(stored.Steps) != 0 {
		t.Fatalf("a second confirm ran an operation another attempt holds: %d bumps written, primary intake on %v -> %v, %d steps journaled, status %s (returned %s, err %v)",
			f.secondary.acct.Puts-puts, primaryOn, f.primary.workflow.on(), len(stored.Steps), stored.Status, got.Status, err)
	}
}
