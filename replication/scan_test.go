package replication_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"integration-dr/drerr"
	"integration-dr/replication"
	"integration-dr/replication/replicationtest"
	"integration-dr/session"
)

func load(t *testing.T, f *fixture) replication.Checkpoint {
	t.Helper()
	cp, _, err := f.store.Load(context.Background(), f.pair.Name)
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

// A first sync far larger than one lease's write budget completes over several runs:
// each run continues where the last stopped, reads no session twice, and the watermark
// moves only when the whole account is on the standby.
func TestAFullSyncSpanningManyRunsAtTheBucketLimitsCompletes(t *testing.T) {
	f := newFixture(t)
	f.primary.PageSize = 40
	const sessions = 400
	for i := range sessions {
		f.primary.Set(fmt.Sprintf("P%04d-X12-Icn", i), cn(i, t0))
	}
	// Writes refill 1,000 a second from a bucket of 50, and a run may work for about
	// 200 ms of its lease: a run can write about a third of the account.
	f.engine = replication.NewEngine(f.store, replication.Limits{
		Reads:  rate.NewLimiter(2500, 250),
		Writes: rate.NewLimiter(1000, 50),
	}, discard, replication.Options{Lease: 300 * time.Millisecond, ClockSkew: 10 * time.Millisecond, Workers: 8, BatchSize: 40})

	var standby []int
	for run := 1; ; run++ {
		if run > 10 {
			t.Fatalf("no complete sync after 10 runs; standby sizes per run %v", standby)
		}
		st := f.run(t)
		standby = append(standby, len(f.secondary.Snapshot()))
		cp := load(t, f)
		if st.ScanDone {
			if cp.Watermark.IsZero() {
				t.Fatal("the scan completed but the watermark did not move")
			}
			break
		}
		if !cp.Watermark.IsZero() {
			t.Fatalf("run %d: watermark %v before the sync completed", run, cp.Watermark)
		}
		if run > 1 && standby[run-1] <= standby[run-2] {
			t.Fatalf("run %d made no progress; standby sizes per run %v", run, standby)
		}
	}
	if len(standby) < 2 {
		t.Fatalf("the sync finished in one run (%v): the test no longer exercises resuming", standby)
	}
	requireEqual(t, f.primary.Snapshot(), f.secondary.Snapshot())
	// A run cut short may have read, but not written, one session per worker.
	if limit := sessions + 8*len(standby); f.secondary.Gets > limit {
		t.Fatalf("%d standby reads for %d sessions in %d runs (at most %d): a resumed run re-read what an earlier run finished", f.secondary.Gets, sessions, len(standby), limit)
	}
	if st := f.run(t); st.Scan != replication.ScanIncremental || st.Writes != 0 {
		t.Fatalf("after the sync: %s scan with %d writes, want an incremental one with none", st.Scan, st.Writes)
	}
	t.Logf("standby sessions after each run: %v", standby)
}

func TestNewContentWithTheSameChangedTimeIsReplicated(t *testing.T) {
	f := newFixture(t)
	s := f.primary.Set("A-X12-Icn", cn(1, t0))
	f.run(t)
	// A service node rewrites the session within the same clock tick.
	f.primary.SetAt("A-X12-Icn", cn(2, t0.Add(time.Second)), s.ChangedTime)
	f.run(t)
	requireEqual(t, f.primary.Snapshot(), f.secondary.Snapshot())
}

func TestAFutureStampDoesNotMoveTheWatermarkAhead(t *testing.T) {
	f := newFixture(t)
	f.primary.Set("A-X12-Icn", cn(1, t0))
	// One node's clock runs an hour fast.
	f.primary.SetAt("B-X12-Icn", cn(1, t0), f.primary.Now().Add(time.Hour))
	st := f.run(t)
	if st.FutureStamped != 1 {
		t.Fatalf("future-stamped sessions counted %d, want 1", st.FutureStamped)
	}
	cp := load(t, f)
	if !cp.Watermark.Before(f.primary.Now()) {
		t.Fatalf("watermark %v is past the service's clock %v", cp.Watermark, f.primary.Now())
	}
	// A real change stamped after the watermark but before the future stamp arrives.
	f.primary.Advance(10 * time.Second)
	f.primary.Set("C-X12-Icn", cn(3, t0.Add(time.Minute)))
	f.run(t)
	requireEqual(t, f.primary.Snapshot(), f.secondary.Snapshot())
	if got := load(t, f).FutureStamped; got < 1 {
		t.Fatalf("checkpoint counts %d future-stamped sessions", got)
	}
}

func TestAChangeVisibleAfterTheOverlapIsHealedByReconciliation(t *testing.T) {
	f := newFixture(t)
	for i := range 10 {
		f.primary.Set(fmt.Sprintf("A%02d-X12-Icn", i), cn(i, t0))
	}
	f.run(t)
	f.primary.Advance(10 * time.Minute)
	f.run(t)
	// Stamped well before the watermark less the overlap, visible only now.
	late := load(t, f).Watermark.Add(-3 * f.pair.Overlap)
	f.primary.SetAt("Late-X12-Icn", cn(5, t0), late)
	if st := f.run(t); st.Writes != 0 {
		t.Fatalf("an incremental scan wrote %d; the late change should be outside its window", st.Writes)
	}
	if _, ok := f.secondary.Snapshot()["Late-X12-Icn"]; ok {
		t.Fatal("the late change was replicated without reconciliation: the test no longer shows the gap")
	}
	// A day later on the service's clock, a reconciliation compares both sides whole.
	f.primary.Advance(25 * time.Hour)
	gets := f.secondary.Gets
	st := f.run(t)
	if !st.ReconcileDone || st.Healed != 1 {
		t.Fatalf("reconciliation done %v, healed %d; want one that heals 1", st.ReconcileDone, st.Healed)
	}
	if reads := f.secondary.Gets - gets; reads != 0 {
		t.Fatalf("reconciliation read %d standby sessions one by one; the standby's listing should answer", reads)
	}
	requireEqual(t, f.primary.Snapshot(), f.secondary.Snapshot())
	if cp := load(t, f); cp.LastHealed != 1 || cp.LastReconciled.IsZero() {
		t.Fatalf("checkpoint: last healed %d, last reconciled %v", cp.LastHealed, cp.LastReconciled)
	}
}

func TestAnExpiredCursorRestartsTheScanWithoutRewriting(t *testing.T) {
	f := newFixture(t)
	f.primary.PageSize = 5
	for i := range 20 {
		f.primary.Set(fmt.Sprintf("A%02d-X12-Icn", i), cn(i, t0))
	}
	f.secondary.FailPutAfter = 12
	if _, err := f.engine.Run(context.Background(), f.pair); err == nil {
		t.Fatal("failing run reported success")
	}
	if cp := load(t, f); cp.Scan.Cursor == "" {
		t.Fatal("no cursor saved after two finished pages")
	}
	f.secondary.FailPutAfter = 0
	f.primary.RefuseCursors = true
	puts := f.secondary.Puts
	st := f.run(t)
	requireEqual(t, f.primary.Snapshot(), f.secondary.Snapshot())
	if w := f.secondary.Puts - puts; w != 8 || !st.ScanDone {
		t.Fatalf("after the cursor expired: %d writes, scan done %v; want the 8 missing and a finished scan", w, st.ScanDone)
	}
}

// slowAccount blocks listing until the run's context ends, as an endpoint that never
// answers would.
type slowAccount struct{ *replicationtest.Account }

func (s slowAccount) List(ctx context.Context, _ time.Time, _ string, _ func(replication.Page) error) error {
	<-ctx.Done()
	return ctx.Err()
}

func TestPairsRunSideBySideAndEveryOutcomeIsRecorded(t *testing.T) {
	f := newFixture(t)
	stuck := replication.Pair{Name: "stuck", Primary: slowAccount{replicationtest.NewAccount(t0)}, Secondary: replicationtest.NewAccount(t0), Overlap: time.Minute}
	f.primary.Set("A-X12-Icn", cn(1, t0))
	svc := &replication.Service{Engine: replication.NewEngine(f.store, replication.Limits{}, discard, replication.Options{Lease: time.Second, ClockSkew: 10 * time.Millisecond}),
		Pairs: []replication.Pair{stuck, f.pair}}
	// The invocation's own deadline ends before the stuck pair's lease.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	stats, err := svc.ReplicateAll(ctx)
	if err == nil || !strings.Contains(err.Error(), "pair stuck") || strings.Contains(err.Error(), "pair p:") {
		t.Fatalf("joined error %v; want the stuck pair's failure only", err)
	}
	if !stats[1].ScanDone {
		t.Fatalf("the healthy pair did not finish beside the stuck one: %+v", stats[1])
	}
	requireEqual(t, f.primary.Snapshot(), f.secondary.Snapshot())
	cp, _, _ := f.store.Load(context.Background(), "stuck")
	if cp.LeaseOwner != "" || !strings.Contains(cp.LastError, "deadline") {
		t.Fatalf("stuck pair's checkpoint: lease %q, last error %q; want the lease released and the error recorded", cp.LeaseOwner, cp.LastError)
	}
}

// hookSink runs a hook before each write to the standby.
type hookSink struct {
	*replicationtest.Account
	before func(n int)
	n      atomic.Int64
}

func (h *hookSink) Put(ctx context.Context, s session.Session) error {
	h.before(int(h.n.Add(1)))
	return h.Account.Put(ctx, s)
}

// The epoch is re-checked before every batch but a run's first, including the first
// batch of each page: a page's progress save proves the lease, not the epoch.
func TestARunStopsWhenTheEpochChangesMidRun(t *testing.T) {
	tests := []struct {
		name      string
		pageSize  int
		maxWrites int
	}{
		{"within a page of several batches (of 7)", 50, 7},
		{"between pages that each fit in one batch", 5, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t) // batches of 7, 3 workers
			f.primary.PageSize = tt.pageSize
			for i := range 30 {
				f.primary.Set(fmt.Sprintf("A%02d-X12-Icn", i), cn(i, t0))
			}
			f.pair.Secondary = &hookSink{Account: f.secondary, before: func(n int) {
				if n == 3 {
					// A failover flips the record while the first batch is being written.
					f.store.SetRegion("p", replication.ActiveRegion{Active: replication.Secondary, Epoch: 1})
				}
			}}
			st := f.run(t)
			if !strings.Contains(st.Skipped, "epoch changed") || f.secondary.Puts > tt.maxWrites {
				t.Fatalf("after the epoch changed in the first batch: %d writes to the old standby (at most %d), skipped %q", f.secondary.Puts, tt.maxWrites, st.Skipped)
			}
		})
	}
}

