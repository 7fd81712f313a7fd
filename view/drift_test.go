package view_test

import (
	"strings"
	"testing"
	"time"

	"integration-dr/drift"
	"integration-dr/failover"
	"integration-dr/journal"
	"integration-dr/mirror"
	"integration-dr/replication"
	"integration-dr/view"
	"integration-dr/view/viewtest"
)

func driftReport(diffs ...drift.Difference) drift.PairReport {
	return drift.PairReport{Pair: "contoso-b2b", At: now.Add(-time.Minute), Epoch: 4, Active: "primary", Standby: "secondary",
		Result: drift.Result{Differences: diffs, Active: 6, Standby: 5}}
}

var (
	missingMap  = drift.Difference{Kind: drift.Map, Name: "OrdersToSAP", Change: drift.Create, What: "only on the active side"}
	localSchema = drift.Difference{Kind: drift.Schema, Name: "local-test", Change: drift.Delete, What: "only on the standby", Allowed: true}
)

func TestDriftReportsSayReadyNotReadyOrNotComparedAndAreOfTheirSchema(t *testing.T) {
	notCompared := driftReport()
	notCompared.NotCompared = "the standby (secondary) did not answer: AccountKey=abc123 throttled"
	withScript := driftReport(drift.Difference{Kind: drift.AgentJob, Name: "load-dw", Change: drift.Report, What: "only on the active side (not copied: create it on the standby by hand)"})
	withScript.Scripts = []drift.Script{{Kind: drift.AgentJob, Name: "load-dw", Script: "EXEC msdb.dbo.sp_add_job @job_name = N'load-dw'"}}
	tests := []struct {
		name  string
		rep   drift.PairReport
		state string
	}{
		{"no differences", driftReport(), view.DriftReady},
		{"only allowed differences", driftReport(localSchema), view.DriftReady},
		{"an unlisted difference", driftReport(localSchema, missingMap), view.DriftNotReady},
		{"a side that did not answer", notCompared, view.DriftNotCompared},
		{"an Agent job with its script", withScript, view.DriftNotReady},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := view.FromDrift(tt.rep)
			if v.State != tt.state || v.Ready != (tt.state == view.DriftReady) {
				t.Errorf("state %s ready %v, want %s", v.State, v.Ready, tt.state)
			}
			doc, err := view.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			viewtest.Validate(t, "drift.schema.json", tt.name, doc)
			if strings.Contains(string(doc), "abc123") {
				t.Errorf("a key reached the document: %s", doc)
			}
		})
	}
}

func TestAKeptDriftReportIsStaleWhenOldOrFromBeforeThePairMoved(t *testing.T) {
	rep := driftReport()
	tests := []struct {
		name    string
		at      time.Time
		current *replication.ActiveRegion
		stale   string
	}{
		{"fresh", now.Add(-time.Minute), &replication.ActiveRegion{Active: replication.Primary, Epoch: 4}, ""},
		{"old", now.Add(-2 * time.Hour), &replication.ActiveRegion{Active: replication.Primary, Epoch: 4}, "more than its interval"},
		{"the pair moved", now.Add(-time.Minute), &replication.ActiveRegion{Active: replication.Secondary, Epoch: 5}, "the secondary is active at epoch 5 now"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep.At = tt.at
			v := view.FromKeptDrift(rep, now, time.Hour, tt.current)
			if got := strings.Join(v.StaleBecause, "; "); (tt.stale == "") != (got == "") || !strings.Contains(got, tt.stale) {
				t.Errorf("stale because %q, want %q", got, tt.stale)
			}
			if tt.stale != "" && (v.Ready || v.State != view.DriftStale) {
				t.Errorf("a stale report reads %s", v.State)
			}
			doc, _ := view.Marshal(v)
			viewtest.Validate(t, "drift.schema.json", tt.name, doc)
		})
	}
}

func TestAReadinessReportCarriesItsDriftStaleWithIt(t *testing.T) {
	r := report(now.Add(-2*time.Hour), 4, replication.Primary)
	d := driftReport(missingMap)
	r.Drift = &d
	r.Checks = append(r.Checks, failover.Check{Name: failover.CheckNameDrift, Why: missingMap.Reason()})
	st := view.FromOverview(overviewWith(r))
	got := st.Readiness[0].Drift
	if got == nil || got.State != view.DriftStale || got.Ready {
		t.Fatalf("drift of a stale report: %+v", got)
	}
	doc, _ := view.Marshal(st)
	viewtest.Validate(t, "status.schema.json", "status with a drift section", doc)
	fresh := view.FromReport(report(now, 4, replication.Primary), time.Hour)
	if fresh.Drift != nil {
		t.Error("a report without drift has a drift section")
	}
	doc, _ = view.Marshal([]view.Readiness{fresh, view.FromReport(r, time.Hour)})
	viewtest.Validate(t, "readiness.schema.json", "readiness with and without drift", doc)
}

func TestTheDriftSchemaRefusesAGuess(t *testing.T) {
	base := view.FromDrift(driftReport())
	notCompared := base
	notCompared.State, notCompared.NotCompared = view.DriftNotCompared, "the standby did not answer"
	tests := []struct {
		name string
		v    view.Drift
	}{
		{"not compared but ready", func() view.Drift { v := notCompared; v.Ready = true; return v }()},
		{"ready with a blocking difference", func() view.Drift { v := base; v.Blocking = 1; return v }()},
		{"stale without a reason", func() view.Drift { v := base; v.State, v.Ready = view.DriftStale, false; return v }()},
		{"a null list", func() view.Drift { v := base; v.Differences = nil; return v }()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, _ := view.Marshal(tt.v)
			if viewtest.Check("drift.schema.json", doc) == nil {
				t.Errorf("accepted %s", doc)
			}
		})
	}
}

func TestAMirrorsPlanIsOfItsSchema(t *testing.T) {
	pl := mirror.NewPlan("contoso-b2b", mirror.Active{Side: replication.Primary, Epoch: 4}, replication.Secondary,
		[]drift.Artifact{{Kind: drift.Map, Name: "OrdersToSAP", Fields: map[string]string{"content": "sha256:1"}}},
		[]drift.Artifact{{Kind: drift.Schema, Name: "local-test"}}, nil, false)
	op := journal.Operation{ID: "m-1", Pair: "contoso-b2b", Action: "mirror", Status: journal.Succeeded, DryRun: true, Created: now, Updated: now}
	for _, v := range []view.Mirror{view.FromMirror(op, &pl), view.FromMirror(op, nil)} {
		doc, _ := view.Marshal(v)
		viewtest.Validate(t, "mirror.schema.json", "mirror", doc)
	}
	if v := view.FromMirror(op, &pl); len(v.Plan.Changes) != 1 || len(v.Plan.Kept) != 1 || !strings.Contains(v.Plan.Kept[0].Why, "prune") {
		t.Errorf("plan %+v", v.Plan)
	}
}
