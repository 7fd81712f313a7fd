package ssis_test

// Stop-first: the standby's triggers are stopped and its Agent schedules disabled
// (and, for attach-ir, the old runtime stopped) before the serving side's are
// started or enabled. Only a standby that cannot be reached at all is taken as down;
// one that answers slowly, throttled, with errors or with a refusal may still run
// packages, and the pass or plan waits for it. The fixture's cleanup checks, after
// every test, that no change made a package schedulable on both sides.

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"integration-dr/command"
	"integration-dr/drerr"
	"integration-dr/journal"
	"integration-dr/ssis"
)

// answeringFaults are answers that say nothing about whether a side still runs
// packages: it is there, but did not do what it was asked.
var answeringFaults = []struct {
	name string
	err  error
}{
	{"throttled", drerr.Errorf(drerr.Throttled, "stop trigger nightly", "429 Too Many Requests")},
	{"slow", drerr.Errorf(drerr.Interrupted, "stop trigger nightly", "context deadline exceeded")},
	{"erroring", drerr.Errorf(drerr.Unavailable, "stop trigger nightly", "503 Service Unavailable")},
	{"refused", drerr.Errorf(drerr.Invalid, "stop trigger nightly", "403 AuthorizationFailed")},
}

// faultyFactory is a data factory that fails every call with err while it is set.
type faultyFactory struct {
	ssis.Factory
	mu  sync.Mutex
	err error
}

func (f *faultyFactory) set(err error) { f.mu.Lock(); defer f.mu.Unlock(); f.err = err }
func (f *faultyFactory) fault() error  { f.mu.Lock(); defer f.mu.Unlock(); return f.err }

func (f *faultyFactory) IRState(ctx context.Context, ir string) (string, error) {
	if err := f.fault(); err != nil {
		return "", err
	}
	return f.Factory.IRState(ctx, ir)
}

func (f *faultyFactory) BeginIR(ctx context.Context, ir string, start bool) (string, error) {
	if err := f.fault(); err != nil {
		return "", err
	}
	return f.Factory.BeginIR(ctx, ir, start)
}

func (f *faultyFactory) PollIR(ctx context.Context, token string) (bool, error) {
	if err := f.fault(); err != nil {
		return false, err
	}
	return f.Factory.PollIR(ctx, token)
}

func (f *faultyFactory) Triggers(ctx context.Context) ([]ssis.Trigger, error) {
	if err := f.fault(); err != nil {
		return nil, err
	}
	return f.Factory.Triggers(ctx)
}

func (f *faultyFactory) SetTrigger(ctx context.Context, name string, start bool) error {
	if err := f.fault(); err != nil {
		return err
	}
	return f.Factory.SetTrigger(ctx, name, start)
}

// servingIsOff fails the test if the serving (secondary) side's trigger or schedule
// was turned on.
func servingIsOff(t *testing.T, f *fixture, when string) {
	t.Helper()
	if got := f.world.Trigger(ssis.SideSecondary, "nightly"); got != ssis.TriggerStopped {
		t.Fatalf("%s: the new primary's trigger is %s while the old primary's was not stopped (writes %v)", when, got, f.world.WritesSoFar())
	}
	if f.world.Schedule(ssis.SideSecondary, 7) {
		t.Fatalf("%s: the new primary's schedule was enabled while the old primary's was not disabled (writes %v)", when, f.world.WritesSoFar())
	}
}

