package cli

import (
	"maps"
	"math"
	"slices"
	"time"

	"integration-dr/failover"
	"integration-dr/journal"
	"integration-dr/overview"
	"integration-dr/replication"
	"integration-dr/ssis"
)

// The --json documents. They are drctl's contract with scripts, kept apart from the
// domain's structs so that a change inside the app does not change them by accident:
// camelCase keys, every key always present (lists are [], never null; a time that
// has not happened is null), durations in seconds.

type statusView struct {
	Generated time.Time       `json:"generated"`
	Streams   []streamView    `json:"streams"`
	Readiness []readinessView `json:"readiness"` // as the operations timer last kept it
	Pending   []operationView `json:"pending"`
	// Operations are each pair's last operations, newest first.
	Operations []operationView `json:"operations"`
	SSIS       []ssisView      `json:"ssis"`
	Problems   []string        `json:"problems"`
}

type streamView struct {
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
	Reconciling         bool       `json:"reconciling"`
	ReconcileListed     int64      `json:"reconcileListed"`
	LastReconciled      *time.Time `json:"lastReconciled"`
	Runs                int64      `json:"runs"`
	Writes              int64      `json:"writes"`
	RunInProgress       bool       `json:"runInProgress"`
}

type operationView struct {
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
	Steps             []stepView `json:"steps"`
}

type stepView struct {
	Name    string     `json:"name"`
	Status  string     `json:"status"`
	Started *time.Time `json:"started"`
	Ended   *time.Time `json:"ended"`
	Outcome string     `json:"outcome"`
	Changes []string   `json:"changes"`
}

type readinessView struct {
	Pair   string      `json:"pair"`
	At     time.Time   `json:"at"`
	From   string      `json:"from"`
	To     string      `json:"to"`
	Ready  bool        `json:"ready"`
	Checks []checkView `json:"checks"`
	// Bumps are the numbers a move would bump now ("session: from -> to").
	Bumps []string `json:"bumps"`
	Notes []string `json:"notes"`
}

// Check verdicts.
const (
	verdictPass = "pass"
	verdictFail = "fail"
	verdictWarn = "warn"
)

type checkView struct {
	Name    string `json:"name"`
	Verdict string `json:"verdict"` // pass, fail or warn
	Why     string `json:"why"`
}

type ssisView struct {
	Pair string `json:"pair"`
	// ReconciledAt is the last pass's time; null if no pass has run.
	ReconciledAt *time.Time `json:"reconciledAt"`
	Converged    bool       `json:"converged"`
	// Unknown says why the roles could not be told (nothing was changed); "" when known.
	Unknown string `json:"unknown"`
	// Serving is the side whose runtime serves SSISDB after an attach-ir; "" when the
	// primary's does.
	Serving  string         `json:"serving"`
	Sides    []ssisSideView `json:"sides"`
	InFlight []string       `json:"inFlight"`
	Changes  []string       `json:"changes"`
	Problems []string       `json:"problems"`
	Reading  []string       `json:"reading"`
}

type ssisSideView struct {
	Side         string         `json:"side"`
	Role         string         `json:"role"`
	Serves       bool           `json:"serves"`
	Runtime      string         `json:"runtime"`
	RuntimeState string         `json:"runtimeState"`
	RuntimeWant  string         `json:"runtimeWant"`
	InFlight     string         `json:"inFlight"`
	Triggers     []triggerView  `json:"triggers"`
	Schedules    []scheduleView `json:"schedules"`
	Agent        string         `json:"agent"`
}

type triggerView struct {
	Name  string `json:"name"`
	State string `json:"state"`
}

type scheduleView struct {
	ID      int    `json:"id"`
	Name    string `json:"name"`
	Enabled bool   `json:"enabled"`
}

func toStatus(o overview.Overview) statusView {
	v := statusView{
		Generated: o.Generated, Streams: []streamView{}, Readiness: []readinessView{},
		Pending: []operationView{}, Operations: []operationView{}, SSIS: []ssisView{}, Problems: orEmpty(o.Problems),
	}
	for _, s := range o.Streams {
		v.Streams = append(v.Streams, toStream(s))
	}
	for _, r := range o.Readiness {
		v.Readiness = append(v.Readiness, toReadiness(r))
	}
	for _, op := range o.Pending {
		v.Pending = append(v.Pending, toOperation(op))
	}
	for _, op := range o.Operations {
		v.Operations = append(v.Operations, toOperation(op))
	}
	for _, p := range o.SSIS {
		v.SSIS = append(v.SSIS, toSSIS(p))
	}
	return v
}

