package failover_test

// Review tests: each one fails on the code as reviewed, for the reason its comment
// states. Helpers come from runner_test.go.

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"integration-dr/command"
	"integration-dr/drerr"
	"integration-dr/failover"
	"integration-dr/journal"
	"integration-dr/journal/journaltest"
	"integration-dr/replication"
	"integration-dr/session"
)

// shiftedEngine is a replication engine on the fixture's (shiftable) clock, as the
// replication timer on another instance would be.
func shiftedEngine(f *fixture) *replication.Engine {
	return replication.NewEngine(f.store, replication.Limits{}, slog.New(slog.NewTextHandler(io.Discard, nil)),
		replication.Options{ClockSkew: time.Millisecond, Now: f.now})
}

// flakyWorkflow fails with Unavailable while down is set.
type flakyWorkflow struct {
	name string
	down atomic.Bool
	on   atomic.Bool
}

func (w *flakyWorkflow) Name() string { return w.name }
func (w *flakyWorkflow) Enable(context.Context) error {
	if w.down.Load() {
		return drerr.Errorf(drerr.Unavailable, "workflow "+w.name, "the target's ARM does not answer")
	}
	w.on.Store(true)
	return nil
}
func (w *flakyWorkflow) Disable(context.Context) error {
	if w.down.Load() {
		return drerr.Errorf(drerr.Unavailable, "workflow "+w.name, "the target's ARM does not answer")
	}
	w.on.Store(false)
	return nil
}

func noDuplicates(t *testing.T, f *fixture) {
	t.Helper()
	old, got := numbers(t, f.primary.acct), numbers(t, f.secondary.acct)
	for name, n := range old {
		if got[name] <= n {
			t.Errorf("%s: the new active secondary holds %d, not above the %d the old primary already sent", name, got[name], n)
		}
	}
}

// The hold-replication lease is taken once for 30 minutes and never renewed. A plan
// that is still short of its flip after that (here: the target's workflow API fails
// for 31 minutes after the bump) lets the replication timer run again in the old
// direction, and the old primary's newer-stamped numbers overwrite the bumps under
// "newest wins". The secondary is then enabled holding a number the primary sent.
func TestAPlanStalledPastTheHoldKeepsReplicationFromOverwritingItsBumps(t *testing.T) {
	f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 999999999})
	wf := &flakyWorkflow{name: "secondary-intake"}
	wf.down.Store(true)
	f.pair.Secondary.Workflows = []failover.Workflow{wf}
	f.runner.Pairs["p"] = f.pair
	ctx := context.Background()
	if _, err := f.runner.Submit(ctx, command.Command{ID: "c1", Action: command.Failover, Pair: "p"}, journal.Source{}, f.now()); err == nil {
		t.Fatal("enable-target failed but the plan reported no error")
	}
	if n := numbers(t, f.secondary.acct)["A00-Icn"]; n < 1100 {
		t.Fatalf("setup: the bump did not land (A00-Icn %d)", n)
	}
	// 31 minutes on: the primary (reachable, not fenced yet) still sends; the
	// replication timer fires.
	f.shift = 31 * time.Minute
	f.primary.acct.Set("A00-Icn", cnAt(150, f.now()))
	if _, err := shiftedEngine(f).Run(ctx, f.pair.Replication); err != nil {
		t.Fatal(err)
	}
	wf.down.Store(false)
	op, err := f.runner.Submit(ctx, command.Command{ID: "c1", Action: command.Failover, Pair: "p"}, journal.Source{}, f.now())
	if err != nil {
		t.Fatal(err)
	}
	if op.Status != journal.Succeeded || !wf.on.Load() {
		t.Fatalf("setup: %s %q", op.Status, op.Error)
	}
	noDuplicates(t, f)
}

