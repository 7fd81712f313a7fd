package replication_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"integration-dr/drerr"
	"integration-dr/replication"
	"integration-dr/replication/replicationtest"
	"integration-dr/session"
)

// flip moves the pair to its secondary as a failover plan does: the active-region
// record at epoch 1, and the checkpoint prepared for the new direction with the old
// side's fence pending under op (empty: landed) and a merge-back to run.
func flip(t *testing.T, f *fixture, op string) {
	t.Helper()
	f.store.SetRegion("p", replication.ActiveRegion{Active: replication.Secondary, Epoch: 1})
	cp := load(t, f)
	cp.Epoch = 1
	cp.Watermark = f.secondary.Now().Add(-5 * time.Second)
	cp.Scan, cp.Reconcile, cp.Recent = replication.Scan{}, replication.Scan{}, nil
	cp.LeaseOwner, cp.LeaseUntil = "", time.Time{}
	cp.FencePending = op
	cp.MergeBack = replication.Scan{Kind: replication.ScanMergeBack}
	if _, err := f.store.Save(context.Background(), cp); err != nil {
		t.Fatal(err)
	}
}

// fenceLands clears FencePending as the plan does when the old side's fence lands.
func fenceLands(t *testing.T, f *fixture) {
	t.Helper()
	cp := load(t, f)
	cp.FencePending = ""
	if _, err := f.store.Save(context.Background(), cp); err != nil {
		t.Fatal(err)
	}
}

func number(t *testing.T, a *replicationtest.Account, name string) string {
	t.Helper()
	return session.ParseContent(a.Snapshot()[name]).ControlNumber
}

func TestNothingIsWrittenWhileTheStandbysFenceIsPending(t *testing.T) {
	f := newFixture(t)
	f.primary.Set("A-X12-Icn", cn(100, t0))
	f.run(t)
	// The outage: the primary sends and receives alone, then the failover bumps the
	// secondary's number and the secondary sends.
	f.primary.Set("A-X12-Icn", cn(150, t0.Add(time.Second)))
	f.primary.Set("X12-ICN-P-7", cn(7, t0.Add(time.Second)))
	flip(t, f, "op-1")
	f.secondary.Set("A-X12-Icn", cn(1150, t0.Add(time.Minute)))
	f.secondary.Set("B-X12-Icn", cn(5, t0.Add(time.Minute)))
	before := load(t, f)
	primaryPuts, secondaryPuts := f.primary.Puts, f.secondary.Puts

	for run := range 2 {
		st := f.run(t)
		if want := "the standby's fence is pending (operation op-1): nothing is written into a side that may still send"; st.Skipped != want {
			t.Fatalf("run %d skipped %q, want %q", run, st.Skipped, want)
		}
		if f.primary.Puts != primaryPuts || f.secondary.Puts != secondaryPuts {
			t.Fatalf("run %d wrote %d sessions into the fenced-pending old side and %d into the active side; want none", run, f.primary.Puts-primaryPuts, f.secondary.Puts-secondaryPuts)
		}
	}
	if got := number(t, f.primary, "A-X12-Icn"); got != "150" {
		t.Fatalf("the old side's number is %s, want its own 150", got)
	}
	cp := load(t, f)
	switch {
	case cp.LeaseOwner != "":
		t.Errorf("lease left held by %q", cp.LeaseOwner)
	case !cp.LastRun.After(before.LastRun) || len(cp.History) != len(before.History)+2 || cp.Runs != before.Runs+2:
		t.Errorf("runs not recorded: last run %v (before %v), %d samples (before %d)", cp.LastRun, before.LastRun, len(cp.History), len(before.History))
	case !cp.Watermark.Equal(before.Watermark):
		t.Errorf("watermark moved from %v to %v while nothing was replicated", before.Watermark, cp.Watermark)
	case cp.FencePending != "op-1" || cp.MergeBack.Kind != replication.ScanMergeBack:
		t.Errorf("the run changed the plan's state: fence pending %q, merge-back %+v", cp.FencePending, cp.MergeBack)
	case cp.LastError != "":
		t.Errorf("last error %q for a run that did what it should", cp.LastError)
	}
}

