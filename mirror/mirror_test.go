package mirror_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"integration-dr/command"
	"integration-dr/drerr"
	"integration-dr/drift"
	"integration-dr/journal"
	"integration-dr/journal/journaltest"
	"integration-dr/mirror"
	"integration-dr/mirror/mirrortest"
	"integration-dr/replication"
)

const pair = "contoso-b2b"

func art(k drift.Kind, name string, fields ...string) drift.Artifact {
	a := drift.Artifact{Kind: k, Name: name, Fields: map[string]string{}, Body: []byte(`{"name":"` + name + `"}`)}
	for i := 0; i+1 < len(fields); i += 2 {
		a.Fields[fields[i]] = fields[i+1]
	}
	return a
}

func running(a drift.Artifact) drift.Artifact { a.Running = true; return a }

var allKinds = drift.Kinds[:]

// world is a pair of in-memory sides, the active-region record, both journals.
type world struct {
	primary, secondary *mirrortest.Side
	regions            *mirrortest.Regions
	journal            *crashingStore
	plans              *journaltest.Store
	runner             *mirror.Runner
}

func newWorld(t *testing.T, primary, secondary []drift.Artifact, allow ...drift.Allow) *world {
	t.Helper()
	w := &world{
		primary: mirrortest.NewSide(primary...), secondary: mirrortest.NewSide(secondary...),
		regions: mirrortest.NewRegions(), journal: &crashingStore{Store: journaltest.New()}, plans: journaltest.New(),
	}
	w.runner = &mirror.Runner{
		Log:     slog.New(slog.DiscardHandler),
		Journal: w.journal, Plans: w.plans, Regions: w.regions,
		Pairs: map[string]mirror.Pair{pair: {
			Name:      pair,
			Primary:   mirror.Side{{Name: "integration account", Kinds: allKinds, Source: w.primary}},
			Secondary: mirror.Side{{Name: "integration account", Kinds: allKinds, Source: w.secondary}},
			Allow:     allow,
		}},
	}
	return w
}

func (w *world) mirror(t *testing.T, id string, dry, prune bool) (journal.Operation, error) {
	t.Helper()
	c := command.Command{ID: id, Action: command.Mirror, Pair: pair, DryRun: dry, Prune: prune}
	ctx := journal.WithDelivery(context.Background(), "msg-"+id)
	return w.runner.Submit(ctx, c, journal.Source{RequestedBy: "test"}, time.Now())
}

// crashingStore is a journal that dies: once tripped, every call fails, as the journal
// of a process that was killed would (nothing more is recorded).
type crashingStore struct {
	*journaltest.Store
	mu      sync.Mutex
	tripped bool
	// after, when > 0, trips the store after that many more successful writes.
	after int
}

var errCrash = errors.New("the process died")

func (s *crashingStore) write() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tripped {
		return errCrash
	}
	if s.after > 0 {
		s.after--
		if s.after == 0 {
			s.tripped = true
			return errCrash
		}
	}
	return nil
}

func (s *crashingStore) trip() { s.mu.Lock(); s.tripped = true; s.mu.Unlock() }

func (s *crashingStore) restart() { s.mu.Lock(); s.tripped, s.after = false, 0; s.mu.Unlock() }

func (s *crashingStore) Create(ctx context.Context, op journal.Operation) (journal.Operation, error) {
	if err := s.write(); err != nil {
		return op, err
	}
	return s.Store.Create(ctx, op)
}

func (s *crashingStore) Update(ctx context.Context, op journal.Operation) (journal.Operation, error) {
	if err := s.write(); err != nil {
		return op, err
	}
	return s.Store.Update(ctx, op)
}

func (s *crashingStore) SaveNumbers(ctx context.Context, pair, id string, b []byte) error {
	if err := s.write(); err != nil {
		return err
	}
	return s.Store.SaveNumbers(ctx, pair, id, b)
}

var (
	activeSide = []drift.Artifact{
		art(drift.Certificate, "contoso-cert", "notAfter", "2027-01-01"),
		art(drift.Partner, "Contoso", "qualifier", "ZZ"),
		art(drift.Partner, "Fabrikam", "qualifier", "ZZ"),
		art(drift.Schema, "X12_00401_850", "content", "sha256:1"),
		art(drift.Map, "OrdersToSAP", "content", "sha256:2"),
		art(drift.Agreement, "Contoso-Fabrikam-X12", "protocol", "X12", "hostPartner", "Contoso"),
	}
	standbySide = []drift.Artifact{
		art(drift.Partner, "Contoso", "qualifier", "ZZ"),
		art(drift.Partner, "Fabrikam", "qualifier", "01"), // differs
		art(drift.Map, "Old", "content", "sha256:9"),      // only on the standby
	}
)

