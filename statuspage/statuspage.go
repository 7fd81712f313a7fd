// Package statuspage renders an overview as one self-contained HTML page: what an
// operator opens in a browser during an outage. The page has no script and no
// external asset (the Status function serves it under a CSP of default-src 'none'),
// only inline CSS and inline SVG, and every value in it is escaped by html/template.
// It is a pure function of the overview: the same overview gives the same bytes.
package statuspage

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"maps"
	"slices"
	"strings"
	"time"

	"integration-dr/failover"
	"integration-dr/journal"
	"integration-dr/overview"
	"integration-dr/replication"
	"integration-dr/ssis"
)

// Bounds on what one page shows; what is left out is counted on the page.
const (
	maxProblems = 20
	maxPairs    = 50
	maxChecks   = 20
	maxOps      = 30
	maxSteps    = 15
	maxLines    = 20
	maxSides    = 4
)

//go:embed page.tmpl
var pageSource string

var pageTemplate = template.Must(template.New("page").Parse(pageSource))

// Render returns the page for o.
func Render(o overview.Overview) ([]byte, error) {
	var b bytes.Buffer
	if err := pageTemplate.Execute(&b, build(o)); err != nil {
		return nil, fmt.Errorf("status page: %w", err)
	}
	return b.Bytes(), nil
}

// view is everything the template shows, already formatted: the template only lays
// it out.
type view struct {
	Generated string
	Problems  list[string]
	Tiles     []tile
	Pairs     list[pairView]
	Readiness list[readyView]
	Pending   list[opView]
	Ops       list[opView]
	SSIS      list[ssisView]
	Empty     bool
}

// tile is one pair at a glance.
type tile struct {
	Name, Kind string
	Class      string // ok, warn, bad: the worst of its lines
	Headline   string
	Lines      []badge
}

// badge is a short verdict with its colour.
type badge struct{ Text, Class string }

type pairView struct {
	ID                      string // element id, unique on the page
	Name, Active, Direction string
	Epoch                   int64
	Lag, SinceSuccess       badge
	LastRun                 when
	Watermark               string
	LastError               string
	InProgress              bool
	Work                    []fact // scans and reconciliations
	Totals                  string
	Chart                   *chart
}

// fact is one labelled line of a pair's facts.
type fact struct{ Label, Text string }

// when is a moment, and how long before the page it was.
type when struct{ At, Ago string }

type readyView struct {
	Pair, Direction string
	At              when
	Verdict         badge
	Epoch           int64
	// Stale is set when the report was made from the side that is no longer active:
	// it checked the move already made, not the one that could run now.
	Stale *badge
	// StaleBecause says why the report is not to be read as now (too old, another
	// epoch, another side); empty when it may be.
	StaleBecause []string
	Checks       list[checkView]
	Bumps, Notes list[string]
}

type checkView struct {
	Name, Why string
	Verdict   badge
}

type opView struct {
	ID, Action, Pair        string
	Created                 when
	Status                  badge
	RTO, LagAtStart, Epochs string
	DryRun                  bool
	Error                   string
	Steps                   list[stepView]
	// Waiting is the step a pending operation waits on.
	Waiting *stepView
}

type stepView struct {
	Name, Outcome string
	Status        badge
	Changes       list[string]
}

type ssisView struct {
	Pair, Serving, Unknown string
	At                     when
	Converged              badge
	// Old is set when the last reconcile is older than ssisStale.
	Old               *badge
	DryRun            bool
	Sides             list[sideView]
	InFlight, Reading list[string]
	Changes, Problems list[string]
}

type sideView struct {
	Side         string
	Role         badge
	Serves       bool
	IR, InFlight string
	IRState      badge
	IRWant       string
	Triggers     list[badge]
	Schedules    list[badge]
	Agent        string
}

