package failover_test

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"integration-dr/command"
	"integration-dr/failover"
	"integration-dr/journal"
	"integration-dr/replication"
	"integration-dr/replication/replicationtest"
)

// Before the first full sync the target's copy says nothing about what the old side
// sent: a move needs force, and even a forced one needs the old side's own numbers.
func TestAMoveBeforeTheFirstFullSyncNeedsForceAndIsSizedByTheMaximumLag(t *testing.T) {
	f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 999999999})
	ctx := context.Background()
	// A pair whose replication never completed a full sync: the lag is unknown.
	f.store = replicationtest.NewStore()
	f.runner.Streams = f.store
	cp, _, _ := f.store.Load(ctx, "p")
	cp.Rates = map[string]float64{"A00-Icn": 2}
	if _, err := f.store.Save(ctx, cp); err != nil {
		t.Fatal(err)
	}
	f.pair.MaxLag = 30 * time.Minute
	f.runner.Pairs["p"] = f.pair
	f.primary.down = true
	op := f.submit(t, command.Command{ID: "c1", Action: command.Failover})
	if op.Status != journal.Rejected || !strings.Contains(op.Error, "full sync") {
		t.Fatalf("unforced: %s %q", op.Status, op.Error)
	}
	blind := f.submit(t, command.Command{ID: "c2", Action: command.Failover, Force: true})
	if blind.Status != journal.Rejected || !strings.Contains(blind.Error, "nothing is known of the old side") {
		t.Fatalf("forced with the old side down: %s %q", blind.Status, blind.Error)
	}
	if got := numbers(t, f.secondary.acct)["A00-Icn"]; got != 100 {
		t.Fatalf("a refused move bumped A00-Icn to %d", got)
	}
	f.primary.down = false
	old := numbers(t, f.primary.acct)["A00-Icn"]
	forced := f.submit(t, command.Command{ID: "c3", Action: command.Failover, Force: true})
	if forced.Status != journal.Succeeded {
		t.Fatalf("forced: %s %q", forced.Status, forced.Error)
	}
	// 2 a second over the 30-minute maximum lag: at least 3600 past the old side's number.
	if got := numbers(t, f.secondary.acct)["A00-Icn"]; got < old+3600 {
		t.Fatalf("A00-Icn bumped to %d; want at least %d", got, old+3600)
	}
	if _, region, _ := f.store.Load(ctx, "p"); region.Active != replication.Secondary {
		t.Fatalf("region %+v", region)
	}
}

// A bump of a large pair within ARM's write budget takes minutes. Once the attempt's
// claim has run out, the timer may take the operation over, finish the bump, enable
// the target and flip; a write this attempt started after that would land over the
// numbers the target has sent since. So no write starts once the claim is over.
func TestNoBumpWriteStartsAfterTheAttemptsClaimEnded(t *testing.T) {
	f := newFixture(t, 2, failover.Bounds{Lower: 1, Upper: 999999999})
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	f.runner.Now, f.journal.Now = now, now
	// One write at a time, as an empty write bucket lets them through.
	f.runner.Writes = rate.NewLimiter(rate.Every(10*time.Millisecond), 1)
	var writes, late atomic.Int32
	f.pair.Secondary.Sessions = hookAccount{f.pair.Secondary.Sessions, func() {
		if writes.Add(1) == 1 {
			offset.Add(int64(6 * time.Minute)) // the first write's turn came late
			return
		}
		late.Add(1)
	}}
	f.runner.Pairs["p"] = f.pair
	ctx := journal.WithDelivery(context.Background(), "m1")
	_, err := f.runner.Submit(ctx, command.Command{ID: "c1", Action: command.Failover, Pair: "p"}, journal.Source{}, now())
	if err == nil || late.Load() != 0 {
		t.Fatalf("the attempt went on writing after its claim ended: %d writes started late (error %v)", late.Load(), err)
	}
	// The operation resumes where it stopped, reading each session first.
	offset.Add(int64(time.Minute))
	if _, err := f.runner.Advance(context.Background()); err != nil {
		t.Fatal(err)
	}
	if op, _ := f.journal.Get(context.Background(), "p", "c1"); op.Status != journal.Succeeded {
		t.Fatalf("resumed: %s %q", op.Status, op.Error)
	}
	noDuplicates(t, f)
}

// A plan may wait for hours (a settle, a fence, this app down). Its hold on the
// replication stream lasts until it ends, not two hours: a run that took the stream
// after that would write the old side's older numbers over the bumps. And the pair's
// lock, expired meanwhile and taken by another command for a moment, does not get the
// waiting plan refused.
func TestAPlanThatWaitsForHoursKeepsItsStreamAndItsPair(t *testing.T) {
	f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 999999999})
	ctx := context.Background()
	f.pair.Settle = time.Minute
	f.runner.Pairs["p"] = f.pair
	if op := f.submit(t, command.Command{ID: "c1", Action: command.Failover}); op.Status != journal.Waiting {
		t.Fatalf("%s %q", op.Status, op.Error)
	}
	bumped := numbers(t, f.secondary.acct)
	// Three hours later, with no timer run in between: the old side's newer-stamped
	// state would win under "newest wins" if a run could take the stream.
	f.shift = 3 * time.Hour
	f.primary.acct.Set("A00-Icn", cnAt(150, time.Now().Add(3*time.Hour)))
	engine := replication.NewEngine(f.store, replication.Limits{}, slog.New(slog.DiscardHandler), replication.Options{Now: f.now, ClockSkew: time.Millisecond})
	if st, err := engine.Run(ctx, f.pair.Replication); err != nil || st.Writes != 0 {
		t.Fatalf("a run during the plan: %d writes, %v", st.Writes, err)
	}
	if got := numbers(t, f.secondary.acct)["A00-Icn"]; got != bumped["A00-Icn"] {
		t.Fatalf("A00-Icn moved from its bump %d to %d", bumped["A00-Icn"], got)
	}
	// Another command holds the pair's lock for a moment when the plan resumes.
	if _, err := f.journal.Lock(ctx, "p", "intruder", f.now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.runner.Advance(ctx); err == nil {
		t.Fatal("the plan ran beside another holder of the lock")
	}
	if op, _ := f.journal.Get(ctx, "p", "c1"); op.Status.Terminal() {
		t.Fatalf("the waiting plan was ended by a lock taken while it waited: %s %q", op.Status, op.Error)
	}
	if err := f.journal.Unlock(ctx, "p", "intruder"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.runner.Advance(ctx); err != nil {
		t.Fatal(err)
	}
	if op, _ := f.journal.Get(ctx, "p", "c1"); op.Status != journal.Succeeded {
		t.Fatalf("resumed: %s %q", op.Status, op.Error)
	}
}
