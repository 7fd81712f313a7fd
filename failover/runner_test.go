package failover_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"integration-dr/command"
	"integration-dr/drerr"
	"integration-dr/failover"
	"integration-dr/journal"
	"integration-dr/journal/journaltest"
	"integration-dr/replication"
	"integration-dr/replication/replicationtest"
	"integration-dr/session"
)

var t0 = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

func cnAt(n int, at time.Time) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"ControlNumber":"%09d","ControlNumberChangedTime":%q,"MessageType":0}`, n, at.Format(time.RFC3339Nano)))
}

// agreements is a side's agreement list; it fails while unreachable, or as the side's
// faults say.
type agreements struct {
	list []failover.AgreementState
	s    *side
}

func (a agreements) Agreements(ctx context.Context) ([]failover.AgreementState, error) {
	if err := a.s.fault(ctx, "agreements"); err != nil {
		return nil, err
	}
	return a.list, nil
}

// workflow records its state; it fails while its side is unreachable, or as the side's
// faults say.
type workflow struct {
	name    string
	mu      sync.Mutex
	enabled bool
	s       *side
}

func (w *workflow) Name() string { return w.name }
func (w *workflow) set(on bool) error {
	if err := w.s.fault(context.Background(), "workflow"); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.enabled = on
	return nil
}
func (w *workflow) Enable(context.Context) error  { return w.set(true) }
func (w *workflow) Disable(context.Context) error { return w.set(false) }
func (w *workflow) on() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.enabled
}

// unreachableAccount fails every call while down, or as the side's faults say.
type unreachableAccount struct {
	*replicationtest.Account
	s *side
}

func (u unreachableAccount) err() error { return u.s.fault(context.Background(), "sessions") }
func (u unreachableAccount) List(ctx context.Context, since time.Time, cursor string, page func(replication.Page) error) error {
	if err := u.err(); err != nil {
		return err
	}
	return u.Account.List(ctx, since, cursor, page)
}
func (u unreachableAccount) Get(ctx context.Context, name string) (session.Session, error) {
	if err := u.err(); err != nil {
		return session.Session{}, err
	}
	return u.Account.Get(ctx, name)
}
func (u unreachableAccount) Put(ctx context.Context, s session.Session) error {
	if err := u.err(); err != nil {
		return err
	}
	return u.Account.Put(ctx, s)
}

type side struct {
	acct     *replicationtest.Account
	down     bool
	workflow *workflow
	// faults answer a kind of call ("agreements", "workflow", "sessions") with an
	// error while set: a side that answers, but badly.
	faults map[string]error
	// slow is how long the side takes to list its agreements: a call whose deadline
	// comes sooner is cut short by it, as azcore's would be.
	slow time.Duration
}

func (s *side) fault(ctx context.Context, kind string) error {
	if s.down {
		return drerr.Errorf(drerr.Unreachable, kind, "the side does not answer")
	}
	if err := s.faults[kind]; err != nil {
		return err
	}
	if d, ok := ctx.Deadline(); ok && kind == "agreements" && time.Until(d) < s.slow {
		return drerr.E(drerr.Interrupted, kind, fmt.Errorf("answer still coming after %s: %w", time.Until(d).Round(time.Second), context.DeadlineExceeded))
	}
	return nil
}

type fixture struct {
	primary, secondary *side
	store              *replicationtest.Store
	journal            *journaltest.Store
	engine             *replication.Engine
	runner             *failover.Runner
	pair               failover.Pair
	// shift moves the runner's clock ahead of the real one.
	shift      time.Duration
	agreements []string
}

func newFixture(t *testing.T, agreementsN int, bounds failover.Bounds) *fixture {
	t.Helper()
	f := &fixture{
		primary:   &side{acct: replicationtest.NewAccount(t0)},
		secondary: &side{acct: replicationtest.NewAccount(t0.Add(time.Hour))},
		store:     replicationtest.NewStore(),
		journal:   journaltest.New(),
	}
	f.primary.workflow = &workflow{name: "primary-intake", enabled: true, s: f.primary}
	f.secondary.workflow = &workflow{name: "secondary-intake", s: f.secondary}
	var states []failover.AgreementState
	for i := range agreementsN {
		name := fmt.Sprintf("A%02d", i)
		f.agreements = append(f.agreements, name)
		b := map[failover.Level]failover.Bounds{}
		for _, l := range []failover.Level{failover.ICN, failover.GCN, failover.TSCN} {
			b[l] = bounds
			f.primary.acct.Set(failover.SessionName(name, l), cnAt(100+i, t0))
		}
		states = append(states, failover.AgreementState{Agreement: failover.Agreement{Name: name, Protocol: failover.X12, Bounds: b}, DuplicateChecks: true})
	}
	mk := func(s *side) failover.Side {
		return failover.Side{Sessions: unreachableAccount{s.acct, s}, Agreements: agreements{states, s}, Workflows: []failover.Workflow{s.workflow}}
	}
	f.engine = replication.NewEngine(f.store, replication.Limits{}, slog.New(slog.NewTextHandler(io.Discard, nil)), replication.Options{ClockSkew: time.Millisecond})
	rp := replication.Pair{Name: "p", Primary: unreachableAccount{f.primary.acct, f.primary}, Secondary: unreachableAccount{f.secondary.acct, f.secondary}, Overlap: time.Minute}
	f.pair = failover.Pair{Name: "p", Replication: rp, Primary: mk(f.primary), Secondary: mk(f.secondary),
		Policy: failover.Policy{MinBump: 1000, BlockSize: 100}, RequireDuplicateChecks: true}
	f.runner = &failover.Runner{Journal: f.journal, Streams: f.store, CatchUp: f.engine, Pairs: map[string]failover.Pair{"p": f.pair},
		Now: f.now, ClockSkew: time.Millisecond}
	f.journal.Now = f.now
	// Replication has copied everything so far.
	if _, err := f.engine.Run(context.Background(), rp); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) now() time.Time { return time.Now().Add(f.shift) }

func (f *fixture) submit(t *testing.T, c command.Command) journal.Operation {
	t.Helper()
	if c.Pair == "" {
		c.Pair = "p"
	}
	op, err := f.runner.Submit(context.Background(), c, journal.Source{RequestedBy: "test"}, f.now())
	if err != nil {
		t.Fatalf("submit %s: %v", c.ID, err)
	}
	return op
}

// numbers is name → control number of a side's generated sessions.
func numbers(t *testing.T, a *replicationtest.Account) map[string]int {
	t.Helper()
	out := map[string]int{}
	for name, c := range a.Snapshot() {
		n, err := strconv.Atoi(session.ParseContent(c).ControlNumber)
		if err != nil {
			t.Fatalf("%s: %s", name, c)
		}
		out[name] = n
	}
	return out
}

func TestAFailoverBumpsEveryNumberPastTheOldSidesAndFlips(t *testing.T) {
	f := newFixture(t, 3, failover.Bounds{Lower: 1, Upper: 999999999})
	// Numbers the primary sent right up to the outage, never replicated.
	f.primary.acct.Set("A00-Icn", cnAt(400, t0.Add(time.Minute)))
	f.primary.down = true
	op := f.submit(t, command.Command{ID: "c1", Action: command.Failover})
	if op.Status != journal.Waiting || op.StepByName(failover.StepFenceOld).Status != journal.StepWaiting {
		t.Fatalf("status %s, error %q; want waiting on the pending fence", op.Status, op.Error)
	}
	old, got := numbers(t, f.primary.acct), numbers(t, f.secondary.acct)
	for name, n := range old {
		if got[name] <= n {
			t.Errorf("%s: the secondary will send %d, not above the primary's %d", name, got[name], n)
		}
	}
	_, region, _ := f.store.Load(context.Background(), "p")
	if region.Active != replication.Secondary || region.Epoch != 1 || !f.secondary.workflow.on() {
		t.Fatalf("region %+v, secondary intake on %v", region, f.secondary.workflow.on())
	}
	// The primary answers again: the next advance fences it.
	f.primary.down = false
	if _, err := f.runner.Advance(context.Background()); err != nil {
		t.Fatal(err)
	}
	op, _ = f.journal.Get(context.Background(), "p", "c1")
	if op.Status != journal.Succeeded || f.primary.workflow.on() {
		t.Fatalf("after the primary came back: status %s, primary intake on %v", op.Status, f.primary.workflow.on())
	}
}

func TestARedeliveredOrDuplicatedCommandBumpsOnce(t *testing.T) {
	f := newFixture(t, 2, failover.Bounds{Lower: 1, Upper: 999999999})
	f.submit(t, command.Command{ID: "c1", Action: command.Failover})
	puts := f.secondary.acct.Puts
	after := numbers(t, f.secondary.acct)
	op := f.submit(t, command.Command{ID: "c1", Action: command.Failover})
	if f.secondary.acct.Puts != puts || op.Status != journal.Succeeded {
		t.Fatalf("the same command again made %d writes (status %s)", f.secondary.acct.Puts-puts, op.Status)
	}
	for name, n := range numbers(t, f.secondary.acct) {
		if n != after[name] {
			t.Fatalf("%s moved from %d to %d on redelivery", name, after[name], n)
		}
	}
}

func TestAPlanCutShortResumesWithTheSameFloors(t *testing.T) {
	f := newFixture(t, 4, failover.Bounds{Lower: 1, Upper: 999999999})
	f.secondary.acct.FailPutAfter = f.secondary.acct.Puts + 5 // dies mid-bump
	if _, err := f.runner.Submit(context.Background(), command.Command{ID: "c1", Action: command.Failover, Pair: "p"}, journal.Source{}, f.now()); err == nil {
		t.Fatal("a failing bump reported success")
	}
	first := numbers(t, f.secondary.acct)
	f.secondary.acct.FailPutAfter = 0
	f.shift = time.Minute // later: a recomputed floor would differ in its time
	op := f.submit(t, command.Command{ID: "c1", Action: command.Failover})
	if op.Status != journal.Succeeded {
		t.Fatalf("resumed plan: %s %q", op.Status, op.Error)
	}
	for name, n := range numbers(t, f.secondary.acct) {
		if v, ok := first[name]; ok && v > 200 && n != v {
			t.Fatalf("%s bumped twice: %d then %d", name, v, n)
		}
		if n < 1100 {
			t.Fatalf("%s left at %d", name, n)
		}
	}
}

func TestASecondCommandForABusyPairIsRefusedAndAStaleEpochToo(t *testing.T) {
	f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 999999999})
	f.pair.Settle = time.Hour
	f.runner.Pairs["p"] = f.pair
	first := f.submit(t, command.Command{ID: "c1", Action: command.Failover})
	if first.Status != journal.Waiting {
		t.Fatalf("first: %s %q", first.Status, first.Error)
	}
	second := f.submit(t, command.Command{ID: "c2", Action: command.Failover})
	if second.Status != journal.Rejected || !strings.Contains(second.Error, "c1") {
		t.Fatalf("second: %s %q; want rejected naming c1", second.Status, second.Error)
	}
	stale := int64(7)
	other := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 999999999})
	op := other.submit(t, command.Command{ID: "c3", Action: command.Failover, ExpectedEpoch: &stale})
	if op.Status != journal.Rejected || !strings.Contains(op.Error, "expected epoch 7") {
		t.Fatalf("stale epoch: %s %q", op.Status, op.Error)
	}
}

func TestABoundWithNoRoomIsRefusedOrWrapped(t *testing.T) {
	tests := []struct {
		name     string
		rollover bool
		want     journal.Status
	}{
		{"rollover off: refused, nothing changed", false, journal.Rejected},
		{"rollover on: wrapped to the lower bound", true, journal.Succeeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 1050, Rollover: tt.rollover})
			before, puts := numbers(t, f.secondary.acct), f.secondary.acct.Puts
			op := f.submit(t, command.Command{ID: "c1", Action: command.Failover})
			if op.Status != tt.want {
				t.Fatalf("status %s %q, want %s", op.Status, op.Error, tt.want)
			}
			after := numbers(t, f.secondary.acct)
			if !tt.rollover {
				if f.secondary.acct.Puts != puts || !strings.Contains(op.Error, "A00") {
					t.Fatalf("refused plan wrote %d sessions; error %q", f.secondary.acct.Puts-puts, op.Error)
				}
				if _, region, _ := f.store.Load(context.Background(), "p"); region.Epoch != 0 {
					t.Fatal("a refused plan flipped the pair")
				}
				return
			}
			for name, n := range after {
				if n >= before[name] || n < 1 {
					t.Fatalf("%s: %d -> %d, want a wrap to the low end", name, before[name], n)
				}
				if c := f.secondary.acct.Snapshot()[name]; !strings.Contains(string(c), `"ControlNumber":"000000`) {
					t.Fatalf("%s lost its width: %s", name, c)
				}
			}
		})
	}
}