// build turns the overview into what the page shows.
func build(o overview.Overview) view {
	v := view{Generated: stamp(o.Generated), Problems: texts(o.Problems, maxProblems)}
	now := o.Generated

	ready := map[string]overview.Judged{}
	for _, r := range o.Readiness {
		ready[r.Pair] = o.Judge(r)
	}
	active := map[string]replication.Region{}
	for _, s := range o.Streams {
		active[s.Pair] = s.Active
	}
	pending := map[string]int{}
	for _, op := range o.Pending {
		pending[op.Pair]++
	}

	traffic := map[string]overview.Traffic{}
	for _, t := range o.Traffic() {
		traffic[t.Pair] = t
	}

	streams := capped(o.Streams, maxPairs)
	v.Pairs.More = streams.More
	for i, s := range streams.Items {
		p := streamView(i, s, now)
		if t, ok := traffic[s.Pair]; ok {
			p.Work = append([]fact{trafficFact(t, now)}, p.Work...)
		}
		v.Pairs.Items = append(v.Pairs.Items, p)
		r, hasReport := ready[s.Pair]
		v.Tiles = append(v.Tiles, streamTile(p, s, r, hasReport, pending[s.Pair]))
	}

	reports := capped(o.Readiness, maxPairs)
	v.Readiness.More = reports.More
	for _, r := range reports.Items {
		v.Readiness.Items = append(v.Readiness.Items, readinessView(o.Judge(r), now))
	}

	pend := capped(o.Pending, maxOps)
	v.Pending.More = pend.More
	for _, op := range pend.Items {
		ov := operationView(op, now)
		ov.Waiting = waitingStep(op)
		v.Pending.Items = append(v.Pending.Items, ov)
	}
	ops := capped(o.Operations, maxOps)
	v.Ops.More = ops.More
	for _, op := range ops.Items {
		v.Ops.Items = append(v.Ops.Items, operationView(op, now))
	}

	pairs := capped(o.SSIS, maxPairs)
	v.SSIS.More = pairs.More
	for _, p := range pairs.Items {
		sv := ssisPairView(p, now)
		v.SSIS.Items = append(v.SSIS.Items, sv)
		v.Tiles = append(v.Tiles, ssisTile(p, sv, pending[p.Pair]))
	}
	v.Empty = len(o.Streams) == 0 && len(o.Readiness) == 0 && len(o.Pending) == 0 && len(o.Operations) == 0 && len(o.SSIS) == 0
	return v
}

// The lag above which a pair is shown as a warning, and as bad: half the readiness
// check's default bound, and the bound itself.
const (
	lagWarn = failover.DefaultMaxLag / 2
	lagBad  = failover.DefaultMaxLag
)

func lagBadge(v float64) badge {
	switch {
	case v == -1:
		return badge{"not yet synced", "bad"}
	case !validSeconds(v):
		return badge{"unknown", "bad"}
	case v > lagBad.Seconds():
		return badge{seconds(v), "bad"}
	case v > lagWarn.Seconds():
		return badge{seconds(v), "warn"}
	default:
		return badge{seconds(v), "ok"}
	}
}

func streamView(i int, s replication.StreamStatus, now time.Time) pairView {
	p := pairView{
		ID: fmt.Sprintf("pair%d", i), Name: text(s.Pair), Active: orUnknown(string(s.Active)), Epoch: s.Epoch,
		Direction: orUnknown(text(s.Direction)), Lag: lagBadge(s.LagSeconds),
		LastError: text(s.LastError), InProgress: s.RunInProgress,
		Totals: fmt.Sprintf("%s runs, %s writes (last run: %s listed, %s written)", count(s.Runs), count(s.Writes), count(s.LastListed), count(s.LastWrites)),
	}
	switch v := s.SinceSuccessSeconds; {
	case v == -1:
		p.SinceSuccess = badge{"no run has succeeded yet", "bad"}
	case !validSeconds(v):
		p.SinceSuccess = badge{"unknown", "bad"}
	case v > lagBad.Seconds():
		p.SinceSuccess = badge{seconds(v) + " ago", "bad"}
	case v > lagWarn.Seconds():
		p.SinceSuccess = badge{seconds(v) + " ago", "warn"}
	default:
		p.SinceSuccess = badge{seconds(v) + " ago", "ok"}
	}
	p.LastRun = whenOf(s.LastRun, now)
	if !s.Watermark.IsZero() {
		p.Watermark = stamp(s.Watermark)
	}
	if s.Scan != "" {
		p.Work = append(p.Work, fact{"Scan", fmt.Sprintf("%s scan under way, %s sessions listed so far", text(string(s.Scan)), count(s.ScanListed))})
	}
	switch {
	case s.Reconciling:
		p.Work = append(p.Work, fact{"Reconciliation", fmt.Sprintf("under way, %s sessions listed so far", count(s.ReconcileListed))})
	case !s.LastReconciled.IsZero():
		p.Work = append(p.Work, fact{"Reconciliation", fmt.Sprintf("last %s, healed %s", stamp(s.LastReconciled), count(s.LastHealed))})
	}
	if s.FutureStamped > 0 {
		p.Work = append(p.Work, fact{"Clock skew", fmt.Sprintf("%s sessions stamped in the future on the active side", count(s.FutureStamped))})
	}
	p.Chart = lagChart(fmt.Sprintf("lag%d", i), p.Name, s.History)
	return p
}

