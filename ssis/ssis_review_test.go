package ssis_test

// Regression tests from an independent review: each failed on the code as it was,
// for the reason its comment gives, and guards the fix. They use the fixture of
// reconcile_test.go and the helpers of runner_test.go.

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"integration-dr/command"
	"integration-dr/drerr"
	"integration-dr/journal"
	"integration-dr/mssql"
	"integration-dr/ssis"
)

// --- doubles wrapping the ssistest world -------------------------------------------

// flakyFactory is a side's factory whose next stops, or whose trigger stops, fail.
type flakyFactory struct {
	ssis.Factory
	mu            sync.Mutex
	failStops     int   // the next n BeginIR(stop) fail with failStopErr
	failStopErr   error //
	triggerStopFn func(name string) error
}

func (f *flakyFactory) BeginIR(ctx context.Context, ir string, start bool) (string, error) {
	f.mu.Lock()
	if !start && f.failStops > 0 {
		f.failStops--
		f.mu.Unlock()
		return "", f.failStopErr
	}
	f.mu.Unlock()
	return f.Factory.BeginIR(ctx, ir, start)
}

func (f *flakyFactory) SetTrigger(ctx context.Context, name string, start bool) error {
	if !start && f.triggerStopFn != nil {
		if err := f.triggerStopFn(name); err != nil {
			return err
		}
	}
	return f.Factory.SetTrigger(ctx, name, start)
}

// blockingGroup holds the first BeginFailover until released, as a slow ARM POST does.
type blockingGroup struct {
	ssis.FailoverGroup
	once    sync.Once
	entered chan struct{}
	release chan struct{}
}

func (g *blockingGroup) BeginFailover(ctx context.Context, force bool) (string, error) {
	first := false
	g.once.Do(func() { first = true })
	if first {
		close(g.entered)
		<-g.release
	}
	return g.FailoverGroup.BeginFailover(ctx, force)
}

// failingStore fails the next failSaves saves, as a Table Storage hiccup (or a crash
// right after the Azure call) does.
type failingStore struct {
	ssis.Store
	mu        sync.Mutex
	failSaves int
}

func (s *failingStore) Save(ctx context.Context, st ssis.State) (ssis.State, error) {
	s.mu.Lock()
	if s.failSaves > 0 {
		s.failSaves--
		s.mu.Unlock()
		return st, drerr.Errorf(drerr.Unavailable, "save ssis state", "table storage did not answer")
	}
	s.mu.Unlock()
	return s.Store.Save(ctx, st)
}

func (f *fixture) setEndpoint(s ssis.Side, change func(e *ssis.Endpoint)) {
	p := f.rec.Pairs[pairName]
	e := p.Sides[s]
	change(&e)
	p.Sides[s] = e
	f.rec.Pairs[pairName] = p
}

// --- 1. a timed-out ssis-failover leaves its resume token behind ---------------------

// timedOutFailover submits an ssis-failover whose group failover outlasts the
// operation's time limit, and lets the operation time out.
func timedOutFailover(t *testing.T, f *fixture, r *ssis.Runner) {
	t.Helper()
	ctx := context.Background()
	f.world.PollsToFinish = 1000 // the group's failover takes longer than the operation's limit
	submit(t, r, command.Command{ID: "fo-slow", Action: command.SSISFailover, Pair: pairName})
	f.clock.Add(2*time.Hour + time.Minute)
	if _, err := r.Advance(ctx); err != nil {
		t.Fatalf("advance: %v", err)
	}
	op, _ := f.journal.Get(ctx, pairName, "fo-slow")
	if op.Status != journal.Failed {
		t.Fatalf("precondition: the slow failover is %s (%s), want failed on its time limit", op.Status, op.Error)
	}
	// Azure finishes the group's failover after all: the secondary side is primary.
	f.world.PollsToFinish = 2
	f.world.SetRoles(ssis.Secondary, ssis.Primary)
}

