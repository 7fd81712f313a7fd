package failover_test

// Review tests (third round): each one fails on the code as reviewed, for the reason
// its comment states. Helpers come from runner_test.go, regression_test.go and
// window_test.go.

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"integration-dr/command"
	"integration-dr/drerr"
	"integration-dr/failover"
	"integration-dr/journal"
	"integration-dr/replication"
	"integration-dr/session"
)

// shortCatchUp is a final catch-up that runs out of time before its scan completes:
// no error, some changes replicated, the rest left for the next run.
type shortCatchUp struct{}

func (shortCatchUp) Run(context.Context, replication.Pair) (replication.Stats, error) {
	return replication.Stats{Writes: 3, ScanDone: false}, nil
}

// The primary sent up to 5000 after the last replication run. The final catch-up
// answers but runs out of time before its scan reaches those numbers; it was
// journaled "done", and the floors, trusting a done catch-up, took the target's copy
// (100) plus the margin: the secondary would resend numbers the primary had sent.
func TestACatchUpThatRanOutOfTimeLeavesTheOldSideToBeRead(t *testing.T) {
	f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 999999999})
	for _, l := range []failover.Level{failover.ICN, failover.GCN, failover.TSCN} {
		f.primary.acct.Set(failover.SessionName("A00", l), cnAt(5000, t0.Add(time.Minute)))
	}
	f.runner.CatchUp = shortCatchUp{}
	op := f.submit(t, command.Command{ID: "c1", Action: command.Failover})
	if op.Status != journal.Succeeded {
		t.Fatalf("failover: %s %q", op.Status, op.Error)
	}
	if cu := op.StepByName(failover.StepCatchUp); !strings.HasPrefix(cu.Outcome, "incomplete") {
		t.Errorf("catch-up journaled as %q; want it to say it did not complete", cu.Outcome)
	}
	t.Logf("floors: %s %v", op.StepByName(failover.StepFloors).Outcome, op.StepByName(failover.StepFloors).Changes)
	noDuplicates(t, f)
}

// A failover wraps the secondary into a new cycle (its floor passed the upper bound),
// enables its first workflow, which sends at once, and is refused at the second. The
// undo merged what the secondary sent into the primary with the plain merge-back: the
// secondary's low number loses to the primary's 999500, so the primary goes on in the
// old cycle, wraps a few hundred numbers later and resends what the secondary sent.
func TestARefusedMoveThatRolledOverGivesTheOldSideTheNewCycle(t *testing.T) {
	f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 999999, Rollover: true})
	for _, l := range []failover.Level{failover.ICN, failover.GCN, failover.TSCN} {
		f.primary.acct.Set(failover.SessionName("A00", l), cnAt(999500, t0))
	}
	if _, err := f.engine.Run(context.Background(), f.pair.Replication); err != nil {
		t.Fatal(err)
	}
	var sent map[string]int
	first := hookWorkflow{Workflow: f.secondary.workflow, afterEnable: func() {
		sent = map[string]int{}
		for name, n := range numbers(t, f.secondary.acct) {
			sent[name] = n + 1
			f.secondary.acct.Set(name, cnAt(n+1, time.Now().Add(time.Minute)))
		}
	}}
	f.pair.Secondary.Workflows = []failover.Workflow{first, invalidWorkflow{}}
	f.runner.Pairs["p"] = f.pair
	op := f.submit(t, command.Command{ID: "c1", Action: command.Failover})
	if op.Status != journal.Rejected || !f.primary.workflow.on() {
		t.Fatalf("failover: %s %q, primary intake %v; want refused with the primary's intake back", op.Status, op.Error, f.primary.workflow.on())
	}
	if sent == nil || sent["A00-Icn"] > 100000 {
		t.Fatalf("setup: want a wrapped bump the secondary sent from, got %v", sent)
	}
	for name, n := range numbers(t, f.primary.acct) {
		if n != sent[name] {
			t.Errorf("%s: the primary goes on from %d; the secondary sent up to %d in the cycle the move began, so the primary's next rollover resends it", name, n, sent[name])
		}
	}
}

