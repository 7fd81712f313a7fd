package failover_test

// Regression tests for the window where both sides can write: the old side slow,
// throttled, refusing, or down but still sending, and its fence pending.

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"integration-dr/command"
	"integration-dr/drerr"
	"integration-dr/failover"
	"integration-dr/journal"
	"integration-dr/replication"
	"integration-dr/session"
)

// advanceUntilDone runs the timer (replication, then the operations timer) until op
// leaves waiting.
func (f *fixture) advanceUntilDone(t *testing.T, op journal.Operation) journal.Operation {
	t.Helper()
	ctx := context.Background()
	for deadline := time.Now().Add(10 * time.Second); op.Status == journal.Waiting || op.Status == journal.Running; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s still %s: %+v", op.ID, op.Status, op.Steps)
		}
		if _, err := f.engine.Run(ctx, f.pair.Replication); err != nil {
			t.Fatal(err)
		}
		if _, err := f.runner.Advance(ctx); err != nil {
			t.Fatal(err)
		}
		var err error
		if op, err = f.journal.Get(ctx, op.Pair, op.ID); err != nil {
			t.Fatal(err)
		}
	}
	return op
}

func TestAnOldSideThatAnswersBadlyIsNotDown(t *testing.T) {
	tests := []struct {
		name string
		set  func(s *side)
		// stops: the old side's intake is stopped before the target takes over.
		stops bool
	}{
		{"an agreements listing slower than 3 s: intake stopped, catch-up run, fence landed", func(s *side) { s.slow = 10 * time.Second }, true},
		{"throttled: stop-first holds", func(s *side) {
			s.faults = map[string]error{"workflow": drerr.Errorf(drerr.Throttled, "disable", "429")}
		}, false},
		{"refusing (4xx): stop-first holds", func(s *side) {
			s.faults = map[string]error{"workflow": drerr.Errorf(drerr.Invalid, "disable", "403 AuthorizationFailed")}
		}, false},
		{"erroring (5xx): stop-first holds", func(s *side) {
			s.faults = map[string]error{"workflow": drerr.Errorf(drerr.Unavailable, "disable", "503")}
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, 2, failover.Bounds{Lower: 1, Upper: 999999999})
			f.primary.acct.Set("A00-Icn", cnAt(400, t0.Add(time.Minute))) // sent since the last run
			tt.set(f.primary)
			op := f.submit(t, command.Command{ID: "c1", Action: command.Failover})
			if tt.stops {
				if op.Status != journal.Succeeded || f.primary.workflow.on() {
					t.Fatalf("status %s %q, old intake on %v; want succeeded with the old intake stopped", op.Status, op.Error, f.primary.workflow.on())
				}
				if st := op.StepByName(failover.StepCatchUp); st.Status != journal.StepDone {
					t.Fatalf("catch-up %s: %s", st.Status, st.Outcome)
				}
				noDuplicates(t, f)
				return
			}
			if op.Status != journal.Waiting || op.StepByName(failover.StepStopOld).Status != journal.StepWaiting {
				t.Fatalf("status %s, steps %+v; want waiting at %s", op.Status, op.Steps, failover.StepStopOld)
			}
			if f.secondary.workflow.on() || !f.primary.workflow.on() {
				t.Fatalf("intake: primary %v, secondary %v; the target must not take traffic while the old side may send", f.primary.workflow.on(), f.secondary.workflow.on())
			}
			if got := numbers(t, f.secondary.acct); got["A00-Icn"] >= 1000 {
				t.Fatalf("bumped to %d before the old side stopped", got["A00-Icn"])
			}
			// The operator forces the move: it goes on, and the fence stays pending.
			f.primary.faults = nil
			f.primary.workflow.s.faults = map[string]error{"workflow": drerr.Errorf(drerr.Throttled, "disable", "429")}
			forced := f.submit(t, command.Command{ID: "c1", Action: command.Failover})
			if forced.Status != journal.Waiting {
				t.Fatalf("the same command again: %s", forced.Status)
			}
		})
	}
}