// The operation gave up, but the group's failover token it stored stays in the pair's
// state: the reconcile never clears a "failover" pending entry, so the pair is reported
// not converged (and "failover ... begun" in flight) for ever.
func TestReviewTimedOutFailoverLeavesThePairUnconvergedForever(t *testing.T) {
	f := newFixture(t, ssis.StandbyRunning)
	timedOutFailover(t, f, f.runner())
	var rep ssis.Report
	for range 6 {
		f.clock.Add(time.Minute)
		rep = f.tick(t)
	}
	st, _ := f.store.Load(context.Background(), pairName)
	if !rep.Converged {
		t.Fatalf("the pair never converges after a timed-out ssis-failover: pending %v, changes %v, problems %v", keys(st.Pending), rep.Changes, rep.Problems)
	}
}

// Worse: the next ssis-failover (a failback to the primary side) finds that stale
// token, polls the old failover (which finished), takes it for its own, and never
// fails the group back: no BeginFailover is issued on the primary side.
func TestReviewTimedOutFailoverTokenHijacksTheNextFailover(t *testing.T) {
	f := newFixture(t, ssis.StandbyRunning)
	r := f.runner()
	timedOutFailover(t, f, r)
	f.clock.Add(time.Minute)
	f.tick(t)
	submit(t, r, command.Command{ID: "fo-back", Action: command.SSISFailover, Pair: pairName})
	op := advance(t, f, r, "fo-back", 20)
	failbacks := countPrefix(f.world.WritesSoFar(), "primary: failover")
	fo := op.StepByName(ssis.StepFailover)
	if op.Status != journal.Succeeded || failbacks != 1 {
		t.Fatalf("failback: status %s (%s), %d failovers issued to the primary side; failover step: %+v", op.Status, op.Error, failbacks, fo)
	}
}

// --- 2. a fresh command is rejected while a timer pass holds the pair ---------------

