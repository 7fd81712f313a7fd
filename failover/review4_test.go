package failover_test

// Review tests (fourth round): each one fails on the code as reviewed, for the reason
// its comment states. Helpers come from runner_test.go, regression_test.go and
// window_test.go.

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"integration-dr/command"
	"integration-dr/drerr"
	"integration-dr/failover"
	"integration-dr/journal"
	"integration-dr/replication"
)

// sendsNext is the next k numbers a side at n sends in [lower, upper] with rollover.
func sendsNext(n, k, lower, upper int) []int {
	out := make([]int, 0, k)
	for range k {
		if n++; n > upper {
			n = lower
		}
		out = append(out, n)
	}
	return out
}

// A failover wraps the secondary into a new cycle (range 1..120, floor 100+30 → 10),
// and the secondary sends 11..15. The primary, down but sending while its fence is
// pending, sends 101..102 of the old cycle, stamped later. When it answers, the fence
// lands and replication keeps the primary's newer-stamped 102 (standby newer). The
// fallback's floor is right (15 + 30 = 45), but Compute sees the target (the primary)
// at 102, "ahead" by stamp and above 45, and does not bump it: the primary is enabled
// in the cycle the secondary left, sends 103..120, wraps, and resends 11..15 — the
// numbers the secondary sent minutes ago — some 30 numbers later, long before a full
// cycle. A target whose number is of the cycle the last move left is not "ahead".
func TestAFallbackMovesAPrimaryLeftInTheOldCycleIntoTheSecondarysNewOne(t *testing.T) {
	t.Skip("open, listed in docs/guarantees.md: a target number of the cycle the last rollover left is taken as ahead of the floor")
	f, wrapped, sent := rolledOverThenOldCycleSent(t, 5)
	fallBackWithoutResending(t, f, wrapped, sent)
}

// A failover wraps the secondary into a new cycle (range 1..999999, the primary at
// 999500: the floor passes the upper bound), enables its first workflow, which sends
// one number, and is refused at the second. The undo stops the secondary, carries its
// new cycle into the primary (carryCycle: 999500 -> the secondary's number) and
// enables the primary's workflows: the first comes on, the second answers 503, so the
// undo waits. The primary's first workflow is on: it sends 50 numbers from there.
// When the timer tries the undo again, carryCycle runs again and, "lower or not", sets
// the primary back to the secondary's number: the primary resends the 50 numbers it
// has just sent. A carried cycle must not lower a number the side moved on from
// within that cycle.
func TestARetriedUndoDoesNotCarryTheCycleOverNumbersTheOldSideSentSince(t *testing.T) {
	f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 999999, Rollover: true})
	for _, l := range []failover.Level{failover.ICN, failover.GCN, failover.TSCN} {
		f.primary.acct.Set(failover.SessionName("A00", l), cnAt(999500, t0))
	}
	if _, err := f.engine.Run(context.Background(), f.pair.Replication); err != nil {
		t.Fatal(err)
	}
	second := &flakyWorkflow{name: "primary-second"}
	second.on.Store(true)
	f.pair.Primary.Workflows = []failover.Workflow{f.primary.workflow, second}
	first := hookWorkflow{Workflow: f.secondary.workflow, afterEnable: func() {
		for name, n := range numbers(t, f.secondary.acct) {
			f.secondary.acct.Set(name, cnAt(n+1, time.Now().Add(time.Minute)))
		}
		second.down.Store(true) // the primary's second workflow stops answering
	}}
	f.pair.Secondary.Workflows = []failover.Workflow{first, invalidWorkflow{}}
	f.runner.Pairs["p"] = f.pair
	op := f.submit(t, command.Command{ID: "c1", Action: command.Failover})
	if op.Status != journal.Waiting || !f.primary.workflow.on() {
		t.Fatalf("setup: %s %q, primary's first workflow on %v; want the undo waiting on the second", op.Status, op.Error, f.primary.workflow.on())
	}
	carried := numbers(t, f.primary.acct)
	if carried["A00-Icn"] > 100000 {
		t.Fatalf("setup: want the secondary's new cycle carried into the primary, got %v", carried)
	}
	// The primary's first workflow is on: it sends.
	sent := map[string]int{}
	for name, n := range carried {
		sent[name] = n + 50
		f.primary.acct.Set(name, cnAt(n+50, time.Now().Add(2*time.Minute)))
	}
	second.down.Store(false)
	op = f.advanceUntilDone(t, op)
	if op.Status != journal.Rejected || !f.primary.workflow.on() || !second.on.Load() {
		t.Fatalf("undo: %s %q", op.Status, op.Error)
	}
	for name, n := range numbers(t, f.primary.acct) {
		if n < sent[name] {
			t.Errorf("%s: the retried undo moved the primary from %d, which it has sent, back to %d: it resends %d..%d", name, sent[name], n, n+1, sent[name])
		}
	}
}

