// Package view is the JSON contract: the documents the Status endpoint answers and
// every drctl --json prints, kept apart from the domain's structs so that a change
// inside the app does not change them by accident. Their shape is published as JSON
// Schema in schema/ (embedded: see Schemas) and tested against real output.
//
// The rules: camelCase keys, every key always present (a list is [], never null; a
// time that has not happened is null), durations in seconds as numbers named
// …Seconds, times RFC 3339 in UTC, no storage bookkeeping (ETags, attempt owners),
// free text masked (package redact).
package view

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"math"
	"slices"
	"time"

	"integration-dr/failover"
	"integration-dr/journal"
	"integration-dr/overview"
	"integration-dr/redact"
	"integration-dr/replication"
	"integration-dr/ssis"
)

// Status is the Status endpoint's document and drctl status --json's.
type Status struct {
	Generated time.Time   `json:"generated"`
	Streams   []Stream    `json:"streams"`
	Readiness []Readiness `json:"readiness"` // as the operations timer last kept it
	Pending   []Operation `json:"pending"`
	// Operations are each pair's last operations, newest first.
	Operations []Operation `json:"operations"`
	SSIS       []SSIS      `json:"ssis"`
	// Traffic is where partners are sent, per pair with routes, as last known.
	Traffic []Traffic `json:"traffic"`
	// Drift is each pair's kept drift report (see drift.go).
	Drift    []Drift  `json:"drift"`
	Problems []string `json:"problems"`
}

// Traffic is where a pair's routes send partners, as last read by readiness or changed
// by an operation since. Routed is primary, secondary, both, neither or unknown;
// KnownAt is the oldest of its routes' times: the page never claims it fresher.
type Traffic struct {
	Pair    string    `json:"pair"`
	Routed  string    `json:"routed"`
	KnownAt time.Time `json:"knownAt"`
	Routes  []Route   `json:"routes"`
}

// Route is one route as last known. Enabled is null when its state is not known.
type Route struct {
	Side    string    `json:"side"`
	Name    string    `json:"name"`
	Enabled *bool     `json:"enabled"`
	Health  string    `json:"health"`
	KnownAt time.Time `json:"knownAt"`
	Source  string    `json:"source"`
}

// RouteReading is a route as a readiness report read it; error says why it could
// not be ("" when it was).
type RouteReading struct {
	Side    string    `json:"side"`
	Name    string    `json:"name"`
	Enabled bool      `json:"enabled"`
	Health  string    `json:"health"`
	Target  string    `json:"target"`
	ReadAt  time.Time `json:"readAt"`
	Error   string    `json:"error"`
}

// Stream is an integration-account pair's replication stream.
type Stream struct {
	Pair         string     `json:"pair"`
	ActiveRegion string     `json:"activeRegion"`
	Epoch        int64      `json:"epoch"`
	Direction    string     `json:"direction"`
	Watermark    *time.Time `json:"watermark"`
	// LagSeconds is now less the newest replicated change (the watermark), on the
	// active side's clock; -1 before the first full sync.
	LagSeconds float64 `json:"lagSeconds"`
	// SinceSuccessSeconds is now less the start of the last run without an error; -1
	// if none has.
	SinceSuccessSeconds float64    `json:"sinceSuccessSeconds"`
	LastRun             *time.Time `json:"lastRun"`
	LastWrites          int64      `json:"lastWrites"`
	LastListed          int64      `json:"lastListed"`
	LastError           string     `json:"lastError"`
	Scan                string     `json:"scan"`
	ScanListed          int64      `json:"scanListed"`
	// FencePending names the operation whose fence of the standby has not landed.
	FencePending    string     `json:"fencePending"`
	Reconciling     bool       `json:"reconciling"`
	ReconcileListed int64      `json:"reconcileListed"`
	LastReconciled  *time.Time `json:"lastReconciled"`
	Runs            int64      `json:"runs"`
	Writes          int64      `json:"writes"`
	RunInProgress   bool       `json:"runInProgress"`
}

