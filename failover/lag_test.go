package failover_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"integration-dr/command"
	"integration-dr/failover"
	"integration-dr/journal"
	"integration-dr/replication"
	"integration-dr/replication/replicationtest"
)

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
	forced := f.submit(t, command.Command{ID: "c2", Action: command.Failover, Force: true})
	if forced.Status != journal.Waiting { // on the fence of the primary, down
		t.Fatalf("forced: %s %q", forced.Status, forced.Error)
	}
	// 2 a second over the 30-minute maximum lag: at least 3600 past the secondary's copy.
	if got := numbers(t, f.secondary.acct)["A00-Icn"]; got < 100+3600 {
		t.Fatalf("A00-Icn bumped to %d; want at least %d", got, 100+3600)
	}
	if _, region, _ := f.store.Load(ctx, "p"); region.Active != replication.Secondary {
		t.Fatalf("region %+v", region)
	}
}
