package overview

import (
	"fmt"
	"time"

	"integration-dr/failover"
	"integration-dr/replication"
)

// Readiness states and check verdicts as every surface shows them (the JSON, the
// page, drctl). They are the words of the JSON contract: change them only with it.
const (
	StateReady    = "ready"
	StateNotReady = "notReady"
	StateStale    = "stale"

	VerdictPass       = "pass"
	VerdictFail       = "fail"
	VerdictWarn       = "warn"
	VerdictNotChecked = "notChecked"
	VerdictStale      = "stale"
)

// Judged is a readiness report as it may be read now: a report says what held when
// it was made, and a kept one may be old, or from before the pair last moved.
type Judged struct {
	Report failover.Report
	// Age is how long before now the report was made.
	Age time.Duration
	// Interval is how often the operations timer remakes it (DR_READINESS_EVERY);
	// 0 when the timer does not.
	Interval time.Duration
	// Current is the pair's active side and epoch now; nil when unknown.
	Current *replication.ActiveRegion
	// Stale says, one reason each, why the report may not be read as now; empty
	// when it may.
	Stale []string
}

// Judge weighs r against now: older than interval, made at another epoch than the
// pair's current one, or from the side that is no longer active, it is stale. A
// report made just now (drctl readiness) is judged with interval 0 and age 0.
func Judge(r failover.Report, now time.Time, interval time.Duration, current *replication.ActiveRegion, fresh bool) Judged {
	j := Judged{Report: r, Age: max(now.Sub(r.At), 0), Interval: interval, Current: current}
	if fresh {
		return j
	}
	switch {
	case r.At.IsZero():
		j.Stale = append(j.Stale, "made at an unknown time")
	case interval <= 0:
		j.Stale = append(j.Stale, fmt.Sprintf("made %s ago and not remade: the readiness timer is off (DR_READINESS_EVERY=0)", j.Age.Round(time.Second)))
	case j.Age > interval:
		j.Stale = append(j.Stale, fmt.Sprintf("made %s ago, more than its interval (%s)", j.Age.Round(time.Second), interval))
	}
	switch {
	case current == nil:
		j.Stale = append(j.Stale, "the pair's current epoch could not be read")
	case r.Epoch != current.Epoch:
		j.Stale = append(j.Stale, fmt.Sprintf("made at epoch %d; the pair is at epoch %d now", r.Epoch, current.Epoch))
	case r.From != "" && current.Active != "" && r.From != current.Active:
		j.Stale = append(j.Stale, fmt.Sprintf("made from %s; %s is active now", r.From, current.Active))
	}
	return j
}

// State is the report's verdict as it may be read now: stale, ready (nothing stands
// in the way of the move, as its plan would judge it) or notReady.
func (j Judged) State() string {
	if len(j.Stale) > 0 {
		return StateStale
	}
	if !j.Report.Ready() {
		return StateNotReady
	}
	return StateReady
}

// Ready is State() == StateReady.
func (j Judged) Ready() bool { return j.State() == StateReady }

// Verdict is c's verdict as it may be read now: a stale report's checks are all
// stale (none of them says anything about now), a check not made is notChecked,
// never pass.
func (j Judged) Verdict(c failover.Check) string {
	switch {
	case len(j.Stale) > 0:
		return VerdictStale
	case c.NotChecked:
		return VerdictNotChecked
	case !c.OK:
		return VerdictFail
	case c.Warn:
		return VerdictWarn
	}
	return VerdictPass
}

// Judge weighs one of o's kept readiness reports against the moment o was made, the
// readiness interval and the pair's stream as o holds it.
func (o Overview) Judge(r failover.Report) Judged {
	var current *replication.ActiveRegion
	for _, s := range o.Streams {
		if s.Pair == r.Pair {
			current = &replication.ActiveRegion{Active: s.Active, Epoch: s.Epoch}
		}
	}
	return Judge(r, o.Generated, o.ReadinessEvery, current, false)
}
