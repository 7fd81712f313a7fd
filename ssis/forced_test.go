package ssis_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"integration-dr/command"
	"integration-dr/journal"
	"integration-dr/ssis"
)

// countingDB counts the schedule disables asked of an SSISDB.
type countingDB struct {
	ssis.Database
	mu       sync.Mutex
	disables int
}

func (d *countingDB) SetScheduleEnabled(ctx context.Context, id int, enabled bool) error {
	if !enabled {
		d.mu.Lock()
		d.disables++
		d.mu.Unlock()
	}
	return d.Database.SetScheduleEnabled(ctx, id, enabled)
}

func (d *countingDB) count() int { d.mu.Lock(); defer d.mu.Unlock(); return d.disables }

// A forced operation goes past a standby that answers but does not stop, and from
// then on a package may run on both sides: the standby's stop is what ends that, and
// it is tried on every pass of the operation, not put off behind the back-off its
// failures build up. Here the forced failover's reconcile waits
// for the new primary's runtime to start (StandbyStopped) with its schedule already
// enabled beside the old primary's, which refuses to disable.
func TestAForcedOperationDoesNotPutOffTheStopThatEndsItsOverlap(t *testing.T) {
	for _, fault := range answeringFaults {
		t.Run(fault.name, func(t *testing.T) {
			f := newFixture(t, ssis.StandbyStopped)
			f.overlapAllowed = true // the operator forced it
			cd := &countingDB{Database: f.world.DB(ssis.SidePrimary)}
			f.setEndpoint(ssis.SidePrimary, func(e *ssis.Endpoint) { e.DB = cd })
			f.world.SetWriteFault(ssis.SidePrimary, fault.err)

			r := f.runner()
			c := command.Command{ID: "fo-forced-wait", Action: command.SSISFailover, Pair: pairName, Force: true}
			submit(t, r, c)
			ctx := context.Background()
			overlapSince := time.Time{}
			before := cd.count()
			for range 30 {
				f.clock.Add(61 * time.Second)
				if _, err := r.Advance(ctx); err != nil {
					t.Fatalf("advance: %v", err)
				}
				if self, _, _ := f.world.Group(ssis.SideSecondary).Roles(ctx); self == ssis.Primary {
					f.world.SetPollsToFinish(60) // the new primary's runtime takes its time
				}
				if overlapSince.IsZero() && f.world.Schedule(ssis.SidePrimary, 7) && f.world.Schedule(ssis.SideSecondary, 7) {
					overlapSince, before = f.clock.Now(), cd.count()
				}
			}
			op, _ := f.journal.Get(ctx, pairName, c.ID)
			if op.Status.Terminal() || op.Status != journal.Waiting {
				t.Fatalf("the operation was to wait for the runtime: %s (%s)", op.Status, op.Error)
			}
			if overlapSince.IsZero() {
				t.Fatalf("the forced failover never enabled the new primary's schedule: writes %v", f.world.WritesSoFar())
			}
			minutes := int(f.clock.Now().Sub(overlapSince) / time.Minute)
			if tries := cd.count() - before; tries < minutes-1 {
				t.Fatalf("schedule 7 was enabled on both sides for %d minutes, and the old primary's disable was tried %d times in them, want about once a minute", minutes, tries)
			}
		})
	}
}