func streamTile(p pairView, s replication.StreamStatus, j overview.Judged, hasReport bool, pending int) tile {
	t := tile{Name: p.Name, Kind: "integration account", Headline: fmt.Sprintf("%s active · epoch %d", p.Active, p.Epoch)}
	t.Lines = append(t.Lines, badge{"lag " + p.Lag.Text, p.Lag.Class})
	switch {
	case !hasReport:
		t.Lines = append(t.Lines, badge{"no readiness report", "warn"})
	case predates(j.Report, s.Active):
		t.Lines = append(t.Lines, predatesBadge)
	case j.State() == overview.StateStale:
		t.Lines = append(t.Lines, badge{"readiness report stale", "warn"})
	case j.Ready():
		t.Lines = append(t.Lines, badge{"ready to move to " + orUnknown(string(j.Report.To)), "ok"})
	default:
		t.Lines = append(t.Lines, badge{"not ready to move", "bad"})
	}
	if s.LastError != "" {
		t.Lines = append(t.Lines, badge{"last run failed", "bad"})
	}
	if s.RunInProgress {
		t.Lines = append(t.Lines, badge{"run in progress", "info"})
	}
	if pending > 0 {
		t.Lines = append(t.Lines, badge{plural(pending, "operation") + " pending", "warn"})
	}
	t.Class = worst(t.Lines)
	return t
}

func ssisTile(p ssis.PairStatus, sv ssisView, pending int) tile {
	t := tile{Name: sv.Pair, Kind: "SSIS"}
	primary := ""
	for _, side := range sideOrder(p.Sides) {
		if roleOf(p, side) == ssis.Primary {
			primary = string(side)
		}
	}
	switch {
	case p.Unknown != "":
		t.Headline = "role unknown"
		t.Lines = append(t.Lines, badge{"nothing changed until it is known", "bad"})
	case primary != "":
		t.Headline = "SSISDB primary on " + text(primary)
	default:
		t.Headline = "no reconcile yet"
	}
	if sv.Serving != "" {
		t.Lines = append(t.Lines, badge{"runtime serving from " + sv.Serving, "warn"})
	}
	if p.Unknown == "" {
		t.Lines = append(t.Lines, sv.Converged)
	}
	if sv.Old != nil {
		t.Lines = append(t.Lines, *sv.Old)
	}
	if len(p.Problems) > 0 {
		t.Lines = append(t.Lines, badge{plural(len(p.Problems), "problem"), "bad"})
	}
	if pending > 0 {
		t.Lines = append(t.Lines, badge{plural(pending, "operation") + " pending", "warn"})
	}
	t.Class = worst(t.Lines)
	return t
}

// predatesBadge says a pair's readiness report was made before its active side moved.
var predatesBadge = badge{"readiness report predates the move", "warn"}

// predates says the report was made from another side than the one active now: it
// checked the move since made (a failover's report, kept until the next hourly one),
// not the one that could run now (the fallback). Unknown sides prove nothing.
func predates(r failover.Report, active replication.Region) bool {
	return r.From != "" && active != "" && r.From != active
}

// readinessView shows a report as it may be read now: its age and epoch, and when
// stale why, with no verdict of its own in colour; a check not made is "not checked".
func readinessView(j overview.Judged, now time.Time) readyView {
	r := j.Report
	v := readyView{
		Pair: text(r.Pair), Direction: orUnknown(string(r.From)) + " → " + orUnknown(string(r.To)),
		At: whenOf(r.At, now), Epoch: r.Epoch, Bumps: texts(r.Bumps, maxLines), Notes: texts(r.Notes, maxLines),
	}
	if j.Current != nil && predates(r, j.Current.Active) {
		b := predatesBadge
		b.Text += fmt.Sprintf(": %s is active now", text(string(j.Current.Active)))
		v.Stale = &b
	}
	for _, why := range j.Stale {
		v.StaleBecause = append(v.StaleBecause, text(why))
	}
	switch {
	case j.State() == overview.StateStale:
		v.Verdict = badge{"stale: not a verdict on now", "warn"}
	case j.Ready():
		v.Verdict = badge{"ready", "ok"}
	case len(r.Checks) == 0:
		v.Verdict = badge{"not ready: no checks ran", "bad"}
	default:
		v.Verdict = badge{"not ready", "bad"}
	}
	checks := capped(r.Checks, maxChecks)
	v.Checks.More = checks.More
	for _, c := range checks.Items {
		cv := checkView{Name: text(c.Name), Why: text(c.Why)}
		switch j.Verdict(c) {
		case overview.VerdictStale:
			cv.Verdict = badge{"stale", "muted"}
		case overview.VerdictNotChecked:
			cv.Verdict = badge{"not checked", "warn"}
		case overview.VerdictFail:
			cv.Verdict = badge{"fail", "bad"}
		case overview.VerdictWarn:
			cv.Verdict = badge{"warn", "warn"}
		default:
			cv.Verdict = badge{"pass", "ok"}
		}
		v.Checks.Items = append(v.Checks.Items, cv)
	}
	return v
}