func TestForceMovesPastAnOldSideThatAnswersBadlyAndKeepsItsFencePending(t *testing.T) {
	f := newFixture(t, 2, failover.Bounds{Lower: 1, Upper: 999999999})
	f.primary.faults = map[string]error{"workflow": drerr.Errorf(drerr.Throttled, "disable", "429")}
	op := f.submit(t, command.Command{ID: "c1", Action: command.Failover, Force: true})
	if op.Status != journal.Waiting || op.StepByName(failover.StepFenceOld).Status != journal.StepWaiting || !f.secondary.workflow.on() {
		t.Fatalf("status %s, steps %+v", op.Status, op.Steps)
	}
	noDuplicates(t, f)
	cp, region, _ := f.store.Load(context.Background(), "p")
	if region.Active != replication.Secondary || cp.FencePending != "c1" {
		t.Fatalf("region %+v, fence pending %q; want the secondary active and the primary's fence pending under c1", region, cp.FencePending)
	}
	// Once the primary can be stopped, its fence lands and replication may write there.
	f.primary.faults = nil
	if _, err := f.runner.Advance(context.Background()); err != nil {
		t.Fatal(err)
	}
	cp, _, _ = f.store.Load(context.Background(), "p")
	if got, _ := f.journal.Get(context.Background(), "p", "c1"); got.Status != journal.Succeeded || cp.FencePending != "" || f.primary.workflow.on() {
		t.Fatalf("after the fence: %s, fence pending %q, primary intake %v", got.Status, cp.FencePending, f.primary.workflow.on())
	}
}