// The bump skips a session whose current content stamp is not before the journaled
// ChangedTime, without looking at the number. A replication write that lands between
// an interrupted bump and its resume (the hold has lapsed, as above) carries the old
// side's newer stamp and a lower number: the resumed bump calls it "written by an
// earlier attempt" and leaves the target below the floor.
func TestAResumedBumpIsNotSkippedBecauseANewerStampHoldsALowerNumber(t *testing.T) {
	f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 999999999})
	ctx := context.Background()
	f.secondary.acct.FailPutAfter = f.secondary.acct.Puts // every bump write fails
	if _, err := f.runner.Submit(ctx, command.Command{ID: "c1", Action: command.Failover, Pair: "p"}, journal.Source{}, f.now()); err == nil {
		t.Fatal("a failing bump reported success")
	}
	f.secondary.acct.FailPutAfter = 0
	f.shift = 31 * time.Minute
	f.primary.acct.Set("A00-Icn", cnAt(150, f.now()))
	if _, err := shiftedEngine(f).Run(ctx, f.pair.Replication); err != nil {
		t.Fatal(err)
	}
	op, err := f.runner.Submit(ctx, command.Command{ID: "c1", Action: command.Failover, Pair: "p"}, journal.Source{}, f.now())
	if err != nil {
		t.Fatal(err)
	}
	if op.Status != journal.Succeeded {
		t.Fatalf("setup: %s %q", op.Status, op.Error)
	}
	if n := numbers(t, f.secondary.acct)["A00-Icn"]; n < 1100 {
		t.Errorf("A00-Icn is %d after the resumed bump; the journaled floor was 1100 and the primary sent 150", n)
	}
	noDuplicates(t, f)
}

// ssis-failover and attach-ir are valid command actions, but the runner plans every
// action that is not fallback or drill as an integration-account failover: an SSIS
// command bumps every control number and flips the B2B pair.
func TestAnSSISCommandDoesNotFailTheB2BPairOver(t *testing.T) {
	for _, a := range []command.Action{command.SSISFailover, command.AttachIR} {
		t.Run(string(a), func(t *testing.T) {
			f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 999999999})
			puts := f.secondary.acct.Puts
			op, _ := f.runner.Submit(context.Background(), command.Command{ID: "s1", Action: a, Pair: "p"}, journal.Source{}, f.now())
			_, region, _ := f.store.Load(context.Background(), "p")
			if region.Epoch != 0 || f.secondary.acct.Puts != puts || f.secondary.workflow.on() {
				t.Fatalf("%s: status %s, epoch %d, %d bump writes, secondary intake on %v: the B2B pair was failed over",
					a, op.Status, region.Epoch, f.secondary.acct.Puts-puts, f.secondary.workflow.on())
			}
		})
	}
}

// floors lists only the target's sessions. A generated session the old side created
// and used during the replication lag (a new agreement, or simply a session whose
// first write did not replicate) is absent on the target and gets no bump: the target's
// connector starts it at the lower bound and resends the numbers the old side sent.
func TestASessionTheTargetLacksIsStillBumpedPastTheOldSide(t *testing.T) {
	f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 999999999})
	list := f.pair.Secondary.Agreements.(agreements).list
	b := map[failover.Level]failover.Bounds{failover.ICN: {Lower: 1, Upper: 999999999}, failover.GCN: {Lower: 1, Upper: 999999999}, failover.TSCN: {Lower: 1, Upper: 999999999}}
	list = append(list, failover.AgreementState{Agreement: failover.Agreement{Name: "B00", Protocol: failover.X12, Bounds: b}, DuplicateChecks: true})
	f.pair.Primary.Agreements = agreements{list, f.primary}
	f.pair.Secondary.Agreements = agreements{list, f.secondary}
	f.runner.Pairs["p"] = f.pair
	// The primary sent B00 interchanges 1..500; the session never replicated.
	f.primary.acct.Set("B00-Icn", cnAt(500, t0.Add(time.Minute)))
	f.primary.down = true
	op := f.submit(t, command.Command{ID: "c1", Action: command.Failover})
	if op.Status != journal.Waiting && op.Status != journal.Succeeded {
		t.Fatalf("setup: %s %q", op.Status, op.Error)
	}
	if n := numbers(t, f.secondary.acct)["B00-Icn"]; n <= 500 {
		t.Fatalf("B00-Icn on the new active side: %d (absent: starts at the lower bound); the primary sent up to 500", n)
	}
}

