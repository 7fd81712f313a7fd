package infra

// Review tests of the deployment: each fails on the files as reviewed.

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"integration-dr/handlers"
	"integration-dr/replication"
)

type reviewReplicator []replication.Stats

func (r reviewReplicator) ReplicateAll(context.Context) ([]replication.Stats, error) { return r, nil }

// loggedEvent is the structured event ReplicateSessions logs (and Application Insights
// keeps) for one pair's run.
func loggedEvent(t *testing.T, st replication.Stats) map[string]any {
	t.Helper()
	h := &handlers.Handler{Replicator: reviewReplicator{st}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Timeout: time.Minute}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/"+handlers.FnReplicateSessions, strings.NewReader(`{"Data":{"timer":{}}}`)))
	var reply handlers.Reply
	if err := json.Unmarshal(rec.Body.Bytes(), &reply); err != nil {
		t.Fatalf("reply %q: %v", rec.Body.String(), err)
	}
	for _, l := range reply.Logs {
		var e map[string]any
		if json.Unmarshal([]byte(l), &e) == nil && e["event"] == handlers.EventReplication {
			return e
		}
	}
	t.Fatalf("no replication event in %q", reply.Logs)
	return nil
}

// kqlLagSeconds evaluates modules/alerts.bicep's lagQuery on one logged event: the
// lagSeconds field, or unknownLagSeconds where the query's iff() says so.
func kqlLagSeconds(t *testing.T, query string, e map[string]any) float64 {
	t.Helper()
	unknown := regexp.MustCompile(`(?s)let unknownLagSeconds = ([0-9.]+);.*\| extend lagSeconds = iff\(isnull\(lagSeconds\) or lagSeconds < 0, unknownLagSeconds, lagSeconds\)`).FindStringSubmatch(query)
	lag, ok := e["lagSeconds"].(float64)
	if unknown != nil && (!ok || lag < 0) {
		v, err := strconv.ParseFloat(unknown[1], 64)
		if err != nil {
			t.Fatalf("lagQuery: unknownLagSeconds %q: %v", unknown[1], err)
		}
		return v
	}
	return lag
}

// Until a stream's first full sync completes (a new pair, a checkpoint reset, a restart
// after a failover), the lag is unknown and the handler logs lagSeconds -1. Read as a
// number, that is below any threshold, and the alert would stay silent on a standby
// that is not in sync at all.
func TestReviewLagAlertDoesNotReadAnUnknownLagAsZero(t *testing.T) {
	w := loadWorld(t)
	src := w.files["infra/bicep/modules/alerts.bicep"]
	m := regexp.MustCompile(`(?s)var lagQuery = '''(.*?)'''`).FindStringSubmatch(src)
	if m == nil {
		t.Fatal("modules/alerts.bicep: no lagQuery")
	}
	query := m[1]
	threshold := 600.0 // main.bicep's maxLagSeconds default

	known := loggedEvent(t, replication.Stats{Pair: "contoso-b2b", Scan: replication.ScanIncremental, ScanDone: true, Lag: 12*time.Minute + 3*time.Second})
	if v := kqlLagSeconds(t, query, known); v != 723 {
		t.Fatalf("precondition: the query reads %v as %v s, want 723", known, v)
	}
	unknown := loggedEvent(t, replication.Stats{Pair: "contoso-b2b", Scan: replication.ScanFull, Lag: -time.Second})
	if v := kqlLagSeconds(t, query, unknown); v <= threshold {
		t.Errorf("the lag alert reads %v as %v s: an unknown lag never fires it", unknown, v)
	}
}

// checkWiring holds the queue's maxDeliveryCount to the README's 10 by reading the
// servicebus module's parameter default, not what main.bicep passes it: main.bicep can
// deploy the queue with 3 deliveries and the check still passes.
func TestReviewWiringChecksTheDeliveryCountTheQueueIsDeployedWith(t *testing.T) {
	w := loadWorld(t)
	if got := checkWiring(w); len(got) > 0 {
		t.Fatalf("precondition: checkWiring fails on the real files: %v", got)
	}
	edit(t, w, "infra/bicep/main.bicep", "    queueName: commandQueueName\n", "    queueName: commandQueueName\n    maxDeliveryCount: 3\n")
	if got := checkWiring(w); len(got) == 0 {
		t.Errorf("main.bicep deploys the command queue with maxDeliveryCount 3 and checkWiring passes")
	}
}