func TestAMirrorMakesTheStandbyHoldWhatTheActiveSideHolds(t *testing.T) {
	w := newWorld(t, activeSide, standbySide)
	op, err := w.mirror(t, "m-1", false, false)
	if err != nil {
		t.Fatal(err)
	}
	if op.Status != journal.Succeeded {
		t.Fatalf("operation %s: %s", op.Status, op.Error)
	}
	for _, a := range activeSide {
		got, ok := w.secondary.Get(a.Kind, a.Name)
		if !ok || !reflect.DeepEqual(got.Fields, a.Fields) {
			t.Errorf("%s %s on the standby: %+v, %v; want %+v", a.Kind, a.Name, got.Fields, ok, a.Fields)
		}
	}
	if _, ok := w.secondary.Get(drift.Map, "Old"); !ok {
		t.Error("the standby's own map was deleted without prune")
	}
	if len(w.primary.Writes()) != 0 {
		t.Errorf("the active side was written: %+v", w.primary.Writes())
	}
	// Creations in kinds' creation order, then the update.
	var order []string
	for _, wr := range w.secondary.Writes() {
		order = append(order, string(wr.Kind)+"/"+wr.Name)
	}
	want := []string{"certificate/contoso-cert", "partner/Fabrikam", "schema/X12_00401_850", "map/OrdersToSAP", "agreement/Contoso-Fabrikam-X12"}
	if !reflect.DeepEqual(order, want) {
		t.Errorf("writes %v, want %v", order, want)
	}
	pl, err := w.runner.PlanOf(context.Background(), pair, "m-1")
	if err != nil || len(pl.Changes) != 5 || len(pl.Kept) != 1 || !strings.Contains(pl.Kept[0].Why, "prune") {
		t.Errorf("journaled plan %+v, %v", pl, err)
	}
	// A second mirror finds nothing to do.
	op, err = w.mirror(t, "m-2", false, false)
	if err != nil || op.Status != journal.Succeeded || len(w.secondary.Writes()) != 5 {
		t.Errorf("second mirror: %s %v, %d writes", op.Status, err, len(w.secondary.Writes()))
	}
}

func TestAMirrorResumedAfterACrashAtAnyPointAppliesEachChangeOnce(t *testing.T) {
	// Crash points: the journal dies after k more writes (k = 1: right after the
	// operation is journaled, ... up to after the last change is marked done), and the
	// process dies right after the n-th ARM write lands, before the journal hears of it.
	type crash struct {
		name             string
		journalAfter     int
		afterLandedWrite int // 0: none
	}
	var crashes []crash
	for k := 1; k <= 16; k++ {
		crashes = append(crashes, crash{name: fmt.Sprintf("the journal dies after %d writes", k), journalAfter: k})
	}
	for n := 1; n <= 5; n++ {
		crashes = append(crashes, crash{name: fmt.Sprintf("the process dies as write %d lands", n), afterLandedWrite: n})
	}
	for _, c := range crashes {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t, activeSide, standbySide)
			w.journal.after = c.journalAfter
			if c.afterLandedWrite > 0 {
				w.secondary.AfterWrite = func(n int, _ mirrortest.Write) error {
					if n+1 == c.afterLandedWrite {
						w.journal.trip()
						return errCrash
					}
					return nil
				}
			}
			_, err := w.mirror(t, "m-1", false, false)
			w.journal.restart()
			w.secondary.AfterWrite = nil
			// The message comes back (same id, same delivery): the plan resumes.
			for try := 0; err != nil && try < 3; try++ {
				_, err = w.mirror(t, "m-1", false, false)
			}
			if err != nil {
				t.Fatalf("resumed: %v", err)
			}
			op, gerr := w.journal.Get(context.Background(), pair, "m-1")
			if gerr != nil || op.Status != journal.Succeeded {
				t.Fatalf("operation %s (%v): %s", op.Status, gerr, op.Error)
			}
			for name, n := range w.secondary.Creations() {
				if n != 1 {
					t.Errorf("%s created %d times", name, n)
				}
			}
			if got := len(w.secondary.Writes()); got != 5 {
				t.Errorf("%d writes, want 5 (each change once): %+v", got, w.secondary.Writes())
			}
		})
	}
}