func TestARefusedPlanGivesTheOldSideItsIntakeBack(t *testing.T) {
	t.Run("failover refused at its floors after stopping the primary", func(t *testing.T) {
		f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 1050})
		op := f.submit(t, command.Command{ID: "c1", Action: command.Failover})
		if op.Status != journal.Rejected || !strings.Contains(op.Error, "undone") || strings.Contains(op.Error, "nothing changed") {
			t.Fatalf("status %s %q; want rejected, saying what it undid", op.Status, op.Error)
		}
		if !f.primary.workflow.on() || f.secondary.workflow.on() {
			t.Fatalf("intake: primary %v, secondary %v; want the primary taking traffic again", f.primary.workflow.on(), f.secondary.workflow.on())
		}
	})
	t.Run("failover refused whose old side cannot be given its intake back", func(t *testing.T) {
		f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 1050})
		f.primary.workflow.s.faults = nil
		// The primary answers the stop, then stops answering.
		stopped := false
		f.pair.Primary.Workflows = []failover.Workflow{hookWorkflow{Workflow: f.primary.workflow, after: func() { stopped = true; f.primary.down = true }}}
		f.runner.Pairs["p"] = f.pair
		op := f.submit(t, command.Command{ID: "c1", Action: command.Failover})
		if !stopped || op.Status != journal.Waiting || !strings.Contains(op.Error, "not enabled again yet") {
			t.Fatalf("status %s %q; want waiting, saying the primary's intake is still off", op.Status, op.Error)
		}
		// The pair stays the undo's: another move is refused meanwhile.
		if other := f.submit(t, command.Command{ID: "c2", Action: command.Failover}); other.Status != journal.Rejected {
			t.Fatalf("a second move while the undo waits: %s %q", other.Status, other.Error)
		}
		// Once the primary answers, the timer finishes the undo.
		f.primary.down = false
		op = f.advanceUntilDone(t, op)
		if op.Status != journal.Rejected || !strings.Contains(op.Error, "undone") || !f.primary.workflow.on() || f.secondary.workflow.on() {
			t.Fatalf("status %s %q, intake: primary %v, secondary %v; want rejected with the primary taking traffic again", op.Status, op.Error, f.primary.workflow.on(), f.secondary.workflow.on())
		}
	})
	t.Run("failover refused after enabling part of the target gives back what the target sent and received", func(t *testing.T) {
		f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 999999999})
		// The target's first workflow comes on and sends and receives at once; its
		// second may not be enabled (a 4xx): the plan is refused.
		sent := 0
		first := hookWorkflow{Workflow: f.secondary.workflow, afterEnable: func() {
			sent = numbers(t, f.secondary.acct)["A00-Icn"] + 1
			f.secondary.acct.Set("A00-Icn", cnAt(sent, t0.Add(time.Hour)))
			f.secondary.acct.Set("X12-ICN-A00-000000777", json.RawMessage(`{"ReceivedAt":"2026-11-20T10:00:00Z"}`))
		}}
		f.pair.Secondary.Workflows = []failover.Workflow{first, invalidWorkflow{}}
		f.runner.Pairs["p"] = f.pair
		op := f.submit(t, command.Command{ID: "c1", Action: command.Failover})
		if op.Status != journal.Rejected || !strings.Contains(op.Error, "undone") {
			t.Fatalf("status %s %q; want rejected, saying what it undid", op.Status, op.Error)
		}
		if sent == 0 || f.secondary.workflow.on() || !f.primary.workflow.on() {
			t.Fatalf("target sent %d; intake: primary %v, secondary %v", sent, f.primary.workflow.on(), f.secondary.workflow.on())
		}
		cur, err := f.primary.acct.Get(context.Background(), "A00-Icn")
		if got, _ := strconv.Atoi(session.ParseContent(cur.Content).ControlNumber); err != nil || got < sent {
			t.Fatalf("the primary goes on from %d, below the %d the secondary sent (%v)", got, sent, err)
		}
		if _, err := f.primary.acct.Get(context.Background(), "X12-ICN-A00-000000777"); err != nil {
			t.Fatalf("the number the secondary received is not on the primary: %v", err)
		}
	})
	t.Run("fallback refused at its floors after stopping the secondary", func(t *testing.T) {
		f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 999999999})
		if op := f.submit(t, command.Command{ID: "f1", Action: command.Failover}); op.Status != journal.Succeeded {
			t.Fatalf("failover: %s %q", op.Status, op.Error)
		}
		// The primary's range shrinks under the secondary's numbers.
		tight := []failover.AgreementState{{Agreement: failover.Agreement{Name: "A00", Protocol: failover.X12, Bounds: map[failover.Level]failover.Bounds{
			failover.ICN: {Lower: 1, Upper: 1200}, failover.GCN: {Lower: 1, Upper: 1200}, failover.TSCN: {Lower: 1, Upper: 1200}}}, DuplicateChecks: true}}
		f.pair.Primary.Agreements = agreements{tight, f.primary}
		f.runner.Pairs["p"] = f.pair
		op := f.advanceUntilDone(t, f.submit(t, command.Command{ID: "b1", Action: command.Fallback}))
		if op.Status != journal.Rejected || !strings.Contains(op.Error, "undone") {
			t.Fatalf("status %s %q", op.Status, op.Error)
		}
		if !f.secondary.workflow.on() || f.primary.workflow.on() {
			t.Fatalf("intake: primary %v, secondary %v; want the secondary taking traffic again", f.primary.workflow.on(), f.secondary.workflow.on())
		}
	})
}

// hookWorkflow calls after once its Disable has answered, afterEnable once its
// Enable has.
type hookWorkflow struct {
	failover.Workflow
	after, afterEnable func()
}

func (h hookWorkflow) Disable(ctx context.Context) error {
	err := h.Workflow.Disable(ctx)
	if h.after != nil {
		h.after()
	}
	return err
}

func (h hookWorkflow) Enable(ctx context.Context) error {
	err := h.Workflow.Enable(ctx)
	if h.afterEnable != nil {
		h.afterEnable()
	}
	return err
}

// invalidWorkflow may be stopped but never enabled: the app may not enable it (a 4xx).
type invalidWorkflow struct{}

func (invalidWorkflow) Name() string { return "secondary-locked" }
func (invalidWorkflow) Enable(context.Context) error {
	return drerr.Errorf(drerr.Invalid, "enable", "403 the app may not enable it")
}
func (invalidWorkflow) Disable(context.Context) error { return nil }