func TestADrillAndADryRunChangeNothing(t *testing.T) {
	for _, c := range []command.Command{{ID: "d1", Action: command.Drill}, {ID: "d2", Action: command.Failover, DryRun: true}} {
		t.Run(c.ID, func(t *testing.T) {
			f := newFixture(t, 3, failover.Bounds{Lower: 1, Upper: 999999999})
			puts := f.secondary.acct.Puts
			op := f.submit(t, c)
			_, region, _ := f.store.Load(context.Background(), "p")
			if op.Status != journal.Succeeded || f.secondary.acct.Puts != puts || region.Epoch != 0 || f.secondary.workflow.on() {
				t.Fatalf("status %s %q, writes %d, epoch %d, secondary intake %v", op.Status, op.Error, f.secondary.acct.Puts-puts, region.Epoch, f.secondary.workflow.on())
			}
			if s := op.StepByName(failover.StepFloors); s == nil || !strings.Contains(s.Outcome, "9 sessions to bump") || !strings.Contains(s.Outcome, "expected RTO") {
				t.Fatalf("the drill does not say what would change: %+v", s)
			}
		})
	}
}

func TestFailoverThenFallbackSendsNoDuplicateEitherWay(t *testing.T) {
	f := newFixture(t, 2, failover.Bounds{Lower: 1, Upper: 999999999})
	ctx := context.Background()
	if op := f.submit(t, command.Command{ID: "f1", Action: command.Failover}); op.Status != journal.Succeeded {
		t.Fatalf("failover: %s %q", op.Status, op.Error)
	}
	// The secondary sends for a while; replication runs the other way.
	for name, n := range numbers(t, f.secondary.acct) {
		f.secondary.acct.Set(name, cnAt(n+50, time.Now()))
	}
	rp := f.pair.Replication
	if _, err := f.engine.Run(ctx, rp); err != nil {
		t.Fatal(err)
	}
	sent := numbers(t, f.secondary.acct)
	op := f.submit(t, command.Command{ID: "b1", Action: command.Fallback})
	for deadline := time.Now().Add(10 * time.Second); op.Status == journal.Waiting; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("fallback still waiting: %+v", op.Steps)
		}
		// The timer: replication carries the secondary's last numbers back, then
		// the plan resumes.
		if _, err := f.engine.Run(ctx, rp); err != nil {
			t.Fatal(err)
		}
		ops, err := f.runner.Advance(ctx)
		if err != nil {
			t.Fatal(err)
		}
		op = ops[0]
	}
	if op.Status != journal.Succeeded {
		t.Fatalf("fallback: %s %q, steps %+v", op.Status, op.Error, op.Steps)
	}
	for name, n := range numbers(t, f.primary.acct) {
		if n <= sent[name] {
			t.Errorf("%s: the primary will send %d, not above the secondary's %d", name, n, sent[name])
		}
	}
	if f.secondary.workflow.on() || !f.primary.workflow.on() {
		t.Fatalf("intake: primary %v, secondary %v", f.primary.workflow.on(), f.secondary.workflow.on())
	}
	if _, region, _ := f.store.Load(ctx, "p"); region.Active != replication.Primary || region.Epoch != 2 {
		t.Fatalf("region %+v", region)
	}
}