func TestARunThatOutlivesItsLeaseStopsAndLeavesTheNewOwnerAlone(t *testing.T) {
	f := newFixture(t)
	for i := range 30 {
		f.primary.Set(fmt.Sprintf("A%02d-X12-Icn", i), cn(i, t0))
	}
	f.pair.Secondary = &hookSink{Account: f.secondary, before: func(n int) {
		if n == 3 {
			// This run paused past its lease; another took the stream.
			cp, _, _ := f.store.Load(context.Background(), "p")
			cp.LeaseOwner, cp.LeaseUntil = "other", time.Now().Add(time.Minute)
			if _, err := f.store.Save(context.Background(), cp); err != nil {
				panic(err)
			}
		}
	}}
	st := f.run(t)
	if !strings.Contains(st.Skipped, "another run took the stream") {
		t.Fatalf("skipped %q", st.Skipped)
	}
	if f.secondary.Puts > 7 {
		t.Fatalf("%d writes after losing the stream in the first batch of 7", f.secondary.Puts)
	}
	if cp := load(t, f); cp.LeaseOwner != "other" {
		t.Fatalf("the stale run overwrote the new owner's checkpoint: lease %q", cp.LeaseOwner)
	}
}

func TestTheInjectedClockDecidesWhetherALeaseIsLive(t *testing.T) {
	f := newFixture(t)
	f.primary.Set("A-X12-Icn", cn(1, t0))
	if _, err := f.store.Save(context.Background(), replication.Checkpoint{Pair: "p", LeaseOwner: "other", LeaseUntil: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		now      time.Time
		wantSkip bool
	}{{t0, true}, {t0.Add(2 * time.Minute), false}} {
		e := replication.NewEngine(f.store, replication.Limits{}, discard, replication.Options{Now: func() time.Time { return tt.now }})
		st, err := e.Run(context.Background(), f.pair)
		if err != nil || (st.Skipped != "") != tt.wantSkip {
			t.Fatalf("at %v: skipped %q, err %v; want skipped=%v", tt.now, st.Skipped, err, tt.wantSkip)
		}
	}
}

func TestTheOverlapMemoryLimitCostsReadsNeverWrites(t *testing.T) {
	f := newFixture(t)
	f.engine = replication.NewEngine(f.store, replication.Limits{}, discard, replication.Options{RecentLimit: 5, BatchSize: 7, Workers: 3})
	for i := range 20 {
		f.primary.Set(fmt.Sprintf("A%02d-X12-Icn", i), cn(i, t0))
	}
	f.run(t)
	if n := len(load(t, f).Recent); n != 5 {
		t.Fatalf("overlap memory holds %d, want its limit of 5", n)
	}
	st := f.run(t)
	if st.RescanSkipped != 5 || st.Reads != 15 || st.Writes != 0 {
		t.Fatalf("rescan: skipped %d, read %d, wrote %d; want 5, 15, 0", st.RescanSkipped, st.Reads, st.Writes)
	}
}

// failingSink fails every read with the given error.
type failingSink struct {
	*replicationtest.Account
	err error
}

func (s failingSink) Get(context.Context, string) (session.Session, error) {
	return session.Session{}, s.err
}

func TestAFailedRunNamesItsCauseAndKeepsTheWatermark(t *testing.T) {
	f := newFixture(t)
	f.primary.Set("A-X12-Icn", cn(1, t0))
	cause := drerr.E(drerr.Unavailable, "get session", errors.New("the endpoint refused connections (5 tries)"))
	f.pair.Secondary = failingSink{f.secondary, cause}
	_, err := f.engine.Run(context.Background(), f.pair)
	if !drerr.Is(err, drerr.Unavailable) || !strings.Contains(err.Error(), "refused connections (5 tries)") {
		t.Fatalf("error %v; want the endpoint's refusal with its tries", err)
	}
	cp := load(t, f)
	if !cp.Watermark.IsZero() || !strings.Contains(cp.LastError, "refused connections") {
		t.Fatalf("watermark %v, last error %q", cp.Watermark, cp.LastError)
	}
}

func TestAPanicInAWorkerBecomesAnErrorNotADeadProcess(t *testing.T) {
	f := newFixture(t)
	for i := range 10 {
		f.primary.Set(fmt.Sprintf("A%02d-X12-Icn", i), cn(i, t0))
	}
	f.pair.Secondary = &hookSink{Account: f.secondary, before: func(n int) {
		if n == 4 {
			panic("a bug in a write path")
		}
	}}
	_, err := f.engine.Run(context.Background(), f.pair)
	if err == nil || !strings.Contains(err.Error(), "panic: a bug in a write path") {
		t.Fatalf("error %v; want the worker's panic as an error", err)
	}
	if cp := load(t, f); cp.LeaseOwner != "" || !strings.Contains(cp.LastError, "panic") {
		t.Fatalf("checkpoint after the panic: lease %q, last error %q", cp.LeaseOwner, cp.LastError)
	}
}