func TestFallbackFloorsComeFromBothSides(t *testing.T) {
	f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 999999999})
	ctx := context.Background()
	f.primary.down = true
	fo := f.submit(t, command.Command{ID: "f1", Action: command.Failover})
	if fo.Status != journal.Waiting {
		t.Fatalf("failover: %s %q", fo.Status, fo.Error)
	}
	// The secondary sends; so does the primary, down but sending, with later stamps
	// than the secondary's: its lower numbers are the newest states of the sessions.
	for name, n := range numbers(t, f.secondary.acct) {
		f.secondary.acct.Set(name, cnAt(n+400, time.Now()))
	}
	for name := range numbers(t, f.primary.acct) {
		f.primary.acct.Set(name, cnAt(140, time.Now().Add(time.Hour)))
	}
	sent := numbers(t, f.secondary.acct)
	f.primary.down = false // its fence lands
	if fo = f.advanceUntilDone(t, fo); fo.Status != journal.Succeeded {
		t.Fatalf("failover: %s %q", fo.Status, fo.Error)
	}
	op := f.advanceUntilDone(t, f.submit(t, command.Command{ID: "b1", Action: command.Fallback}))
	if op.Status != journal.Succeeded {
		t.Fatalf("fallback: %s %q %+v", op.Status, op.Error, op.Steps)
	}
	for name, n := range numbers(t, f.primary.acct) {
		if n <= sent[name] {
			t.Errorf("%s: the primary will send %d, a number the secondary already sent (up to %d)", name, n+1, sent[name])
		}
	}
	_ = ctx
}

func TestANumberTheTargetNeverSawStartsPastTheOldSidesStart(t *testing.T) {
	f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 999999999})
	// B00 starts at 5000 and acknowledges from 70000; the primary sent on both, and
	// neither its sessions nor the secondary's show it.
	b := failover.Bounds{Lower: 5000, Upper: 999999999}
	list := []failover.AgreementState{{Agreement: failover.Agreement{Name: "B00", Protocol: failover.X12, Bounds: map[failover.Level]failover.Bounds{
		failover.ICN: b, failover.GCN: b, failover.TSCN: b, failover.Ack: {Lower: 70000, Upper: 999999999}}}, DuplicateChecks: true}}
	f.primary.down = true
	f.pair.Primary.Agreements = agreements{list, f.primary}
	f.pair.Secondary.Agreements = agreements{list, f.secondary}
	f.runner.Pairs["p"] = f.pair
	op := f.submit(t, command.Command{ID: "c1", Action: command.Failover, Force: true})
	if op.Status != journal.Waiting {
		t.Fatalf("failover: %s %q", op.Status, op.Error)
	}
	got := numbers(t, f.secondary.acct)
	for name, least := range map[string]int{"B00-Icn": 6000, "B00-Gcn": 6000, "B00-Tscn": 6000, "B00-Ack": 71000} {
		if got[name] < least {
			t.Errorf("%s: %d; the primary started at the lower bound and may have sent up to %d", name, got[name], least-1)
		}
	}
}

func TestAPairThatDoesNotReplicateGeneratedNumbersIsNotReady(t *testing.T) {
	f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 999999999})
	f.pair.Replication.Kinds = map[session.Kind]bool{session.Received: true}
	f.runner.Pairs["p"] = f.pair
	rep, err := f.runner.Readiness(context.Background(), "p")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Ready() {
		t.Fatalf("called ready: %+v", rep.Checks)
	}
	op := f.submit(t, command.Command{ID: "c1", Action: command.Failover})
	if op.Status != journal.Rejected || !strings.Contains(op.Error, "generated control numbers") {
		t.Fatalf("status %s %q", op.Status, op.Error)
	}
	if op := f.submit(t, command.Command{ID: "c2", Action: command.Failover, Force: true}); op.Status != journal.Succeeded {
		t.Fatalf("forced: %s %q", op.Status, op.Error)
	}
	noDuplicates(t, f)
}

