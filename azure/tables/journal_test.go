package tables_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"integration-dr/azure/tables"
	"integration-dr/command"
	"integration-dr/dev/localstack"
	"integration-dr/drerr"
	"integration-dr/journal"
)

// One Azurite serves every journal test of the package run; each test uses pairs of
// its own. It starts on first use and stops when the run ends.
var shared struct {
	once sync.Once
	az   *localstack.Azurite
	dir  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.az != nil {
		shared.az.Stop()
	}
	if shared.dir != "" {
		_ = os.RemoveAll(shared.dir) // a temporary directory; the tests have passed or failed already
	}
	os.Exit(code)
}

func sharedAzurite(t *testing.T) *localstack.Azurite {
	t.Helper()
	if testing.Short() {
		t.Skip("needs Azurite: skipped in -short mode")
	}
	shared.once.Do(func() {
		if shared.dir, shared.err = os.MkdirTemp("", "journal-azurite-"); shared.err == nil {
			shared.az, shared.err = localstack.StartAzurite(context.Background(), shared.dir)
		}
	})
	if shared.err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("Azurite is required in CI: %v", shared.err)
		}
		t.Skipf("Azurite unavailable (run `npm ci`): %v", shared.err)
	}
	return shared.az
}

// requests counts the requests a client sends, by kind.
type requests struct{ batches, all atomic.Int64 }

func (r *requests) Do(req *http.Request) (*http.Response, error) {
	r.all.Add(1)
	if strings.HasSuffix(req.URL.Path, "$batch") {
		r.batches.Add(1)
	}
	return http.DefaultClient.Do(req)
}

type fixture struct {
	run   int64 // pairs get it as a suffix: Azurite outlives a test under -count
	j     *tables.Journal
	raw   *aztables.Client // the same table, for looking at what is stored
	calls *requests
	clock *clock
}

var runs atomic.Int64

// pair names a pair of this test's own.
func (f fixture) pair(name string) string { return fmt.Sprintf("%s-%d", name, f.run) }

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.now = c.now.Add(d) }

func openJournal(t *testing.T) fixture {
	t.Helper()
	az := sharedAzurite(t)
	calls := &requests{}
	svc, err := tables.NewServiceClient(az.ConnectionString(), "", nil, &aztables.ClientOptions{ClientOptions: policy.ClientOptions{Transport: calls}})
	if err != nil {
		t.Fatal(err)
	}
	j, err := tables.OpenJournal(context.Background(), svc, "drstate")
	if err != nil {
		t.Fatal(err)
	}
	// The checkpoints' store opens the same table beside it.
	if _, err := tables.Open(context.Background(), svc, "drstate"); err != nil {
		t.Fatalf("open checkpoints on the journal's table: %v", err)
	}
	c := &clock{now: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)}
	j.Now = c.Now
	return fixture{run: runs.Add(1), j: j, raw: svc.NewClient("drstate"), calls: calls, clock: c}
}

func newOp(id, pair string, created time.Time) journal.Operation {
	epoch := int64(0)
	op := journal.New(command.Command{ID: id, Action: command.Failover, Pair: pair, Reason: "weu down", ExpectedEpoch: &epoch},
		journal.Source{AlertID: "/subscriptions/0/providers/Microsoft.AlertsManagement/alerts/a1", AlertRule: "ia-weu-down"},
		created.Add(-90*time.Second), created)
	op.PlanSteps("readiness", "fence", "bump", "switch")
	return op
}

// rows lists the row keys stored in a partition.
func rows(t *testing.T, f fixture, pk string) []string {
	t.Helper()
	filter := fmt.Sprintf("PartitionKey eq '%s'", pk)
	sel := "RowKey"
	pager := f.raw.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter, Select: &sel})
	var out []string
	for pager.More() {
		page, err := pager.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, raw := range page.Entities {
			var e struct{ RowKey string }
			_ = json.Unmarshal(raw, &e)
			out = append(out, e.RowKey)
		}
	}
	return out
}