// The primary is large and slow: its pages come, one after the other, but a whole
// listing takes longer than the reach budget (here: two pages of 50 per budget, 60
// agreements, 180 generated sessions). The final catch-up answers but runs out of
// time ("incomplete"), so the floors read the primary's numbers, as they must — in
// one listing under one reach budget. That listing is cut off by the budget, the
// floors call the primary "could not be reached" (noteDown) though it answered every
// page and every workflow call, and take the secondary's stale copy plus the margin:
// A59-Icn, which the primary moved to 5000 after the last replication run, is bumped
// to 1159 and the secondary resends 1160..5000. A side that answers slowly is not
// down ("unknown is not down"); the floors' read should page within the budget (as
// the undo's merge now does) or wait, not drop the old side's numbers.
func TestTheFloorsReadASlowOldSideThatAnswersInsteadOfCallingItDown(t *testing.T) {
	f := newFixture(t, 60, failover.Bounds{Lower: 1, Upper: 999999999})
	f.primary.acct.Set("A59-Icn", cnAt(5000, t0.Add(time.Minute))) // sent since the last run
	f.runner.CatchUp = shortCatchUp{}
	f.pair.Primary.Sessions = pagedAccount{Account: f.pair.Primary.Sessions, pages: 2}
	f.runner.Pairs["p"] = f.pair
	op := f.submit(t, command.Command{ID: "c1", Action: command.Failover})
	if op.Status != journal.Succeeded && op.Status != journal.Waiting {
		t.Fatalf("failover: %s %q, primary intake %v", op.Status, op.Error, f.primary.workflow.on())
	}
	t.Logf("status %s; fence: %s", op.Status, op.StepByName(failover.StepFenceOld).Outcome)
	t.Logf("catch-up: %s; floors: %s", op.StepByName(failover.StepCatchUp).Outcome, op.StepByName(failover.StepFloors).Outcome)
	if got := numbers(t, f.secondary.acct)["A59-Icn"]; got <= 5000 {
		t.Errorf("A59-Icn: the secondary sends from %d on; the primary, which answered, sent up to 5000", got)
	}
}

// The same hole without any slowness: the catch-up runs out of time, and the floors'
// read of the primary's sessions is throttled (429) — an old side that answers, whose
// intake the plan has just stopped. A fallback waits for such a read (p.unread); a
// failover goes on with the secondary's stale copy plus the margin, and the secondary
// resends what the primary sent past the last replication run (A00-Icn up to 5000).
func TestAFailoverWhoseFloorsCannotReadAnAnsweringOldSideWaits(t *testing.T) {
	f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 999999999})
	f.primary.acct.Set("A00-Icn", cnAt(5000, t0.Add(time.Minute)))
	f.runner.CatchUp = shortCatchUp{}
	f.primary.faults = map[string]error{"sessions": drerr.Errorf(drerr.Throttled, "list", "429 too many requests")}
	op := f.submit(t, command.Command{ID: "c1", Action: command.Failover})
	t.Logf("status %s; floors: %s", op.Status, op.StepByName(failover.StepFloors).Outcome)
	if got := numbers(t, f.secondary.acct)["A00-Icn"]; got <= 5000 && f.secondary.workflow.on() {
		t.Errorf("A00-Icn: the secondary takes traffic from %d on; the primary, which answers (throttled), sent up to 5000", got)
	}
}

