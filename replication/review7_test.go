package replication_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"integration-dr/azure/auth"
	"integration-dr/azure/azerr"
	"integration-dr/replication"
	"integration-dr/replication/replicationtest"
	"integration-dr/session"
)

// failingStandby answers its first puts, then answers every further put with a 500
// at once: the call's only try failed. azcore then sleeps before its retry, and the
// run's deadline ends that sleep. What the pipeline returns is built here as the
// adapters build it: a CallError with one try, its last failure the 500, the caller
// done, wrapped by azerr (Unavailable).
type failingStandby struct {
	*replicationtest.Account
	fast atomic.Int32
}

func (s *failingStandby) Put(ctx context.Context, ss session.Session) error {
	if s.fast.Add(-1) >= 0 {
		return s.Account.Put(ctx, ss)
	}
	<-ctx.Done() // azcore's retry delay, ended by the run's deadline
	return azerr.Wrap("put session "+ss.Name, &auth.CallError{
		Tries: 1, Last: &auth.StatusError{Code: 500}, Err: ctx.Err(), Reached: true, CallerDone: true,
	})
}

// A write the standby answered with a 500 is a failure of the standby, not the end of
// the run's time: CutByCaller counts tries, not failures, so a call whose only try
// failed and whose retry the deadline cut is read as "cut short". The run reports
// success and the checkpoint records no error although the standby refused the write.
func TestReview7AWriteTheStandbyAnswered500IsNotACutShortRun(t *testing.T) {
	f := newFixture(t)
	for i := range 60 {
		f.primary.Set(fmt.Sprintf("P%04d-X12-Icn", i), cn(i, t0))
	}
	f.primary.PageSize = 10
	bad := &failingStandby{Account: f.secondary}
	bad.fast.Store(20)
	f.pair.Secondary = bad
	f.engine = replication.NewEngine(f.store, replication.Limits{}, discard, replication.Options{Lease: 300 * time.Millisecond, ClockSkew: 10 * time.Millisecond, Workers: 2, BatchSize: 10})
	st, err := f.engine.Run(context.Background(), f.pair)
	cp, _, lerr := f.store.Load(context.Background(), "p")
	if lerr != nil {
		t.Fatal(lerr)
	}
	if err == nil || cp.LastError == "" {
		t.Fatalf("the standby answered 500 to a write, yet the run returned %v and the checkpoint's last error is %q (writes %d, last success %s): a failing standby is reported healthy",
			err, cp.LastError, st.Writes, cp.LastSuccess.Format(time.RFC3339Nano))
	}
}