// A generated session of an agreement the target does not have (a deleted agreement:
// sessions outlive agreements, and replication copies them) makes Compute fail, and
// floors refuses the whole failover, even forced. The target cannot send for that
// agreement anyway, so the session is harmless; the pair cannot fail over at all.
func TestAStaleSessionOfADeletedAgreementDoesNotBlockAForcedFailover(t *testing.T) {
	f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 999999999})
	f.primary.acct.Set("Retired-Icn", cnAt(42, t0))
	if _, err := f.engine.Run(context.Background(), f.pair.Replication); err != nil {
		t.Fatal(err)
	}
	f.primary.down = true
	op := f.submit(t, command.Command{ID: "c1", Action: command.Failover, Force: true})
	if op.Status == journal.Rejected || op.Status == journal.Failed {
		t.Fatalf("forced failover refused over a stale session: %s %q", op.Status, op.Error)
	}
}

// Submit resumes whatever operation is journaled under the command's id, and a
// proposed one may move straight to running: a command carrying a proposal's id (the
// same alert re-sent after its rule moved to auto mode, an operator re-using the id)
// runs the plan without the operator's confirm.
func TestAProposedOperationRunsOnlyOnConfirm(t *testing.T) {
	f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 999999999})
	ctx := context.Background()
	if _, err := f.runner.Propose(ctx, command.Command{ID: "alert-x", Action: command.Failover, Pair: "p"}, journal.Source{}, f.now()); err != nil {
		t.Fatal(err)
	}
	op := f.submit(t, command.Command{ID: "alert-x", Action: command.Failover})
	if _, region, _ := f.store.Load(ctx, "p"); region.Epoch != 0 || op.Status != journal.Proposed {
		t.Fatalf("an unconfirmed proposal ran: %s, epoch %d", op.Status, region.Epoch)
	}
}

// The failover plan fences a reachable old primary only after it has bumped, settled
// and enabled the target. The old side keeps sending for the whole of that time (the
// settle waits for the next timer tick; a bump of a large account takes minutes at 10
// writes/s), while the floors were sized once, from the lag at the start: it passes the
// floor before it is fenced. Fallback disables the old side's intake before its floors;
// failover does not, even when the old side answers.
func TestAReachableOldPrimaryIsFencedBeforeTheFloorsAreFixed(t *testing.T) {
	f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 999999999})
	f.pair.Settle = 15 * time.Second
	f.runner.Pairs["p"] = f.pair
	ctx := context.Background()
	// Replication sees the primary send 10 interchanges a second.
	f.primary.acct.Set("A00-Icn", cnAt(110, t0.Add(time.Second)))
	if _, err := f.engine.Run(ctx, f.pair.Replication); err != nil {
		t.Fatal(err)
	}
	op := f.submit(t, command.Command{ID: "c1", Action: command.Failover})
	if op.Status != journal.Waiting || op.StepByName(failover.StepSettle).Status != journal.StepWaiting {
		t.Fatalf("setup: %s %+v", op.Status, op.Steps)
	}
	f.shift = 2 * time.Minute // the timer resumes the plan two minutes later
	if f.primary.workflow.on() {
		// The primary still takes intake: it keeps sending meanwhile, at a steady 10
		// interchanges a second.
		f.primary.acct.Set("A00-Icn", cnAt(110+1200, f.now()))
	}
	if _, err := f.runner.Advance(ctx); err != nil {
		t.Fatal(err)
	}
	op, _ = f.journal.Get(ctx, "p", "c1")
	if op.Status != journal.Succeeded {
		t.Fatalf("setup: %s %q", op.Status, op.Error)
	}
	noDuplicates(t, f)
}

// hookAccount runs a hook before each write to the target.
type hookAccount struct {
	replication.Account
	before func()
}

func (h hookAccount) Put(ctx context.Context, s session.Session) error {
	h.before()
	return h.Account.Put(ctx, s)
}