func TestCreatingAnOperationTwiceConflictsAndTheFirstIsLoaded(t *testing.T) {
	f := openJournal(t)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 123456789, time.UTC)
	first := newOp("cmd-1", f.pair("create-pair"), t0)
	first.LagAtStart = 42 * time.Second
	first.EpochBefore = 1 << 40 // past Int32 and float precision at ns: kept as Edm.Int64
	created, err := f.j.Create(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	if created.ETag == "" {
		t.Fatal("create returned no ETag")
	}

	// The same command redelivered a minute later.
	again := newOp("cmd-1", f.pair("create-pair"), t0.Add(time.Minute))
	again.Reason = "redelivered"
	if _, err := f.j.Create(ctx, again); !drerr.Is(err, drerr.Conflict) {
		t.Fatalf("second create: %v, want conflict", err)
	}
	got, err := f.j.Get(ctx, f.pair("create-pair"), "cmd-1")
	if err != nil {
		t.Fatal(err)
	}
	first.ETag = created.ETag
	if !equalOps(got, first) {
		t.Fatalf("loaded\n%+v\nwant the first\n%+v", got, first)
	}
	if list, _ := f.j.List(ctx, f.pair("create-pair"), 0); len(list) != 1 || list[0].Reason != "weu down" {
		t.Fatalf("list after the redelivery: %+v, want the first operation once", list)
	}
	if _, err := f.j.Get(ctx, f.pair("create-pair"), "cmd-2"); !drerr.Is(err, drerr.NotFound) {
		t.Fatalf("get of an unknown id: %v, want not found", err)
	}
	if _, err := f.j.Create(ctx, journal.Operation{ID: "bad id", Pair: f.pair("create-pair"), Status: journal.Accepted}); !drerr.Is(err, drerr.Invalid) {
		t.Fatalf("create with a bad id: %v, want invalid", err)
	}
}

