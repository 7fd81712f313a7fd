package handlers

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"integration-dr/drerr"
	"integration-dr/failover"
	"integration-dr/journal"
	"integration-dr/overview"
	"integration-dr/replication"
	"integration-dr/ssis"
	"integration-dr/view"
	"integration-dr/view/viewtest"
)

func TestWantsHTMLFollowsTheAcceptHeadersPreferences(t *testing.T) {
	tests := []struct {
		accept []string
		query  string
		want   bool
	}{
		{nil, "", false},
		{[]string{"text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"}, "", true}, // a browser
		{[]string{"text/html,application/xhtml+xml,*/*;q=0.8"}, "", true},
		{[]string{"text/html"}, "", true},
		{[]string{"TEXT/HTML; charset=utf-8"}, "", true},
		{[]string{"*/*"}, "", false}, // curl
		{[]string{"application/json"}, "", false},
		{[]string{"application/json, text/html;q=0.1"}, "", false},
		{[]string{"application/json, text/html;q=0"}, "", false},
		{[]string{"text/html;q=0"}, "", false},
		{[]string{"text/html;q=0, */*"}, "", false},
		{[]string{"text/html;q=0.9, application/json;q=0.5"}, "", true},
		{[]string{"text/html;q=0.5, */*;q=0.9"}, "", false},
		{[]string{"text/*, application/json;q=0.8"}, "", true},
		{[]string{"text/html;q=0.5, application/*;q=0.4"}, "", true},
		{[]string{"application/json;q=0.2", "text/html;q=0.3"}, "", true}, // two header lines
		{[]string{"text/html;q=abc"}, "", false},
		{[]string{"text/html;q=2"}, "", false},
		{[]string{"garbage;;;, , text/html"}, "", true},
		{[]string{"application/json"}, "html", true},
		{[]string{"application/json"}, "HTML", true},
	}
	for _, tt := range tests {
		req, _ := json.Marshal(map[string]any{"Headers": map[string][]string{"Accept": tt.accept}, "Query": map[string]string{"format": tt.query}})
		inv := Invocation{Data: map[string]json.RawMessage{bindRequest: req}}
		if got := wantsHTML(inv); got != tt.want {
			t.Errorf("Accept %q, ?format=%s: wantsHTML = %v, want %v", tt.accept, tt.query, got, tt.want)
		}
	}
}

type readinessReader map[string]failover.Report

func (r readinessReader) LastReadiness(_ context.Context, pair string) (failover.Report, error) {
	rep, ok := r[pair]
	if !ok {
		return rep, drerr.Errorf(drerr.NotFound, "readiness", "none kept for %s", pair)
	}
	return rep, nil
}

// The Status endpoint's JSON, as the host hands it to the caller, is of the published
// schema (the same document as drctl status --json): every part filled in, a stale
// readiness report among them, and free text holding secrets.
func TestStatusJSONIsOfThePublishedSchema(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	const leak = "AccountKey=c2VjcmV0a2V5"
	op := journal.Operation{ID: "fo-7", Pair: "contoso-b2b", Action: "failover", Status: journal.Waiting, Reason: "alert says " + leak,
		Source:  journal.Source{AlertID: "/subscriptions/0000/providers/Microsoft.AlertsManagement/alerts/1", AlertRule: "ia-down", RequestedBy: "alert"},
		Created: now.Add(-time.Minute), Updated: now, RTO: 0, ETag: "W/\"etag\"", AttemptBy: "host-1", AttemptUntil: now.Add(time.Minute),
		Steps: []journal.Step{{Name: "fence-old-side", Status: journal.StepWaiting, Started: now, Outcome: "fence pending", Changes: []string{"X-ICN 1104 -> 2104"}}}}
	src := overview.Sources{
		Streams: statusReader{streams: []replication.StreamStatus{{Pair: "contoso-b2b", Active: replication.Secondary, Epoch: 4, LagSeconds: 4.5,
			Watermark: now.Add(-5 * time.Second), LastRun: now, LastError: "GET ?sig=abcdef: 403"}}},
		Readiness: readinessReader{"contoso-b2b": {Pair: "contoso-b2b", At: now.Add(-18 * time.Minute), Epoch: 3, From: replication.Primary, To: replication.Secondary,
			Checks: []failover.Check{{Name: failover.CheckNameAgreements, OK: true, NotChecked: true, Why: "not compared"}}, Notes: []string{"agreements not compared"}}},
		Journal:        reviewJournal{pending: []journal.Operation{op}},
		SSIS:           reviewSSIS{{Report: ssis.Report{Pair: "contoso-ssis", Unknown: "both SSISDBs say PRIMARY"}}},
		Pairs:          []string{"contoso-b2b", "contoso-ssis"},
		ReadinessEvery: time.Hour,
		Now:            func() time.Time { return now },
	}
	res := callStatus(t, src, map[string][]string{"Accept": {"application/json"}})
	viewtest.Validate(t, "status.schema.json", "Status", []byte(res.Body))
	for _, internal := range []string{"ETag", "etag", "AttemptBy", "host-1", "AttemptUntil", `"Pair"`, `"Checks"`, `"OK"`, `\u003e`, "c2VjcmV0a2V5", "abcdef"} {
		if strings.Contains(res.Body, internal) {
			t.Errorf("the Status JSON shows %s:\n%s", internal, res.Body)
		}
	}
	var st view.Status
	if err := json.Unmarshal([]byte(res.Body), &st); err != nil {
		t.Fatal(err)
	}
	if r := st.Readiness[0]; r.State != "stale" || r.Ready || r.AgeSeconds != 18*60 || r.Epoch != 3 || *r.CurrentEpoch != 4 || r.Checks[0].Verdict != "stale" {
		t.Errorf("a report 18 minutes old from epoch 3 at epoch 4: %+v", r)
	}
}