// Operation is a journaled operation.
type Operation struct {
	ID                string     `json:"id"`
	Pair              string     `json:"pair"`
	Action            string     `json:"action"`
	Status            string     `json:"status"`
	DryRun            bool       `json:"dryRun"`
	Force             bool       `json:"force"`
	Target            string     `json:"target"`
	Side              string     `json:"side"`
	Reason            string     `json:"reason"`
	RequestedBy       string     `json:"requestedBy"`
	AlertID           string     `json:"alertId"`
	AlertRule         string     `json:"alertRule"`
	Created           time.Time  `json:"created"`
	Updated           time.Time  `json:"updated"`
	Done              *time.Time `json:"done"`
	RTOSeconds        *float64   `json:"rtoSeconds"`
	LagAtStartSeconds float64    `json:"lagAtStartSeconds"`
	EpochBefore       int64      `json:"epochBefore"`
	EpochAfter        int64      `json:"epochAfter"`
	Error             string     `json:"error"`
	Steps             []Step     `json:"steps"`
}

// Step is one step of an operation's plan.
type Step struct {
	Name    string     `json:"name"`
	Status  string     `json:"status"`
	Started *time.Time `json:"started"`
	Ended   *time.Time `json:"ended"`
	Outcome string     `json:"outcome"`
	Changes []string   `json:"changes"`
}

// Readiness is a readiness report as it may be read now. State is "stale" when the
// report is older than its interval, from another epoch than the pair's current one,
// or made from the side no longer active; a stale report's checks are all "stale",
// and Ready is false.
type Readiness struct {
	Pair      string    `json:"pair"`
	CheckedAt time.Time `json:"checkedAt"`
	// AgeSeconds is how long before the document the checks ran.
	AgeSeconds float64 `json:"ageSeconds"`
	// IntervalSeconds is how often the operations timer remakes the report
	// (DR_READINESS_EVERY); 0 when it does not.
	IntervalSeconds float64 `json:"intervalSeconds"`
	// Epoch is the pair's epoch the report was made at; CurrentEpoch the pair's epoch
	// now, null when it could not be read.
	Epoch        int64  `json:"epoch"`
	CurrentEpoch *int64 `json:"currentEpoch"`
	From         string `json:"from"`
	To           string `json:"to"`
	// State is ready, notReady or stale.
	State string `json:"state"`
	Ready bool   `json:"ready"`
	// StaleBecause says why the report is stale, one reason each; [] when it is not.
	StaleBecause []string `json:"staleBecause"`
	Checks       []Check  `json:"checks"`
	// Bumps are the numbers a move would bump ("session: from -> to").
	Bumps []string `json:"bumps"`
	Notes []string `json:"notes"`
	// Routes are both sides' routes as the report read them.
	Routes []RouteReading `json:"routes"`
	// Drift is the comparison of the sides' artifacts; null for a pair with none to
	// compare. It is stale with its report.
	Drift *Drift `json:"drift"`
}

// Check is one readiness check; Verdict is pass, fail, warn, notChecked or stale.
type Check struct {
	Name    string `json:"name"`
	Verdict string `json:"verdict"`
	Why     string `json:"why"`
}

// SSIS is an SSIS pair as last reconciled.
type SSIS struct {
	Pair string `json:"pair"`
	// ReconciledAt is the last pass's time; null if no pass has run.
	ReconciledAt *time.Time `json:"reconciledAt"`
	Converged    bool       `json:"converged"`
	// Unknown says why the roles could not be told (nothing was changed); "" when known.
	Unknown string `json:"unknown"`
	// Serving is the side whose runtime serves SSISDB after an attach-ir; "" when the
	// primary's does.
	Serving  string     `json:"serving"`
	Sides    []SSISSide `json:"sides"`
	InFlight []string   `json:"inFlight"`
	Changes  []string   `json:"changes"`
	Problems []string   `json:"problems"`
	Reading  []string   `json:"reading"`
}

// SSISSide is one side of an SSIS pair.
type SSISSide struct {
	Side         string     `json:"side"`
	Role         string     `json:"role"`
	Serves       bool       `json:"serves"`
	Runtime      string     `json:"runtime"`
	RuntimeState string     `json:"runtimeState"`
	RuntimeWant  string     `json:"runtimeWant"`
	InFlight     string     `json:"inFlight"`
	Triggers     []Trigger  `json:"triggers"`
	Schedules    []Schedule `json:"schedules"`
	Agent        string     `json:"agent"`
}

