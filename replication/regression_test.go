package replication_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"integration-dr/replication"
	"integration-dr/replication/replicationtest"
	"integration-dr/session"
)

// A session listed again on a later page with the same changedTime but other content
// (a rewrite within one clock tick, as TestNewContentWithTheSameChangedTimeIsReplicated
// has across runs) is dropped by the done check, and the watermark moves past it.
func TestASecondStateWithTheSameChangedTimeOnALaterPageIsNotLost(t *testing.T) {
	f := newFixture(t)
	stamp := t0.Add(-time.Hour)
	first := session.Session{Name: "A-X12-Icn", ChangedTime: stamp, Content: cn(1, t0.Add(-2*time.Hour))}
	second := session.Session{Name: "A-X12-Icn", ChangedTime: stamp, Content: cn(2, t0.Add(-2*time.Hour+time.Second))}
	f.pair.Primary = pagesSource{Account: f.primary, pages: [][]session.Session{{first}, {second}}}
	f.run(t)
	f.run(t) // the next, incremental, scan no longer reaches the session's changedTime
	if got := f.secondary.Snapshot()["A-X12-Icn"]; !session.EqualContent(got, second.Content) {
		t.Fatalf("standby holds %s, want the later state %s; watermark %v claims it", got, second.Content, load(t, f).Watermark)
	}
}