// A scan of a large pair spans runs: the last timer run ran out of its lease with the
// incremental scan's cursor at "A20" (the next run lists only names after it). The
// primary then sends on A00-Icn (a name before the cursor) up to 5000. The failover
// stops the primary, and its catch-up resumes the scan from the cursor, lists A20..A39,
// and completes: "replicated", so caughtUp trusts the target to hold everything the
// primary had when its intake stopped, and the floors do not read the primary. A00-Icn
// is never listed by that scan: the secondary is bumped from its stale 100 to 1100 and
// resends 1101..5000. A scan that completes is not a catch-up unless it started after
// the intake stopped (or the floors read the old side).
func TestACatchUpThatOnlyFinishedAScanBegunBeforeTheStopReadsTheOldSide(t *testing.T) {
	f := newFixture(t, 40, failover.Bounds{Lower: 1, Upper: 999999999})
	ctx := context.Background()
	cp, _, err := f.store.Load(ctx, "p")
	if err != nil || cp.Watermark.IsZero() {
		t.Fatalf("setup: %v %+v", err, cp)
	}
	// A timer run left the scan mid-way.
	cp.Scan = replication.Scan{Kind: replication.ScanIncremental, Since: cp.Watermark.Add(-time.Minute), Cursor: "A20"}
	if _, err := f.store.Save(ctx, cp); err != nil {
		t.Fatal(err)
	}
	f.primary.acct.Set("A00-Icn", cnAt(5000, t0.Add(time.Minute)))
	op := f.submit(t, command.Command{ID: "c1", Action: command.Failover})
	if op.Status != journal.Succeeded {
		t.Fatalf("failover: %s %q", op.Status, op.Error)
	}
	t.Logf("catch-up: %s; floors: %s", op.StepByName(failover.StepCatchUp).Outcome, op.StepByName(failover.StepFloors).Outcome)
	noDuplicates(t, f)
}

// As in TestAFallbackMovesAPrimaryLeftInTheOldCycleIntoTheSecondarysNewOne, the
// failover wrapped the secondary to 10 (it sent 11..40 since) and the primary, fence
// pending, sent 101..102 of the old cycle, stamped later, which replication keeps.
// The fallback stops the secondary's intake, but the secondary's sessions cannot be
// listed (its listing is unreachable; its workflows answer): the floors go on without
// its numbers. afterRollovers then takes the highest state stamped after the
// rollover — the primary's own 102, a number of the cycle the secondary left (at or
// above the 100 it rolled over from) — as the secondary's place in its new cycle: the
// floor 102 + 30 wraps to 12 and the primary resends 13..40. With the secondary
// unread, its place is the last move's number plus the margin (10 + 30), not a
// number of the old cycle wrapped again.
func TestAFallbackThatCannotReadTheSecondaryDoesNotWrapFromTheOldCycle(t *testing.T) {
	t.Skip("open, listed in docs/guarantees.md: afterRollovers takes an old-cycle number as the unread side's place in its new cycle")
	f, wrapped, sent := rolledOverThenOldCycleSent(t, 30)
	// The fallback's old side: workflows answer, the sessions listing of the plan does not.
	f.pair.Secondary.Sessions = downList{f.pair.Secondary.Sessions}
	fallBackWithoutResending(t, f, wrapped, sent)
}

// downList is a side whose sessions listing cannot be reached (reads and writes of
// single sessions still answer).
type downList struct{ replication.Account }

func (downList) List(context.Context, time.Time, string, func(replication.Page) error) error {
	return drerr.Errorf(drerr.Unreachable, "list", "the side does not answer")
}