// Trigger is a Data Factory trigger and its runtime state.
type Trigger struct {
	Name  string `json:"name"`
	State string `json:"state"`
}

// Schedule is a SQL Agent job schedule.
type Schedule struct {
	ID      int    `json:"id"`
	Name    string `json:"name"`
	Enabled bool   `json:"enabled"`
}

// FromOverview makes the Status document of o. Every readiness report is judged
// against o's moment, interval and streams (see overview.Judge).
func FromOverview(o overview.Overview) Status {
	v := Status{
		Generated: o.Generated.UTC(), Streams: []Stream{}, Readiness: []Readiness{},
		Pending: []Operation{}, Operations: []Operation{}, SSIS: []SSIS{}, Traffic: []Traffic{}, Drift: []Drift{}, Problems: strs(o.Problems),
	}
	for _, t := range o.Traffic() {
		v.Traffic = append(v.Traffic, FromTraffic(t))
	}
	v.Drift = keptDrift(o)
	for _, s := range o.Streams {
		v.Streams = append(v.Streams, FromStream(s))
	}
	for _, r := range o.Readiness {
		v.Readiness = append(v.Readiness, FromJudged(o.Judge(r)))
	}
	for _, op := range o.Pending {
		v.Pending = append(v.Pending, FromOperation(op))
	}
	for _, op := range o.Operations {
		v.Operations = append(v.Operations, FromOperation(op))
	}
	for _, p := range o.SSIS {
		v.SSIS = append(v.SSIS, FromSSIS(p))
	}
	return v
}

// FromTraffic makes the view of where a pair's traffic goes, its free text masked.
func FromTraffic(t overview.Traffic) Traffic {
	v := Traffic{Pair: t.Pair, Routed: t.Routed, KnownAt: t.KnownAt.UTC(), Routes: []Route{}}
	for _, r := range t.Routes {
		v.Routes = append(v.Routes, Route{Side: string(r.Side), Name: r.Name, Enabled: r.Enabled, Health: r.Health,
			KnownAt: r.At.UTC(), Source: redact.String(r.Source)})
	}
	return v
}

// FromStream makes a stream's view.
func FromStream(s replication.StreamStatus) Stream {
	return Stream{
		Pair: s.Pair, ActiveRegion: string(s.Active), Epoch: s.Epoch, Direction: s.Direction,
		Watermark: Time(s.Watermark), LagSeconds: Seconds(s.LagSeconds), SinceSuccessSeconds: Seconds(s.SinceSuccessSeconds),
		LastRun: Time(s.LastRun), LastWrites: s.LastWrites, LastListed: s.LastListed, LastError: redact.String(s.LastError),
		Scan: string(s.Scan), ScanListed: s.ScanListed, FencePending: s.FencePending, Reconciling: s.Reconciling, ReconcileListed: s.ReconcileListed,
		LastReconciled: Time(s.LastReconciled), Runs: s.Runs, Writes: s.Writes, RunInProgress: s.RunInProgress,
	}
}

// FromOperation makes an operation's view, its free text masked.
func FromOperation(op journal.Operation) Operation {
	op = overview.MaskedOperation(op)
	v := Operation{
		ID: op.ID, Pair: op.Pair, Action: string(op.Action), Status: string(op.Status), DryRun: op.DryRun, Force: op.Force,
		Target: op.Target, Side: op.Side, Reason: op.Reason,
		RequestedBy: op.Source.RequestedBy, AlertID: op.Source.AlertID, AlertRule: op.Source.AlertRule,
		Created: op.Created.UTC(), Updated: op.Updated.UTC(), Done: Time(op.Done),
		LagAtStartSeconds: Seconds(op.LagAtStart.Seconds()), EpochBefore: op.EpochBefore, EpochAfter: op.EpochAfter,
		Error: op.Error, Steps: []Step{},
	}
	// A dry run flips nothing, so it has no RTO (the journal still times it from its
	// start to its end): its floors step says the expected RTO instead.
	if op.RTO > 0 && !op.DryRun {
		rto := Seconds(op.RTO.Seconds())
		v.RTOSeconds = &rto
	}
	for _, s := range op.Steps {
		v.Steps = append(v.Steps, Step{
			Name: s.Name, Status: string(s.Status), Started: Time(s.Started), Ended: Time(s.Ended),
			Outcome: s.Outcome, Changes: strs(s.Changes),
		})
	}
	return v
}

