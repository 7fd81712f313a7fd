package statuspage_test

// Review tests of the status page: each fails on the code as reviewed.

import (
	"strings"
	"testing"
	"time"

	"integration-dr/failover"
	"integration-dr/overview"
	"integration-dr/replication"
	"integration-dr/ssis"
)

// tileOf is the "at a glance" tile of a pair.
func tileOf(t *testing.T, page, name string) string {
	t.Helper()
	for _, part := range strings.Split(page, `<article class="tile `)[1:] {
		tile, _, _ := strings.Cut(part, "</article>")
		if strings.Contains(tile, "<h3>"+name+"</h3>") {
			return tile
		}
	}
	t.Fatalf("no tile for %s", name)
	return ""
}

// The readiness report is kept hourly. Half an hour after a failover, the kept one is
// still the failover's ("primary → secondary", ready), and the tile of a pair now
// active on its secondary says, in green, "ready to move to secondary": the wrong
// direction, from before the move, presented as the pair's readiness now. What the
// operator needs to know then is whether a fallback could run.
func TestReviewTileDoesNotShowAReadinessReportOfTheOtherDirection(t *testing.T) {
	o := with(func(o *overview.Overview) {
		o.Streams = o.Streams[:1] // contoso-b2b, active on its secondary at epoch 5
		o.Readiness = []failover.Report{{
			Pair: pairA, At: generated.Add(-50 * time.Minute), From: replication.Primary, To: replication.Secondary,
			Checks: []failover.Check{
				{Name: failover.CheckNameReachable, OK: true}, {Name: failover.CheckNameAgreements, OK: true},
				{Name: failover.CheckNameDuplicates, OK: true}, {Name: failover.CheckNameRoom, OK: true}, {Name: failover.CheckNameLag, OK: true},
			},
		}}
	})
	if o.Streams[0].Active != replication.Secondary {
		t.Fatal("precondition: contoso-b2b is not on its secondary")
	}
	tile := tileOf(t, render(t, o), pairA)
	if strings.Contains(tile, `<span class="badge ok">ready to move to secondary</span>`) {
		t.Errorf("a pair active on its secondary shows a pre-failover report as 'ready to move to secondary' (ok):\n%s", tile)
	}
}

// An SSIS pair's tile is green ("converged") whatever the age of the last reconcile
// pass it shows: with ReconcileSSIS not running for hours (the app down, the timer
// failing), the failover group may have failed over since, and the glance still
// says SSISDB is primary on the old side, converged. The integration-account tiles
// turn red as their lag grows; nothing ages an SSIS tile.
func TestReviewSSISTileShowsThatItsStateIsOld(t *testing.T) {
	o := with(func(o *overview.Overview) {
		o.SSIS = o.SSIS[:1]
		o.SSIS[0].At = generated.Add(-3 * time.Hour) // DR_SSIS_SCHEDULE: every minute
	})
	if !o.SSIS[0].Converged || o.SSIS[0].Unknown != "" || o.SSIS[0].Sides[ssis.SideSecondary].Role != ssis.Primary {
		t.Fatal("precondition: the sample SSIS pair is not converged with known roles")
	}
	tile := tileOf(t, render(t, o), ssisPair)
	if strings.HasPrefix(tile, `ok"`) {
		t.Errorf("an SSIS pair last reconciled 3 hours ago is shown at a glance as ok, without its age:\n%s", tile)
	}
}