// The primary's agreements listing cannot be reached (one ARM endpoint of the old
// region is out), but its workflows answer. The plan marks the whole side down from
// that one call (noteDown in assess) and skips stop-old-intake without trying it, the
// catch-up too, then enables the secondary and flips with the primary's fence pending:
// both sides take traffic until a later timer pass lands the fence, although one call
// to the primary's workflows would have stopped it first. Down is "cannot be reached
// within the budget" for the call that matters: stop-first should try the workflows.
func TestAnOldSideWhoseAgreementsCannotBeReachedIsStillStoppedFirst(t *testing.T) {
	f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 999999999})
	f.primary.faults = map[string]error{"agreements": drerr.Errorf(drerr.Unreachable, "agreements", "no route to host")}
	op := f.submit(t, command.Command{ID: "c1", Action: command.Failover})
	t.Logf("status %s; stop-old: %s", op.Status, op.StepByName(failover.StepStopOld).Outcome)
	if f.primary.workflow.on() && f.secondary.workflow.on() {
		t.Errorf("both sides take traffic after the move (%s): the primary's workflows answered, yet were never asked to stop", op.Status)
	}
}

// A failover enables the secondary's first workflow, which takes a partner's
// interchange 888 (a run starts), and is refused at the second. The undo disables the
// secondary's workflows — a Logic Apps run already under way is not cancelled by a
// disable and goes on — lists the secondary at once, merges what it holds into the
// primary and gives the primary its intake back. The run under way records 888 on the
// secondary just after (here: as the primary's workflow is enabled again). Nothing
// ever merges it later (replication runs primary -> secondary), so the primary's
// duplicate check never learns of 888 and takes the partner's resend as new. The undo
// should let the target's runs end (or merge again after a drain time) before the old
// side's intake comes back.
func TestTheUndoMergesWhatTheTargetsRunsUnderWayRecordAfterItsIntakeStops(t *testing.T) {
	t.Skip("open, listed in docs/guarantees.md: the undo does not wait for the target's runs under way to end before merging")
	f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 999999999})
	inFlight := false
	first := hookWorkflow{Workflow: f.secondary.workflow,
		afterEnable: func() { inFlight = true }, // a run starts for interchange 888
	}
	f.pair.Secondary.Workflows = []failover.Workflow{first, invalidWorkflow{}}
	f.pair.Primary.Workflows = []failover.Workflow{enableHook{Workflow: f.primary.workflow, before: func() {
		if inFlight { // the run ends, after the secondary's intake was disabled
			f.secondary.acct.Set("X12-ICN-A00-000000888", json.RawMessage(`{"ReceivedAt":"2026-11-20T10:00:00Z"}`))
			inFlight = false
		}
	}}}
	f.runner.Pairs["p"] = f.pair
	op := f.advanceUntilDone(t, f.submit(t, command.Command{ID: "c1", Action: command.Failover}))
	if op.Status != journal.Rejected || !f.primary.workflow.on() || f.secondary.workflow.on() {
		t.Fatalf("failover: %s %q; intake: primary %v, secondary %v", op.Status, op.Error, f.primary.workflow.on(), f.secondary.workflow.on())
	}
	for range 3 { // replication goes on in the old direction
		if _, err := f.engine.Run(context.Background(), f.pair.Replication); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.primary.acct.Get(context.Background(), "X12-ICN-A00-000000888"); err != nil {
		t.Errorf("interchange 888, received by the secondary during the refused move, never reaches the primary, which takes traffic again: %v", err)
	}
}

// As TestANumberTheTargetNeverSawStartsPastTheOldSidesStart, for the acknowledgement
// levels that have no range of their own: the package's Levels name the interchange,
// group and transaction-set numbers of acknowledgements ({agreement}-Icn-Ack,
// -Gcn-Ack, -Tscn-Ack), and BoundsFor gives them the agreement's Ack range (70000..).
// coverAgreements covers only levels with a range of their own (a.Bounds[l]), so a
// session of these levels that neither side shows is never bumped: the secondary
// starts it at 70000, where the primary started, and resends the acknowledgement
// envelope numbers the primary sent.
func TestAcknowledgementLevelsWithoutARangeOfTheirOwnAreCoveredToo(t *testing.T) {
	t.Skip("open, listed in docs/guarantees.md: whether the connector keeps -Icn-Ack/-Gcn-Ack/-Tscn-Ack sessions is unconfirmed; only the Ack level is covered")
	f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 999999999})
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
	for _, l := range []failover.Level{failover.ICNAck, failover.GCNAck, failover.TSCNAck} {
		if name := failover.SessionName("B00", l); got[name] < 71000 {
			t.Errorf("%s: %d (absent: 0); it counts in the Ack range from 70000, where the primary started and may have sent up to 70999", name, got[name])
		}
	}
}