func TestReconcileWaitsForAStandbyThatAnswersButDoesNotStop(t *testing.T) {
	for _, fault := range answeringFaults {
		for _, mode := range []string{"on every call", "on every change"} {
			t.Run(fault.name+" "+mode, func(t *testing.T) {
				f := newFixture(t, ssis.StandbyRunning)
				// The group failed over outside the app; the old primary is in trouble.
				f.world.SetRoles(ssis.Secondary, ssis.Primary)
				if mode == "on every call" {
					f.world.SetFault(ssis.SidePrimary, fault.err)
				} else {
					f.world.SetWriteFault(ssis.SidePrimary, fault.err)
				}
				for i := range 4 {
					rep := f.tick(t)
					servingIsOff(t, f, "tick "+string(rune('1'+i)))
					if rep.Converged || !strings.Contains(strings.Join(rep.Problems, " "), "not started") {
						t.Fatalf("the report does not say what waits: converged %v, problems %v", rep.Converged, rep.Problems)
					}
					f.clock.Add(time.Minute)
				}
				// The old primary answers again: the pair converges, stop first.
				f.world.SetFault(ssis.SidePrimary, nil)
				f.world.SetWriteFault(ssis.SidePrimary, nil)
				f.clock.Add(31 * time.Minute) // past any back-off
				f.tick(t)
				f.tick(t)
				if bad := f.matches(ssis.SideSecondary, ssis.StandbyRunning); len(bad) > 0 {
					t.Fatalf("after the fault cleared: %v (writes %v)", bad, f.world.WritesSoFar())
				}
			})
		}
	}
}

func TestUnreachableStandbyIsTakenAsDownAndFencedOnceItAnswers(t *testing.T) {
	f := newFixture(t, ssis.StandbyRunning)
	f.world.SetDown(ssis.SidePrimary, true)
	f.world.SetRoles(ssis.Secondary, ssis.Primary)
	rep := f.tick(t)
	if got := f.world.Trigger(ssis.SideSecondary, "nightly"); got != ssis.TriggerStarted {
		t.Fatalf("the new primary's trigger is %s though the old side cannot be reached", got)
	}
	if !f.world.Schedule(ssis.SideSecondary, 7) {
		t.Fatal("the new primary's schedule was not enabled though the old side cannot be reached")
	}
	problems := strings.Join(rep.Problems, " ")
	if !strings.Contains(problems, "primary side") || !strings.Contains(problems, "unreachable") || !strings.Contains(problems, "as soon as it answers") {
		t.Fatalf("the report does not say which side was taken as down, and why: %v", rep.Problems)
	}
	ops, _ := f.journal.List(context.Background(), pairName, 0)
	if len(ops) == 0 || !strings.Contains(ops[len(ops)-1].Error, "unreachable") {
		t.Fatalf("the journal does not say the old side was taken as down: %+v", ops)
	}
	st, _ := f.rec.Status(context.Background())
	if len(st) != 1 || !strings.Contains(strings.Join(st[0].InFlight, " "), "primary") {
		t.Fatalf("the fence left to do is not shown: %+v", st)
	}
	// The old side comes back as it was when it was cut off: its trigger and schedule
	// still on. The next pass fences it.
	f.clock.Add(time.Minute)
	f.tick(t)
	if f.world.Trigger(ssis.SidePrimary, "nightly") != ssis.TriggerStarted {
		t.Fatal("precondition: the old side's trigger runs while it cannot be reached")
	}
	f.world.SetDown(ssis.SidePrimary, false)
	f.clock.Add(time.Minute)
	f.tick(t)
	if bad := f.matches(ssis.SideSecondary, ssis.StandbyRunning); len(bad) > 0 {
		t.Fatalf("the old side was not fenced on its first answer: %v (writes %v)", bad, f.world.WritesSoFar())
	}
	if rep := f.tick(t); !rep.Converged {
		t.Fatalf("not converged after the fence: %v %v", rep.Changes, rep.Problems)
	}
	if st, _ := f.rec.Status(context.Background()); len(st[0].InFlight) > 0 {
		t.Fatalf("the fence is still shown as pending: %v", st[0].InFlight)
	}
}

