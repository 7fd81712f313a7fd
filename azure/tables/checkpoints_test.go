package tables_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"golang.org/x/time/rate"

	"integration-dr/azure/tables"
	"integration-dr/dev/localstack"
	"integration-dr/drerr"
	"integration-dr/replication"
	"integration-dr/replication/replicationtest"
	"integration-dr/session"
)

func openStore(t *testing.T) (*tables.Store, *localstack.Azurite) {
	t.Helper()
	az := localstack.AzuriteForTest(t)
	svc, err := aztables.NewServiceClientFromConnectionString(az.ConnectionString(), nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := tables.Open(context.Background(), svc, "drstate")
	if err != nil {
		t.Fatal(err)
	}
	// Opening again finds the table already there.
	if _, err := tables.Open(context.Background(), svc, "drstate"); err != nil {
		t.Fatalf("second open: %v", err)
	}
	return s, az
}

func TestCheckpointRoundTripsAndWritesAreConditional(t *testing.T) {
	s, _ := openStore(t)
	ctx := context.Background()
	cp, region, err := s.Load(ctx, "contoso-b2b")
	if err != nil || cp.ETag != "" || region.Active != replication.Primary {
		t.Fatalf("new pair: cp %+v, region %+v, err %v", cp, region, err)
	}
	recent := map[string]time.Time{}
	for i := range 1500 { // more than one table property can hold
		recent[fmt.Sprintf("Contoso-Partner-%04d-X12-Icn", i)] = time.Date(2026, 11, 20, 9, 0, i, 1234567*100, time.UTC)
	}
	cp.Watermark = time.Date(2026, 11, 20, 9, 0, 0, 123456700, time.UTC)
	cp.Recent = recent
	cp.Runs = 3
	saved, err := s.Save(ctx, cp)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := s.Load(ctx, "contoso-b2b")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Watermark.Equal(cp.Watermark) || got.Runs != 3 || len(got.Recent) != len(recent) || got.ETag != saved.ETag {
		t.Fatalf("loaded %v runs %d recent %d etag %q; saved %v runs 3 recent %d etag %q", got.Watermark, got.Runs, len(got.Recent), got.ETag, cp.Watermark, len(recent), saved.ETag)
	}
	for name, ts := range recent {
		if !got.Recent[name].Equal(ts) {
			t.Fatalf("recent %s = %v, want %v", name, got.Recent[name], ts)
		}
	}

	// A writer holding the old ETag loses; so does a second creator.
	got.Runs = 4
	if _, err := s.Save(ctx, got); err != nil {
		t.Fatalf("save with current etag: %v", err)
	}
	if _, err := s.Save(ctx, saved); !drerr.Is(err, drerr.Conflict) {
		t.Fatalf("save with a stale etag: %v, want conflict", err)
	}
	if _, err := s.Save(ctx, replication.Checkpoint{Pair: "contoso-b2b"}); !drerr.Is(err, drerr.Conflict) {
		t.Fatalf("second create: %v, want conflict", err)
	}
	final, _, _ := s.Load(ctx, "contoso-b2b")
	if final.Runs != 4 {
		t.Fatalf("runs = %d after the lost races, want 4", final.Runs)
	}
}

func TestActiveRegionIsReadWithTheCheckpoint(t *testing.T) {
	s, _ := openStore(t)
	ctx := context.Background()
	if err := s.SetActiveRegion(ctx, "p'1", replication.ActiveRegion{Active: replication.Secondary, Epoch: 7}); err != nil {
		t.Fatal(err)
	}
	_, region, err := s.Load(ctx, "p'1")
	if err != nil || region.Active != replication.Secondary || region.Epoch != 7 {
		t.Fatalf("region %+v, err %v", region, err)
	}
}

func cn(n int) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"ControlNumber":"%d","ControlNumberChangedTime":"2026-11-20T09:00:%02dZ"}`, n, n%60))
}

// The engine on a real Table Storage checkpoint: a run that fails half-way leaves the
// watermark where it was, and the next run finishes the job.
func TestResumeAfterAFailedRunOnTableStorage(t *testing.T) {
	s, az := openStore(t)
	ctx := context.Background()
	primary := replicationtest.NewAccount(time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC))
	secondary := replicationtest.NewAccount(time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC))
	for i := range 40 {
		primary.Set(fmt.Sprintf("A%02d-X12-Icn", i), cn(i))
	}
	engine := replication.NewEngine(s, rate.NewLimiter(rate.Inf, 1), slog.New(slog.NewTextHandler(io.Discard, nil)), replication.Options{BatchSize: 10})
	pair := replication.Pair{Name: "contoso-b2b", Primary: primary, Secondary: secondary, Overlap: time.Minute}

	secondary.FailPutAfter = 15
	if _, err := engine.Run(ctx, pair); err == nil {
		t.Fatal("failing run reported success")
	}
	cp, _, _ := s.Load(ctx, "contoso-b2b")
	if !cp.Watermark.IsZero() || cp.LastError == "" || cp.LeaseOwner != "" {
		t.Fatalf("after failure: watermark %v, last error %q, lease %q", cp.Watermark, cp.LastError, cp.LeaseOwner)
	}

	// Table Storage itself goes away and comes back between runs.
	if err := az.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	secondary.FailPutAfter = 0
	st, err := engine.Run(ctx, pair)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range primary.Snapshot() {
		if !session.EqualContent(c, secondary.Snapshot()[name]) {
			t.Fatalf("%s not replicated after resume", name)
		}
	}
	if st.Writes != 25 {
		t.Fatalf("resumed run wrote %d, want the 25 missing", st.Writes)
	}
}