// putHook calls before on each Put of the wrapped account, before it lands.
type putHook struct {
	*replicationtest.Account
	before func(session.Session)
}

func (h putHook) Put(ctx context.Context, s session.Session) error {
	h.before(s)
	return h.Account.Put(ctx, s)
}

func TestTheMergeBackBringsWhatTheOldSideHeldAloneBeforeAnythingIsWrittenIntoIt(t *testing.T) {
	mic := func(v string, at time.Time) json.RawMessage {
		return json.RawMessage(fmt.Sprintf(`{"AgreementName":"a","MicValue":%q,"MicChangedTime":%q}`, v, at.Format(time.RFC3339Nano)))
	}
	padded := func(n int, at time.Time) json.RawMessage {
		return json.RawMessage(fmt.Sprintf(`{"ControlNumber":"%09d","ControlNumberChangedTime":%q,"MessageType":0}`, n, at.Format(time.RFC3339Nano)))
	}
	early, late := t0.Add(time.Second), t0.Add(time.Minute)
	tests := []struct {
		name        string
		session     string
		old, active json.RawMessage // nil: that side lacks it
		wantNumber  string          // the active side's number after the merge-back; "" for MIC records
		wantActive  json.RawMessage // the active side's exact content, where it must be unchanged or copied
	}{
		{"a received number only the old side recorded is copied", "X12-ICN-P-7", cn(7, early), nil, "7", cn(7, early)},
		{"a received number both sides hold keeps the active copy", "X12-ICN-P-8", cn(8, early), cn(8, late), "8", cn(8, late)},
		{"an AS2 MIC record only the old side holds is copied", "mic-1", mic("old", early), nil, "", mic("old", early)},
		{"an AS2 MIC record both sides hold keeps the active copy", "mic-2", mic("old", late), mic("new", early), "", mic("new", early)},
		{"a generated number only the old side holds is copied", "C-X12-Icn", cn(40, early), nil, "40", cn(40, early)},
		{"the old side's higher number raises the active's, padding kept, though its stamp is older", "A-X12-Icn", cn(1150, early), padded(150, late), "000001150", nil},
		{"the old side's lower number never lowers the active's", "B-X12-Icn", cn(90, early), cn(1000, late), "1000", cn(1000, late)},
	}
	f := newFixture(t)
	f.run(t)
	for _, tt := range tests {
		if tt.old != nil {
			f.primary.Set(tt.session, tt.old)
		}
	}
	flip(t, f, "op-1")
	for _, tt := range tests {
		if tt.active != nil {
			f.secondary.Set(tt.session, tt.active)
		}
	}
	f.run(t) // the fence is pending: nothing happens
	fenceLands(t, f)

	// Every write into the old side comes after the merge-back wrote what it lacked.
	var mu sync.Mutex
	var early2 []string
	f.pair.Primary = putHook{Account: f.primary, before: func(s session.Session) {
		mu.Lock()
		defer mu.Unlock()
		if _, ok := f.secondary.Snapshot()["X12-ICN-P-7"]; !ok {
			early2 = append(early2, s.Name)
		}
	}}
	st := f.run(t)
	if len(early2) > 0 {
		t.Fatalf("written into the old side before the merge-back completed: %v", early2)
	}
	if st.MergedBack != 4 {
		t.Errorf("merged back %d sessions, want 4 (three copied, one raised)", st.MergedBack)
	}
	if cp := load(t, f); cp.MergeBack.Kind != "" || cp.LastError != "" {
		t.Fatalf("after the run: merge-back %+v, last error %q; want it done", cp.MergeBack, cp.LastError)
	}
	active := f.secondary.Snapshot()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := active[tt.session]
			if tt.wantActive != nil && !session.EqualContent(got, tt.wantActive) {
				t.Errorf("active side holds %s, want %s", got, tt.wantActive)
			}
			c := session.ParseContent(got)
			if tt.wantNumber != "" && c.ControlNumber != tt.wantNumber {
				t.Errorf("active number %q, want %q", c.ControlNumber, tt.wantNumber)
			}
			if tt.wantActive == nil {
				for _, side := range []json.RawMessage{tt.old, tt.active} {
					if s := session.ParseContent(side).Stamp(); !c.Stamp().After(s) {
						t.Errorf("raised stamp %v not after %v: the next forward run could take the other back", c.Stamp(), s)
					}
				}
			}
		})
	}
	// The forward scan then brings the merged active side to the old side: both hold
	// the same, but for a record the old side holds with a newer stamp (forward, the
	// newest stamp still wins).
	f.run(t)
	want, got := f.secondary.Snapshot(), f.primary.Snapshot()
	delete(want, "mic-2")
	delete(got, "mic-2")
	requireEqual(t, want, got)
	if got := session.ParseContent(f.primary.Snapshot()["mic-2"]).MicValue; got != "old" {
		t.Errorf("the old side's newer MIC record became %q", got)
	}
}

