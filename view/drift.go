package view

import (
	"fmt"
	"time"

	"integration-dr/drift"
	"integration-dr/journal"
	"integration-dr/mirror"
	"integration-dr/overview"
	"integration-dr/redact"
	"integration-dr/replication"
)

// Drift states, the words of the JSON contract.
const (
	DriftReady       = "ready"       // no difference outside the allow-list
	DriftNotReady    = "notReady"    // at least one difference outside it
	DriftNotCompared = "notCompared" // a side could not be read: nothing is known
	DriftStale       = "stale"       // a kept report too old, or from before the pair moved
)

// Drift is a comparison of a pair's two sides' artifacts: drctl drift --json, the
// drift section of a readiness report, the status document's drift reports.
type Drift struct {
	Pair       string    `json:"pair"`
	ComparedAt time.Time `json:"comparedAt"`
	Epoch      int64     `json:"epoch"`
	Active     string    `json:"active"`
	Standby    string    `json:"standby"`
	// AgeSeconds is how long before the document the comparison ran (0 for drctl drift).
	AgeSeconds float64 `json:"ageSeconds"`
	// State is ready, notReady, notCompared or stale; Ready is true only when it is
	// ready. StaleBecause says why a kept report is stale; [] when it is not.
	State        string   `json:"state"`
	Ready        bool     `json:"ready"`
	StaleBecause []string `json:"staleBecause"`
	// NotCompared says why the sides could not be compared; "" when they were.
	NotCompared  string `json:"notCompared"`
	ActiveCount  int    `json:"activeCount"`
	StandbyCount int    `json:"standbyCount"`
	Blocking     int    `json:"blocking"`
	Allowed      int    `json:"allowed"`
	// Omitted counts the differences a kept report leaves out (blocking ones are kept
	// first); 0 for a report made now.
	Omitted     int          `json:"omitted"`
	Differences []Difference `json:"differences"`
	// Scripts are what to run by hand on the standby for the artifacts a mirror only
	// reports (Agent jobs); [] in a kept report.
	Scripts []Script `json:"scripts"`
}

// Difference is one artifact that differs between the sides.
type Difference struct {
	Kind    string   `json:"kind"`
	Name    string   `json:"name"`
	Change  string   `json:"change"`
	What    string   `json:"what"`
	Fields  []string `json:"fields"`
	Allowed bool     `json:"allowed"`
}

// Script is what an operator runs on the standby for an artifact that is not copied.
type Script struct {
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Script string `json:"script"`
}

// FromDrift makes a drift report's view, masked.
func FromDrift(r drift.PairReport) Drift {
	v := Drift{
		Pair: r.Pair, ComparedAt: r.At.UTC(), Epoch: r.Epoch, Active: r.Active, Standby: r.Standby,
		NotCompared: redact.String(r.NotCompared), ActiveCount: r.Result.Active, StandbyCount: r.Result.Standby,
		Omitted: r.Omitted, Differences: []Difference{}, Scripts: []Script{}, StaleBecause: []string{},
	}
	for _, d := range r.Result.Differences {
		if d.Allowed {
			v.Allowed++
		} else {
			v.Blocking++
		}
		v.Differences = append(v.Differences, Difference{Kind: string(d.Kind), Name: redact.String(d.Name), Change: string(d.Change), What: redact.String(d.What), Fields: strs(d.Fields), Allowed: d.Allowed})
	}
	for _, s := range r.Scripts {
		v.Scripts = append(v.Scripts, Script{Kind: string(s.Kind), Name: redact.String(s.Name), Script: redact.String(s.Script)})
	}
	switch {
	case !r.Compared():
		v.State = DriftNotCompared
	case v.Blocking > 0:
		v.State = DriftNotReady
	default:
		v.State, v.Ready = DriftReady, true
	}
	return v
}