func operationView(op journal.Operation, now time.Time) opView {
	v := opView{
		ID: text(op.ID), Action: text(string(op.Action)), Pair: text(op.Pair),
		Status: opStatus(op.Status), Created: whenOf(op.Created, now), DryRun: op.DryRun,
		Error: text(op.Error),
	}
	if op.RTO > 0 {
		v.RTO = duration(op.RTO)
	}
	if op.LagAtStart > 0 {
		v.LagAtStart = duration(op.LagAtStart)
	}
	if op.EpochAfter != 0 && op.EpochAfter != op.EpochBefore {
		v.Epochs = fmt.Sprintf("epoch %d → %d", op.EpochBefore, op.EpochAfter)
	}
	steps := capped(op.Steps, maxSteps)
	v.Steps.More = steps.More
	for _, s := range steps.Items {
		v.Steps.Items = append(v.Steps.Items, stepOf(s))
	}
	return v
}

func stepOf(s journal.Step) stepView {
	return stepView{Name: text(s.Name), Outcome: text(s.Outcome), Status: stepStatus(s.Status), Changes: texts(s.Changes, maxLines)}
}

// waitingStep is the step a pending operation is held at: the one waiting on the
// world (a fence on a side that does not answer), else the one running, else the
// next to run.
func waitingStep(op journal.Operation) *stepView {
	for _, want := range []journal.StepStatus{journal.StepWaiting, journal.StepRunning, journal.StepPending} {
		for _, s := range op.Steps {
			if s.Status == want {
				sv := stepOf(s)
				return &sv
			}
		}
	}
	return nil
}

func opStatus(s journal.Status) badge {
	switch s {
	case journal.Succeeded:
		return badge{string(s), "ok"}
	case journal.Failed, journal.Rejected:
		return badge{string(s), "bad"}
	case journal.Waiting, journal.Proposed:
		return badge{string(s), "warn"}
	case journal.Running, journal.Accepted:
		return badge{string(s), "info"}
	}
	return badge{orUnknown(text(string(s))), "muted"}
}

func stepStatus(s journal.StepStatus) badge {
	switch s {
	case journal.StepDone:
		return badge{string(s), "ok"}
	case journal.StepFailed:
		return badge{string(s), "bad"}
	case journal.StepWaiting:
		return badge{string(s), "warn"}
	case journal.StepRunning:
		return badge{string(s), "info"}
	}
	return badge{orUnknown(text(string(s))), "muted"}
}

// ssisStale is the age of an SSIS pair's last reconcile pass beyond which the page
// warns that what it shows may no longer hold: ReconcileSSIS runs every minute or
// few (DR_SSIS_SCHEDULE), so a pass this old means the app or its timer has stopped,
// and the failover group may have moved since. It is measured against the
// overview's Generated, never the clock, so the page stays a pure function of it.
const ssisStale = 15 * time.Minute

