package overview_test

// Review test of the overview: it fails on the code as reviewed.

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"integration-dr/drerr"
	"integration-dr/failover"
	"integration-dr/overview"
	"integration-dr/replication"
	"integration-dr/replication/replicationtest"
)

// oneBadPair is the checkpoint store with one pair's partition unreadable (a corrupt
// entity, a query that failed).
type oneBadPair struct {
	*replicationtest.Store
	bad string
}

func (s oneBadPair) Load(ctx context.Context, pair string) (replication.Checkpoint, replication.ActiveRegion, error) {
	if pair == s.bad {
		return replication.Checkpoint{}, replication.ActiveRegion{}, drerr.Errorf(drerr.Internal, "load checkpoint", "decode checkpoint of %s: bad entity", pair)
	}
	return s.Store.Load(ctx, pair)
}

type readinessOf map[string]failover.Report

func (r readinessOf) LastReadiness(_ context.Context, pair string) (failover.Report, error) {
	if rep, ok := r[pair]; ok {
		return rep, nil
	}
	return failover.Report{}, drerr.Errorf(drerr.NotFound, "readiness", "none")
}

// One pair's unreadable checkpoint hides every pair: the overview shows no stream at
// all (and so no readiness either), and the Status function then answers 503 "state
// store unavailable" for the whole page. The other pairs were read fine.
func TestReviewOnePairsUnreadableCheckpointDoesNotHideTheOthers(t *testing.T) {
	store := oneBadPair{Store: replicationtest.NewStore(), bad: "fabrikam-edi"}
	now := time.Now()
	if _, err := store.Store.Save(context.Background(), replication.Checkpoint{Pair: "contoso-b2b", Watermark: now.Add(-30 * time.Second), LastSuccess: now}); err != nil {
		t.Fatal(err)
	}
	engine := replication.NewEngine(store, replication.Limits{}, slog.New(slog.NewTextHandler(io.Discard, nil)), replication.Options{})
	src := overview.Sources{
		Streams:   &replication.Service{Engine: engine, Pairs: []replication.Pair{{Name: "contoso-b2b"}, {Name: "fabrikam-edi"}}},
		Readiness: readinessOf{"contoso-b2b": {Pair: "contoso-b2b", At: now, Checks: []failover.Check{{Name: failover.CheckNameReachable, OK: true}}}},
		Pairs:     []string{"contoso-b2b", "fabrikam-edi"},
	}
	o := overview.Collect(context.Background(), src, "")
	if len(o.Problems) == 0 {
		t.Fatalf("precondition: the bad pair is not reported")
	}
	if len(o.Streams) != 1 || o.Streams[0].Pair != "contoso-b2b" || len(o.Readiness) != 1 {
		t.Errorf("fabrikam-edi's checkpoint could not be read, and contoso-b2b is gone too: %d streams, %d readiness reports; problems %q",
			len(o.Streams), len(o.Readiness), o.Problems)
	}
}