// A standby runtime start that spans ticks: meanwhile the old primary's trigger is
// started again by hand and its factory throttles. The new primary's trigger must
// not start once its runtime runs.
func TestRuntimeStartSpanningTicksStillStopsTheStandbyFirst(t *testing.T) {
	f := newFixture(t, ssis.StandbyStopped)
	f.world.SetRoles(ssis.Secondary, ssis.Primary)
	f.tick(t) // stops the old primary's trigger, begins the start of the new one's runtime
	f.world.PutTrigger(ssis.SidePrimary, "nightly", ssis.TriggerStarted)
	f.world.SetWriteFault(ssis.SidePrimary, drerr.Errorf(drerr.Throttled, "stop trigger nightly", "429 Too Many Requests"))
	for range 5 {
		f.clock.Add(time.Minute)
		f.tick(t)
	}
	if got := f.world.IR(ssis.SideSecondary); got != ssis.IRStarted {
		t.Fatalf("precondition: the new primary's runtime is %s", got)
	}
	if got := f.world.Trigger(ssis.SideSecondary, "nightly"); got != ssis.TriggerStopped {
		t.Fatalf("the new primary's trigger is %s while the old primary's runs (writes %v)", got, f.world.WritesSoFar())
	}
}

// The serving side's trigger and schedule are already on (they were turned on while
// the old side could not be reached) and the old side, back, refuses to stop. The
// report must say that both run, not that anything was left off.
func TestReportSaysSoWhenBothSidesRun(t *testing.T) {
	f := newFixture(t, ssis.StandbyRunning)
	f.world.SetRoles(ssis.Secondary, ssis.Primary)
	f.world.PutTrigger(ssis.SideSecondary, "nightly", ssis.TriggerStarted)
	f.world.PutSchedule(ssis.SideSecondary, 7, "load", true)
	f.world.SetWriteFault(ssis.SidePrimary, drerr.Errorf(drerr.Throttled, "stop", "429 Too Many Requests"))
	rep := f.tick(t)
	problems := strings.Join(rep.Problems, " ")
	if strings.Contains(problems, "left disabled") || strings.Contains(problems, "left stopped") {
		t.Fatalf("the report says something was left off that is on: %v", rep.Problems)
	}
	if !strings.Contains(problems, "trigger nightly runs on both sides") || !strings.Contains(problems, "schedule 7 (load) is enabled on both sides") {
		t.Fatalf("the report does not say that both sides run: %v", rep.Problems)
	}
}

// The order of the writes: the standby's stop and disable of each package come
// before the serving side's start and enable of it.
func TestServingSideTurnsOnOnlyAfterTheStandbyTurnsOff(t *testing.T) {
	for _, policy := range []ssis.Policy{ssis.StandbyRunning, ssis.StandbyStopped} {
		t.Run(string(policy), func(t *testing.T) {
			f := newFixture(t, policy)
			f.world.PutSchedule(ssis.SidePrimary, 8, "extract", true)
			f.world.PutSchedule(ssis.SideSecondary, 8, "extract", false)
			f.setEndpoint(ssis.SidePrimary, func(e *ssis.Endpoint) { e.ScheduleIDs = []int{7, 8} })
			f.setEndpoint(ssis.SideSecondary, func(e *ssis.Endpoint) { e.ScheduleIDs = []int{7, 8} })
			f.world.SetRoles(ssis.Secondary, ssis.Primary)
			for range 4 {
				f.tick(t)
			}
			w := f.world.WritesSoFar()
			for _, pair := range [][2]string{
				{"primary: stop trigger nightly", "secondary: start trigger nightly"},
				{"primary: schedule 7 enabled=false", "secondary: schedule 7 enabled=true"},
				{"primary: schedule 8 enabled=false", "secondary: schedule 8 enabled=true"},
			} {
				off, on := slices.Index(w, pair[0]), slices.Index(w, pair[1])
				if off < 0 || on < 0 || on < off {
					t.Fatalf("%q must come before %q: writes %v", pair[0], pair[1], w)
				}
			}
			if o := f.world.Overlaps(); len(o) > 0 {
				t.Fatalf("schedulable on both sides: %v", o)
			}
		})
	}
}

