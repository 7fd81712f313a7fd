package ssis_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"integration-dr/journal"
	"integration-dr/journal/journaltest"
	"integration-dr/mssql"
	"integration-dr/ssis"
	"integration-dr/ssis/ssistest"
)

const pairName = "ssis-prod"

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	world   *ssistest.World
	store   *ssistest.Store
	journal *journaltest.Store
	clock   *clock
	rec     *ssis.Reconciler
	// overlapAllowed: the test forces an operation past stop-first on purpose.
	overlapAllowed bool
}

// newFixture is a Managed Instance pair in its converged state: the primary side is
// Primary, both runtimes run, the primary's trigger is started and its schedule
// enabled, the secondary's stopped and disabled.
func newFixture(t *testing.T, policy ssis.Policy) *fixture {
	t.Helper()
	w := ssistest.NewWorld()
	w.PutTrigger(ssis.SidePrimary, "nightly", ssis.TriggerStarted)
	w.PutTrigger(ssis.SideSecondary, "nightly", ssis.TriggerStopped)
	w.PutTrigger(ssis.SideSecondary, "hourly", ssis.TriggerStopped, "dr-follow")
	w.PutTrigger(ssis.SideSecondary, "unrelated", ssis.TriggerStarted)
	w.PutSchedule(ssis.SidePrimary, 7, "load", true)
	w.PutSchedule(ssis.SideSecondary, 7, "load", false)
	if policy == ssis.StandbyStopped {
		w.SetIR(ssis.SideSecondary, ssis.IRStopped)
	}
	c := &clock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	j := journaltest.New()
	j.Now = c.Now
	primary := w.Endpoint(ssis.SidePrimary, []string{"nightly"}, []int{7})
	secondary := w.Endpoint(ssis.SideSecondary, []string{"nightly"}, []int{7})
	secondary.TriggerAnnotation = "dr-follow"
	f := &fixture{world: w, store: ssistest.NewStore(), journal: j, clock: c}
	// Whatever a test does, the app never makes a package schedulable on both sides.
	t.Cleanup(func() {
		if o := w.Overlaps(); len(o) > 0 && !f.overlapAllowed {
			t.Errorf("a package was made schedulable on both sides: %v; writes %v", o, w.WritesSoFar())
		}
	})
	f.rec = &ssis.Reconciler{
		Store: f.store, Journal: j, Now: c.Now,
		Pairs: map[string]ssis.Pair{pairName: {Name: pairName, Kind: mssql.ManagedInstance, Standby: policy,
			Sides: map[ssis.Side]ssis.Endpoint{ssis.SidePrimary: primary, ssis.SideSecondary: secondary}}},
	}
	return f
}

func (f *fixture) tick(t *testing.T) ssis.Report {
	t.Helper()
	reps, err := f.rec.ReconcileAll(context.Background())
	if err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	if len(reps) != 1 {
		t.Fatalf("got %d reports, want 1", len(reps))
	}
	return reps[0]
}

// matches reports whether the world follows the roles: the given side's trigger
// started and schedule enabled, the other's stopped and disabled, its runtime running,
// the other's as the policy says.
func (f *fixture) matches(primary ssis.Side, policy ssis.Policy) []string {
	var bad []string
	w := f.world
	if w.Trigger(primary, "nightly") != ssis.TriggerStarted {
		bad = append(bad, "primary's trigger not started")
	}
	if w.Trigger(primary.Other(), "nightly") != ssis.TriggerStopped {
		bad = append(bad, "standby's trigger not stopped")
	}
	if !w.Schedule(primary, 7) || w.Schedule(primary.Other(), 7) {
		bad = append(bad, "schedules do not follow the role")
	}
	if w.IR(primary) != ssis.IRStarted {
		bad = append(bad, "primary's runtime is "+w.IR(primary))
	}
	want := ssis.IRStarted
	if policy == ssis.StandbyStopped {
		want = ssis.IRStopped
	}
	if w.IR(primary.Other()) != want {
		bad = append(bad, "standby's runtime is "+w.IR(primary.Other()))
	}
	return bad
}