// A ReconcileSSIS pass holds the pair's lock for its few seconds. A command arriving
// then is journaled as rejected (terminal, its message completed), although run's own
// comment says "a reconcile pass holds it for a moment: try again".
func TestReviewCommandNotRejectedWhileATimerPassHoldsThePair(t *testing.T) {
	f := newFixture(t, ssis.StandbyRunning)
	ctx := context.Background()
	if _, err := f.journal.Lock(ctx, pairName, "reconcile-1", f.clock.Now().Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	c := command.Command{ID: "fo-now", Action: command.SSISFailover, Pair: pairName}
	r := f.runner()
	r.PassWait = 50 * time.Millisecond // the pass outlasts the wait: the command asks to come back
	op, err := r.Submit(ctx, c, journal.Source{}, time.Time{})
	if op.Status == journal.Rejected {
		t.Fatalf("an ssis-failover arriving during a timer pass was rejected for good: %s (err %v)", op.Error, err)
	}
	// The pass ends; the redelivered message runs the command.
	if err := f.journal.Unlock(ctx, pairName, "reconcile-1"); err != nil {
		t.Fatal(err)
	}
	op, err = f.runner().Submit(ctx, c, journal.Source{}, time.Time{})
	if err != nil || op.Status != journal.Waiting {
		t.Fatalf("redelivered after the pass: status %s (%s), err %v; want waiting on the group's failover", op.Status, op.Error, err)
	}
}

// --- 3. attach-ir never retries a stop of the old runtime that failed once ----------

// stop-old-runtime begins the stop only when no pending entry exists for the old side;
// after one failed try the entry (token "", back-off) exists for ever, so the stop is
// never tried again and the attach-ir waits until its 2h limit, then fails without
// attaching anything, in the emergency it exists for.
func TestReviewAttachIRRetriesAStopThatFailedOnce(t *testing.T) {
	f := newFixture(t, ssis.StandbyStopped)
	ff := &flakyFactory{Factory: f.world.Factory(ssis.SidePrimary), failStops: 1,
		failStopErr: drerr.Errorf(drerr.Throttled, "stop integration runtime ir-primary", "429 Too Many Requests")}
	f.setEndpoint(ssis.SidePrimary, func(e *ssis.Endpoint) { e.Factory = ff })
	r := f.runner()
	ctx := context.Background()
	submit(t, r, command.Command{ID: "attach-flaky", Action: command.AttachIR, Pair: pairName, Side: "secondary"})
	var op journal.Operation
	for range 15 { // 30 minutes, well past the 1-minute back-off
		f.clock.Add(2 * time.Minute)
		if _, err := r.Advance(ctx); err != nil {
			t.Fatalf("advance: %v", err)
		}
		op, _ = f.journal.Get(ctx, pairName, "attach-flaky")
		if op.Status.Terminal() {
			break
		}
	}
	stops := countPrefix(f.world.WritesSoFar(), "primary: stop ir-primary")
	if op.Status != journal.Succeeded {
		t.Fatalf("attach-ir after one throttled stop: status %s (%s), %d stops went through after 30 minutes; stop step: %+v",
			op.Status, op.Error, stops, op.StepByName(ssis.StepStopOld))
	}
}

// --- 4. a failover begun but not recorded is issued again ---------------------------

// The group's failover is begun, then saving its resume token fails (or the process
// dies). The redelivered command "asks the roles", which do not change until the
// failover ends minutes later, and issues the failover a second time (ARM would
// rather answer 409 and the operation be failed while the failover goes on).
func TestReviewFailoverNotIssuedTwiceWhenItsTokenIsNotSaved(t *testing.T) {
	for _, force := range []bool{false, true} {
		t.Run(map[bool]string{false: "planned", true: "forced"}[force], func(t *testing.T) {
			f := newFixture(t, ssis.StandbyRunning)
			fs := &failingStore{Store: f.store, failSaves: 1} // the first save is the token's
			f.rec.Store = fs
			r := f.runner()
			c := command.Command{ID: "fo-lost", Action: command.SSISFailover, Pair: pairName, Force: force}
			if _, err := r.Submit(context.Background(), c, journal.Source{}, time.Time{}); err == nil {
				t.Fatal("precondition: the token's save failed, yet Submit asks for no redelivery")
			}
			// The message comes back.
			_, _ = r.Submit(context.Background(), c, journal.Source{}, time.Time{}) // its outcome is what advance reads below
			// Azure finishes the failover it was asked for.
			f.world.SetRoles(ssis.Secondary, ssis.Primary)
			op := advance(t, f, r, c.ID, 10)
			want := map[bool]string{false: "secondary: failover", true: "secondary: force-failover"}[force]
			if n := countPrefix(f.world.WritesSoFar(), want); n != 1 {
				t.Fatalf("%q issued %d times (op %s: %s); writes %v", want, n, op.Status, op.Error, f.world.WritesSoFar())
			}
		})
	}
}

// --- 5. two attempts of one operation run at once ------------------------------------

// The pair's lock is re-entrant for the operation's id, so AdvanceOperations resumes an
// operation that RunCommand is still running (it is "running" in the journal as soon
// as its first step is saved). Both run the failover-group step: the group's failover
// is issued twice.
func TestReviewAdvanceDoesNotRunAnOperationRunCommandIsRunning(t *testing.T) {
	f := newFixture(t, ssis.StandbyRunning)
	g := &blockingGroup{FailoverGroup: f.world.Group(ssis.SideSecondary), entered: make(chan struct{}), release: make(chan struct{})}
	f.setEndpoint(ssis.SideSecondary, func(e *ssis.Endpoint) { e.Group = g })
	r := f.runner()
	ctx := context.Background()
	c := command.Command{ID: "fo-race", Action: command.SSISFailover, Pair: pairName}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = r.Submit(ctx, c, journal.Source{}, time.Time{}) // RunCommand: held in BeginFailover
	}()
	select {
	case <-g.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("RunCommand never reached BeginFailover")
	}
	_, _ = r.Advance(ctx) // the AdvanceOperations timer fires meanwhile
	close(g.release)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("RunCommand did not return")
	}
	if n := countPrefix(f.world.WritesSoFar(), "secondary: failover"); n != 1 {
		t.Fatalf("the group's failover was issued %d times by one command: %v", n, f.world.WritesSoFar())
	}
}

// --- 6. stop-first is not enforced when the standby answers but refuses the stop ----