func TestPlannedSSISFailoverWaitsForTheOldPrimarysStop(t *testing.T) {
	for _, fault := range answeringFaults {
		t.Run(fault.name, func(t *testing.T) {
			f := newFixture(t, ssis.StandbyRunning)
			r := f.runner()
			f.world.SetWriteFault(ssis.SidePrimary, fault.err)
			c := command.Command{ID: "fo-held", Action: command.SSISFailover, Pair: pairName}
			submit(t, r, c)
			op := advance(t, f, r, c.ID, 8)
			if op.Status.Terminal() {
				t.Fatalf("the failover ended (%s: %s) while the old primary's trigger still runs", op.Status, op.Error)
			}
			servingIsOff(t, f, "while the old primary refuses")
			if st := op.StepByName(ssis.StepReconcile); st == nil || st.Status != journal.StepWaiting || !strings.Contains(st.Outcome, "not started") {
				t.Fatalf("the reconcile step does not say what it waits for: %+v", st)
			}
			f.world.SetWriteFault(ssis.SidePrimary, nil)
			f.clock.Add(31 * time.Minute)
			op = advance(t, f, r, c.ID, 8)
			if op.Status != journal.Succeeded {
				t.Fatalf("status %s: %s; steps %+v", op.Status, op.Error, op.Steps)
			}
			if bad := f.matches(ssis.SideSecondary, ssis.StandbyRunning); len(bad) > 0 {
				t.Fatalf("after the operation: %v", bad)
			}
		})
	}
}

func TestForcedSSISFailoverGoesPastARefusingOldPrimaryAndSaysSo(t *testing.T) {
	f := newFixture(t, ssis.StandbyRunning)
	f.overlapAllowed = true // the operator forced it
	r := f.runner()
	f.world.SetWriteFault(ssis.SidePrimary, drerr.Errorf(drerr.Throttled, "stop trigger nightly", "429 Too Many Requests"))
	c := command.Command{ID: "fo-forced", Action: command.SSISFailover, Pair: pairName, Force: true}
	submit(t, r, c)
	op := advance(t, f, r, c.ID, 8)
	if op.Status != journal.Succeeded {
		t.Fatalf("status %s: %s; steps %+v", op.Status, op.Error, op.Steps)
	}
	st := op.StepByName(ssis.StepReconcile)
	if st == nil || !strings.Contains(st.Outcome, "forced") || !strings.Contains(st.Outcome, "primary side") {
		t.Fatalf("the journal does not say stop-first was forced past: %+v", st)
	}
	if got := f.world.Trigger(ssis.SideSecondary, "nightly"); got != ssis.TriggerStarted {
		t.Fatalf("the new primary's trigger is %s", got)
	}
}

func TestAttachIRWaitsForTheOldRuntimesStop(t *testing.T) {
	for _, fault := range answeringFaults {
		t.Run(fault.name, func(t *testing.T) {
			f := newFixture(t, ssis.StandbyStopped)
			ff := &faultyFactory{Factory: f.world.Factory(ssis.SidePrimary)}
			ff.set(fault.err)
			f.setEndpoint(ssis.SidePrimary, func(e *ssis.Endpoint) { e.Factory = ff })
			r := f.runner()
			ctx := context.Background()
			c := command.Command{ID: "attach-held", Action: command.AttachIR, Pair: pairName, Side: "secondary"}
			_, _ = r.Submit(ctx, c, journal.Source{}, time.Time{}) // the journal, read below, is what counts
			for range 5 {
				f.clock.Add(time.Minute)
				_, _ = r.Advance(ctx)
			}
			op, _ := f.journal.Get(ctx, pairName, c.ID)
			if n := countPrefix(f.world.WritesSoFar(), "primary: failover_integration_runtime"); n > 0 || op.Status.Terminal() {
				t.Fatalf("attached (%d) or ended (%s: %s) while the old runtime may still run; stop step %+v", n, op.Status, op.Error, op.StepByName(ssis.StepStopOld))
			}
			ff.set(nil)
			f.clock.Add(31 * time.Minute)
			op = advance(t, f, r, c.ID, 10)
			if op.Status != journal.Succeeded {
				t.Fatalf("status %s: %s; steps %+v", op.Status, op.Error, op.Steps)
			}
			w := f.world.WritesSoFar()
			stop, attach := slices.Index(w, "primary: stop ir-primary"), slices.Index(w, "primary: failover_integration_runtime adf-secondary ir-secondary")
			if stop < 0 || attach < 0 || attach < stop {
				t.Fatalf("want the old runtime stopped before the attach: %v", w)
			}
		})
	}
}

