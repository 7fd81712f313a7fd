package failover

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"integration-dr/command"
	"integration-dr/drerr"
	"integration-dr/drift"
	"integration-dr/journal"
	"integration-dr/replication"
)

// Readiness check names, in the order a report lists them.
const (
	CheckNameReachable  = "target reachable"
	CheckNameAgreements = "agreements match"
	CheckNameDuplicates = "duplicate checks on receive"
	CheckNameRoom       = "room in every bound"
	CheckNameLag        = "replication lag"
	// CheckNameReplicated is listed only for a pair whose replication leaves out
	// generated control numbers: it never passes.
	CheckNameReplicated = "generated numbers replicated"
	// CheckNameRoutes and CheckNameWorkflows are listed only for a pair that has
	// routes, or intake workflows, configured.
	CheckNameRoutes    = "routes exist, target healthy"
	CheckNameWorkflows = "intake workflows exist"
	// CheckNameComplete fails a kept report that ran out of its budget.
	CheckNameComplete = "report complete"
)

// Check is one readiness check's verdict.
type Check struct {
	Name string
	OK   bool
	// Warn: the check found something the pair's policy only warns about.
	Warn bool `json:",omitempty"`
	// NotChecked: the check could not be made (the old side neither answered nor was
	// ever recorded); OK then says only that it does not stand in the way.
	NotChecked bool   `json:",omitempty"`
	Why        string `json:",omitempty"`
}

// Report is whether a pair could move its active side now, every check with its
// verdict: what an operator reads before a disaster, not during one.
type Report struct {
	Pair string
	At   time.Time
	// Epoch is the pair's epoch the report was made at: one from another epoch checked
	// a world that has since moved.
	Epoch    int64 `json:",omitempty"`
	From, To replication.Region
	Checks   []Check
	// Bumps are the numbers the move would bump now ("session: from -> to").
	Bumps []string `json:",omitempty"`
	// Notes are what the checks noticed beside their verdicts.
	Notes []string `json:",omitempty"`
	// Routes are both sides' routes as read for the report, each with its time.
	Routes []RouteReading `json:",omitempty"`
	// Drift is the comparison of the sides' artifacts (nil when the pair has none to
	// compare): see drift.go.
	Drift *drift.PairReport `json:",omitempty"`
}

// Ready says every check passed.
func (r Report) Ready() bool {
	for _, c := range r.Checks {
		if !c.OK {
			return false
		}
	}
	return len(r.Checks) > 0
}

// Readiness runs, changing nothing, every check a failover of the pair (a fallback,
// when the secondary is active) would run now: the target answers, its agreements
// match the active side's by name and protocol, they check received numbers for
// duplicates, every generated number has room for its bump, and replication's lag is
// within MaxLag.
func (r *Runner) Readiness(ctx context.Context, name string) (Report, error) {
	pair, ok := r.Pairs[name]
	if !ok {
		return Report{}, drerr.Errorf(drerr.Invalid, "readiness", "%q is not an integration-account pair", name)
	}
	cp, region, err := r.Streams.Load(ctx, name)
	if err != nil {
		return Report{}, err
	}
	action := command.Failover
	if region.Active == replication.Secondary {
		action = command.Fallback
	}
	op := journal.Operation{ID: "readiness", Action: action, Pair: name, DryRun: true}
	p := &plan{r: r, pair: pair, op: &op}
	from, to := p.direction()
	rep := Report{Pair: name, At: r.now(), Epoch: region.Epoch, From: from, To: to}
	add := func(c Check) { rep.Checks = append(rep.Checks, c) }
	intake := r.intakeChecks(ctx, pair, from, to, &rep)

	agreements, noChecks, notes, err := p.assess(ctx)
	if err != nil {
		add(Check{Name: CheckNameReachable, Why: err.Error()})
		rep.Checks = append(rep.Checks, intake...)
		r.addDrift(ctx, &rep)
		return rep, nil
	}
	rep.Notes = notes
	add(Check{Name: CheckNameReachable, OK: true, Why: fmt.Sprintf("%d agreements", len(p.target))})
	why := strings.Join(agreements.Reasons, "; ")
	if agreements.NotCompared {
		why = "not compared: the old side's agreements could neither be read nor were ever recorded"
	}
	add(Check{Name: CheckNameAgreements, OK: agreements.Ready(), NotChecked: agreements.NotCompared, Why: why})
	if why := p.unreplicated(); why != "" {
		add(Check{Name: CheckNameReplicated, Why: why})
	}
	// Duplicate checks off refuse a move or only warn, as the pair's policy says.
	add(Check{Name: CheckNameDuplicates, OK: len(noChecks) == 0 || !pair.RequireDuplicateChecks,
		Warn: len(noChecks) > 0 && !pair.RequireDuplicateChecks, Why: strings.Join(noChecks, "; ")})

	op.LagAtStart = replication.Lag(cp, r.now())
	var bumps []string
	var ref *journal.RefusedError
	if op.LagAtStart < 0 {
		// The margins are sized by the lag: unknown until a full sync completes.
		err = journal.Refuse("not computed: replication has not completed a full sync, so the lag the bumps are sized by is unknown")
	} else {
		_, bumps, err = p.floors(ctx)
	}
	switch {
	case errors.As(err, &ref):
		add(Check{Name: CheckNameRoom, Why: ref.Why})
	case err != nil:
		add(Check{Name: CheckNameRoom, Why: err.Error()})
	default:
		add(Check{Name: CheckNameRoom, OK: true, Why: fmt.Sprintf("%d numbers to bump", len(bumps))})
	}
	rep.Bumps = bumps

	lag := replication.Lag(cp, r.now())
	maxLag := pair.MaxLag
	if maxLag <= 0 {
		maxLag = DefaultMaxLag
	}
	switch {
	case lag < 0:
		add(Check{Name: CheckNameLag, Why: "replication has not completed a full sync yet"})
	case lag > maxLag:
		add(Check{Name: CheckNameLag, Why: fmt.Sprintf("%s behind, more than %s", lag.Round(time.Second), maxLag)})
	default:
		add(Check{Name: CheckNameLag, OK: true, Why: fmt.Sprintf("%s behind (at most %s)", lag.Round(time.Second), maxLag)})
	}
	rep.Checks = append(rep.Checks, intake...)
	r.addDrift(ctx, &rep)
	return rep, nil
}

// DefaultMaxLag is the replication lag above which a pair is reported not ready.
const DefaultMaxLag = 10 * time.Minute