// The old primary's factory answers (its triggers are listed) but refuses to stop a
// trigger (a permission or conflict error, not an unreachable region). The pass goes
// on and starts the same trigger on the new primary: both sides' triggers run.
func TestReviewTriggersNotStartedWhileTheStandbysStillRun(t *testing.T) {
	f := newFixture(t, ssis.StandbyRunning)
	ff := &flakyFactory{Factory: f.world.Factory(ssis.SidePrimary), triggerStopFn: func(name string) error {
		return drerr.Errorf(drerr.Invalid, "stop trigger "+name, "AuthorizationFailed")
	}}
	f.setEndpoint(ssis.SidePrimary, func(e *ssis.Endpoint) { e.Factory = ff })
	f.world.SetRoles(ssis.Secondary, ssis.Primary)
	rep := f.tick(t)
	old, cur := f.world.Trigger(ssis.SidePrimary, "nightly"), f.world.Trigger(ssis.SideSecondary, "nightly")
	if old == ssis.TriggerStarted && cur == ssis.TriggerStarted {
		t.Fatalf("trigger nightly runs on both sides at once (problems %v; changes %v)", rep.Problems, rep.Changes)
	}
}

// --- 7. a pass that changes more than the journal's 20 lines is not recorded --------

// record journals rep.Changes as the step's changes without the journal's limits
// (MaxChanges, MaxChangeLen): a failover of a pair with a score of triggers makes the
// journal refuse the entry, and the pass returns before saving its state.
func TestReviewBigPassIsJournaled(t *testing.T) {
	f := newFixture(t, ssis.StandbyRunning)
	for i := range 12 {
		name := fmt.Sprintf("load-%02d", i)
		f.world.PutTrigger(ssis.SidePrimary, name, ssis.TriggerStarted, "dr-follow")
		f.world.PutTrigger(ssis.SideSecondary, name, ssis.TriggerStopped, "dr-follow")
	}
	f.setEndpoint(ssis.SidePrimary, func(e *ssis.Endpoint) { e.TriggerAnnotation = "dr-follow" })
	f.world.SetRoles(ssis.Secondary, ssis.Primary)
	saves := f.store.Saves
	reps, err := f.rec.ReconcileAll(context.Background())
	if err != nil {
		t.Fatalf("the pass that failed the triggers over could not be recorded: %v (state saves %d)", err, f.store.Saves-saves)
	}
	ops, _ := f.journal.List(context.Background(), pairName, 0)
	if len(ops) != 1 || len(reps) != 1 {
		t.Fatalf("want the pass journaled once, got %d entries", len(ops))
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// --- 8. SSISDB answering "the links disagree" bypasses the cross-check ---------------

// disagreeingDB is SSISDB caught mid-failover: sys.dm_geo_replication_link_status
// answers, with rows that disagree (mssql.RoleOf's drerr.Unavailable).
type disagreeingDB struct{ ssis.Database }

func (disagreeingDB) Role(context.Context) (mssql.Role, error) {
	return mssql.RoleOf([]string{"PRIMARY", "SECONDARY"})
}

// SSISDB answered, but inconsistently; roles() takes any error for "no answer, not
// cross-checked" and acts on ARM's word alone, although the README says that where
// SSISDB answers it must agree, and anything else is an unknown role.
func TestReviewDisagreeingReplicationLinksAreAnUnknownRole(t *testing.T) {
	f := newFixture(t, ssis.StandbyRunning)
	f.setEndpoint(ssis.SidePrimary, func(e *ssis.Endpoint) { e.DB = disagreeingDB{e.DB} })
	f.setEndpoint(ssis.SideSecondary, func(e *ssis.Endpoint) { e.DB = disagreeingDB{e.DB} })
	f.world.SetRoles(ssis.Secondary, ssis.Primary) // ARM already says the secondary side leads
	rep := f.tick(t)
	if rep.Unknown == "" || len(f.world.WritesSoFar()) > 0 {
		t.Fatalf("acted while both SSISDBs report disagreeing links: unknown %q, reading %v, writes %v", rep.Unknown, rep.Reading, f.world.WritesSoFar())
	}
}
