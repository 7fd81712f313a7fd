package statuspage_test

import (
	"strings"
	"testing"
	"time"

	"integration-dr/overview"
	"integration-dr/replication"
)

// A readiness report made from the side no longer active says so, in the tile and in
// the readiness section; one made from the active side shows its verdict.
func TestRenderMarksAReadinessReportThatPredatesTheMove(t *testing.T) {
	page := render(t, with(func(o *overview.Overview) {
		o.Readiness[0].From, o.Readiness[0].To = replication.Primary, replication.Secondary // contoso-b2b is on its secondary
	}))
	if tile := tileOf(t, page, pairA); !strings.Contains(tile, `<span class="badge warn">readiness report predates the move</span>`) || !strings.HasPrefix(tile, `warn"`) {
		t.Errorf("tile:\n%s", tile)
	}
	if !strings.Contains(page, `<span class="badge warn">readiness report predates the move: secondary is active now</span>`) {
		t.Error("the readiness section does not say the report predates the move")
	}
	if !strings.Contains(page, `<span class="badge big muted">ready</span>`) {
		t.Error("the readiness section shows a report that predates the move with its verdict in colour")
	}
	page = render(t, sampleOverview())
	if strings.Contains(page, "predates the move") || !strings.Contains(tileOf(t, page, pairA), `<span class="badge ok">ready to move to primary</span>`) {
		t.Error("a report from the active side is shown as predating the move")
	}
}

// An SSIS pair's last reconcile older than a quarter of an hour is flagged, with its
// age, on the tile and the card; a recent one is not.
func TestRenderFlagsAnOldSSISReconcile(t *testing.T) {
	old := `<span class="badge warn">last reconcile 3 h ago</span>`
	page := render(t, with(func(o *overview.Overview) { o.SSIS[0].At = generated.Add(-3 * time.Hour) }))
	if tile := tileOf(t, page, ssisPair); !strings.Contains(tile, old) || !strings.HasPrefix(tile, `warn"`) {
		t.Errorf("tile:\n%s", tile)
	}
	if strings.Count(page, old) != 2 {
		t.Errorf("the age is not shown on both the tile and the SSIS card")
	}
	for _, age := range []time.Duration{50 * time.Second, 15 * time.Minute} {
		page = render(t, with(func(o *overview.Overview) { o.SSIS[0].At = generated.Add(-age) }))
		if tile := tileOf(t, page, ssisPair); !strings.HasPrefix(tile, `ok"`) || strings.Contains(page, `<span class="badge warn">last reconcile`) {
			t.Errorf("reconciled %s before: tile\n%s", age, tile)
		}
	}
}