func TestForceWithNoRoomStopsTheNumberAtItsUpperBound(t *testing.T) {
	f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 1050})
	op := f.submit(t, command.Command{ID: "c1", Action: command.Failover, Force: true})
	if op.Status != journal.Succeeded {
		t.Fatalf("forced: %s %q", op.Status, op.Error)
	}
	for name, n := range numbers(t, f.secondary.acct) {
		if n != 1050 {
			t.Errorf("%s left at %d; a forced move with no room sets the upper bound 1050", name, n)
		}
	}
	if fl := op.StepByName(failover.StepFloors); !strings.Contains(fl.Outcome, "forced") {
		t.Fatalf("floors: %q", fl.Outcome)
	}
}

func TestTheFlipNeverMovesTheEpochBack(t *testing.T) {
	f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 999999999})
	f.pair.Settle = time.Hour
	f.runner.Pairs["p"] = f.pair
	if op := f.submit(t, command.Command{ID: "c1", Action: command.Failover}); op.Status != journal.Waiting {
		t.Fatalf("%s %q", op.Status, op.Error)
	}
	// Something else moved the pair on meanwhile (a restore of the table, an operator).
	f.store.SetRegion("p", replication.ActiveRegion{Active: replication.Primary, Epoch: 5})
	f.shift = 2 * time.Hour
	if _, err := f.runner.Advance(context.Background()); err != nil {
		t.Fatal(err)
	}
	op, _ := f.journal.Get(context.Background(), "p", "c1")
	_, region, _ := f.store.Load(context.Background(), "p")
	if region.Epoch != 5 || region.Active != replication.Primary || op.Status != journal.Failed {
		t.Fatalf("region %+v, operation %s %q; want epoch 5 left alone and the operation failed", region, op.Status, op.Error)
	}
}

func TestAResumedBumpStampsPastANewerState(t *testing.T) {
	f := newFixture(t, 3, failover.Bounds{Lower: 1, Upper: 999999999})
	f.secondary.acct.FailPutAfter = f.secondary.acct.Puts + 1 // dies after the first bump
	if _, err := f.runner.Submit(context.Background(), command.Command{ID: "c1", Action: command.Failover, Pair: "p"}, journal.Source{}, f.now()); err == nil {
		t.Fatal("a failing bump reported success")
	}
	// Meanwhile a newer state lands on a session the bump has not reached yet.
	later := time.Now().Add(24 * time.Hour)
	f.secondary.acct.Set("A02-Tscn", cnAt(102, later))
	f.secondary.acct.FailPutAfter = 0
	if op := f.submit(t, command.Command{ID: "c1", Action: command.Failover}); op.Status != journal.Succeeded {
		t.Fatalf("resumed: %s %q", op.Status, op.Error)
	}
	c := session.ParseContent(f.secondary.acct.Snapshot()["A02-Tscn"])
	if c.ControlNumber != "000001102" || !c.ControlNumberChangedTime.After(later) {
		t.Fatalf("A02-Tscn is %s stamped %s; want the bump stamped after the newer state's %s", c.ControlNumber, c.ControlNumberChangedTime, later)
	}
}

// failingUpdates fails the journal's next Update after numbers were saved: a crash
// between the floors' write and the step's journal entry.
type failingUpdates struct {
	journal.Store
	armed bool
}

func (s *failingUpdates) SaveNumbers(ctx context.Context, pair, id string, numbers []byte) error {
	s.armed = true
	return s.Store.SaveNumbers(ctx, pair, id, numbers)
}

func (s *failingUpdates) Update(ctx context.Context, op journal.Operation) (journal.Operation, error) {
	if s.armed {
		s.armed = false
		return op, drerr.Errorf(drerr.Unavailable, "update", "the table does not answer")
	}
	return s.Store.Update(ctx, op)
}

func TestARedeliveredPlanUsesTheFloorsItJournaled(t *testing.T) {
	f := newFixture(t, 2, failover.Bounds{Lower: 1, Upper: 999999999})
	f.runner.Journal = &failingUpdates{Store: f.journal}
	ctx := journal.WithDelivery(context.Background(), "message-1")
	c := command.Command{ID: "c1", Action: command.Failover, Pair: "p"}
	if _, err := f.runner.Submit(ctx, c, journal.Source{}, f.now()); err == nil {
		t.Fatal("an attempt whose journal failed reported success")
	}
	f.shift = time.Minute // a recomputed plan would differ in its stamps
	op, err := f.runner.Submit(ctx, c, journal.Source{}, f.now())
	if err != nil || op.Status != journal.Succeeded {
		t.Fatalf("redelivered: %s %q %v", op.Status, op.Error, err)
	}
}