// The pair lock (and the stream hold) are taken for 30 minutes at the start of an
// attempt and never renewed while a step runs. A bump of a large account at ARM's
// write budget outlasts that: a second command for the pair then takes the lock and
// runs its own plan beside the first (a second failover would bump again on top of the
// first plan's bumps, then fail at flip after changing Azure). A drill or a dry run
// only reads and takes no lock.
func TestASecondCommandIsRefusedWhileALongBumpStillRuns(t *testing.T) {
	f := newFixture(t, 3, failover.Bounds{Lower: 1, Upper: 999999999})
	var clock atomic.Int64 // the runner's and journal's clock offset
	now := func() time.Time { return time.Now().Add(time.Duration(clock.Load())) }
	f.runner.Now, f.journal.Now = now, now
	f.runner.Workers = 1
	var once sync.Once
	var second journal.Operation
	var secondErr error
	f.pair.Secondary.Sessions = hookAccount{f.pair.Secondary.Sessions, func() {
		clock.Add(int64(2 * time.Minute)) // each write waits its turn in the budget
		if time.Duration(clock.Load()) > 12*time.Minute {
			once.Do(func() {
				second, secondErr = f.runner.Submit(context.Background(), command.Command{ID: "c2", Action: command.Failover, Pair: "p"}, journal.Source{}, now())
			})
		}
	}}
	f.runner.Pairs["p"] = f.pair
	first, err := f.runner.Submit(context.Background(), command.Command{ID: "c1", Action: command.Failover, Pair: "p"}, journal.Source{}, now())
	if err != nil {
		t.Fatal(err)
	}
	if first.Status != journal.Succeeded || second.ID == "" {
		t.Fatalf("setup: first %s %q; second ran: %v", first.Status, first.Error, second.ID != "")
	}
	if secondErr != nil || second.Status != journal.Rejected {
		t.Fatalf("a second command ran on the pair while c1 was still bumping: %s %q %v", second.Status, second.Error, secondErr)
	}
}

// journaltest.Update stores a clone of the steps and returns that same clone (and
// List/ListPending return the stored slices uncloned), so a caller's in-memory step
// changes (StartStep, WaitStep) show up in the "stored" operation without any Update:
// tests on the in-memory journal see state a real store would not have, and the race
// detector flags concurrent Submit/Advance of one command in it.
func TestTheInMemoryJournalDoesNotShareStepsWithItsCallers(t *testing.T) {
	f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 999999999})
	ctx := context.Background()
	op, err := f.journal.Create(ctx, journal.New(command.Command{ID: "c1", Action: command.Failover, Pair: "p"}, journal.Source{}, f.now(), f.now()))
	if err != nil {
		t.Fatal(err)
	}
	op.PlanSteps(failover.StepAuthorize)
	if op, err = f.journal.Update(ctx, op); err != nil {
		t.Fatal(err)
	}
	if err := op.StartStep(failover.StepAuthorize, f.now()); err != nil { // not saved
		t.Fatal(err)
	}
	stored, _ := f.journal.Get(ctx, "p", "c1")
	if s := stored.StepByName(failover.StepAuthorize); s.Status != journal.StepPending {
		t.Fatalf("an unsaved step change reached the store: %s", s.Status)
	}
}

