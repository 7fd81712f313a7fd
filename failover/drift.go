package failover

import (
	"context"
	"fmt"
	"strings"

	"integration-dr/drift"
)

// CheckNameDrift is the readiness check of the pair's artifacts (partners, agreements,
// schemas, maps, certificates, batch configurations): the standby holds what the active
// side holds, but for the pair's allow-list of intended differences.
const CheckNameDrift = "artifacts match"

// DriftReporter compares a pair's two sides' artifacts now (the mirror's runner). An
// error says the pair has no artifacts to compare.
type DriftReporter interface {
	Report(ctx context.Context, pair string) (drift.PairReport, error)
}

// driftInReport is the most differences a readiness report carries (it is kept in one
// snapshot); drctl drift lists them all.
const driftInReport = 100

// addDrift adds the drift section and its check to rep. Each difference not on the
// allow-list makes the pair not ready, named with what differs; sides that could not
// be read are "not compared", never "no drift".
func (r *Runner) addDrift(ctx context.Context, rep *Report) {
	if r.Drift == nil {
		return
	}
	// Within the reach budget, as every other read of a report: a side that does not
	// answer must not hold up the operations timer that makes the report (and the
	// plans it advances); it is "not compared".
	cctx, cancel := context.WithTimeout(ctx, r.reach())
	defer cancel()
	d, err := r.Drift.Report(cctx, rep.Pair)
	if err != nil {
		return
	}
	d = d.Trim(driftInReport)
	rep.Drift = &d
	if !d.Compared() {
		rep.Checks = append(rep.Checks, Check{Name: CheckNameDrift, OK: true, NotChecked: true, Why: "not compared: " + d.NotCompared})
		return
	}
	reasons := d.Reasons()
	why := fmt.Sprintf("%d artifacts on the %s, %d on the %s", d.Result.Active, d.Active, d.Result.Standby, d.Standby)
	if n := len(d.Result.Differences) - len(reasons); n > 0 {
		why += fmt.Sprintf("; %d differences on the allow-list", n)
	}
	if len(reasons) > 0 {
		why = strings.Join(reasons, "; ")
		if d.Omitted > 0 {
			why += fmt.Sprintf("; and %d more differences (drctl drift --pair %s lists them all)", d.Omitted, rep.Pair)
		}
	}
	rep.Checks = append(rep.Checks, Check{Name: CheckNameDrift, OK: len(reasons) == 0, Why: why})
}