// A merge-back larger than a run completes across runs, resuming at its cursor, and
// no run writes into the old side until it has.
func TestAMergeBackSpanningManyRunsCompletesBeforeTheForwardScanWrites(t *testing.T) {
	f := newFixture(t)
	f.primary.PageSize = 10
	f.run(t)
	for i := range 120 {
		f.primary.Set(fmt.Sprintf("X12-ICN-P-%03d", i), cn(i, t0))
	}
	flip(t, f, "")
	f.secondary.Set("A-X12-Icn", cn(5, t0.Add(time.Minute)))
	var forwardEarly bool
	f.pair.Primary = putHook{Account: f.primary, before: func(session.Session) {
		for i := range 120 {
			if _, ok := f.secondary.Snapshot()[fmt.Sprintf("X12-ICN-P-%03d", i)]; !ok {
				forwardEarly = true
			}
		}
	}}
	f.engine = replication.NewEngine(f.store, replication.Limits{Reads: rate.NewLimiter(400, 1)}, discard,
		replication.Options{Lease: 300 * time.Millisecond, ClockSkew: 10 * time.Millisecond, BatchSize: 5, Workers: 4})
	runs := 0
	for load(t, f).MergeBack.Kind != "" {
		if runs++; runs > 20 {
			t.Fatalf("merge-back not done after 20 runs; listed %d", load(t, f).MergeBack.Listed)
		}
		f.run(t)
	}
	if runs < 2 {
		t.Fatalf("the merge-back finished in one run: the test no longer exercises resuming")
	}
	if forwardEarly {
		t.Fatal("the forward scan wrote into the old side before the merge-back completed")
	}
	for i := range 120 {
		if _, ok := f.secondary.Snapshot()[fmt.Sprintf("X12-ICN-P-%03d", i)]; !ok {
			t.Fatalf("received number %d, recorded by the old side alone, is not on the active side", i)
		}
	}
	f.run(t)
	requireEqual(t, f.secondary.Snapshot(), f.primary.Snapshot())
}

// A direction change the engine finds with no flip's preparation (the checkpoint
// still at the old epoch) merges back before it writes into the old side.
func TestAnUnpreparedDirectionChangeStillMergesBack(t *testing.T) {
	f := newFixture(t)
	f.primary.Set("A-X12-Icn", cn(1, t0))
	f.run(t)
	f.primary.Set("X12-ICN-P-1", cn(1, t0.Add(time.Second)))
	f.primary.Set("A-X12-Icn", cn(300, t0.Add(time.Second)))
	f.store.SetRegion("p", replication.ActiveRegion{Active: replication.Secondary, Epoch: 1})
	f.secondary.Set("A-X12-Icn", cn(50, t0.Add(time.Minute)))
	f.run(t)
	if got := number(t, f.secondary, "A-X12-Icn"); got != "300" {
		t.Fatalf("active number %s, want the old side's higher 300", got)
	}
	if got := number(t, f.primary, "A-X12-Icn"); got != "300" {
		t.Fatalf("old side's number moved from 300 to %s", got)
	}
	requireEqual(t, f.secondary.Snapshot(), f.primary.Snapshot())
}