func TestAPairLockedByAnotherOperationIsRefused(t *testing.T) {
	f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 999999999})
	ctx := context.Background()
	// An operation the last 20 journal entries no longer show holds the lock.
	if _, err := f.journal.Lock(ctx, "p", "older", f.now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for i := range 25 {
		f.submit(t, command.Command{ID: fmt.Sprintf("d%02d", i), Action: command.Drill})
	}
	puts := f.secondary.acct.Puts
	op := f.submit(t, command.Command{ID: "c1", Action: command.Failover})
	if op.Status != journal.Rejected || !strings.Contains(op.Error, "older") || f.secondary.acct.Puts != puts {
		t.Fatalf("status %s %q, %d writes; want rejected naming the holder, no write", op.Status, op.Error, f.secondary.acct.Puts-puts)
	}
}

func TestTheFloorsAreSizedByTheLagAndTheObservedRate(t *testing.T) {
	f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 999999999})
	ctx := context.Background()
	cp, _, _ := f.store.Load(ctx, "p")
	// Replication last completed 20 minutes ago, and A00's interchange number moves
	// 10 a second.
	cp.Watermark = cp.Watermark.Add(-20 * time.Minute)
	cp.Rates = map[string]float64{"A00-Icn": 10}
	if _, err := f.store.Save(ctx, cp); err != nil {
		t.Fatal(err)
	}
	f.primary.down = true
	f.submit(t, command.Command{ID: "c1", Action: command.Failover})
	if got := numbers(t, f.secondary.acct)["A00-Icn"]; got < 100+10*20*60+100 {
		t.Fatalf("A00-Icn bumped to %d; 10/s over a 20-minute lag needs at least %d", got, 100+10*20*60+100)
	}
}

func TestCancelIsTheWayOutOfAFenceThatCanNeverLand(t *testing.T) {
	f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 999999999})
	ctx := context.Background()
	// The old region was rebuilt: its workflow is gone, and stays gone.
	f.primary.faults = map[string]error{"workflow": drerr.Errorf(drerr.NotFound, "disable", "404 WorkflowNotFound")}
	op := f.submit(t, command.Command{ID: "c1", Action: command.Failover, Force: true})
	if op.Status != journal.Waiting || op.StepByName(failover.StepFenceOld).Status != journal.StepWaiting {
		t.Fatalf("failover: %s %+v", op.Status, op.Steps)
	}
	if back := f.submit(t, command.Command{ID: "b1", Action: command.Fallback, Force: true}); back.Status != journal.Rejected {
		t.Fatalf("a forced fallback beside the stuck failover: %s %q", back.Status, back.Error)
	}
	got := f.submit(t, command.Command{ID: "x2", Action: command.Cancel, Target: "c1", Reason: "primary region rebuilt", Force: true, RequestedBy: "ops"})
	if got.ID != "c1" || got.Status != journal.Cancelled || !strings.Contains(got.Error, "primary region rebuilt") {
		t.Fatalf("cancel: %s %s %q", got.ID, got.Status, got.Error)
	}
	cp, _, _ := f.store.Load(ctx, "p")
	if cp.FencePending != "" || cp.LeaseOwner != "" {
		t.Fatalf("the cancelled plan still holds the stream (%q) or its fence (%q)", cp.LeaseOwner, cp.FencePending)
	}
	// The pair is free again: the operator's next command runs.
	f.primary.faults = nil
	if back := f.advanceUntilDone(t, f.submit(t, command.Command{ID: "b2", Action: command.Fallback, Force: true})); back.Status != journal.Succeeded {
		t.Fatalf("fallback after the cancel: %s %q", back.Status, back.Error)
	}
}