// A failover stops the primary's intake, then cannot list the target's sessions (503,
// for good: the secondary region's integration account is broken): the floors are
// retried on every pass and the operation never ends by itself. The operator does what
// the design offers for that, drctl cancel with force. The cancel releases the pair
// and the stream, but undoes nothing: the primary's intake, stopped by the plan, stays
// off and the secondary was never enabled — neither side takes traffic, and the
// journal says only "cancelled". A cancel of a plan that never enabled its target
// should give the old side its intake back (the refused plan's undo), or end failed
// saying that neither side takes traffic.
func TestCancellingAMoveStuckBeforeItsTargetWasEnabledGivesTheOldSideItsIntakeBack(t *testing.T) {
	t.Skip("open, listed in docs/guarantees.md: a cancel undoes nothing; an undo run by the cancel must know which steps may have run (a redelivered cancel, an enable still in flight)")
	f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 999999999})
	f.secondary.faults = map[string]error{"sessions": drerr.Errorf(drerr.Unavailable, "list", "503 service unavailable")}
	ctx := context.Background()
	if _, err := f.runner.Submit(ctx, command.Command{ID: "c1", Action: command.Failover, Pair: "p"}, journal.Source{}, f.now()); err == nil {
		t.Fatal("setup: want the floors to fail while the target cannot be listed")
	}
	for range 3 {
		f.shift += 10 * time.Minute
		_, _ = f.runner.Advance(ctx)
	}
	op, _ := f.journal.Get(ctx, "p", "c1")
	if op.Status.Terminal() || f.primary.workflow.on() {
		t.Fatalf("setup: %s, primary intake %v; want the move stuck with the primary stopped", op.Status, f.primary.workflow.on())
	}
	got := f.submit(t, command.Command{ID: "x1", Action: command.Cancel, Target: "c1", Reason: "secondary account broken", Force: true, RequestedBy: "ops"})
	if got.Status != journal.Cancelled {
		t.Fatalf("cancel: %s %q", got.Status, got.Error)
	}
	_, _ = f.runner.Advance(ctx)
	if !f.primary.workflow.on() && !f.secondary.workflow.on() {
		t.Errorf("after the cancel (%q) neither side takes traffic: the primary's intake, stopped by the plan, was never given back", got.Error)
	}
}

// Round two's TestARolledOverOldSideThatAnswersIsAFloor, with the old side's new number
// in the upper half of its range. Range 1..1000 with rollover: the secondary's copy is
// 990; after that run the primary reached 1000, rolled over and sent 1..600, stamped
// later. The catch-up is skipped, so the floors read the primary and get 600, newer by
// its stamp. raiseTo takes a lower, newer number as a rollover only when it lies in
// the lower half of the range (rolledOverPast: 600 is not below 500), so it keeps the
// stale 990: 990 + 100 wraps to 90, and the secondary resends 91..600, numbers the
// primary sent minutes ago. The old side's own newer state is where it stands,
// whichever half of the range it is in.
func TestARolledOverOldSideInTheUpperHalfIsAFloorToo(t *testing.T) {
	t.Skip("open, listed in docs/guarantees.md: rolledOverPast only accepts a rollover into the lower half of the range")
	f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 1000, Rollover: true})
	f.pair.Policy = failover.Policy{MinBump: 100}
	f.runner.Pairs["p"] = f.pair
	ctx := context.Background()
	for _, l := range []failover.Level{failover.ICN, failover.GCN, failover.TSCN} {
		f.primary.acct.Set(failover.SessionName("A00", l), cnAt(990, t0))
	}
	if _, err := f.engine.Run(ctx, f.pair.Replication); err != nil {
		t.Fatal(err)
	}
	for _, l := range []failover.Level{failover.ICN, failover.GCN, failover.TSCN} {
		f.primary.acct.Set(failover.SessionName("A00", l), cnAt(600, t0.Add(time.Minute)))
	}
	f.runner.CatchUp = skippingCatchUp{}
	op := f.submit(t, command.Command{ID: "c1", Action: command.Failover})
	if op.Status != journal.Succeeded {
		t.Fatalf("failover: %s %q %+v", op.Status, op.Error, op.Steps)
	}
	t.Logf("floors: %s %v", op.StepByName(failover.StepFloors).Outcome, op.StepByName(failover.StepFloors).Changes)
	for name, n := range numbers(t, f.secondary.acct) {
		if n <= 600 {
			t.Errorf("%s: the secondary sends from %d on; the primary sent 1..600 of its new cycle minutes ago", name, n)
		}
	}
}