func TestADryRunListsEveryChangeAndWritesNothing(t *testing.T) {
	w := newWorld(t, activeSide, standbySide)
	op, err := w.mirror(t, "dry-1", true, true)
	if err != nil || op.Status != journal.Succeeded {
		t.Fatalf("dry run: %s %v %s", op.Status, err, op.Error)
	}
	if n := len(w.secondary.Writes()) + len(w.primary.Writes()); n != 0 {
		t.Fatalf("a dry run wrote %d times", n)
	}
	if len(op.Steps) != 1 || !strings.HasPrefix(op.Steps[0].Outcome, "dry run: ") {
		t.Errorf("steps %+v", op.Steps)
	}
	pl, err := w.runner.PlanOf(context.Background(), pair, "dry-1")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, c := range pl.Changes {
		lines = append(lines, c.Line())
	}
	want := []string{"create certificate contoso-cert", "update partner Fabrikam (qualifier)", "create schema X12_00401_850", "create map OrdersToSAP", "create agreement Contoso-Fabrikam-X12", "delete map Old"}
	if !reflect.DeepEqual(lines, want) {
		t.Errorf("plan\n got %q\nwant %q", lines, want)
	}
}

func TestPruneDeletesOnlyWhatIsNotAllowedInReverseOrder(t *testing.T) {
	standby := append(standbySide[:len(standbySide):len(standbySide)],
		art(drift.Agreement, "Old-Agreement"), art(drift.Partner, "Old-Partner"), art(drift.Schema, "local-test"))
	w := newWorld(t, activeSide, standby, drift.Allow{Kind: drift.Schema, Name: "local-*"})
	op, err := w.mirror(t, "prune-1", false, true)
	if err != nil || op.Status != journal.Succeeded {
		t.Fatalf("%s %v %s", op.Status, err, op.Error)
	}
	var deletes []string
	for _, wr := range w.secondary.Writes() {
		if wr.Op == "delete" {
			deletes = append(deletes, string(wr.Kind)+"/"+wr.Name)
		}
	}
	if want := []string{"agreement/Old-Agreement", "map/Old", "partner/Old-Partner"}; !reflect.DeepEqual(deletes, want) {
		t.Errorf("deletes %v, want %v (reverse creation order, the allowed one kept)", deletes, want)
	}
	if _, ok := w.secondary.Get(drift.Schema, "local-test"); !ok {
		t.Error("an allowed difference was pruned")
	}
}

func TestAMirrorStopsWhenThePairMoves(t *testing.T) {
	tests := []struct {
		name    string
		move    func(w *world)
		outcome journal.Status
		writes  int
		says    string
	}{{
		name:    "a failover flips the record after the second write",
		move:    func(w *world) { w.regions.Move(pair, replication.Secondary) },
		outcome: journal.Failed, writes: 2, says: "the pair moved",
	}, {
		name: "a failover is journaled on the pair",
		move: func(w *world) {
			_, _ = w.plans.Create(context.Background(), journal.Operation{ID: "fo-1", Action: command.Failover, Pair: pair, Status: journal.Running})
		},
		outcome: journal.Failed, writes: 2, says: "operation fo-1 (failover) is under way",
	}, {
		name:    "the record cannot be read",
		move:    func(w *world) { w.regions.Err = drerr.Errorf(drerr.Unavailable, "load", "table storage down") },
		outcome: journal.Failed, writes: 2, says: "no write without knowing",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, activeSide, standbySide)
			w.secondary.AfterWrite = func(n int, _ mirrortest.Write) error {
				if n == 1 {
					tt.move(w)
				}
				return nil
			}
			op, err := w.mirror(t, "m-1", false, false)
			if err != nil {
				t.Fatal(err)
			}
			if op.Status != tt.outcome || !strings.Contains(op.Error, tt.says) || !strings.Contains(op.Error, "run mirror again") {
				t.Errorf("operation %s: %q", op.Status, op.Error)
			}
			if !strings.Contains(op.Error, "2 of 5 changes done: created certificate contoso-cert on the secondary; updated partner Fabrikam on the secondary") {
				t.Errorf("the error does not say exactly what landed: %q", op.Error)
			}
			if got := len(w.secondary.Writes()); got != tt.writes {
				t.Errorf("%d writes after the move, want %d", got, tt.writes)
			}
			if len(w.primary.Writes()) != 0 {
				t.Error("the side now active was written")
			}
		})
	}
}

func TestAMirrorStandsAsideBeforeItsFirstWrite(t *testing.T) {
	w := newWorld(t, activeSide, standbySide)
	_, _ = w.plans.Create(context.Background(), journal.Operation{ID: "fb-1", Action: command.Fallback, Pair: pair, Status: journal.Waiting})
	op, err := w.mirror(t, "m-1", false, false)
	if err != nil || op.Status != journal.Rejected || !strings.Contains(op.Error, "fb-1") {
		t.Fatalf("%s %v %q", op.Status, err, op.Error)
	}
	if len(w.secondary.Writes()) != 0 {
		t.Error("written beside a plan")
	}
}

