package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"integration-dr/drerr"
	"integration-dr/journal"
	"integration-dr/replication"
)

type statsReplicator struct {
	stats []replication.Stats
	err   error
}

func (r statsReplicator) ReplicateAll(context.Context) ([]replication.Stats, error) {
	return r.stats, r.err
}

// events are the structured lines of a reply's Logs, by pair or operation id.
func events(t *testing.T, logs []string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, l := range logs {
		if !strings.HasPrefix(l, "{") {
			continue
		}
		var e map[string]any
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("log line %q is not JSON: %v", l, err)
		}
		key, _ := e["pair"].(string)
		if id, ok := e["operationId"].(string); ok {
			key = id
		}
		out[key] = e
	}
	return out
}

func TestAReplicationRunLogsEachPairsLagAndOutcomeAsFields(t *testing.T) {
	stats := []replication.Stats{
		{Pair: "ok", Lag: 90 * time.Second, FullSync: true},
		{Pair: "new", Lag: -time.Second},
		{Pair: "slow", Lag: 5 * time.Second},
		{Pair: "broken", Lag: 7 * time.Second},
		{Pair: "idle", Lag: 0, Skipped: "no standby"},
	}
	err := errors.Join(
		fmt.Errorf("pair slow: %w", drerr.Errorf(drerr.Throttled, "list", "429")),
		fmt.Errorf("pair broken: %w", drerr.Errorf(drerr.Unavailable, "write", "503")),
	)
	h := &Handler{Replicator: statsReplicator{stats, err}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Timeout: time.Minute}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/"+FnReplicateSessions, strings.NewReader(`{"Data":{"timer":{}}}`)))
	var reply Reply
	if err := json.Unmarshal(rec.Body.Bytes(), &reply); err != nil {
		t.Fatal(err)
	}
	got := events(t, reply.Logs)
	tests := []struct {
		pair    string
		lag     float64
		outcome string
	}{
		{"ok", 90, OutcomeSucceeded},
		{"new", -1, OutcomeSucceeded},
		{"slow", 5, OutcomeThrottled},
		{"broken", 7, OutcomeFailed},
		{"idle", 0, OutcomeSkipped},
	}
	for _, tt := range tests {
		t.Run("pair "+tt.pair+" is logged with lag and outcome", func(t *testing.T) {
			e := got[tt.pair]
			if e == nil || e["event"] != EventReplication || e["lagSeconds"] != tt.lag || e["outcome"] != tt.outcome {
				t.Fatalf("event %v; want lagSeconds %v, outcome %s", e, tt.lag, tt.outcome)
			}
		})
	}
}

func TestAnOperationIsLoggedWithItsStepAndAge(t *testing.T) {
	start := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	now := start.Add(20 * time.Minute)
	tests := []struct {
		name string
		op   journal.Operation
		want Event
	}{
		{"a waiting operation: the step it waits in, and its age so far",
			journal.Operation{ID: "op-1", Pair: "p", Action: "failover", Status: journal.Waiting, RTOStart: start,
				Steps: []journal.Step{{Name: "fence", Status: journal.StepDone}, {Name: "drain", Status: journal.StepWaiting}, {Name: "flip", Status: journal.StepPending}}},
			Event{Event: EventOperation, Pair: "p", OperationID: "op-1", Action: "failover", Step: "drain", Outcome: "waiting", AgeSeconds: seconds(20 * time.Minute)}},
		{"a failed operation: the step that failed, its age when it ended",
			journal.Operation{ID: "op-2", Pair: "p", Action: "fallback", Status: journal.Failed, RTOStart: start, Done: start.Add(3 * time.Minute),
				Steps: []journal.Step{{Name: "bump", Status: journal.StepFailed}}},
			Event{Event: EventOperation, Pair: "p", OperationID: "op-2", Action: "fallback", Step: "bump", Outcome: "failed", AgeSeconds: seconds(3 * time.Minute)}},
		{"a succeeded operation: its last step",
			journal.Operation{ID: "op-3", Pair: "p", Action: "drill", Status: journal.Succeeded, Steps: []journal.Step{{Name: "a", Status: journal.StepDone}, {Name: "b", Status: journal.StepSkipped}}},
			Event{Event: EventOperation, Pair: "p", OperationID: "op-3", Action: "drill", Step: "b", Outcome: "succeeded"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := operationEvent(tt.op, now)
			if got.Line() != tt.want.Line() {
				t.Fatalf("event %s, want %s", got.Line(), tt.want.Line())
			}
		})
	}
}