// FromKeptDrift makes the view of a kept drift report as it may be read at now: older
// than interval (0: never remade), or made while another side was active or at
// another epoch (current, when known), it is stale and says why.
func FromKeptDrift(r drift.PairReport, now time.Time, interval time.Duration, current *replication.ActiveRegion) Drift {
	v := FromDrift(r)
	age := max(now.Sub(r.At), 0)
	v.AgeSeconds = Seconds(age.Seconds())
	switch {
	case interval <= 0:
		v.StaleBecause = append(v.StaleBecause, fmt.Sprintf("made %s ago and not remade: the timer is off (DR_READINESS_EVERY=0)", age.Round(time.Second)))
	case age > interval:
		v.StaleBecause = append(v.StaleBecause, fmt.Sprintf("made %s ago, more than its interval (%s)", age.Round(time.Second), interval))
	}
	if current != nil && r.Compared() && (string(current.Active) != r.Active || current.Epoch != r.Epoch) {
		v.StaleBecause = append(v.StaleBecause, fmt.Sprintf("made with the %s active at epoch %d; the %s is active at epoch %d now", r.Active, r.Epoch, current.Active, current.Epoch))
	}
	if len(v.StaleBecause) > 0 {
		v.State, v.Ready = DriftStale, false
	}
	return v
}

// Mirror is a mirror operation and the plan it journaled: drctl mirror --json (a dry
// run, or --direct without --wait).
type Mirror struct {
	Operation Operation `json:"operation"`
	// Plan is null until the operation has journaled it (refused before, or queued).
	Plan *MirrorPlan `json:"plan"`
}

// MirrorPlan is what a mirror changes, in order, and what it leaves alone.
type MirrorPlan struct {
	Pair         string         `json:"pair"`
	Epoch        int64          `json:"epoch"`
	From         string         `json:"from"`
	To           string         `json:"to"`
	Prune        bool           `json:"prune"`
	ActiveCount  int            `json:"activeCount"`
	StandbyCount int            `json:"standbyCount"`
	Changes      []MirrorChange `json:"changes"`
	Kept         []MirrorChange `json:"kept"`
	Scripts      []Script       `json:"scripts"`
}

// MirrorChange is one change of a plan, or one difference it leaves alone (Why).
type MirrorChange struct {
	Kind   string   `json:"kind"`
	Name   string   `json:"name"`
	Change string   `json:"change"`
	What   string   `json:"what"`
	Fields []string `json:"fields"`
	Why    string   `json:"why"`
}

// FromMirror makes a mirror's view; pl is nil when the operation has no plan yet.
func FromMirror(op journal.Operation, pl *mirror.Plan) Mirror {
	v := Mirror{Operation: FromOperation(op)}
	if pl == nil {
		return v
	}
	p := &MirrorPlan{
		Pair: pl.Pair, Epoch: pl.Epoch, From: string(pl.From), To: string(pl.To), Prune: pl.Prune,
		ActiveCount: pl.Active, StandbyCount: pl.Standby, Changes: []MirrorChange{}, Kept: []MirrorChange{}, Scripts: []Script{},
	}
	item := func(it mirror.Item) MirrorChange {
		return MirrorChange{Kind: string(it.Kind), Name: redact.String(it.Name), Change: string(it.Change), What: redact.String(it.What), Fields: strs(it.Fields), Why: redact.String(it.Why)}
	}
	for _, c := range pl.Changes {
		p.Changes = append(p.Changes, item(c))
	}
	for _, k := range pl.Kept {
		p.Kept = append(p.Kept, item(k))
	}
	for _, s := range pl.Scripts {
		p.Scripts = append(p.Scripts, Script{Kind: string(s.Kind), Name: redact.String(s.Name), Script: redact.String(s.Script)})
	}
	v.Plan = p
	return v
}

// readinessDrift is a readiness report's drift section: stale with its report.
func readinessDrift(j overview.Judged) *Drift {
	if j.Report.Drift == nil {
		return nil
	}
	d := FromDrift(*j.Report.Drift)
	d.AgeSeconds = Seconds(j.Age.Seconds())
	if len(j.Stale) > 0 {
		d.State, d.Ready, d.StaleBecause = DriftStale, false, strs(j.Stale)
	}
	return &d
}

// keptDrift judges each kept drift report against the overview's moment, interval
// and, for an integration-account pair, its stream's active side and epoch.
func keptDrift(o overview.Overview) []Drift {
	out := []Drift{}
	for _, r := range o.Drift {
		var current *replication.ActiveRegion
		for _, s := range o.Streams {
			if s.Pair == r.Pair {
				current = &replication.ActiveRegion{Active: s.Active, Epoch: s.Epoch}
			}
		}
		out = append(out, FromKeptDrift(r, o.Generated, o.ReadinessEvery, current))
	}
	return out
}
