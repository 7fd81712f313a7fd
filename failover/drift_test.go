package failover

import (
	"context"
	"strings"
	"testing"

	"integration-dr/drift"
)

type driftStub struct{ rep drift.PairReport }

func (s driftStub) Report(context.Context, string) (drift.PairReport, error) { return s.rep, nil }

func TestReadinessCarriesTheDriftAndItsVerdict(t *testing.T) {
	d := func(allowed bool) drift.Difference {
		return drift.Difference{Kind: drift.Map, Name: "OrdersToSAP", Change: drift.Create, What: "only on the active side", Allowed: allowed}
	}
	tests := []struct {
		name    string
		rep     drift.PairReport
		ready   bool
		checked bool
		why     string
	}{
		{"no drift", drift.PairReport{Active: "primary", Standby: "secondary", Result: drift.Result{Active: 4, Standby: 4}}, true, true, "4 artifacts on the primary, 4 on the secondary"},
		{"an allowed difference", drift.PairReport{Result: drift.Result{Differences: []drift.Difference{d(true)}}}, true, true, "1 differences on the allow-list"},
		{"an unlisted difference names the artifact", drift.PairReport{Result: drift.Result{Differences: []drift.Difference{d(false)}}}, false, true, "map OrdersToSAP: only on the active side"},
		{"a side that did not answer is not compared", drift.PairReport{NotCompared: "the standby (secondary) did not answer: 429"}, true, false, "not compared: the standby"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Runner{Drift: driftStub{tt.rep}}
			rep := Report{Pair: "contoso-b2b", Checks: []Check{{Name: CheckNameReachable, OK: true}}}
			r.addDrift(context.Background(), &rep)
			c := rep.Checks[len(rep.Checks)-1]
			if c.Name != CheckNameDrift || rep.Ready() != tt.ready || c.NotChecked == tt.checked || !strings.Contains(c.Why, tt.why) {
				t.Errorf("check %+v, ready %v", c, rep.Ready())
			}
			if rep.Drift == nil {
				t.Error("no drift section")
			}
		})
	}
}
