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

// loggedLine is the line ReplicateSessions logs (and Application Insights keeps) for
// one pair's run.
func loggedLine(t *testing.T, st replication.Stats) string {
	t.Helper()
	h := &handlers.Handler{Replicator: reviewReplicator{st}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Timeout: time.Minute}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/"+handlers.FnReplicateSessions, strings.NewReader(`{"Data":{"timer":{}}}`)))
	var reply handlers.Reply
	if err := json.Unmarshal(rec.Body.Bytes(), &reply); err != nil || len(reply.Logs) == 0 {
		t.Fatalf("reply %q: %v", rec.Body.String(), err)
	}
	return reply.Logs[0]
}

// kqlLagSeconds evaluates modules/alerts.bicep's lagQuery on one message: its extract()
// patterns are RE2, as Go's, and its arithmetic is copied here (todouble("") is null,
// which coalesce turns into 0). An unknown lag (none extracted, or negative) is the
// query's unknownLagSeconds when the query has that branch, written as copied here.
func kqlLagSeconds(t *testing.T, query, message string) (float64, string) {
	t.Helper()
	extract := func(name string) *regexp.Regexp {
		m := regexp.MustCompile(name + ` = extract\(@'([^']+)', 1, message\)`).FindStringSubmatch(query)
		if m == nil {
			t.Fatalf("lagQuery: no %s = extract(...)", name)
		}
		return regexp.MustCompile(m[1])
	}
	lag := ""
	if m := extract("lag").FindStringSubmatch(message); m != nil {
		lag = m[1]
	}
	unknown := regexp.MustCompile(`(?s)^\s*let unknownLagSeconds = ([0-9.]+);.*\| extend lagSeconds = iff\(isempty\(lag\) or lag startswith '-', unknownLagSeconds,`).FindStringSubmatch(query)
	if unknown != nil && (lag == "" || strings.HasPrefix(lag, "-")) {
		v, err := strconv.ParseFloat(unknown[1], 64)
		if err != nil {
			t.Fatalf("lagQuery: unknownLagSeconds %q: %v", unknown[1], err)
		}
		return v, lag
	}
	num := func(re, s string) float64 {
		if m := regexp.MustCompile(re).FindStringSubmatch(s); m != nil {
			v, _ := strconv.ParseFloat(m[1], 64)
			return v
		}
		return 0
	}
	if strings.HasSuffix(lag, "ms") {
		return num(`^([0-9.]+)ms$`, lag) / 1000, lag
	}
	return num(`([0-9]+)h`, lag)*3600 + num(`([0-9]+)m`, lag)*60 + num(`([0-9.]+)s$`, lag), lag
}

// The replication-lag alert reads the lag out of ReplicateSessions' log line. Before a
// stream's first full sync completes (a new pair, a checkpoint reset, a restart after
// a failover), and for as long as it never does, the handler logs "lag -1s": the lag
// is unknown. The query's pattern does not match a minus sign, so the row's lag is 0 s
// and the alert stays silent on a standby that is not in sync at all.
func TestReviewLagAlertDoesNotReadAnUnknownLagAsZero(t *testing.T) {
	w := loadWorld(t)
	src := w.files["infra/bicep/modules/alerts.bicep"]
	m := regexp.MustCompile(`(?s)var lagQuery = '''(.*?)'''`).FindStringSubmatch(src)
	if m == nil {
		t.Fatal("modules/alerts.bicep: no lagQuery")
	}
	query := m[1]
	threshold := 600.0 // main.bicep's maxLagSeconds default

	known := loggedLine(t, replication.Stats{Pair: "contoso-b2b", Scan: replication.ScanIncremental, ScanDone: true, Lag: 12*time.Minute + 3*time.Second})
	if v, _ := kqlLagSeconds(t, query, known); v != 723 {
		t.Fatalf("precondition: the query reads %q as %v s, want 723", known, v)
	}
	unknown := loggedLine(t, replication.Stats{Pair: "contoso-b2b", Scan: replication.ScanFull, Lag: -time.Second})
	if v, lag := kqlLagSeconds(t, query, unknown); v <= threshold {
		t.Errorf("the lag alert reads %q as %v s (extracted lag %q): an unknown lag never fires it", unknown, v, lag)
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
