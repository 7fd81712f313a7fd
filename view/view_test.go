package view_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"integration-dr/failover"
	"integration-dr/journal"
	"integration-dr/overview"
	"integration-dr/replication"
	"integration-dr/view"
	"integration-dr/view/viewtest"
)

var now = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func report(at time.Time, epoch int64, from replication.Region) failover.Report {
	return failover.Report{Pair: "contoso-b2b", At: at, Epoch: epoch, From: from, To: replication.Secondary,
		Checks: []failover.Check{
			{Name: failover.CheckNameReachable, OK: true, Why: "4 agreements"},
			{Name: failover.CheckNameAgreements, OK: true, NotChecked: true, Why: "not compared"},
			{Name: failover.CheckNameLag, OK: true, Why: "3s behind"},
		},
		Bumps: []string{"X-ICN: 1104 -> 2104"}, Notes: []string{"old side (primary) did not answer and never recorded: agreements not compared"}}
}

func overviewWith(r failover.Report) overview.Overview {
	return overview.Overview{
		Generated: now, ReadinessEvery: time.Hour,
		Streams:   []replication.StreamStatus{{Pair: "contoso-b2b", Active: replication.Primary, Epoch: 4, LagSeconds: 3}},
		Readiness: []failover.Report{r},
	}
}

func TestReadinessIsStaleWhenOldOrFromAnotherEpochAndNeverPass(t *testing.T) {
	tests := []struct {
		name      string
		report    failover.Report
		state     string
		ready     bool
		staleWhys int
	}{
		{"a fresh report at the current epoch is read as it is", report(now.Add(-5*time.Minute), 4, replication.Primary), "ready", true, 0},
		{"a report older than its interval is stale", report(now.Add(-61*time.Minute), 4, replication.Primary), "stale", false, 1},
		{"a report from an earlier epoch is stale", report(now.Add(-5*time.Minute), 3, replication.Primary), "stale", false, 1},
		{"an old report from an earlier epoch is stale twice over", report(now.Add(-18*time.Hour), 3, replication.Primary), "stale", false, 2},
		{"a report kept before reports had an epoch is stale", report(now.Add(-time.Minute), 0, replication.Primary), "stale", false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := view.FromOverview(overviewWith(tt.report))
			doc := mustJSON(t, st)
			viewtest.Validate(t, "status.schema.json", "status", doc)
			r := st.Readiness[0]
			if r.State != tt.state || r.Ready != tt.ready || len(r.StaleBecause) != tt.staleWhys {
				t.Fatalf("state %q ready %t stale because %q", r.State, r.Ready, r.StaleBecause)
			}
			if r.Epoch != tt.report.Epoch || r.CurrentEpoch == nil || *r.CurrentEpoch != 4 || r.AgeSeconds != now.Sub(tt.report.At).Seconds() || r.IntervalSeconds != 3600 {
				t.Errorf("epoch %d current %v age %v interval %v", r.Epoch, r.CurrentEpoch, r.AgeSeconds, r.IntervalSeconds)
			}
			for _, c := range r.Checks {
				if tt.state == "stale" && c.Verdict != "stale" {
					t.Errorf("a stale report shows %s as %q", c.Name, c.Verdict)
				}
				if c.Name == failover.CheckNameAgreements && tt.state != "stale" && c.Verdict != "notChecked" {
					t.Errorf("agreements not compared shown as %q", c.Verdict)
				}
			}
		})
	}
}

func TestTheSchemasCatchDrift(t *testing.T) {
	good := mustJSON(t, view.FromOverview(overviewWith(report(now, 4, replication.Primary))))
	var doc map[string]any
	if err := json.Unmarshal(good, &doc); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change func(map[string]any)
	}{
		{"an unknown key", func(d map[string]any) { d["ETag"] = "W/1" }},
		{"a missing key", func(d map[string]any) { delete(d, "problems") }},
		{"a Go field name inside", func(d map[string]any) {
			d["streams"].([]any)[0].(map[string]any)["Pair"] = "x"
		}},
		{"a stale report shown as ready", func(d map[string]any) {
			r := d["readiness"].([]any)[0].(map[string]any)
			r["state"], r["ready"] = "stale", true
		}},
		{"a time not in UTC", func(d map[string]any) { d["generated"] = "2026-11-23T11:00:00+01:00" }},
		{"a list as null", func(d map[string]any) { d["pending"] = nil }},
	}
	viewtest.Validate(t, "status.schema.json", "the unchanged document", good)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d map[string]any
			_ = json.Unmarshal(good, &d)
			tt.change(d)
			if viewtest.Check("status.schema.json", mustJSON(t, d)) == nil {
				t.Error("accepted")
			}
		})
	}
}

func TestEncodeDoesNotEscapeArrowsAndMasksFreeText(t *testing.T) {
	op := journal.Operation{ID: "fo-1", Pair: "contoso-b2b", Reason: "alert: AccountKey=abc123==", Created: now, Updated: now,
		Steps: []journal.Step{{Name: "bump", Status: journal.StepDone, Changes: []string{"X-ICN: 1 -> 2"}}}}
	var b bytes.Buffer
	if err := view.Encode(&b, view.FromOperation(op)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "1 -> 2") || strings.Contains(b.String(), "abc123") {
		t.Errorf("%s", b.String())
	}
	viewtest.Validate(t, "operation.schema.json", "operation", b.Bytes())
}

func TestErrorAndWaitEventDocumentsAreOfTheirSchemas(t *testing.T) {
	viewtest.Validate(t, "error.schema.json", "error", mustJSON(t, view.NewError("bad flag: sig=abc", 2)))
	ev := view.NewWaitEvent(now.In(time.FixedZone("x", 3600)), "fo-1", "contoso-b2b", "running", "flip", "flipped -> secondary")
	viewtest.Lines(t, "drctl-wait-event.schema.json", "event", mustJSON(t, ev))
	if ev.Time.Location() != time.UTC {
		t.Error("the event's time is not UTC")
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := view.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