// FromJudged makes a readiness report's view.
func FromJudged(j overview.Judged) Readiness {
	r := overview.MaskedReport(j.Report)
	v := Readiness{
		Pair: r.Pair, CheckedAt: r.At.UTC(), AgeSeconds: Seconds(j.Age.Seconds()), IntervalSeconds: Seconds(j.Interval.Seconds()),
		Epoch: r.Epoch, From: string(r.From), To: string(r.To), State: j.State(), Ready: j.Ready(),
		StaleBecause: strs(j.Stale), Checks: []Check{}, Bumps: strs(r.Bumps), Notes: strs(r.Notes), Routes: []RouteReading{},
	}
	for _, rd := range r.Routes {
		v.Routes = append(v.Routes, RouteReading{Side: string(rd.Side), Name: rd.Name, Enabled: rd.Enabled, Health: rd.Health,
			Target: rd.Target, ReadAt: rd.At.UTC(), Error: redact.String(rd.Error)})
	}
	if j.Current != nil {
		e := j.Current.Epoch
		v.CurrentEpoch = &e
	}
	for _, c := range r.Checks {
		v.Checks = append(v.Checks, Check{Name: c.Name, Verdict: j.Verdict(c), Why: c.Why})
	}
	v.Drift = readinessDrift(j)
	return v
}

// FromReport makes the view of a report made just now (drctl readiness): it is
// fresh by construction, at the epoch it read.
func FromReport(r failover.Report, interval time.Duration) Readiness {
	return FromJudged(overview.Judge(r, r.At, interval, &replication.ActiveRegion{Active: r.From, Epoch: r.Epoch}, true))
}

// FromSSIS makes an SSIS pair's view.
func FromSSIS(p ssis.PairStatus) SSIS {
	v := SSIS{
		Pair: p.Pair, ReconciledAt: Time(p.At), Converged: p.Converged, Unknown: redact.String(p.Unknown), Serving: string(p.Serving),
		Sides: []SSISSide{}, InFlight: strs(p.InFlight), Changes: strs(p.Changes), Problems: strs(p.Problems), Reading: strs(p.Reading),
	}
	for _, side := range []ssis.Side{ssis.SidePrimary, ssis.SideSecondary} {
		sr, ok := p.Sides[side]
		if !ok {
			continue
		}
		sv := SSISSide{
			Side: string(side), Role: string(sr.Role), Serves: sr.Serves, Runtime: sr.IR, RuntimeState: sr.IRState, RuntimeWant: sr.IRWant,
			InFlight: redact.String(sr.InFlight), Triggers: []Trigger{}, Schedules: []Schedule{}, Agent: redact.String(sr.Agent),
		}
		if sv.Role == "" {
			sv.Role = string(p.Roles[side])
		}
		for _, name := range slices.Sorted(maps.Keys(sr.Triggers)) {
			sv.Triggers = append(sv.Triggers, Trigger{Name: name, State: sr.Triggers[name]})
		}
		for _, s := range sr.Schedules {
			sv.Schedules = append(sv.Schedules, Schedule{ID: s.ID, Name: s.Name, Enabled: s.Enabled})
		}
		v.Sides = append(v.Sides, sv)
	}
	return v
}

// Time is nil for the zero time ("never" is null, not year 1), else t in UTC.
func Time(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// Seconds rounds to milliseconds: more digits are noise, and they churn goldens.
func Seconds(s float64) float64 { return math.Round(s*1000) / 1000 }

// strs is list masked, and [] for nil.
func strs(list []string) []string {
	if list == nil {
		return []string{}
	}
	return redact.Strings(list)
}

// Encode writes v as indented JSON, without HTML escaping ("->" stays "->": these
// documents go to terminals and scripts, never into HTML unescaped).
func Encode(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// Marshal is v as compact JSON, without HTML escaping.
func Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