// The timer does not run an operation whose attempt is still alive (RunCommand in the
// middle of it), and takes it over once that attempt's claim has run out.
func TestTheTimerLeavesAnOperationAnotherAttemptRuns(t *testing.T) {
	f := newFixture(t, 2, failover.Bounds{Lower: 1, Upper: 999999999})
	ctx := context.Background()
	op := journal.New(command.Command{ID: "busy-1", Action: command.Failover, Pair: "p"}, journal.Source{}, f.now(), f.now())
	op.Status, op.AttemptUntil = journal.Running, f.now().Add(time.Minute)
	if _, err := f.journal.Create(ctx, op); err != nil {
		t.Fatal(err)
	}
	puts := f.secondary.acct.Puts
	if _, err := f.runner.Advance(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.journal.Get(ctx, "p", "busy-1"); got.Status != journal.Running || len(got.Steps) != 0 || f.secondary.acct.Puts != puts {
		t.Fatalf("the timer ran an operation another attempt holds: %s, %d steps, %d writes", got.Status, len(got.Steps), f.secondary.acct.Puts-puts)
	}
	f.shift = 6 * time.Minute
	if _, err := f.runner.Advance(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.journal.Get(ctx, "p", "busy-1"); got.Status == journal.Running && len(got.Steps) == 0 {
		t.Fatal("the timer never took over an attempt whose claim ran out")
	}
}

// dyingJournal loses the attempt that made a flip before the flip is journaled, once:
// the process died between the two.
type dyingJournal struct {
	*journaltest.Store
	died bool
}

func (j *dyingJournal) Update(ctx context.Context, op journal.Operation) (journal.Operation, error) {
	if st := op.StepByName(failover.StepFlip); !j.died && st != nil && st.Status == journal.StepDone {
		j.died = true
		return op, drerr.Errorf(drerr.Unavailable, "update operation", "the process running this attempt is gone")
	}
	return j.Store.Update(ctx, op)
}

// A fallback whose attempt died after flipping the pair, before the journal knew it,
// is resumed by an attempt that renewed the plan's hold on the replication stream (the
// journal said "not flipped yet") and that the flip, finding the move made, never
// gave back: replication stayed skipped, and confirm-replication waited for it forever.
func TestAFallbackResumedAfterAnUnjournaledFlipLetsReplicationRunAgain(t *testing.T) {
	f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 999999999})
	ctx := context.Background()
	if op := f.submit(t, command.Command{ID: "f1", Action: command.Failover}); op.Status != journal.Succeeded {
		t.Fatalf("setup: failover %s %q", op.Status, op.Error)
	}
	j := &dyingJournal{Store: f.journal}
	f.runner.Journal = j
	engine := shiftedEngine(f)
	if _, err := f.runner.Submit(ctx, command.Command{ID: "b1", Action: command.Fallback, Pair: "p"}, journal.Source{}, f.now()); err != nil {
		t.Fatal(err)
	}
	// The replication timer and the operations timer, each minute; the attempt that
	// dies leaves its claim, which the timer takes over five minutes on.
	for range 20 {
		if _, err := engine.Run(ctx, f.pair.Replication); err != nil {
			t.Fatal(err)
		}
		f.shift += time.Minute
		if _, err := f.runner.Advance(ctx); err != nil && !j.died {
			t.Fatal(err)
		}
	}
	op, err := f.journal.Get(ctx, "p", "b1")
	if err != nil {
		t.Fatal(err)
	}
	if !j.died {
		t.Fatalf("setup: the flip never came (%s)", op.Status)
	}
	if op.Status != journal.Succeeded {
		cp, _, _ := f.store.Load(ctx, "p")
		t.Fatalf("the fallback never ended: %s, stream held by %q, confirm-replication %s", op.Status, cp.LeaseOwner, op.StepByName(failover.StepConfirm).Outcome)
	}
}

// (Found by the simulation, seed 27503.) A fallback from an active side that lost one
// of its intake workflows (the region was rebuilt without it) retried the 404 of its
// stop-intake step as a transient error for ever: the operation stayed running, its
// message was dead-lettered, and the timer kept retrying it. A workflow that is gone
// takes no traffic; the fallback goes on.
func TestAFallbackFromASideThatLostAnIntakeWorkflowEnds(t *testing.T) {
	f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 999999999})
	ctx := context.Background()
	if op := f.submit(t, command.Command{ID: "f1", Action: command.Failover}); op.Status != journal.Succeeded {
		t.Fatalf("setup: failover %s %q", op.Status, op.Error)
	}
	gone := &modeWorkflow{name: "secondary-edifact"}
	gone.fail(drerr.Errorf(drerr.NotFound, "disable", "404 WorkflowNotFound"))
	f.pair.Secondary.Workflows = append(f.pair.Secondary.Workflows, gone)
	f.runner.Pairs["p"] = f.pair
	engine := shiftedEngine(f)
	var last error
	_, last = f.runner.Submit(ctx, command.Command{ID: "b1", Action: command.Fallback, Pair: "p"}, journal.Source{}, f.now())
	for range 10 {
		if _, err := engine.Run(ctx, f.pair.Replication); err != nil {
			t.Fatal(err)
		}
		f.shift += time.Minute
		_, last = f.runner.Advance(ctx)
	}
	op, err := f.journal.Get(ctx, "p", "b1")
	if err != nil {
		t.Fatal(err)
	}
	if op.Status != journal.Succeeded || f.secondary.workflow.on() || !f.primary.workflow.on() {
		t.Fatalf("fallback %s (last attempt: %v); intake: primary %v, secondary %v", op.Status, last, f.primary.workflow.on(), f.secondary.workflow.on())
	}
}