// ps51 is content as Windows PowerShell 5.1's ConvertTo-Json writes a DateTime: the
// stamp is present but not in a layout session.ParseContent reads.
func ps51(n int, changed time.Time) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"ControlNumber":"%d","ControlNumberChangedTime":"\/Date(%d)\/","MessageType":0}`, n, changed.UnixMilli()))
}

// With stamps that cannot be compared, Decide compares the active side's changedTime
// with the standby's, which is the time this engine wrote it, on another service's
// clock: every later change of the session is judged older and never replicated.
func TestAChangeWithAnUnreadableStampIsNotHeldBackByTheStandbysWriteTime(t *testing.T) {
	f := newFixture(t)
	f.primary.Set("A-X12-Icn", ps51(1, t0))
	f.run(t)
	f.primary.Advance(time.Second)
	f.primary.Set("A-X12-Icn", ps51(2, t0.Add(time.Second)))
	st := f.run(t)
	if got := f.secondary.Snapshot()["A-X12-Icn"]; !session.EqualContent(got, ps51(2, t0.Add(time.Second))) {
		t.Fatalf("standby holds %s after the active side moved to 2 (verdict counts: same %d, standby-newer %d)", got, st.Same, st.StandbyNewer)
	}
}

// startReconcile stores a checkpoint whose next scan is a reconciliation.
func startReconcile(t *testing.T, f *fixture) {
	t.Helper()
	if _, err := f.store.Save(context.Background(), replication.Checkpoint{Pair: "p", Watermark: t0.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
}

// The standby listing a reconciliation loads at the start of a run goes stale as soon
// as the run writes a session; a later listing of that session is then answered from
// it. Here it says "absent", so an older number is written over the one just written.
func TestAReconcileScanNeverWritesAnOlderNumberOverOneItJustWrote(t *testing.T) {
	f := newFixture(t)
	startReconcile(t, f)
	newer := session.Session{Name: "A-X12-Icn", ChangedTime: t0.Add(-2 * time.Second), Content: cn(5, t0)}
	// Listed again with a later changedTime but an older number (someone reset it).
	older := session.Session{Name: "A-X12-Icn", ChangedTime: t0.Add(-time.Second), Content: cn(4, t0.Add(-time.Minute))}
	f.pair.Primary = pagesSource{Account: f.primary, pages: [][]session.Session{{newer}, {older}}}
	st := f.run(t)
	if !st.Reconcile {
		t.Fatalf("scan %s and no reconciliation, want one", st.Scan)
	}
	if got := f.secondary.Snapshot()["A-X12-Icn"]; !session.EqualContent(got, newer.Content) {
		t.Fatalf("standby moved back to %s from %s", got, newer.Content)
	}
}

// Same stale listing, saying "the standby holds this": the standby keeps the
// intermediate state, and the overlap memory records the final one as held.
func TestAReconcileScanDoesNotCallASessionItJustOverwroteUnchanged(t *testing.T) {
	f := newFixture(t)
	startReconcile(t, f)
	f.secondary.Set("mic-1", json.RawMessage(`{"state":1}`))
	b := session.Session{Name: "mic-1", ChangedTime: t0.Add(-2 * time.Second), Content: json.RawMessage(`{"state":2}`)}
	a := session.Session{Name: "mic-1", ChangedTime: t0.Add(-time.Second), Content: json.RawMessage(`{"state":1}`)}
	f.pair.Primary = pagesSource{Account: f.primary, pages: [][]session.Session{{b}, {a}}}
	st := f.run(t)
	if !st.Reconcile {
		t.Fatalf("scan %s and no reconciliation, want one", st.Scan)
	}
	if got := f.secondary.Snapshot()["mic-1"]; !session.EqualContent(got, a.Content) {
		t.Fatalf("standby holds %s, active's last state is %s (overlap memory now says it is held: %+v)", got, a.Content, load(t, f).Recent["mic-1"])
	}
}

// A reconciliation lists the whole standby at the start of every run and starts over
// in the next run if that takes longer than the lease: on a large account it never
// finishes, and no incremental scan runs meanwhile, with no error reported.
func TestAReconcileScanOfALargeStandbyCompletesAcrossRuns(t *testing.T) {
	f := newFixture(t)
	f.primary.PageSize, f.secondary.PageSize = 10, 10
	for i := range 300 {
		f.primary.Set(fmt.Sprintf("P%04d-X12-Icn", i), cn(i, t0))
	}
	f.run(t) // the full sync, without limits
	cp := load(t, f)
	cp.LastReconciled = cp.LastReconciled.Add(-48 * time.Hour) // a reconciliation is due
	if _, err := f.store.Save(context.Background(), cp); err != nil {
		t.Fatal(err)
	}
	// Listing either side takes about 600 ms; a run may work about 260 ms.
	f.engine = replication.NewEngine(f.store, replication.Limits{Reads: rate.NewLimiter(50, 1)}, discard,
		replication.Options{Lease: 300 * time.Millisecond, ClockSkew: 10 * time.Millisecond, BatchSize: 40, Workers: 8})
	f.primary.Set("P0000-X12-Icn", cn(1000, t0.Add(time.Minute)))
	var scans []string
	for range 10 {
		st := f.run(t)
		scans = append(scans, fmt.Sprintf("%s(done=%v,listed=%d)", st.Scan, st.ScanDone, st.ScanListed))
		if session.EqualContent(f.secondary.Snapshot()["P0000-X12-Icn"], cn(1000, t0.Add(time.Minute))) {
			return
		}
	}
	t.Fatalf("a change made on the active side is not on the standby after 10 runs; scans: %v; last error %q", scans, load(t, f).LastError)
}

// ambiguousStore lands a save and then reports the caller's deadline, as a write cut
// off in flight would, whenever the caller's deadline is near.
type ambiguousStore struct{ *replicationtest.Store }

func (s ambiguousStore) Save(ctx context.Context, cp replication.Checkpoint) (replication.Checkpoint, error) {
	if d, ok := ctx.Deadline(); ok && time.Until(d) < 5*time.Second && cp.Scan.Cursor != "" {
		<-ctx.Done()
		saved, err := s.Store.Save(context.Background(), cp)
		if err != nil {
			return saved, err
		}
		return cp, ctx.Err()
	}
	return s.Store.Save(ctx, cp)
}

func TestAProgressSaveCutOffByTheRunsDeadlineDoesNotStrandTheRun(t *testing.T) {
	f := newFixture(t)
	f.primary.PageSize = 5
	for i := range 20 {
		f.primary.Set(fmt.Sprintf("A%02d-X12-Icn", i), cn(i, t0))
	}
	e := replication.NewEngine(ambiguousStore{f.store}, replication.Limits{}, discard, replication.Options{Lease: 2 * time.Second, ClockSkew: time.Millisecond})
	if _, err := e.Run(context.Background(), f.pair); err != nil {
		t.Fatalf("run: %v", err)
	}
	if cp := load(t, f); cp.LeaseOwner != "" || cp.LastError != "" {
		t.Fatalf("after the run: lease %q, last error %q; want it released with no error", cp.LeaseOwner, cp.LastError)
	}
}

// A reconciliation answers from the standby's listing while its workers record their
// own writes in it: the listing must be read under the same lock it is written under
// (run with -race: "concurrent map read and map write" right after a flip).
func TestAReconcileScanWithManyWorkersReadsTheStandbyListingSafely(t *testing.T) {
	f := newFixture(t)
	f.engine = replication.NewEngine(f.store, replication.Limits{}, discard, replication.Options{BatchSize: 500, Workers: 8})
	for i := range 200 {
		f.primary.Set(fmt.Sprintf("A%03d-X12-Icn", i), cn(i+100, t0.Add(time.Minute)))
	}
	f.run(t) // the full sync
	f.primary.Advance(10 * time.Minute)
	f.run(t) // the watermark moves past every session: the next incremental scan lists none
	for i := 0; i < 200; i += 2 {
		f.secondary.Set(fmt.Sprintf("A%03d-X12-Icn", i), cn(i, t0)) // drift the reconciliation heals
	}
	cp := load(t, f)
	cp.LastReconciled = cp.LastReconciled.Add(-48 * time.Hour)
	if _, err := f.store.Save(context.Background(), cp); err != nil {
		t.Fatal(err)
	}
	st := f.run(t)
	if !st.ReconcileDone || st.Healed != 100 {
		t.Fatalf("reconciliation done %v, healed %d; want done, 100 healed", st.ReconcileDone, st.Healed)
	}
	requireEqual(t, f.primary.Snapshot(), f.secondary.Snapshot())
}

// The overlap memory says what the standby held when a run wrote it; a standby rebuilt
// (or restored) since holds none of it. An incremental scan may skip on that word, but
// a reconciliation in the same run must still compare the session with the standby:
// here it took the scan's skip as "handled" and the lost received number stayed lost.
func TestAReconciliationHealsWhatTheOverlapMemoryWronglySaysTheStandbyHolds(t *testing.T) {
	f := newFixture(t)
	f.primary.Set("X12-ICN-A-648", cn(648, t0))
	f.run(t) // the full sync writes it and remembers it
	f.secondary = replicationtest.NewAccount(t0.Add(time.Hour))
	f.pair.Secondary = f.secondary
	cp := load(t, f)
	cp.LastReconciled = time.Time{} // a reconciliation is due
	if _, err := f.store.Save(context.Background(), cp); err != nil {
		t.Fatal(err)
	}
	st := f.run(t)
	if st.RescanSkipped != 1 || !st.ReconcileDone {
		t.Fatalf("rescan skipped %d, reconciliation done %t: want the scan to skip on memory and the reconciliation to complete", st.RescanSkipped, st.ReconcileDone)
	}
	requireEqual(t, f.primary.Snapshot(), f.secondary.Snapshot())
}