// rolledOverThenOldCycleSent is the setup of the two narrow-range fallbacks above: a
// failover past an unreachable primary rolls the secondary over (range 1..120, margin
// 30), the secondary sends sentAfter numbers of its new cycle, and the primary, its
// fence pending, sends up to 102 of the old one, stamped later; then the fence lands
// and a replication run keeps the primary's newer-stamped state. It returns the
// fixture, the numbers the failover rolled the secondary over to and what the
// secondary sent, by session.
func rolledOverThenOldCycleSent(t *testing.T, sentAfter int) (f *fixture, wrapped, sent map[string]int) {
	t.Helper()
	f = newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 120, Rollover: true})
	f.pair.Policy = failover.Policy{MinBump: 30}
	f.runner.Pairs["p"] = f.pair
	f.primary.down = true
	fo := f.submit(t, command.Command{ID: "f1", Action: command.Failover})
	if fo.Status != journal.Waiting {
		t.Fatalf("failover: %s %q", fo.Status, fo.Error)
	}
	wrapped, sent = numbers(t, f.secondary.acct), map[string]int{}
	for name, n := range wrapped {
		if n >= 100 {
			t.Fatalf("setup: %s: the failover set %d; want it rolled over", name, n)
		}
		sent[name] = n + sentAfter
		f.secondary.acct.Set(name, cnAt(n+sentAfter, time.Now()))
	}
	for name := range wrapped {
		f.primary.acct.Set(name, cnAt(102, time.Now().Add(time.Hour)))
	}
	f.primary.down = false
	if fo = f.advanceUntilDone(t, fo); fo.Status != journal.Succeeded {
		t.Fatalf("failover: %s %q", fo.Status, fo.Error)
	}
	if _, err := f.engine.Run(context.Background(), f.pair.Replication); err != nil {
		t.Fatal(err)
	}
	return f, wrapped, sent
}

// fallBackWithoutResending runs a fallback on f and fails t if the primary, enabled
// again, would send within half a cycle a number the secondary sent in its new cycle
// (wrapped+1 .. sent, by session).
func fallBackWithoutResending(t *testing.T, f *fixture, wrapped, sent map[string]int) {
	t.Helper()
	var from map[string]int
	f.pair.Primary.Workflows = []failover.Workflow{enableHook{Workflow: f.primary.workflow, before: func() { from = numbers(t, f.primary.acct) }}}
	f.runner.Pairs["p"] = f.pair
	op := f.advanceUntilDone(t, f.submit(t, command.Command{ID: "b1", Action: command.Fallback}))
	if op.Status != journal.Succeeded || from == nil {
		t.Fatalf("fallback: %s %q %+v", op.Status, op.Error, op.Steps)
	}
	t.Logf("fallback floors: %s %v", op.StepByName(failover.StepFloors).Outcome, op.StepByName(failover.StepFloors).Changes)
	for name, n := range from {
		recent := map[int]bool{}
		for x := wrapped[name] + 1; x <= sent[name]; x++ {
			recent[x] = true
		}
		for _, x := range sendsNext(n, 60, 1, 120) {
			if recent[x] {
				t.Errorf("%s: the primary goes on from %d and sends %d again within half a cycle; the secondary sent %d..%d in this cycle minutes ago", name, n, x, wrapped[name]+1, sent[name])
				break
			}
		}
	}
}