func TestConvergedPairChangesNothing(t *testing.T) {
	for _, policy := range []ssis.Policy{ssis.StandbyRunning, ssis.StandbyStopped} {
		t.Run(string(policy), func(t *testing.T) {
			f := newFixture(t, policy)
			for range 3 {
				rep := f.tick(t)
				if !rep.Converged || len(rep.Changes) > 0 || len(rep.Problems) > 0 {
					t.Fatalf("converged pair: changes %v, problems %v", rep.Changes, rep.Problems)
				}
			}
			if w := f.world.WritesSoFar(); len(w) > 0 {
				t.Fatalf("a converged pair wrote: %v", w)
			}
			if ops, _ := f.journal.List(context.Background(), pairName, 0); len(ops) != 0 {
				t.Fatalf("a converged pair journaled %d entries", len(ops))
			}
		})
	}
}

func TestRolesFlipWithinTwoTicks(t *testing.T) {
	for _, policy := range []ssis.Policy{ssis.StandbyRunning, ssis.StandbyStopped} {
		t.Run(string(policy), func(t *testing.T) {
			f := newFixture(t, policy)
			f.world.SetRoles(ssis.Secondary, ssis.Primary)
			f.tick(t)
			f.tick(t)
			if policy == ssis.StandbyStopped {
				// The runtime's start spans ticks; triggers wait for it.
				if got := f.world.IR(ssis.SideSecondary); got != ssis.IRStarting {
					t.Fatalf("new primary's runtime is %s after two ticks, want Starting", got)
				}
				if got := f.world.Trigger(ssis.SideSecondary, "nightly"); got != ssis.TriggerStopped {
					t.Fatalf("trigger %s before its runtime runs", got)
				}
				f.tick(t)
				f.tick(t)
			}
			if bad := f.matches(ssis.SideSecondary, policy); len(bad) > 0 {
				t.Fatalf("after two ticks: %v (writes %v)", bad, f.world.WritesSoFar())
			}
			if got := f.world.Trigger(ssis.SideSecondary, "hourly"); got != ssis.TriggerStarted {
				t.Errorf("the trigger carrying the annotation is %s, want Started", got)
			}
			if got := f.world.Trigger(ssis.SideSecondary, "unrelated"); got != ssis.TriggerStarted {
				t.Errorf("a trigger not listed was changed to %s", got)
			}
			// What must stop goes before what starts: never both sides' triggers at once.
			w := f.world.WritesSoFar()
			stop := slices.Index(w, "primary: stop trigger nightly")
			start := slices.Index(w, "secondary: start trigger nightly")
			if stop < 0 || start < 0 || stop > start {
				t.Fatalf("trigger writes out of order: %v", w)
			}
			// Converged again: the third tick changes nothing.
			n := len(f.world.WritesSoFar())
			if rep := f.tick(t); !rep.Converged || len(f.world.WritesSoFar()) != n {
				t.Fatalf("third tick: converged %v, changes %v, problems %v", rep.Converged, rep.Changes, rep.Problems)
			}
			ops, _ := f.journal.List(context.Background(), pairName, 0)
			if len(ops) == 0 || ops[len(ops)-1].Action != "reconcile" || !strings.Contains(ops[len(ops)-1].Reason, "failover group via") {
				t.Fatalf("changes were not journaled with the role reading: %+v", ops)
			}
		})
	}
}