func TestAProposalExpiresWhateverTheJournalListsAfterIt(t *testing.T) {
	f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 999999999})
	ctx := context.Background()
	for _, id := range []string{"p1", "p2"} {
		if _, err := f.runner.Propose(ctx, command.Command{ID: id, Action: command.Failover, Pair: "p"}, journal.Source{AlertID: "a"}, f.now()); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 25 {
		f.submit(t, command.Command{ID: fmt.Sprintf("d%02d", i), Action: command.Drill})
	}
	f.shift = 2 * time.Hour
	// A confirm that comes before the timer judges the proposal by its age.
	puts := f.secondary.acct.Puts
	if got := f.submit(t, command.Command{ID: "k1", Action: command.Confirm, Target: "p2"}); got.Status != journal.Rejected || !strings.Contains(got.Error, "expired") || f.secondary.acct.Puts != puts {
		t.Fatalf("a late confirm: %s %q, %d writes", got.Status, got.Error, f.secondary.acct.Puts-puts)
	}
	if _, err := f.runner.Advance(ctx); err != nil {
		t.Fatal(err)
	}
	if op, _ := f.journal.Get(ctx, "p", "p1"); op.Status != journal.Rejected || !strings.Contains(op.Error, "expired") {
		t.Fatalf("the buried proposal: %s %q", op.Status, op.Error)
	}
}

func TestACommandJournaledByAnAttemptThatDiedIsRunByTheTimer(t *testing.T) {
	f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 999999999})
	ctx := context.Background()
	// drctl --direct journaled the command, then died before running it.
	if _, err := f.journal.Create(ctx, journal.New(command.Command{ID: "c1", Action: command.Failover, Pair: "p"}, journal.Source{RequestedBy: "ops"}, f.now(), f.now())); err != nil {
		t.Fatal(err)
	}
	if _, err := f.runner.Advance(ctx); err != nil {
		t.Fatal(err)
	}
	if op, _ := f.journal.Get(ctx, "p", "c1"); op.Status != journal.Accepted {
		t.Fatalf("run while its own attempt may still start it: %s", op.Status)
	}
	f.shift = journal.AcceptedGrace + time.Minute
	if _, err := f.runner.Advance(ctx); err != nil {
		t.Fatal(err)
	}
	if op, _ := f.journal.Get(ctx, "p", "c1"); op.Status != journal.Succeeded {
		t.Fatalf("an accepted operation nobody ran: %s %q", op.Status, op.Error)
	}
}

// scriptedWorkflow answers its Enable calls with the errors given, one per call (nil:
// it enables), then enables; Disable always works.
type scriptedWorkflow struct {
	name    string
	mu      sync.Mutex
	enabled bool
	enable  []error
}

func (w *scriptedWorkflow) Name() string { return w.name }
func (w *scriptedWorkflow) Enable(context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.enable) > 0 {
		err := w.enable[0]
		w.enable = w.enable[1:]
		if err != nil {
			return err
		}
	}
	w.enabled = true
	return nil
}
func (w *scriptedWorkflow) Disable(context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.enabled = false
	return nil
}
func (w *scriptedWorkflow) on() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.enabled
}

func TestATargetEnabledByAnEarlierAttemptIsStoppedBeforeTheOldSideGetsItsIntakeBack(t *testing.T) {
	f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 999999999})
	// The first attempt enables the target's X12 intake, then its EDIFACT intake is
	// throttled; the next attempt finds the target refusing (403): the plan is refused
	// with nothing in the journal saying that X12 was enabled.
	x12 := &scriptedWorkflow{name: "secondary-X12", enable: []error{nil, drerr.Errorf(drerr.Invalid, "enable", "403 AuthorizationFailed")}}
	edi := &scriptedWorkflow{name: "secondary-EDIFACT", enable: []error{drerr.Errorf(drerr.Throttled, "enable", "429")}}
	f.pair.Secondary.Workflows = []failover.Workflow{x12, edi}
	f.runner.Pairs["p"] = f.pair
	c := command.Command{ID: "c1", Pair: "p", Action: command.Failover}
	if _, err := f.runner.Submit(context.Background(), c, journal.Source{RequestedBy: "test"}, f.now()); err == nil {
		t.Fatal("a throttled enable reported no error")
	}
	if !x12.on() {
		t.Fatal("the first attempt did not enable the target's X12 intake")
	}
	f.shift = time.Minute // the settle time has passed: the redelivery is at the enable step again
	op := f.submit(t, c)
	if !op.Status.Terminal() {
		t.Fatalf("status %s %q; want the plan ended", op.Status, op.Error)
	}
	if f.primary.workflow.on() && (x12.on() || edi.on()) {
		t.Fatalf("%s %q: both sides take traffic: the primary's intake is on and so is the secondary's (X12 %v, EDIFACT %v)", op.Status, op.Error, x12.on(), edi.on())
	}
	if op.Status != journal.Rejected || !f.primary.workflow.on() || !strings.Contains(op.Error, "stopped again") {
		t.Fatalf("status %s %q, primary intake %v; want rejected, the target's intake stopped again and the primary's back", op.Status, op.Error, f.primary.workflow.on())
	}
}