// testClock is the engine's clock in tests that move it by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// lateClaims answers the claim of a stream (the first save naming a lease owner)
// only after the engine's clock moved on by delay.
type lateClaims struct {
	*replicationtest.Store
	clock *testClock
	delay time.Duration
	once  sync.Once
}

func (s *lateClaims) Save(ctx context.Context, cp replication.Checkpoint) (replication.Checkpoint, error) {
	saved, err := s.Store.Save(ctx, cp)
	if cp.LeaseOwner != "" {
		s.once.Do(func() { s.clock.Advance(s.delay) })
	}
	return saved, err
}

// getHook calls after once, after the first Get of the wrapped account answered.
type getHook struct {
	*replicationtest.Account
	once  *sync.Once
	after func()
}

func (h getHook) Get(ctx context.Context, name string) (session.Session, error) {
	s, err := h.Account.Get(ctx, name)
	h.once.Do(h.after)
	return s, err
}

func TestARunThatOutlivedItsLeaseWritesNothing(t *testing.T) {
	const lease = 10 * time.Second
	tests := []struct {
		name string
		// claimDelay is how late the claim answers; getDelay how late the standby read does.
		claimDelay, getDelay time.Duration
	}{
		{"a claim answered after the lease it wrote ended", lease + time.Second, 0},
		{"a claim answered half a second late, a read answered past the deadline", 500 * time.Millisecond, lease - 2*time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.primary.Set("A-X12-Icn", cn(100, t0))
			f.run(t)
			f.primary.Set("A-X12-Icn", cn(150, t0.Add(time.Second)))
			clock := &testClock{t: time.Now()}
			store := &lateClaims{Store: f.store, clock: clock, delay: tt.claimDelay}
			// While the late run waits, its lease ends; a failover takes the stream and
			// bumps the standby's number far past anything sent.
			f.pair.Secondary = getHook{Account: f.secondary, once: &sync.Once{}, after: func() {
				clock.Advance(tt.getDelay)
				f.secondary.Set("A-X12-Icn", cn(1150, t0.Add(time.Hour)))
			}}
			bumped := f.pair.Secondary.(getHook)
			e := replication.NewEngine(store, replication.Limits{}, discard, replication.Options{Lease: lease, ClockSkew: time.Second, Now: clock.Now})
			_, _ = e.Run(context.Background(), f.pair)
			bumped.once.Do(bumped.after) // the bump happens, read or not
			if got := number(t, f.secondary, "A-X12-Icn"); got != "1150" {
				t.Fatalf("the standby's bumped 1150 became %s: a run wrote after its lease", got)
			}
		})
	}
}

// throttledPuts answers every Put with ARM's 429, as azcore does after its retries.
type throttledPuts struct{ *replicationtest.Account }

func (throttledPuts) Put(context.Context, session.Session) error {
	return drerr.Errorf(drerr.Throttled, "put", "429 Too Many Requests")
}

func TestAThrottledRunWhoseCommitFailsReleasesItsLeaseAndSaysSo(t *testing.T) {
	f := newFixture(t)
	f.primary.Set("A-X12-Icn", cn(1, t0))
	f.pair.Secondary = throttledPuts{f.secondary}
	refused := 0
	f.store.RefuseSave = func(cp replication.Checkpoint) bool {
		if cp.LeaseOwner == "" && refused == 0 { // the run's final commit, once
			refused++
			return true
		}
		return false
	}
	_, err := f.engine.Run(context.Background(), f.pair)
	var commit *replication.CommitError
	if !drerr.Is(err, drerr.Throttled) || !errors.As(err, &commit) {
		t.Fatalf("err = %v; want the throttling and a CommitError", err)
	}
	cp := load(t, f)
	if cp.LeaseOwner != "" || !strings.Contains(cp.LastError, "429") || !strings.Contains(cp.LastError, "commit checkpoint") {
		t.Fatalf("after the failed commit: lease %q, last error %q; want it released with the error recorded", cp.LeaseOwner, cp.LastError)
	}
	if len(cp.History) != 1 || cp.History[0].OK {
		t.Fatalf("history %+v, want one failed run", cp.History)
	}
}