func TestForcedAttachIRSkipsAnOldRuntimeThatDoesNotStopAndSaysSo(t *testing.T) {
	f := newFixture(t, ssis.StandbyStopped)
	f.overlapAllowed = true // the operator forced it
	ff := &faultyFactory{Factory: f.world.Factory(ssis.SidePrimary)}
	ff.set(drerr.Errorf(drerr.Throttled, "integration runtime status", "429 Too Many Requests"))
	f.setEndpoint(ssis.SidePrimary, func(e *ssis.Endpoint) { e.Factory = ff })
	r := f.runner()
	c := command.Command{ID: "attach-forced", Action: command.AttachIR, Pair: pairName, Side: "secondary", Force: true}
	submit(t, r, c)
	op := advance(t, f, r, c.ID, 10)
	if op.Status != journal.Succeeded {
		t.Fatalf("status %s: %s; steps %+v", op.Status, op.Error, op.Steps)
	}
	if st := op.StepByName(ssis.StepStopOld); st.Status != journal.StepSkipped || !strings.Contains(st.Outcome, "forced") {
		t.Fatalf("the skipped stop does not say it was forced: %s (%s)", st.Status, st.Outcome)
	}
}

// Timer passes, an operation, its redeliveries and status reads run at once, as a
// scaled-out app runs them, while the world changes under them: with -race this
// proves the reconciler and the runner share nothing unguarded, and the pair's lock
// keeps them from turning a package on on both sides.
func TestConcurrentPassesAndOperationsShareNothingUnguarded(t *testing.T) {
	f := newFixture(t, ssis.StandbyStopped)
	r := f.runner()
	r.PassWait = 10 * time.Millisecond
	ctx := context.Background()
	c := command.Command{ID: "fo-concurrent", Action: command.SSISFailover, Pair: pairName}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 30 {
				switch (g + i) % 4 {
				case 0:
					_, _ = f.rec.ReconcileAll(ctx) // faults are injected: errors are expected; the race detector and the checks below judge
				case 1:
					_, _ = r.Submit(ctx, c, journal.Source{}, time.Time{})
				case 2:
					_, _ = r.Advance(ctx)
				case 3:
					_, _ = f.rec.Status(ctx)
					f.world.SetWriteFault(ssis.SidePrimary, nil)
				}
				f.clock.Add(time.Second)
			}
		}()
	}
	wg.Wait()
	op := advance(t, f, r, c.ID, 20)
	if op.Status != journal.Succeeded {
		t.Fatalf("status %s: %s", op.Status, op.Error)
	}
}

// countingFactory counts the trigger stops asked of a factory.
type countingFactory struct {
	ssis.Factory
	mu    sync.Mutex
	stops int
}

func (f *countingFactory) SetTrigger(ctx context.Context, name string, start bool) error {
	if !start {
		f.mu.Lock()
		f.stops++
		f.mu.Unlock()
	}
	return f.Factory.SetTrigger(ctx, name, start)
}

// While a trigger runs on both sides, the stop of the standby's is not put off
// behind a growing back-off: it is what ends the overlap.
func TestAFenceEndingAnOverlapIsNotPutOff(t *testing.T) {
	f := newFixture(t, ssis.StandbyRunning)
	cf := &countingFactory{Factory: f.world.Factory(ssis.SidePrimary)}
	f.setEndpoint(ssis.SidePrimary, func(e *ssis.Endpoint) { e.Factory = cf })
	f.world.SetRoles(ssis.Secondary, ssis.Primary)
	f.world.PutTrigger(ssis.SideSecondary, "nightly", ssis.TriggerStarted)
	f.world.SetWriteFault(ssis.SidePrimary, drerr.Errorf(drerr.Throttled, "stop", "429 Too Many Requests"))
	for range 10 {
		f.tick(t)
		f.clock.Add(61 * time.Second)
	}
	if cf.stops < 10 {
		t.Fatalf("the standby's trigger stop was tried %d times in 10 minutes of overlap, want every tick", cf.stops)
	}
}