// pagedAccount answers a listing at the pace of a large, slow side: a call that lists
// more than pages pages runs out of its deadline, as a real one would.
type pagedAccount struct {
	replication.Account
	pages int
}

func (a pagedAccount) List(ctx context.Context, since time.Time, cursor string, page func(replication.Page) error) error {
	n := 0
	return a.Account.List(ctx, since, cursor, func(pg replication.Page) error {
		if n++; n > a.pages {
			return drerr.E(drerr.Interrupted, "list", fmt.Errorf("answer still coming: %w", context.DeadlineExceeded))
		}
		return page(pg)
	})
}

// The refused plan's undo listed the whole target in one call under one reach budget:
// a target with more sessions than one budget lists (300 received numbers, six pages,
// two per budget) was never merged, and the primary's intake stayed off for good.
func TestARefusedMoveMergesALargeTargetAPageAtATime(t *testing.T) {
	f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 999999999})
	first := hookWorkflow{Workflow: f.secondary.workflow, afterEnable: func() {
		for i := range 300 {
			f.secondary.acct.Set(fmt.Sprintf("X12-ICN-A00-%09d", 1000+i), json.RawMessage(`{"ReceivedAt":"2026-11-20T10:00:00Z"}`))
		}
	}}
	f.pair.Secondary.Workflows = []failover.Workflow{first, invalidWorkflow{}}
	f.pair.Secondary.Sessions = pagedAccount{Account: f.pair.Secondary.Sessions, pages: 2}
	f.runner.Pairs["p"] = f.pair
	op := f.advanceUntilDone(t, f.submit(t, command.Command{ID: "c1", Action: command.Failover}))
	if op.Status != journal.Rejected || !f.primary.workflow.on() {
		t.Fatalf("failover: %s %q, primary intake %v; want refused with the primary's intake back", op.Status, op.Error, f.primary.workflow.on())
	}
	for i := range 300 {
		if _, err := f.primary.acct.Get(context.Background(), fmt.Sprintf("X12-ICN-A00-%09d", 1000+i)); err != nil {
			t.Fatalf("a number the secondary received is not on the primary: %v", err)
		}
	}
}

// One session whose number the undo cannot compare (an unreadable number on the
// target) stopped the whole merge, and with it the primary's intake for good; the
// rest of what the target sent and received was never merged either.
func TestARefusedMoveSkipsASessionItCannotCompareAndSaysSo(t *testing.T) {
	f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 999999999})
	first := hookWorkflow{Workflow: f.secondary.workflow, afterEnable: func() {
		f.secondary.acct.Set("A00-Icn", json.RawMessage(`{"ControlNumber":"12x","ControlNumberChangedTime":"2026-11-20T10:00:00Z"}`))
		f.secondary.acct.Set("X12-ICN-A00-000000777", json.RawMessage(`{"ReceivedAt":"2026-11-20T10:00:00Z"}`))
	}}
	f.pair.Secondary.Workflows = []failover.Workflow{first, invalidWorkflow{}}
	f.runner.Pairs["p"] = f.pair
	op := f.advanceUntilDone(t, f.submit(t, command.Command{ID: "c1", Action: command.Failover}))
	if op.Status != journal.Rejected || !f.primary.workflow.on() {
		t.Fatalf("failover: %s %q, primary intake %v; want refused with the primary's intake back", op.Status, op.Error, f.primary.workflow.on())
	}
	if !strings.Contains(op.Error, "A00-Icn") {
		t.Errorf("the outcome %q does not name the session it could not merge", op.Error)
	}
	if _, err := f.primary.acct.Get(context.Background(), "X12-ICN-A00-000000777"); err != nil {
		t.Fatalf("the number the secondary received is not on the primary: %v", err)
	}
	cur, _ := f.primary.acct.Get(context.Background(), "A00-Icn")
	if n, err := strconv.Atoi(session.ParseContent(cur.Content).ControlNumber); err != nil || n < 100 {
		t.Errorf("the primary's A00-Icn is %q; want its own number kept", session.ParseContent(cur.Content).ControlNumber)
	}
}