func TestUnknownRoleChangesNothing(t *testing.T) {
	cases := []struct {
		name  string
		setup func(w *ssistest.World)
		want  string
	}{
		{"no row on a side", func(w *ssistest.World) { w.SetSQLRole(ssis.SideSecondary, "none") }, "no geo-replication link"},
		{"SSISDB disagrees with ARM", func(w *ssistest.World) { w.SetSQLRole(ssis.SidePrimary, "SECONDARY") }, "SSISDB there says"},
		{"neither side answers", func(w *ssistest.World) {
			w.SetDown(ssis.SidePrimary, true)
			w.SetDown(ssis.SideSecondary, true)
		}, "neither side"},
		{"two primaries", func(w *ssistest.World) { w.SetRoles(ssis.Primary, ssis.Primary) }, "not one primary and one secondary"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, ssis.StandbyStopped)
			// Something would change if the role were known: the standby runs.
			f.world.SetIR(ssis.SideSecondary, ssis.IRStarted)
			tc.setup(f.world)
			for range 3 {
				rep := f.tick(t)
				if !strings.Contains(rep.Unknown, tc.want) {
					t.Fatalf("unknown = %q, want it to say %q", rep.Unknown, tc.want)
				}
			}
			if w := f.world.WritesSoFar(); len(w) > 0 {
				t.Fatalf("an unknown role changed things: %v", w)
			}
			ops, _ := f.journal.List(context.Background(), pairName, 0)
			if len(ops) != 1 || ops[0].Status != journal.Rejected || !strings.Contains(ops[0].Error, tc.want) {
				t.Fatalf("want the unknown role journaled once, got %+v", ops)
			}
		})
	}
}

func TestOneSideDownStillFollowsTheOther(t *testing.T) {
	f := newFixture(t, ssis.StandbyRunning)
	// The primary's region is gone; the group was forced over to the secondary.
	f.world.SetDown(ssis.SidePrimary, true)
	f.world.SetRoles(ssis.Secondary, ssis.Primary)
	rep := f.tick(t)
	if rep.Unknown != "" {
		t.Fatalf("the secondary answers for both, yet the role is unknown: %s", rep.Unknown)
	}
	if got := f.world.Trigger(ssis.SideSecondary, "nightly"); got != ssis.TriggerStarted {
		t.Fatalf("the new primary's trigger is %s", got)
	}
	if len(rep.Problems) == 0 {
		t.Fatal("the side that does not answer is not reported")
	}
}

func TestStartSpansTicksAndSurvivesRestart(t *testing.T) {
	f := newFixture(t, ssis.StandbyStopped)
	f.world.PollsToFinish = 3
	f.world.SetRoles(ssis.Secondary, ssis.Primary)
	f.tick(t) // begins the start
	if got := f.world.IR(ssis.SideSecondary); got != ssis.IRStarting {
		t.Fatalf("runtime is %s after the first tick, want Starting", got)
	}
	// A new process: nothing in memory, the token in the store.
	restarted := *f.rec
	f.rec = &restarted
	for i := 0; i < 5 && f.world.IR(ssis.SideSecondary) != ssis.IRStarted; i++ {
		f.tick(t)
	}
	if got := f.world.IR(ssis.SideSecondary); got != ssis.IRStarted {
		t.Fatalf("runtime is %s after the restart, want Started", got)
	}
	starts := 0
	for _, w := range f.world.WritesSoFar() {
		if w == "secondary: start ir-secondary" {
			starts++
		}
	}
	if starts != 1 {
		t.Fatalf("the runtime was started %d times, want once", starts)
	}
}