func TestAFailingWriteSaysExactlyWhatLanded(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status journal.Status
		retry  bool
	}{
		{"ARM refuses the body", drerr.Errorf(drerr.Invalid, "put", "the schema is not valid XML"), journal.Failed, false},
		{"ARM is unavailable", drerr.Errorf(drerr.Unavailable, "put", "503"), journal.Running, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, activeSide, standbySide)
			w.secondary.BeforeWrite = func(n int, _ mirrortest.Write) error {
				if n == 2 {
					return tt.err
				}
				return nil
			}
			op, err := w.mirror(t, "m-1", false, false)
			if (err != nil) != tt.retry {
				t.Fatalf("error %v, want a retry: %v", err, tt.retry)
			}
			if op.Status != tt.status {
				t.Errorf("status %s, want %s", op.Status, tt.status)
			}
			want := "create schema X12_00401_850 on the secondary"
			if !strings.Contains(op.Error, want) || !strings.Contains(op.Error, "2 of 5 changes done: created certificate contoso-cert on the secondary; updated partner Fabrikam on the secondary") {
				t.Errorf("error %q does not say what failed and what landed", op.Error)
			}
			if tt.retry {
				w.secondary.BeforeWrite = nil
				op, err = w.mirror(t, "m-1", false, false)
				if err != nil || op.Status != journal.Succeeded || len(w.secondary.Writes()) != 5 {
					t.Errorf("redelivered: %s %v, %d writes", op.Status, err, len(w.secondary.Writes()))
				}
			}
		})
	}
}

func TestStandbyTriggersAreStoppedFirstAndAgentJobsReported(t *testing.T) {
	active := []drift.Artifact{
		art(drift.Pipeline, "RunSSIS", "activities", "sha256:1"),
		running(art(drift.Trigger, "nightly", "pipeline", "RunSSIS")),
		{Kind: drift.AgentJob, Name: "load-dw", Fields: map[string]string{"steps": "1"}, Body: []byte(`"EXEC msdb.dbo.sp_add_job @job_name = N'load-dw'"`)},
	}
	standby := []drift.Artifact{
		running(art(drift.Trigger, "nightly", "pipeline", "Old")),
	}
	w := newWorld(t, active, standby)
	op, err := w.mirror(t, "m-1", false, false)
	if err != nil || op.Status != journal.Succeeded {
		t.Fatalf("%s %v %s", op.Status, err, op.Error)
	}
	var got []string
	for _, wr := range w.secondary.Writes() {
		got = append(got, wr.Op+" "+string(wr.Kind)+"/"+wr.Name)
	}
	if want := []string{"stop trigger/nightly", "put pipeline/RunSSIS", "put trigger/nightly"}; !reflect.DeepEqual(got, want) {
		t.Errorf("writes %v, want %v", got, want)
	}
	if tr, _ := w.secondary.Get(drift.Trigger, "nightly"); tr.Running {
		t.Error("a trigger runs on the standby")
	}
	if _, ok := w.secondary.Get(drift.AgentJob, "load-dw"); ok {
		t.Error("an Agent job was copied")
	}
	pl, _ := w.runner.PlanOf(context.Background(), pair, "m-1")
	if len(pl.Scripts) != 1 || !strings.Contains(pl.Scripts[0].Script, "sp_add_job") {
		t.Errorf("scripts %+v", pl.Scripts)
	}
}

func TestTheDriftReportHonoursTheAllowList(t *testing.T) {
	tests := []struct {
		name     string
		allow    []drift.Allow
		listErr  error
		outcome  string
		blocking int
	}{
		{"unlisted differences block", nil, nil, "6 differences, 6 not on the allow-list: not ready", 6},
		{"allowed ones do not", []drift.Allow{{Kind: drift.Certificate, Name: "*"}, {Kind: drift.Partner, Name: "fabrikam"}, {Kind: drift.Schema, Name: "X12_*"}, {Kind: drift.Map, Name: "*"}, {Kind: drift.Agreement, Name: "*"}}, nil, "all on the allow-list: ready", 0},
		{"a standby that does not answer is not compared", nil, drerr.Errorf(drerr.Throttled, "list", "429"), "not compared: the standby (secondary) did not answer", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, activeSide, standbySide, tt.allow...)
			w.secondary.ListErr = tt.listErr
			rep, err := w.runner.Report(context.Background(), pair)
			if err != nil {
				t.Fatal(err)
			}
			if got := mirror.Outcome(rep); !strings.Contains(got, tt.outcome) {
				t.Errorf("outcome %q, want %q", got, tt.outcome)
			}
			if n := len(rep.Reasons()); n != tt.blocking {
				t.Errorf("%d blocking: %q", n, rep.Reasons())
			}
			if tt.listErr != nil && (rep.Compared() || len(rep.Result.Differences) != 0) {
				t.Error("a side that did not answer reads as compared")
			}
		})
	}
}
