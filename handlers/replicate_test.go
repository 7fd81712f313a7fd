package handlers

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"integration-dr/drerr"
	"integration-dr/replication"
	"integration-dr/replication/replicationtest"
	"integration-dr/session"
)

// throttledStandby answers every write with ARM's 429, as azcore does after its retries.
type throttledStandby struct{ *replicationtest.Account }

func (throttledStandby) Put(context.Context, session.Session) error {
	return drerr.Errorf(drerr.Throttled, "put", "429 Too Many Requests")
}

// The real engine's error for a throttled pair whose checkpoint commit failed fails
// the invocation: a lease left held and a missing LastError must be seen.
func TestAThrottledPairWhoseCommitFailedFailsTheInvocation(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	primary, secondary := replicationtest.NewAccount(t0), replicationtest.NewAccount(t0.Add(time.Hour))
	primary.Set("A-X12-Icn", json.RawMessage(`{"ControlNumber":"1","ControlNumberChangedTime":"2026-11-20T09:00:00Z"}`))
	store := replicationtest.NewStore()
	store.RefuseSave = func(cp replication.Checkpoint) bool { return cp.LeaseOwner == "" } // every final commit
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := &replication.Service{
		Engine: replication.NewEngine(store, replication.Limits{}, log, replication.Options{}),
		Pairs:  []replication.Pair{{Name: "p", Primary: primary, Secondary: throttledStandby{secondary}}},
	}
	h := &Handler{Replicator: svc, Log: log, Timeout: time.Minute}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/ReplicateSessions", strings.NewReader(timerInvocation)))
	if rec.Code < 300 {
		t.Fatalf("status %d for a pair whose run was not recorded; body %s", rec.Code, rec.Body)
	}
	if !strings.Contains(rec.Body.String(), "not recorded in its checkpoint") {
		t.Fatalf("reply does not say the run was not recorded: %s", rec.Body)
	}
}