func TestFailedStartIsRetriedWithBackoff(t *testing.T) {
	f := newFixture(t, ssis.StandbyStopped)
	f.world.PollsToFinish = 1
	f.world.SetRoles(ssis.Secondary, ssis.Primary)
	f.world.FailStarts(ssis.SideSecondary, 2)
	rep := f.tick(t)
	if len(rep.Problems) == 0 || !strings.Contains(strings.Join(rep.Problems, " "), "try 1") {
		t.Fatalf("failed start not reported: %v", rep.Problems)
	}
	f.tick(t) // within the back-off: no new try
	if got := countPrefix(f.world.WritesSoFar(), "secondary: start ir"); got != 0 {
		t.Fatalf("%d starts went through during the back-off", got)
	}
	f.clock.Add(61 * time.Second)
	rep = f.tick(t) // second try fails; back-off doubles
	if !strings.Contains(strings.Join(rep.Problems, " "), "try 2") {
		t.Fatalf("second failure not reported: %v", rep.Problems)
	}
	f.clock.Add(61 * time.Second)
	f.tick(t)
	if got := countPrefix(f.world.WritesSoFar(), "secondary: start ir"); got != 0 {
		t.Fatalf("a start went through before the doubled back-off ended")
	}
	f.clock.Add(61 * time.Second)
	f.tick(t) // begins
	f.tick(t) // polls to completion
	if got := f.world.IR(ssis.SideSecondary); got != ssis.IRStarted {
		t.Fatalf("runtime is %s after the back-off, want Started", got)
	}
	if rep := f.tick(t); !rep.Converged {
		t.Fatalf("not converged after the retry: %v %v", rep.Changes, rep.Problems)
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	f := newFixture(t, ssis.StandbyStopped)
	f.world.SetRoles(ssis.Secondary, ssis.Primary)
	saves := f.store.Saves
	rep, err := f.rec.Reconcile(context.Background(), pairName, ssis.Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Changes) < 4 {
		t.Fatalf("dry run lists %v, want the triggers, schedules and runtimes", rep.Changes)
	}
	if w := f.world.WritesSoFar(); len(w) > 0 || f.store.Saves != saves {
		t.Fatalf("dry run changed things: writes %v, saves %d", w, f.store.Saves-saves)
	}
}

func TestSQLDatabaseHasNoAgent(t *testing.T) {
	f := newFixture(t, ssis.StandbyRunning)
	p := f.rec.Pairs[pairName]
	p.Kind = mssql.SQLDatabase
	f.rec.Pairs[pairName] = p
	f.world.SetRoles(ssis.Secondary, ssis.Primary)
	rep := f.tick(t)
	if !strings.Contains(rep.Sides[ssis.SidePrimary].Agent, "no SQL Agent") {
		t.Fatalf("status does not say why schedules are left alone: %+v", rep.Sides[ssis.SidePrimary])
	}
	if f.world.Schedule(ssis.SidePrimary, 7) != true {
		t.Fatal("a schedule was changed on Azure SQL Database")
	}
	if len(rep.Problems) != 0 {
		t.Fatalf("no Agent is not a failure: %v", rep.Problems)
	}
}

func countPrefix(xs []string, prefix string) int {
	n := 0
	for _, x := range xs {
		if strings.HasPrefix(x, prefix) {
			n++
		}
	}
	return n
}

// slowGroup answers only after the pass's lock has run out, and meanwhile a command
// takes the pair, as when a side hangs for the full call timeout many times over.
type slowGroup struct {
	ssis.FailoverGroup
	f *fixture
}

func (g slowGroup) Roles(ctx context.Context) (ssis.Role, ssis.Role, error) {
	g.f.clock.Add(3 * time.Minute)
	if _, err := g.f.journal.Lock(ctx, pairName, "fo-meanwhile", g.f.clock.Now().Add(time.Hour)); err != nil {
		return "", "", err
	}
	return g.FailoverGroup.Roles(ctx)
}

func TestAPassThatOutlivesItsLockStopsBeforeWriting(t *testing.T) {
	f := newFixture(t, ssis.StandbyStopped)
	f.world.SetRoles(ssis.Secondary, ssis.Primary) // there is work to do
	p := f.rec.Pairs[pairName]
	e := p.Sides[ssis.SideSecondary]
	e.Group = slowGroup{e.Group, f}
	p.Sides[ssis.SideSecondary] = e
	f.rec.Pairs[pairName] = p
	reps, _ := f.rec.ReconcileAll(context.Background())
	if w := f.world.WritesSoFar(); len(w) > 0 {
		t.Fatalf("a pass that lost the pair to a command went on writing: %v", w)
	}
	if len(reps) != 1 || !strings.Contains(strings.Join(reps[0].Problems, " "), "could not keep the pair") {
		t.Fatalf("the pass does not say why it stopped: %+v", reps)
	}
}