// takenAtCommit lets another run take the stream just as this run commits.
type takenAtCommit struct {
	*replicationtest.Store
	once sync.Once
}

func (s *takenAtCommit) Save(ctx context.Context, cp replication.Checkpoint) (replication.Checkpoint, error) {
	if cp.LeaseOwner == "" {
		s.once.Do(func() {
			cur, _, _ := s.Store.Load(ctx, cp.Pair)
			cur.LeaseOwner, cur.LeaseUntil = "other", time.Now().Add(time.Hour)
			_, _ = s.Store.Save(ctx, cur)
		})
	}
	return s.Store.Save(ctx, cp)
}

// A run whose commit fails after another took its stream leaves the other's
// checkpoint alone.
func TestAFailedCommitDoesNotTouchAStreamAnotherRunHolds(t *testing.T) {
	f := newFixture(t)
	f.primary.Set("A-X12-Icn", cn(1, t0))
	e := replication.NewEngine(&takenAtCommit{Store: f.store}, replication.Limits{}, discard, replication.Options{})
	_, err := e.Run(context.Background(), f.pair)
	var commit *replication.CommitError
	if !errors.As(err, &commit) {
		t.Fatalf("err = %v, want a CommitError", err)
	}
	if cp := load(t, f); cp.LeaseOwner != "other" || cp.LastError != "" {
		t.Fatalf("the other run's stream: lease %q, last error %q; want untouched", cp.LeaseOwner, cp.LastError)
	}
}

// The active side sends while the merge-back runs: a number it moved past the old
// side's between the merge-back's read and its write is not lowered.
func TestAMergeBackNeverLowersANumberTheActiveSideMovedMeanwhile(t *testing.T) {
	f := newFixture(t)
	f.run(t)
	f.primary.Set("A-X12-Icn", cn(1150, t0.Add(time.Second)))
	flip(t, f, "")
	f.secondary.Set("A-X12-Icn", cn(150, t0.Add(time.Minute)))
	f.pair.Secondary = getHook{Account: f.secondary, once: &sync.Once{}, after: func() {
		f.secondary.Set("A-X12-Icn", cn(2000, t0.Add(2*time.Minute))) // the active side sends on
	}}
	f.run(t)
	if got := number(t, f.secondary, "A-X12-Icn"); got != "2000" {
		t.Fatalf("the active side's number went from 2000 to %s", got)
	}
}

func TestStatusSaysTheFenceIsPendingAndTheMergeBackUnderWay(t *testing.T) {
	f := newFixture(t)
	f.run(t)
	flip(t, f, "op-9")
	svc := &replication.Service{Engine: f.engine, Pairs: []replication.Pair{f.pair}}
	st, err := svc.Status(context.Background())
	if err != nil || len(st) != 1 || st[0].FencePending != "op-9" || !st[0].MergingBack {
		t.Fatalf("status %+v, err %v; want the pending fence op-9 and a merge-back under way", st, err)
	}
}

// A merge-back left unfinished by an earlier direction is not resumed at its cursor
// when the direction changes again: that cursor lists the other side.
func TestAnUnpreparedDirectionChangeMergesBackFromTheStart(t *testing.T) {
	f := newFixture(t)
	f.run(t)
	f.primary.Set("X12-ICN-P-001", cn(1, t0))
	cp := load(t, f)
	cp.MergeBack = replication.Scan{Kind: replication.ScanMergeBack, Cursor: "X12-ICN-P-050", Listed: 50}
	if _, err := f.store.Save(context.Background(), cp); err != nil {
		t.Fatal(err)
	}
	f.store.SetRegion("p", replication.ActiveRegion{Active: replication.Secondary, Epoch: 1})
	f.run(t)
	if _, ok := f.secondary.Snapshot()["X12-ICN-P-001"]; !ok {
		t.Fatal("a received number the old side held alone was skipped by a stale merge-back cursor")
	}
}