func TestTheBumpMarginGrowsWithTheRateReplicationObserved(t *testing.T) {
	f := newFixture(t, 2, failover.Bounds{Lower: 1, Upper: 999999999})
	f.pair.Policy.Safety = time.Minute
	f.runner.Pairs["p"] = f.pair
	// A01's interchange number moves 100 a second; replication sees it move.
	f.primary.acct.Set("A01-Icn", cnAt(101+100, t0.Add(time.Second)))
	if _, err := f.engine.Run(context.Background(), f.pair.Replication); err != nil {
		t.Fatal(err)
	}
	if cp, _, _ := f.store.Load(context.Background(), "p"); cp.Rates["A01-Icn"] < 99 {
		t.Fatalf("observed rates %v", cp.Rates)
	}
	f.submit(t, command.Command{ID: "c1", Action: command.Failover})
	got := numbers(t, f.secondary.acct)
	// 100 + 100/s × (lag + 60 s) numbers at least, where the slow ones get the minimum.
	if got["A01-Icn"] < 201+6100 || got["A00-Icn"] != 100+1000 {
		t.Fatalf("A01-Icn bumped to %d (from 201, 100/s), A00-Icn to %d (from 100, idle)", got["A01-Icn"], got["A00-Icn"])
	}
}

func TestAProposalNobodyConfirmsExpires(t *testing.T) {
	f := newFixture(t, 1, failover.Bounds{Lower: 1, Upper: 999999999})
	ctx := context.Background()
	if _, err := f.runner.Propose(ctx, command.Command{ID: "p1", Action: command.Failover, Pair: "p"}, journal.Source{AlertID: "a"}, f.now()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.runner.Advance(ctx); err != nil {
		t.Fatal(err)
	}
	if op, _ := f.journal.Get(ctx, "p", "p1"); op.Status != journal.Proposed {
		t.Fatalf("a fresh proposal: %s", op.Status)
	}
	f.shift = 2 * time.Hour
	if _, err := f.runner.Advance(ctx); err != nil {
		t.Fatal(err)
	}
	op, _ := f.journal.Get(ctx, "p", "p1")
	if op.Status != journal.Rejected || !strings.Contains(op.Error, "expired") {
		t.Fatalf("an old proposal: %s %q", op.Status, op.Error)
	}
	// A late confirm runs nothing.
	puts := f.secondary.acct.Puts
	f.submit(t, command.Command{ID: "c1", Action: command.Confirm, Target: "p1"})
	if f.secondary.acct.Puts != puts {
		t.Fatal("a confirm of an expired proposal bumped numbers")
	}
}

func TestAnUnreachableOldSideIsComparedWithItsLastSnapshot(t *testing.T) {
	f := newFixture(t, 2, failover.Bounds{Lower: 1, Upper: 999999999})
	ctx := context.Background()
	if _, err := f.runner.Advance(ctx); err != nil { // the timer records the primary's agreements
		t.Fatal(err)
	}
	// The secondary lost an agreement the primary had; then the primary goes down.
	ags := f.pair.Secondary.Agreements.(agreements)
	ags.list = ags.list[:1]
	f.pair.Secondary.Agreements = ags
	f.runner.Pairs["p"] = f.pair
	f.primary.down = true
	op := f.submit(t, command.Command{ID: "c1", Action: command.Failover})
	if op.Status != journal.Rejected || !strings.Contains(op.Error, "A01") {
		t.Fatalf("%s %q; want refused: A01 missing on the target, as the snapshot shows", op.Status, op.Error)
	}
}