func ssisPairView(p ssis.PairStatus, now time.Time) ssisView {
	v := ssisView{
		Pair: text(p.Pair), At: whenOf(p.At, now), Serving: text(string(p.Serving)),
		Unknown: text(p.Unknown), DryRun: p.DryRun,
		InFlight: texts(p.InFlight, maxLines), Reading: texts(p.Reading, maxLines),
		Changes: texts(p.Changes, maxLines), Problems: texts(p.Problems, maxLines),
	}
	switch {
	case p.Unknown != "":
		v.Converged = badge{"role unknown", "bad"}
	case p.At.IsZero():
		v.Converged = badge{"no reconcile yet", "warn"}
	case p.Converged:
		v.Converged = badge{"converged", "ok"}
	default:
		v.Converged = badge{"converging", "warn"}
	}
	if !p.At.IsZero() && !now.IsZero() && now.Sub(p.At) > ssisStale {
		v.Old = &badge{"last reconcile " + duration(now.Sub(p.At)) + " ago", "warn"}
	}
	sides := capped(sideOrder(p.Sides), maxSides)
	v.Sides.More = sides.More
	for _, side := range sides.Items {
		s := p.Sides[side]
		sv := sideView{
			Side: text(string(side)), Serves: s.Serves, IR: text(s.IR), IRWant: text(s.IRWant),
			InFlight: text(s.InFlight), Agent: text(s.Agent),
		}
		switch role := roleOf(p, side); role {
		case ssis.Primary:
			sv.Role = badge{"primary", "ok"}
		case ssis.Secondary:
			sv.Role = badge{"secondary", "muted"}
		default:
			sv.Role = badge{strings.ToLower(orUnknown(text(string(role)))), "bad"}
		}
		switch {
		case s.IRState == "":
			sv.IRState = badge{"state unknown", "muted"}
		case s.IRWant == "" || s.IRState == s.IRWant:
			sv.IRState = badge{text(s.IRState), "ok"}
		default:
			sv.IRState = badge{text(s.IRState), "warn"}
		}
		names := slices.Sorted(maps.Keys(s.Triggers))
		trig := capped(names, maxLines)
		sv.Triggers.More = trig.More
		for _, n := range trig.Items {
			state := s.Triggers[n]
			class := "muted"
			if state == "Started" {
				class = "ok"
			}
			sv.Triggers.Items = append(sv.Triggers.Items, badge{text(n) + ": " + orUnknown(text(state)), class})
		}
		sched := capped(s.Schedules, maxLines)
		sv.Schedules.More = sched.More
		for _, sc := range sched.Items {
			name := text(sc.Name)
			if name == "" {
				name = fmt.Sprintf("schedule %d", sc.ID)
			}
			if sc.Enabled {
				sv.Schedules.Items = append(sv.Schedules.Items, badge{name + ": enabled", "ok"})
			} else {
				sv.Schedules.Items = append(sv.Schedules.Items, badge{name + ": disabled", "muted"})
			}
		}
		v.Sides.Items = append(v.Sides.Items, sv)
	}
	return v
}

// sideOrder lists a pair's sides primary first, then secondary, then any other, so
// the page reads the same way for every pair.
func sideOrder(sides map[ssis.Side]ssis.SideReport) []ssis.Side {
	out := []ssis.Side{}
	for _, s := range []ssis.Side{ssis.SidePrimary, ssis.SideSecondary} {
		if _, ok := sides[s]; ok {
			out = append(out, s)
		}
	}
	for _, s := range slices.Sorted(maps.Keys(sides)) {
		if s != ssis.SidePrimary && s != ssis.SideSecondary {
			out = append(out, s)
		}
	}
	return out
}

// roleOf is the side's role as the pass left it, else as it acted on it.
func roleOf(p ssis.PairStatus, side ssis.Side) ssis.Role {
	if r := p.Sides[side].Role; r != "" {
		return r
	}
	return p.Roles[side]
}

func whenOf(t, now time.Time) when { return when{At: stamp(t), Ago: ago(t, now)} }

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// worst is the most alarming class among the badges.
func worst(bs []badge) string {
	rank := map[string]int{"ok": 1, "info": 1, "muted": 0, "warn": 2, "bad": 3}
	class, best := "ok", 0
	for _, b := range bs {
		if r := rank[b.Class]; r > best {
			class, best = b.Class, r
		}
	}
	if class == "info" {
		class = "ok"
	}
	return class
}

// trafficFact says where a pair's routes send partners, as last known and when: a
// route's state is only ever as fresh as the reading or the step that set it.
func trafficFact(t overview.Traffic, now time.Time) fact {
	routes := make([]string, 0, len(t.Routes))
	for _, r := range t.Routes {
		state := overview.RouteWords(r.Enabled, r.Health)
		routes = append(routes, fmt.Sprintf("%s %s (%s; %s)", r.Side, r.Name, state, r.Source))
	}
	where := "routed to " + t.Routed
	switch t.Routed {
	case overview.RoutedBoth:
		where = "routed to both sides"
	case overview.RoutedNeither:
		where = "routed to neither side"
	case overview.RoutedUnknown:
		where = "routing not known"
	}
	return fact{Label: "Traffic", Text: fmt.Sprintf("%s, as known at %s (%s): %s", where, stamp(t.KnownAt), ago(t.KnownAt, now), strings.Join(routes, "; "))}
}