func toStream(s replication.StreamStatus) streamView {
	return streamView{
		Pair: s.Pair, ActiveRegion: string(s.Active), Epoch: s.Epoch, Direction: s.Direction,
		Watermark: timePtr(s.Watermark), LagSeconds: seconds(s.LagSeconds), SinceSuccessSeconds: seconds(s.SinceSuccessSeconds),
		LastRun: timePtr(s.LastRun), LastWrites: s.LastWrites, LastListed: s.LastListed, LastError: s.LastError,
		Scan: string(s.Scan), ScanListed: s.ScanListed, Reconciling: s.Reconciling, ReconcileListed: s.ReconcileListed,
		LastReconciled: timePtr(s.LastReconciled), Runs: s.Runs, Writes: s.Writes, RunInProgress: s.RunInProgress,
	}
}

func toOperation(op journal.Operation) operationView {
	v := operationView{
		ID: op.ID, Pair: op.Pair, Action: string(op.Action), Status: string(op.Status), DryRun: op.DryRun, Force: op.Force,
		Target: op.Target, Side: op.Side, Reason: op.Reason,
		RequestedBy: op.Source.RequestedBy, AlertID: op.Source.AlertID, AlertRule: op.Source.AlertRule,
		Created: op.Created.UTC(), Updated: op.Updated.UTC(), Done: timePtr(op.Done),
		LagAtStartSeconds: seconds(op.LagAtStart.Seconds()), EpochBefore: op.EpochBefore, EpochAfter: op.EpochAfter,
		Error: op.Error, Steps: []stepView{},
	}
	// A dry run flips nothing, so it has no RTO (the journal still times it from its
	// start to its end): its floors step says the expected RTO instead.
	if op.RTO > 0 && !op.DryRun {
		rto := seconds(op.RTO.Seconds())
		v.RTOSeconds = &rto
	}
	for _, s := range op.Steps {
		v.Steps = append(v.Steps, stepView{
			Name: s.Name, Status: string(s.Status), Started: timePtr(s.Started), Ended: timePtr(s.Ended),
			Outcome: s.Outcome, Changes: orEmpty(s.Changes),
		})
	}
	return v
}

func toReadiness(r failover.Report) readinessView {
	v := readinessView{
		Pair: r.Pair, At: r.At.UTC(), From: string(r.From), To: string(r.To), Ready: r.Ready(),
		Checks: []checkView{}, Bumps: orEmpty(r.Bumps), Notes: orEmpty(r.Notes),
	}
	for _, c := range r.Checks {
		v.Checks = append(v.Checks, checkView{Name: c.Name, Verdict: verdict(c), Why: c.Why})
	}
	return v
}

func verdict(c failover.Check) string {
	switch {
	case !c.OK:
		return verdictFail
	case c.Warn:
		return verdictWarn
	}
	return verdictPass
}

func toSSIS(p ssis.PairStatus) ssisView {
	v := ssisView{
		Pair: p.Pair, ReconciledAt: timePtr(p.At), Converged: p.Converged, Unknown: p.Unknown, Serving: string(p.Serving),
		Sides: []ssisSideView{}, InFlight: orEmpty(p.InFlight), Changes: orEmpty(p.Changes), Problems: orEmpty(p.Problems), Reading: orEmpty(p.Reading),
	}
	for _, side := range []ssis.Side{ssis.SidePrimary, ssis.SideSecondary} {
		sr, ok := p.Sides[side]
		if !ok {
			continue
		}
		sv := ssisSideView{
			Side: string(side), Role: string(sr.Role), Serves: sr.Serves, Runtime: sr.IR, RuntimeState: sr.IRState, RuntimeWant: sr.IRWant,
			InFlight: sr.InFlight, Triggers: []triggerView{}, Schedules: []scheduleView{}, Agent: sr.Agent,
		}
		if sv.Role == "" {
			sv.Role = string(p.Roles[side])
		}
		for _, name := range slices.Sorted(maps.Keys(sr.Triggers)) {
			sv.Triggers = append(sv.Triggers, triggerView{Name: name, State: sr.Triggers[name]})
		}
		for _, s := range sr.Schedules {
			sv.Schedules = append(sv.Schedules, scheduleView{ID: s.ID, Name: s.Name, Enabled: s.Enabled})
		}
		v.Sides = append(v.Sides, sv)
	}
	return v
}

// timePtr is nil for the zero time: "never" is null in JSON, not year 1.
func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// seconds rounds to milliseconds: more digits are noise, and they churn goldens.
func seconds(s float64) float64 { return math.Round(s*1000) / 1000 }

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
