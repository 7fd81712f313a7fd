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
	if !strings.Contains(page, `<span class="badge big warn">stale: not a verdict on now</span>`) || strings.Contains(page, `<span class="badge big ok">ready</span>`) {
		t.Error("the readiness section shows a report that predates the move with its verdict")
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

// A kept report older than its interval, or made at another epoch than the pair's
// current one, is stale: never "ready", none of its checks "pass", and the page says
// why; a check that was not made is "not checked", never "pass".
func TestRenderNeverShowsAStaleReadinessReportAsPass(t *testing.T) {
	tests := []struct {
		name   string
		change func(o *overview.Overview)
		why    string
	}{
		{"older than its interval", func(o *overview.Overview) { o.Readiness[0].At = generated.Add(-61 * time.Minute) }, "more than its interval (1h0m0s)"},
		{"from an earlier epoch", func(o *overview.Overview) { o.Readiness[0].Epoch = 4 }, "made at epoch 4; the pair is at epoch 5 now"},
		{"with the timer off", func(o *overview.Overview) { o.ReadinessEvery = 0 }, "the readiness timer is off"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := render(t, with(func(o *overview.Overview) { o.Readiness = o.Readiness[:1]; tt.change(o) }))
			if tile := tileOf(t, page, pairA); strings.Contains(tile, "ready to move") || !strings.Contains(tile, "readiness report stale") {
				t.Errorf("tile:\n%s", tile)
			}
			if strings.Contains(page, ">pass<") || strings.Contains(page, `<span class="badge big ok">ready</span>`) || !strings.Contains(page, tt.why) {
				t.Errorf("the readiness section shows a stale report as pass, or not why it is stale")
			}
		})
	}
	page := render(t, with(func(o *overview.Overview) {
		o.Readiness = o.Readiness[:1]
		o.Readiness[0].Checks[1].NotChecked = true
	}))
	if !strings.Contains(page, `<th scope="row">agreements match</th><td><span class="badge warn">not checked</span>`) {
		t.Error("a check not made is not shown as not checked")
	}
}
