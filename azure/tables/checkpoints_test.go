package tables_test

import (
	"errors"
	"maps"
	"net/http"
	"slices"

	"context"
	"encoding/json"
	"fmt"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

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
	svc, err := tables.NewServiceClient(az.ConnectionString(), "", nil, nil)
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
	recent := map[string]replication.Seen{}
	for i := range 2000 { // more than one table property can hold
		recent[fmt.Sprintf("Contoso-Partner-%04d-X12-Icn", i)] = replication.Seen{Digest: uint64(i) * 0x9E3779B97F4A7C15, Changed: time.Date(2026, 11, 20, 9, 0, i, 123*1000*1000, time.UTC)}
	}
	cp.Watermark = time.Date(2026, 11, 20, 9, 0, 0, 123456700, time.UTC)
	cp.Recent = recent
	cp.Scan = replication.Scan{Kind: replication.ScanFull, Cursor: "https://management.azure.com/next?$skiptoken=abc", StartedAt: cp.Watermark, Listed: 1000, Writes: 900}
	cp.Reconcile = replication.Scan{Kind: replication.ScanReconcile, Cursor: "https://management.azure.com/next?$skiptoken=def", StartedAt: cp.Watermark, Listed: 3000, Writes: 2, NoDigest: true}
	cp.ClockOffset = -1500 * time.Millisecond
	cp.Rates = map[string]float64{"Contoso-Partner-0001-X12-Icn": 2.5, "Contoso-Partner-0002-X12-Gcn": 0.125}
	cp.Runs = 3
	cp.LastSuccess = cp.Watermark.Add(time.Minute)
	for i := range replication.HistoryLen {
		cp.History = append(cp.History, replication.RunSample{At: cp.Watermark.Add(time.Duration(i) * time.Minute), LagSeconds: float64(i) / 4, Writes: int64(i), OK: i%7 != 0})
	}
	saved, err := s.Save(ctx, cp)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := s.Load(ctx, "contoso-b2b")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Watermark.Equal(cp.Watermark) || got.Runs != 3 || len(got.Recent) != len(recent) || got.ETag != saved.ETag ||
		got.Scan != cp.Scan || got.Reconcile != cp.Reconcile || got.ClockOffset != cp.ClockOffset || !maps.Equal(got.Rates, cp.Rates) ||
		!got.LastSuccess.Equal(cp.LastSuccess) || !slices.EqualFunc(got.History, cp.History, func(a, b replication.RunSample) bool {
		return a.At.Equal(b.At) && a.LagSeconds == b.LagSeconds && a.Writes == b.Writes && a.OK == b.OK
	}) {
		t.Fatalf("loaded %v runs %d recent %d etag %q scan %+v offset %v; saved %v runs 3 recent %d etag %q scan %+v offset %v",
			got.Watermark, got.Runs, len(got.Recent), got.ETag, got.Scan, got.ClockOffset, cp.Watermark, len(recent), saved.ETag, cp.Scan, cp.ClockOffset)
	}
	for name, seen := range recent {
		if got.Recent[name] != seen {
			t.Fatalf("recent %s = %+v, want %+v", name, got.Recent[name], seen)
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

func TestActiveRegionChangesOnlyByCompareAndSwap(t *testing.T) {
	s, _ := openStore(t)
	ctx := context.Background()
	first, err := s.SetActiveRegion(ctx, "p'1", replication.ActiveRegion{Active: replication.Secondary, Epoch: 7})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetActiveRegion(ctx, "p'1", replication.ActiveRegion{Active: replication.Primary, Epoch: 7}); !drerr.Is(err, drerr.Conflict) {
		t.Fatalf("a second creator: %v, want conflict", err)
	}
	second, err := s.SetActiveRegion(ctx, "p'1", replication.ActiveRegion{Active: replication.Primary, Epoch: 8, ETag: first.ETag})
	if err != nil {
		t.Fatal(err)
	}
	// A failover holding the record as it was before the last change loses.
	if _, err := s.SetActiveRegion(ctx, "p'1", replication.ActiveRegion{Active: replication.Secondary, Epoch: 8, ETag: first.ETag}); !drerr.Is(err, drerr.Conflict) {
		t.Fatalf("a stale compare-and-swap: %v, want conflict", err)
	}
	_, region, err := s.Load(ctx, "p'1")
	if err != nil || region.Active != replication.Primary || region.Epoch != 8 || region.ETag != second.ETag {
		t.Fatalf("region %+v, err %v; want primary at epoch 8 with the winner's etag", region, err)
	}
}

func TestDevelopmentStorageMeansAzuritesWellKnownEndpoint(t *testing.T) {
	var got string
	capture := doerFunc(func(r *http.Request) (*http.Response, error) {
		got = r.URL.Scheme + "://" + r.URL.Host + r.URL.Path
		return nil, errors.New("captured")
	})
	svc, err := tables.NewServiceClient("UseDevelopmentStorage=true", "", nil, &aztables.ClientOptions{ClientOptions: policy.ClientOptions{Transport: capture, Retry: policy.RetryOptions{MaxRetries: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = svc.NewClient("drstate").CreateTable(context.Background(), nil)
	if !strings.HasPrefix(got, "http://127.0.0.1:10002/devstoreaccount1/") {
		t.Fatalf("request went to %q, want Azurite's well-known table endpoint", got)
	}
	if _, err := tables.NewServiceClient("AccountName=x;AccountKey=secret-key", "", nil, nil); err == nil || strings.Contains(err.Error(), "secret-key") {
		t.Fatalf("bad connection string: %v; want an error that does not quote the key", err)
	}
}

type doerFunc func(*http.Request) (*http.Response, error)

func (f doerFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

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
	engine := replication.NewEngine(s, replication.Limits{}, slog.New(slog.NewTextHandler(io.Discard, nil)), replication.Options{BatchSize: 10})
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

// The two-writer window's state survives a save and a load: a pending fence must keep
// gating writes, and a merge-back under way must resume at its cursor, across restarts.
func TestAPendingFenceAndAMergeBackUnderWayRoundTrip(t *testing.T) {
	s, _ := openStore(t)
	ctx := context.Background()
	cp, _, err := s.Load(ctx, "fabrikam-b2b")
	if err != nil {
		t.Fatal(err)
	}
	cp.Epoch = 2
	cp.FencePending = "op-20261120-0001"
	cp.MergeBack = replication.Scan{Kind: replication.ScanMergeBack, Cursor: "https://management.azure.com/next?$skiptoken=mb", StartedAt: time.Date(2026, 11, 20, 9, 0, 1, 0, time.UTC), Listed: 250, Writes: 7}
	saved, err := s.Save(ctx, cp)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := s.Load(ctx, "fabrikam-b2b")
	if err != nil {
		t.Fatal(err)
	}
	if got.FencePending != cp.FencePending || got.MergeBack != cp.MergeBack {
		t.Fatalf("loaded fence pending %q, merge-back %+v; saved %q, %+v", got.FencePending, got.MergeBack, cp.FencePending, cp.MergeBack)
	}
	// The fence lands and the merge-back completes: both read back empty.
	saved.FencePending, saved.MergeBack = "", replication.Scan{}
	if _, err := s.Save(ctx, saved); err != nil {
		t.Fatal(err)
	}
	if got, _, err := s.Load(ctx, "fabrikam-b2b"); err != nil || got.FencePending != "" || got.MergeBack != (replication.Scan{}) {
		t.Fatalf("after clearing: fence pending %q, merge-back %+v, err %v", got.FencePending, got.MergeBack, err)
	}
}