func TestAnUpdateFromAStaleReadLoses(t *testing.T) {
	f := openJournal(t)
	ctx := context.Background()
	if _, err := f.j.Create(ctx, newOp("cmd-u", f.pair("update-pair"), f.clock.Now())); err != nil {
		t.Fatal(err)
	}
	a, _ := f.j.Get(ctx, f.pair("update-pair"), "cmd-u")
	b, _ := f.j.Get(ctx, f.pair("update-pair"), "cmd-u")

	if err := a.SetStatus(journal.Running, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	_ = a.StartStep("readiness", f.clock.Now())
	won, err := f.j.Update(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Fail("the other instance", f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.j.Update(ctx, b); !drerr.Is(err, drerr.Conflict) {
		t.Fatalf("update from a stale read: %v, want conflict", err)
	}
	got, _ := f.j.Get(ctx, f.pair("update-pair"), "cmd-u")
	if got.Status != journal.Running || got.Error != "" || got.StepByName("readiness").Status != journal.StepRunning || got.ETag != won.ETag {
		t.Fatalf("stored %s (error %q, readiness %s); want the winner's running", got.Status, got.Error, got.StepByName("readiness").Status)
	}
	got.ETag = ""
	if _, err := f.j.Update(ctx, got); !drerr.Is(err, drerr.Invalid) {
		t.Fatalf("update without an ETag: %v, want invalid", err)
	}
}

func TestLargeStepsRoundTripAndTooLargeIsRefused(t *testing.T) {
	f := openJournal(t)
	ctx := context.Background()
	op := newOp("cmd-steps", f.pair("steps-pair"), f.clock.Now())
	for i := range journal.MaxSteps - len(op.Steps) {
		name := fmt.Sprintf("bump-agreements-%02d", i)
		changes := make([]string, journal.MaxChanges)
		for k := range changes {
			changes[k] = fmt.Sprintf("Contoso-Partner-%03d-EDIFACT ICN 1200→%d ✓ 𝄞", k, 5000+k)
		}
		outcome := strings.Repeat("bumped past the primary's block — ", 27)[:journal.MaxOutcome-50] + "é😀"
		if err := op.FinishStep(name, journal.StepDone, outcome, changes, f.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	saved, err := f.j.Create(ctx, op)
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.j.Get(ctx, f.pair("steps-pair"), "cmd-steps")
	if err != nil {
		t.Fatal(err)
	}
	if raw, err := f.raw.GetEntity(ctx, "journal|"+f.pair("steps-pair"), "op|cmd-steps", nil); err != nil || !bytes.Contains(raw.Value, []byte(`"Steps1"`)) {
		t.Fatalf("the steps were not spread over several properties (%v)", err)
	}
	op.ETag = saved.ETag
	if !equalOps(got, op) {
		for i := range min(len(got.Steps), len(op.Steps)) {
			if !reflect.DeepEqual(got.Steps[i], op.Steps[i]) {
				t.Errorf("step %d: got %+v\nwant %+v", i, got.Steps[i], op.Steps[i])
				break
			}
		}
		got.Steps, op.Steps = nil, nil
		t.Fatalf("%d steps did not round-trip:\n%+v\n%+v", len(op.Steps), got, op)
	}

	// Within the limits on text but past the entity's room once encoded (JSON writes
	// '<' as \u003c): refused, nothing stored.
	huge := newOp("cmd-huge", f.pair("steps-pair"), f.clock.Now())
	for i := range journal.MaxSteps - len(huge.Steps) {
		huge.Steps = append(huge.Steps, journal.Step{Name: fmt.Sprintf("s%d", i), Status: journal.StepDone,
			Outcome: strings.Repeat("<", journal.MaxOutcome), Changes: slices.Repeat([]string{strings.Repeat("<", journal.MaxChangeLen)}, journal.MaxChanges)})
	}
	if _, err := f.j.Create(ctx, huge); !drerr.Is(err, drerr.Invalid) || !strings.Contains(err.Error(), "the limit is") {
		t.Fatalf("create of an operation too large to store: %v, want invalid naming the limit", err)
	}
	if _, err := f.j.Get(ctx, f.pair("steps-pair"), "cmd-huge"); !drerr.Is(err, drerr.NotFound) {
		t.Fatalf("the refused operation: %v, want not found", err)
	}
}

// numbers500 is what a failover of 500 agreements computes: a floor and a bump for
// four levels each, with the basis of each.
func numbers500(variant string) []byte {
	type level struct {
		Agreement, Protocol, Level, Variant string
		Session, ComputedAt                 string
		Observed, Floor, Bump, Lower, Upper int64
		RatePerMinute, LagSeconds           float64
		Block, SafetySeconds                int64
		Rollover                            bool
		Basis                               string
	}
	var out []level
	for a := range 500 {
		for l, name := range []string{"interchange", "group", "transaction-set", "acknowledgement"} {
			obs := int64(a*1000 + l*7 + 1)
			out = append(out, level{
				Agreement: fmt.Sprintf("Contoso-Partner-%03d-%s", a, []string{"X12", "EDIFACT"}[a%2]), Protocol: []string{"X12", "EDIFACT"}[a%2],
				Level: name, Variant: variant, Session: fmt.Sprintf("Contoso-Partner-%03d-%s", a, []string{"Icn", "Gcn", "Tscn", "ACK"}[l]), ComputedAt: "2026-11-20T09:01:30.1234567Z", Observed: obs, Floor: obs + 1100, Bump: obs + 1100 + 250, Lower: 1, Upper: 999999999,
				RatePerMinute: float64(a%17) / 3, LagSeconds: 61.5, Block: 1000, SafetySeconds: 300, Rollover: a%5 == 0,
				Basis: fmt.Sprintf("max(configured minimum 100, block 1000 + %.2f/min × (61.5 s lag + 300 s safety)) above observed %d on the old primary at 2026-11-20T09:00:00Z; within bounds 1..999999999; rollover %v; ISA13 zero padded to 9 digits", float64(a%17)/3, obs, a%5 == 0),
			})
		}
	}
	b, _ := json.Marshal(out)
	return b
}

func TestNumbersOf500AgreementsRoundTripAcrossEntitiesAndBatches(t *testing.T) {
	f := openJournal(t)
	ctx := context.Background()
	nums := numbers500("a")
	if len(nums) <= 1<<20 {
		t.Fatalf("test data is %d bytes; it must exceed an entity's 1 MiB", len(nums))
	}
	if _, err := f.j.LoadNumbers(ctx, f.pair("numbers-pair"), "cmd-n"); !drerr.Is(err, drerr.NotFound) {
		t.Fatalf("numbers before any save: %v, want not found", err)
	}
	before := f.calls.batches.Load()
	if err := f.j.SaveNumbers(ctx, f.pair("numbers-pair"), "cmd-n", nums); err != nil {
		t.Fatal(err)
	}
	if n := f.calls.batches.Load() - before; n < 2 {
		t.Fatalf("%d bytes went in %d entity-group transactions; want several", len(nums), n)
	}
	chunks := 0
	for _, rk := range rows(t, f, "journal|"+f.pair("numbers-pair")) {
		if strings.HasPrefix(rk, "op|cmd-n|numbers|") {
			chunks++
		}
	}
	if chunks < 3 { // the manifest and at least two chunks
		t.Fatalf("%d numbers rows stored; want a manifest and several chunks", chunks)
	}
	got, err := f.j.LoadNumbers(ctx, f.pair("numbers-pair"), "cmd-n")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, nums) {
		t.Fatalf("loaded %d bytes that differ from the %d saved", len(got), len(nums))
	}

	// The same numbers again (a redelivered command): nothing is written.
	before, all := f.calls.batches.Load(), f.calls.all.Load()
	if err := f.j.SaveNumbers(ctx, f.pair("numbers-pair"), "cmd-n", bytes.Clone(nums)); err != nil {
		t.Fatalf("re-saving the same numbers: %v", err)
	}
	if f.calls.batches.Load() != before || f.calls.all.Load() != all+1 {
		t.Fatalf("re-saving the same numbers sent %d batches and %d requests; want one read", f.calls.batches.Load()-before, f.calls.all.Load()-all)
	}
	// Different numbers: floors are computed once.
	if err := f.j.SaveNumbers(ctx, f.pair("numbers-pair"), "cmd-n", numbers500("b")); !drerr.Is(err, drerr.Conflict) {
		t.Fatalf("saving other numbers: %v, want conflict", err)
	}
	if got, _ := f.j.LoadNumbers(ctx, f.pair("numbers-pair"), "cmd-n"); !bytes.Equal(got, nums) {
		t.Fatal("the first numbers changed after a refused save")
	}
	// Empty numbers are numbers too.
	if err := f.j.SaveNumbers(ctx, f.pair("numbers-pair"), "cmd-empty", nil); err != nil {
		t.Fatal(err)
	}
	if got, err := f.j.LoadNumbers(ctx, f.pair("numbers-pair"), "cmd-empty"); err != nil || len(got) != 0 {
		t.Fatalf("empty numbers: %q, %v", got, err)
	}
}

func TestTwoSaversOfDifferentNumbersOneWins(t *testing.T) {
	f := openJournal(t)
	ctx := context.Background()
	a, b := numbers500("a"), numbers500("b")
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, nums := range [][]byte{a, b} {
		wg.Go(func() { errs[i] = f.j.SaveNumbers(ctx, f.pair("race-pair"), "cmd-r", nums) })
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Fatalf("racing savers: %v and %v; want one winner and one conflict", errs[0], errs[1])
	}
	winner, loserErr := a, errs[1]
	if errs[0] != nil {
		winner, loserErr = b, errs[0]
	}
	if !drerr.Is(loserErr, drerr.Conflict) {
		t.Fatalf("loser: %v, want conflict", loserErr)
	}
	if got, err := f.j.LoadNumbers(ctx, f.pair("race-pair"), "cmd-r"); err != nil || !bytes.Equal(got, winner) {
		t.Fatalf("loaded %d bytes, %v; want the winner's %d", len(got), err, len(winner))
	}
}

func TestThePairLock(t *testing.T) {
	f := openJournal(t)
	ctx := context.Background()
	now := f.clock.Now()
	until := now.Add(time.Minute)

	if _, err := f.j.Lock(ctx, f.pair("lock-pair"), "op-a", until); err != nil {
		t.Fatal(err)
	}
	_, err := f.j.Lock(ctx, f.pair("lock-pair"), "op-b", now.Add(time.Hour))
	if !drerr.Is(err, drerr.Conflict) || !strings.Contains(err.Error(), "op-a") || !strings.Contains(err.Error(), until.Format(time.RFC3339Nano)) {
		t.Fatalf("a second taker: %v; want conflict naming op-a and %s", err, until.Format(time.RFC3339Nano))
	}
	// The holder's command redelivered: it re-enters, and may extend.
	l, err := f.j.Lock(ctx, f.pair("lock-pair"), "op-a", until.Add(time.Minute))
	if err != nil || l.OpID != "op-a" || !l.Until.Equal(until.Add(time.Minute)) {
		t.Fatalf("re-entry: %+v, %v", l, err)
	}
	if err := f.j.Unlock(ctx, f.pair("lock-pair"), "op-b"); !drerr.Is(err, drerr.Conflict) || !strings.Contains(err.Error(), "op-a") {
		t.Fatalf("unlock by a non-holder: %v; want conflict naming op-a", err)
	}
	if _, err := f.j.Renew(ctx, f.pair("lock-pair"), "op-b", now.Add(time.Hour)); !drerr.Is(err, drerr.Conflict) {
		t.Fatalf("renew by a non-holder: %v; want conflict", err)
	}
	if _, err := f.j.Renew(ctx, f.pair("lock-pair"), "op-a", until.Add(2*time.Minute)); err != nil {
		t.Fatalf("renew by the holder: %v", err)
	}
	// op-a stops renewing; once its time is up another operation takes over.
	f.clock.Advance(2*time.Minute + time.Second)
	if _, err := f.j.Lock(ctx, f.pair("lock-pair"), "op-b", f.clock.Now().Add(time.Minute)); !drerr.Is(err, drerr.Conflict) {
		t.Fatalf("before expiry: %v; want conflict", err)
	}
	f.clock.Advance(time.Minute)
	if _, err := f.j.Lock(ctx, f.pair("lock-pair"), "op-b", f.clock.Now().Add(time.Minute)); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	if err := f.j.Unlock(ctx, f.pair("lock-pair"), "op-a"); !drerr.Is(err, drerr.Conflict) || !strings.Contains(err.Error(), "op-b") {
		t.Fatalf("unlock by the expired holder: %v; want conflict naming op-b", err)
	}
	if err := f.j.Unlock(ctx, f.pair("lock-pair"), "op-b"); err != nil {
		t.Fatal(err)
	}
	if err := f.j.Unlock(ctx, f.pair("lock-pair"), "op-b"); err != nil {
		t.Fatalf("unlocking a free lock: %v", err)
	}
	if _, err := f.j.Renew(ctx, f.pair("lock-pair"), "op-b", f.clock.Now().Add(time.Minute)); !drerr.Is(err, drerr.NotFound) {
		t.Fatalf("renew of a released lock: %v; want not found", err)
	}
	if _, err := f.j.Lock(ctx, f.pair("lock-pair"), "op-c", f.clock.Now().Add(time.Minute)); err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	// Other pairs are not affected.
	if _, err := f.j.Lock(ctx, f.pair("lock-pair-2"), "op-d", f.clock.Now().Add(time.Minute)); err != nil {
		t.Fatalf("lock of another pair: %v", err)
	}
}

func TestOfManyRacingLockersOneWins(t *testing.T) {
	f := openJournal(t)
	ctx := context.Background()
	for _, tt := range []struct {
		name  string
		setup func(pair string)
	}{
		{"when the lock was never taken", func(string) {}},
		{"when the last holder's lock expired", func(pair string) {
			if _, err := f.j.Lock(ctx, pair, "op-old", f.clock.Now().Add(-time.Second)); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pair := f.pair(fmt.Sprintf("race-lock-%d", len(tt.name)))
			tt.setup(pair)
			var wg sync.WaitGroup
			var won atomic.Int64
			for i := range 8 {
				wg.Go(func() {
					_, err := f.j.Lock(ctx, pair, fmt.Sprintf("op-%d", i), f.clock.Now().Add(time.Minute))
					switch {
					case err == nil:
						won.Add(1)
					case !drerr.Is(err, drerr.Conflict):
						t.Errorf("locker %d: %v", i, err)
					}
				})
			}
			wg.Wait()
			if won.Load() != 1 {
				t.Fatalf("%d lockers won; want exactly one", won.Load())
			}
		})
	}
}

func TestListIsNewestFirstWithALimit(t *testing.T) {
	f := openJournal(t)
	ctx := context.Background()
	t0 := f.clock.Now()
	for _, i := range []int{2, 0, 4, 1, 3} { // created out of order
		if _, err := f.j.Create(ctx, newOp(fmt.Sprintf("list-%d", i), f.pair("list-pair"), t0.Add(time.Duration(i)*time.Second))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.j.Create(ctx, newOp("other", f.pair("list-pair-2"), t0.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	ids := func(ops []journal.Operation) []string {
		var s []string
		for _, op := range ops {
			s = append(s, op.ID)
		}
		return s
	}
	got, err := f.j.List(ctx, f.pair("list-pair"), 3)
	if err != nil || !slices.Equal(ids(got), []string{"list-4", "list-3", "list-2"}) {
		t.Fatalf("list with limit 3: %v, %v", ids(got), err)
	}
	if len(got[0].Steps) != 4 || got[0].ETag == "" {
		t.Fatalf("listed operations come whole: %+v", got[0])
	}
	all, err := f.j.List(ctx, f.pair("list-pair"), 0)
	if err != nil || !slices.Equal(ids(all), []string{"list-4", "list-3", "list-2", "list-1", "list-0"}) {
		t.Fatalf("list without limit: %v, %v", ids(all), err)
	}
	if none, err := f.j.List(ctx, f.pair("no-such-pair"), 10); err != nil || len(none) != 0 {
		t.Fatalf("list of an empty pair: %v, %v", none, err)
	}
}

func TestThePendingIndexFollowsTheStatus(t *testing.T) {
	f := openJournal(t)
	ctx := context.Background()
	pending := func() []string {
		t.Helper()
		ops, err := f.j.ListPending(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, op := range ops {
			if strings.HasPrefix(op.Pair, "pending-") && strings.HasSuffix(op.Pair, fmt.Sprintf("-%d", f.run)) {
				s = append(s, op.Pair+"/"+op.ID+"="+string(op.Status))
			}
		}
		slices.Sort(s)
		return s
	}
	op, err := f.j.Create(ctx, newOp("cmd-p", f.pair("pending-a"), f.clock.Now()))
	if err != nil {
		t.Fatal(err)
	}
	// Accepted is open: the timer runs it if the attempt that journaled it dies.
	if got := pending(); len(got) != 1 || !strings.HasSuffix(got[0], "=accepted") {
		t.Fatalf("an accepted operation is not listed for the timer: %v", got)
	}
	other := newOp("cmd-q", f.pair("pending-b"), f.clock.Now())
	other.Status = journal.Running
	if _, err := f.j.Create(ctx, other); err != nil {
		t.Fatal(err)
	}

	_ = op.SetStatus(journal.Running, f.clock.Now())
	_ = op.WaitStep("fence", "the old primary is unreachable; retried by the timer", f.clock.Now())
	_ = op.SetStatus(journal.Waiting, f.clock.Now())
	if op, err = f.j.Update(ctx, op); err != nil {
		t.Fatal(err)
	}
	if got := pending(); !slices.Equal(got, []string{f.pair("pending-a") + "/cmd-p=waiting", f.pair("pending-b") + "/cmd-q=running"}) {
		t.Fatalf("pending: %v", got)
	}

	_ = op.FinishStep("fence", journal.StepDone, "intake disabled", []string{"disabled workflow x12-intake"}, f.clock.Now())
	_ = op.SetStatus(journal.Succeeded, f.clock.Now())
	if _, err = f.j.Update(ctx, op); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(rows(t, f, "journal|~pending"), f.pair("pending-a")+"|cmd-p") {
		t.Fatal("the finished operation's pointer is still stored")
	}
	if got := pending(); !slices.Equal(got, []string{f.pair("pending-b") + "/cmd-q=running"}) {
		t.Fatalf("pending after success: %v", got)
	}
}

// equalOps compares operations field by field, times by instant.
func equalOps(a, b journal.Operation) bool {
	ta := []time.Time{a.Created, a.Updated, a.Done, a.RTOStart}
	tb := []time.Time{b.Created, b.Updated, b.Done, b.RTOStart}
	for i := range ta {
		if !ta[i].Equal(tb[i]) {
			return false
		}
	}
	if (a.ExpectedEpoch == nil) != (b.ExpectedEpoch == nil) || a.ExpectedEpoch != nil && *a.ExpectedEpoch != *b.ExpectedEpoch {
		return false
	}
	if len(a.Steps) != len(b.Steps) {
		return false
	}
	for i := range a.Steps {
		sa, sb := a.Steps[i], b.Steps[i]
		if sa.Name != sb.Name || sa.Status != sb.Status || !sa.Started.Equal(sb.Started) || !sa.Ended.Equal(sb.Ended) ||
			sa.Outcome != sb.Outcome || !slices.Equal(sa.Changes, sb.Changes) {
			return false
		}
	}
	a.Created, a.Updated, a.Done, a.RTOStart, a.ExpectedEpoch, a.Steps = time.Time{}, time.Time{}, time.Time{}, time.Time{}, nil, nil
	b.Created, b.Updated, b.Done, b.RTOStart, b.ExpectedEpoch, b.Steps = time.Time{}, time.Time{}, time.Time{}, time.Time{}, nil, nil
	return reflect.DeepEqual(a, b)
}

func TestAReadinessSnapshotIsReplacedAndReadBack(t *testing.T) {
	f := openJournal(t)
	ctx := context.Background()
	pair := f.pair("snap")
	if _, err := f.j.LoadSnapshot(ctx, pair, journal.SnapshotAgreements); !drerr.Is(err, drerr.NotFound) {
		t.Fatalf("no snapshot yet: %v", err)
	}
	for _, data := range [][]byte{[]byte(`{"agreements":["A","B"]}`), []byte(`{"agreements":["A"]}`)} {
		if err := f.j.SaveSnapshot(ctx, pair, journal.SnapshotAgreements, data); err != nil {
			t.Fatal(err)
		}
		got, err := f.j.LoadSnapshot(ctx, pair, journal.SnapshotAgreements)
		if err != nil || string(got) != string(data) {
			t.Fatalf("read back %s (%v), saved %s", got, err, data)
		}
	}
	if err := f.j.SaveSnapshot(ctx, pair, journal.SnapshotAgreements, make([]byte, journal.MaxSnapshot+1)); !drerr.Is(err, drerr.Invalid) {
		t.Fatalf("an oversized snapshot: %v", err)
	}
}

// A proposal under 25 newer operations of its pair is found by its status, not by how
// far down the pair's newest-first list it is, and expires on Table Storage.
func TestAProposalUnderManyNewerOperationsIsListedAndExpires(t *testing.T) {
	f := openJournal(t)
	ctx := context.Background()
	pair := f.pair("proposals")
	t0 := f.clock.Now()
	p := journal.New(command.Command{ID: "alert-1", Action: command.Failover, Pair: pair, RequestedBy: "alert"}, journal.Source{AlertID: "a-1", AlertRule: "ia-down"}, t0, t0)
	p.Status = journal.Proposed
	if _, err := f.j.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	for i := range 25 {
		op := newOp(fmt.Sprintf("drill-%02d", i), pair, t0.Add(time.Duration(i+1)*time.Second))
		_ = op.Reject("nothing to do", op.Created)
		if _, err := f.j.Create(ctx, op); err != nil {
			t.Fatal(err)
		}
	}
	mine := func(ops []journal.Operation) []string {
		var s []string
		for _, op := range ops {
			if op.Pair == pair {
				s = append(s, op.ID+"="+string(op.Status))
			}
		}
		return s
	}
	if recent, _ := f.j.List(ctx, pair, 20); slices.Contains(mine(recent), "alert-1=proposed") {
		t.Fatal("precondition: the proposal is among the 20 newest")
	}
	got, err := f.j.ListProposed(ctx)
	if err != nil || !slices.Equal(mine(got), []string{"alert-1=proposed"}) || got[slices.IndexFunc(got, func(o journal.Operation) bool { return o.Pair == pair })].ETag == "" {
		t.Fatalf("proposed: %v, %v", mine(got), err)
	}
	owns := func(p string) bool { return p == pair }
	if early, err := journal.ExpireProposals(ctx, f.j, owns, time.Hour, t0.Add(59*time.Minute)); err != nil || len(early) != 0 {
		t.Fatalf("expired before its time: %+v %v", early, err)
	}
	expired, err := journal.ExpireProposals(ctx, f.j, owns, time.Hour, t0.Add(time.Hour))
	if err != nil || len(expired) != 1 || expired[0].Status != journal.Rejected || !strings.Contains(expired[0].Error, "proposal expired") {
		t.Fatalf("expired: %+v %v", expired, err)
	}
	if left, err := f.j.ListProposed(ctx); err != nil || len(mine(left)) != 0 {
		t.Fatalf("still proposed after expiry: %v %v", mine(left), err)
	}
}

// A cancelled operation is stored as cancelled, leaves the pending index and frees
// the pair's lock.
func TestACancelledOperationIsStoredAndFreesThePair(t *testing.T) {
	f := openJournal(t)
	ctx := context.Background()
	pair := f.pair("cancel")
	now := f.clock.Now()
	op := newOp("fo-1", pair, now)
	op.Status = journal.Running
	op, err := f.j.Create(ctx, op)
	if err != nil {
		t.Fatal(err)
	}
	_ = op.WaitStep("fence", "fence pending: the old side answers 404", now)
	_ = op.SetStatus(journal.Waiting, now)
	if _, err = f.j.Update(ctx, op); err != nil {
		t.Fatal(err)
	}
	if _, err := f.j.Lock(ctx, pair, "fo-1", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	c := command.Command{ID: "cancel-1", Action: command.Cancel, Pair: pair, Target: "fo-1", Reason: "the old region was rebuilt", RequestedBy: "ops"}
	got, err := journal.Cancel(ctx, f.j, c, now)
	if err != nil || got.Status != journal.Cancelled {
		t.Fatalf("cancel: %+v %v", got, err)
	}
	stored, err := f.j.Get(ctx, pair, "fo-1")
	if err != nil || stored.Status != journal.Cancelled || stored.Error != "cancelled by ops: the old region was rebuilt" ||
		stored.StepByName("fence").Status != journal.StepFailed || stored.StepByName("switch").Status != journal.StepSkipped {
		t.Fatalf("stored: %+v %v", stored, err)
	}
	if slices.Contains(rows(t, f, "journal|~pending"), pair+"|fo-1") {
		t.Error("the cancelled operation is still in the pending index")
	}
	if _, err := f.j.Lock(ctx, pair, "fo-2", now.Add(time.Hour)); err != nil {
		t.Errorf("the pair is still held: %v", err)
	}
	if own, err := f.j.Get(ctx, pair, "cancel-1"); err != nil || own.Status != journal.Succeeded || own.Action != command.Cancel || own.Target != "fo-1" {
		t.Errorf("the cancel's own record: %+v %v", own, err)
	}
}
