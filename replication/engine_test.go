package replication_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"integration-dr/replication"
	"integration-dr/replication/replicationtest"
	"integration-dr/session"
)

var (
	t0      = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	discard = slog.New(slog.NewTextHandler(io.Discard, nil))
)

func cn(n int, changed time.Time) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"ControlNumber":"%d","ControlNumberChangedTime":%q,"MessageType":"X12"}`, n, changed.Format(time.RFC3339Nano)))
}

type fixture struct {
	primary, secondary *replicationtest.Account
	store              *replicationtest.Store
	engine             *replication.Engine
	pair               replication.Pair
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{
		primary:   replicationtest.NewAccount(t0),
		secondary: replicationtest.NewAccount(t0.Add(time.Hour)), // its own clock, far from the primary's
		store:     replicationtest.NewStore(),
	}
	f.engine = replication.NewEngine(f.store, replication.Limits{}, discard, replication.Options{BatchSize: 7, Workers: 3})
	f.pair = replication.Pair{Name: "p", Primary: f.primary, Secondary: f.secondary, Overlap: time.Minute}
	return f
}

func (f *fixture) run(t *testing.T) replication.Stats {
	t.Helper()
	st, err := f.engine.Run(context.Background(), f.pair)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return st
}

func requireEqual(t *testing.T, want, got map[string]json.RawMessage) {
	t.Helper()
	for name, c := range want {
		if !session.EqualContent(c, got[name]) {
			t.Fatalf("session %s: standby holds %s, active %s", name, got[name], c)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("standby holds %d sessions, active %d", len(got), len(want))
	}
}

func TestStandbyEqualsActiveAfterRandomChanges(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			f := newFixture(t)
			rng := rand.New(rand.NewPCG(seed, 0))
			next := map[string]int{}
			for round := range 6 {
				for range rng.IntN(60) {
					var name string
					switch rng.IntN(3) {
					case 0: // a hot generated number, changed again and again
						name = fmt.Sprintf("A%d-X12-Icn", rng.IntN(4))
					case 1:
						name = fmt.Sprintf("X12-ICN-A1-%d", rng.IntN(1000))
					default:
						name = fmt.Sprintf("mic-%d", rng.IntN(50))
					}
					next[name]++
					f.primary.Set(name, cn(next[name], t0.Add(time.Duration(round)*time.Second)))
				}
				f.run(t)
				requireEqual(t, f.primary.Snapshot(), f.secondary.Snapshot())
			}
		})
	}
}

func TestRepeatedChangesOfOneSessionCostOneWrite(t *testing.T) {
	f := newFixture(t)
	f.run(t)
	for i := range 10 {
		f.primary.Set("A-X12-Icn", cn(i, t0.Add(time.Duration(i)*time.Second)))
	}
	if st := f.run(t); st.Writes != 1 {
		t.Fatalf("10 changes of one session made %d writes, want 1", st.Writes)
	}
	requireEqual(t, f.primary.Snapshot(), f.secondary.Snapshot())
}

func TestGeneratedNumbersAreWrittenBeforeReceivedOnes(t *testing.T) {
	f := newFixture(t)
	for i := range 20 {
		f.primary.Set(fmt.Sprintf("X12-ICN-A-%03d", i), cn(i, t0))
		f.primary.Set(fmt.Sprintf("A%02d-X12-Icn", i), cn(i, t0))
	}
	f.engine = replication.NewEngine(f.store, replication.Limits{}, discard, replication.Options{BatchSize: 1000, Workers: 4})
	f.run(t)
	seenReceived := false
	for _, name := range f.secondary.Order {
		k := session.Classify(name, session.Content{})
		if k == session.Received {
			seenReceived = true
		} else if k == session.Generated && seenReceived {
			t.Fatalf("generated %s written after a received number; order %v", name, f.secondary.Order)
		}
	}
}

func TestStandbyControlNumbersNeverMoveBack(t *testing.T) {
	tests := []struct {
		name            string
		active, standby json.RawMessage
		wantStandby     json.RawMessage
	}{
		{"an older number does not overwrite a newer one", cn(10, t0), cn(11, t0.Add(time.Second)), cn(11, t0.Add(time.Second))},
		{"a newer number overwrites an older one", cn(12, t0.Add(2*time.Second)), cn(11, t0.Add(time.Second)), cn(12, t0.Add(2*time.Second))},
		{"a rollover (lower but newer) is replicated", cn(1, t0.Add(3*time.Second)), cn(99999, t0), cn(1, t0.Add(3*time.Second))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.secondary.Set("A-X12-Icn", tt.standby)
			f.primary.Set("A-X12-Icn", tt.active)
			f.run(t)
			if got := f.secondary.Snapshot()["A-X12-Icn"]; !session.EqualContent(got, tt.wantStandby) {
				t.Fatalf("standby holds %s, want %s", got, tt.wantStandby)
			}
		})
	}
}

func TestAFailedRunKeepsItsWatermarkAndTheNextOneFinishes(t *testing.T) {
	f := newFixture(t)
	for i := range 30 {
		f.primary.Set(fmt.Sprintf("A%02d-X12-Icn", i), cn(i, t0))
	}
	f.secondary.FailPutAfter = 10
	if _, err := f.engine.Run(context.Background(), f.pair); err == nil {
		t.Fatal("run with failing writes reported no error")
	}
	cp, _, _ := f.store.Load(context.Background(), "p")
	if !cp.Watermark.IsZero() {
		t.Fatalf("watermark moved to %v after a failed run", cp.Watermark)
	}
	if cp.LeaseOwner != "" || cp.LastError == "" || !cp.LastSuccess.IsZero() || len(cp.History) != 1 || cp.History[0].OK {
		t.Fatalf("failed run left lease %q, last error %q, last success %v, history %+v", cp.LeaseOwner, cp.LastError, cp.LastSuccess, cp.History)
	}
	f.secondary.FailPutAfter = 0
	st := f.run(t)
	if cp, _, _ := f.store.Load(context.Background(), "p"); cp.LastSuccess.IsZero() || len(cp.History) != 2 || !cp.History[1].OK {
		t.Fatalf("the run that succeeded: last success %v, history %+v", cp.LastSuccess, cp.History)
	}
	requireEqual(t, f.primary.Snapshot(), f.secondary.Snapshot())
	// What the failed run wrote is remembered: the resumed run neither rewrites nor
	// re-reads it.
	if st.Writes != 20 || st.RescanSkipped != 10 || st.Reads != 20 {
		t.Fatalf("resumed run wrote %d, read %d and skipped %d, want 20, 20 and 10", st.Writes, st.Reads, st.RescanSkipped)
	}
}

func TestAKilledFullSyncKeepsThePagesItFinished(t *testing.T) {
	f := newFixture(t)
	f.primary.PageSize = 7
	for i := range 30 {
		f.primary.Set(fmt.Sprintf("A%02d-X12-Icn", i), cn(i, t0))
	}
	// The run dies in its third page and never commits its end (the save that
	// releases the lease): only its claim and progress saves reach the store.
	f.secondary.FailPutAfter = 16
	f.store.RefuseSave = func(cp replication.Checkpoint) bool { return cp.LeaseOwner == "" }
	if _, err := f.engine.Run(context.Background(), f.pair); err == nil {
		t.Fatal("failing run reported success")
	}
	f.store.RefuseSave = nil
	f.secondary.FailPutAfter = 0
	// The lease of the killed run must run out before another run may start.
	f.engine = replication.NewEngine(f.store, replication.Limits{}, discard, replication.Options{BatchSize: 7, Workers: 3,
		Now: func() time.Time { return time.Now().Add(time.Hour) }})
	gets := f.secondary.Gets
	st := f.run(t)
	requireEqual(t, f.primary.Snapshot(), f.secondary.Snapshot())
	if reads := f.secondary.Gets - gets; reads != 16 || st.Writes != 14 {
		t.Fatalf("the run after the kill read %d and wrote %d sessions; want 16 and 14 (the two finished pages are not redone)", reads, st.Writes)
	}
}

func TestAStreamHeldByAnotherRunIsLeftAlone(t *testing.T) {
	f := newFixture(t)
	f.primary.Set("A-X12-Icn", cn(1, t0))
	if _, err := f.store.Save(context.Background(), replication.Checkpoint{Pair: "p", LeaseOwner: "other", LeaseUntil: time.Now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	st := f.run(t)
	if st.Skipped == "" || f.secondary.Puts != 0 {
		t.Fatalf("run under another's lease: skipped %q, writes %d", st.Skipped, f.secondary.Puts)
	}
}

func TestReReadingTheOverlapWindowCostsNothing(t *testing.T) {
	f := newFixture(t)
	for i := range 20 {
		f.primary.Set(fmt.Sprintf("A%02d-X12-Icn", i), cn(i, t0))
	}
	f.run(t)
	gets, puts := f.secondary.Gets, f.secondary.Puts
	st := f.run(t)
	if st.RescanSkipped != 20 || f.secondary.Gets != gets || f.secondary.Puts != puts {
		t.Fatalf("rescan: skipped %d, standby reads %d, writes %d", st.RescanSkipped, f.secondary.Gets-gets, f.secondary.Puts-puts)
	}
}

func TestChangesThatAppearLateInsideTheOverlapAreReplicated(t *testing.T) {
	f := newFixture(t)
	f.primary.Set("A-X12-Icn", cn(1, t0))
	f.run(t)
	cp, _, _ := f.store.Load(context.Background(), "p")
	// Stamped before the watermark, visible only now: clock skew, a slow commit.
	f.primary.SetAt("B-X12-Icn", cn(7, t0), cp.Watermark.Add(-30*time.Second))
	f.run(t)
	requireEqual(t, f.primary.Snapshot(), f.secondary.Snapshot())
}

func TestAServiceThatIgnoresTheFilterIsFilteredHere(t *testing.T) {
	f := newFixture(t)
	f.primary.IgnoreFilter = true
	f.pair.Overlap = 0
	for i := range 10 {
		f.primary.Set(fmt.Sprintf("A%02d-X12-Icn", i), cn(i, t0))
	}
	f.run(t)
	f.primary.Advance(time.Minute)
	f.run(t) // the watermark moves a minute on
	f.primary.Advance(time.Minute)
	f.primary.Set("A00-X12-Icn", cn(100, t0.Add(time.Second)))
	st := f.run(t)
	// Nine untouched sessions come back from the service; only the changed one counts.
	if st.Listed != 1 || st.Writes != 1 || st.Reads != 1 {
		t.Fatalf("listed %d, read %d, wrote %d; want 1 each", st.Listed, st.Reads, st.Writes)
	}
}

func TestANewEpochReplicatesTheOtherWay(t *testing.T) {
	f := newFixture(t)
	f.primary.Set("A-X12-Icn", cn(1, t0))
	f.run(t)
	f.store.SetRegion("p", replication.ActiveRegion{Active: replication.Secondary, Epoch: 1})
	f.secondary.Set("A-X12-Icn", cn(50, t0.Add(time.Minute)))
	st := f.run(t)
	if !st.FullSync || st.Direction != "secondary->primary" {
		t.Fatalf("after failover: full sync %v, direction %s", st.FullSync, st.Direction)
	}
	requireEqual(t, f.secondary.Snapshot(), f.primary.Snapshot())
}

func TestOnlyConfiguredKindsAreReplicated(t *testing.T) {
	f := newFixture(t)
	f.pair.Kinds = map[session.Kind]bool{session.Generated: true}
	f.primary.Set("A-X12-Icn", cn(1, t0))
	f.primary.Set("X12-ICN-A-1", cn(1, t0))
	f.run(t)
	got := f.secondary.Snapshot()
	if _, ok := got["A-X12-Icn"]; !ok || len(got) != 1 {
		t.Fatalf("standby holds %v, want only the generated number", got)
	}
}

// pagesSource lists fixed pages, as a service might when a session changes while a
// listing is paged: the same session can come back twice, in either order.
type pagesSource struct {
	*replicationtest.Account
	pages [][]session.Session
}

func (p pagesSource) List(_ context.Context, _ time.Time, _ string, page func(replication.Page) error) error {
	for i, pg := range p.pages {
		next := ""
		if i < len(p.pages)-1 {
			next = strconv.Itoa(i + 1)
		}
		if err := page(replication.Page{Sessions: pg, Date: t0, Next: next}); err != nil {
			return err
		}
	}
	return nil
}

func TestASessionListedTwiceEndsInItsNewestState(t *testing.T) {
	// Content with no time of its own: only the listing's changedTime orders the two.
	older := session.Session{Name: "A-X12-Icn", ChangedTime: t0, Content: json.RawMessage(`{"state":1}`)}
	newer := session.Session{Name: "A-X12-Icn", ChangedTime: t0.Add(time.Second), Content: json.RawMessage(`{"state":2}`)}
	tests := []struct {
		name      string
		pages     [][]session.Session
		maxWrites int
	}{
		{"older on one page, newer on the next", [][]session.Session{{older}, {newer}}, 2},
		{"newer on one page, older on the next: the older is never written", [][]session.Session{{newer}, {older}}, 1},
		{"both on one page: one write", [][]session.Session{{older, newer}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.pair.Primary = pagesSource{Account: f.primary, pages: tt.pages}
			st := f.run(t)
			if got := f.secondary.Snapshot()["A-X12-Icn"]; st.Writes > tt.maxWrites || !session.EqualContent(got, newer.Content) {
				t.Fatalf("%d writes, standby holds %s; want at most %d, ending in %s", st.Writes, got, tt.maxWrites, newer.Content)
			}
		})
	}
}

func TestTheRunHistoryIsBounded(t *testing.T) {
	f := newFixture(t)
	f.primary.Set("A00-X12-Icn", cn(1, t0))
	for range replication.HistoryLen + 5 {
		f.run(t)
	}
	cp, _, _ := f.store.Load(context.Background(), "p")
	if len(cp.History) != replication.HistoryLen || !cp.History[0].At.Before(cp.History[len(cp.History)-1].At) && !cp.History[0].At.Equal(cp.History[len(cp.History)-1].At) {
		t.Fatalf("history of %d samples after %d runs", len(cp.History), replication.HistoryLen+5)
	}
}