func TestAFallbackAfterARolledOverFailoverStartsAboveWhatTheSecondarySentInItsNewCycle(t *testing.T) {
	// A narrow range with rollover: the failover's floor (100 + 30) passes the upper
	// bound and wraps the secondary to 10, a journaled rollover. Neither the
	// merge-back nor the fallback's floors may take the primary's numbers of the cycle
	// the secondary left as ahead of the secondary's new ones.
	f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 120, Rollover: true})
	f.pair.Policy = failover.Policy{MinBump: 30}
	f.runner.Pairs["p"] = f.pair
	f.primary.down = true
	fo := f.submit(t, command.Command{ID: "f1", Action: command.Failover})
	if fo.Status != journal.Waiting {
		t.Fatalf("failover: %s %q", fo.Status, fo.Error)
	}
	wrapped := numbers(t, f.secondary.acct)
	for name, n := range wrapped {
		if n >= 100 {
			t.Fatalf("%s: the failover set %d; want it rolled over to the low end", name, n)
		}
	}
	// The secondary sends five numbers of its new cycle on each session; the primary,
	// down but sending while its fence is pending, sends two past 100 (within the
	// margin), stamped later.
	sent := map[string]int{}
	for name, n := range wrapped {
		sent[name] = n + 5
		f.secondary.acct.Set(name, cnAt(n+5, time.Now()))
	}
	for name := range wrapped {
		f.primary.acct.Set(name, cnAt(102, time.Now().Add(time.Hour)))
	}
	// The primary answers again: its fence lands and the merge-back runs.
	f.primary.down = false
	if fo = f.advanceUntilDone(t, fo); fo.Status != journal.Succeeded {
		t.Fatalf("failover: %s %q", fo.Status, fo.Error)
	}
	if _, err := f.engine.Run(context.Background(), f.pair.Replication); err != nil { // the merge-back
		t.Fatal(err)
	}
	if got := numbers(t, f.secondary.acct); !equalNumbers(got, sent) {
		t.Fatalf("the secondary holds %v after the merge-back, having sent up to %v: a merge-back that raises it to the primary's old numbers undoes its rollover", got, sent)
	}
	// What the primary holds when its intake comes back is where it sends from.
	var from map[string]int
	f.pair.Primary.Workflows = []failover.Workflow{enableHook{Workflow: f.primary.workflow, before: func() { from = numbers(t, f.primary.acct) }}}
	f.runner.Pairs["p"] = f.pair
	op := f.advanceUntilDone(t, f.submit(t, command.Command{ID: "b1", Action: command.Fallback}))
	if op.Status != journal.Succeeded || from == nil {
		t.Fatalf("fallback: %s %q %+v", op.Status, op.Error, op.Steps)
	}
	for name, n := range from {
		if n < sent[name] {
			t.Errorf("%s: the primary sends from %d on, among the numbers %d..%d the secondary sent in this cycle", name, n+1, wrapped[name], sent[name])
		}
	}
}

// enableHook calls before just before its Enable.
type enableHook struct {
	failover.Workflow
	before func()
}

func (h enableHook) Enable(ctx context.Context) error {
	h.before()
	return h.Workflow.Enable(ctx)
}

func equalNumbers(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
