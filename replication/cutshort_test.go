package replication_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"integration-dr/drerr"
	"integration-dr/replication"
	"integration-dr/replication/replicationtest"
	"integration-dr/session"
)

// lateAnswer is what an adapter returns for a call the caller's own deadline ended
// after the endpoint had answered, with no failed try before: Unavailable (the endpoint
// was there), but cut by the caller (see the adapters' CallError).
type lateAnswer struct{ err error }

func (e lateAnswer) Error() string {
	return "the endpoint did not answer in time (1 tries): " + e.err.Error()
}
func (e lateAnswer) Unwrap() error     { return e.err }
func (e lateAnswer) CutByCaller() bool { return true }

// slowStandby answers its first puts, then holds each until the caller's deadline
// and fails it as a late answer.
type slowStandby struct {
	*replicationtest.Account
	fast atomic.Int32
}

func (s *slowStandby) Put(ctx context.Context, ss session.Session) error {
	if s.fast.Add(-1) >= 0 {
		return s.Account.Put(ctx, ss)
	}
	<-ctx.Done()
	return drerr.E(drerr.Unavailable, "put session "+ss.Name, lateAnswer{ctx.Err()})
}

// A write the run's own deadline cut short after the standby had answered is the end
// of the run's time, not a failure: the run keeps its progress and reports success,
// and the next runs finish the sync. Reported as a failure, the host records a failed
// invocation (and alerts) for a run that did all it could.
func TestAWriteCutByTheRunsDeadlineAfterAnAnswerEndsTheRunWithoutFailing(t *testing.T) {
	f := newFixture(t)
	for i := range 60 {
		f.primary.Set(fmt.Sprintf("P%04d-X12-Icn", i), cn(i, t0))
	}
	f.primary.PageSize = 10
	slow := &slowStandby{Account: f.secondary}
	slow.fast.Store(20)
	f.pair.Secondary = slow
	f.engine = replication.NewEngine(f.store, replication.Limits{}, discard, replication.Options{Lease: 300 * time.Millisecond, ClockSkew: 10 * time.Millisecond, Workers: 2, BatchSize: 10})
	st, err := f.engine.Run(context.Background(), f.pair)
	if err != nil {
		t.Fatalf("the run failed: %v; want it cut short with its progress kept", err)
	}
	if st.ScanDone {
		t.Fatalf("the scan finished although the standby stopped answering in time")
	}
	slow.fast.Store(1 << 20)
	for run := 0; !st.ScanDone; run++ {
		if run > 10 {
			t.Fatal("no complete sync after 10 more runs")
		}
		st = f.run(t)
	}
	requireEqual(t, f.primary.Snapshot(), f.secondary.Snapshot())
}
