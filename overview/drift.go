package overview

import (
	"context"

	"integration-dr/drift"
	"integration-dr/redact"
)

// Drift reads each pair's kept drift report (the mirror's runner keeps them).
type Drift interface {
	LastReports(ctx context.Context) ([]drift.PairReport, error)
}

// collectDrift adds the kept drift reports of the pairs wanted to o, masked.
func collectDrift(ctx context.Context, src Drift, o *Overview, want func(string) bool) {
	if src == nil {
		return
	}
	reps, err := src.LastReports(ctx)
	for _, e := range joined(err) {
		o.Problems = append(o.Problems, "drift reports: "+redact.String(e.Error()))
	}
	for _, r := range reps {
		if want(r.Pair) {
			r.NotCompared = redact.String(r.NotCompared)
			o.Drift = append(o.Drift, r)
		}
	}
}
