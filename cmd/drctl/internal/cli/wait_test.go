package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"integration-dr/command"
	"integration-dr/dev/localstack"
	"integration-dr/failover"
	"integration-dr/journal"
	"integration-dr/journal/journaltest"
	"integration-dr/view"
	"integration-dr/view/viewtest"
)

// slowFinish is a runner whose plan journals its last step (the flip) and then, a few
// polls later, its success: the moment between the two is what a poll may see.
type slowFinish struct {
	j       *journaltest.Store
	between time.Duration
	mu      sync.Mutex
	done    bool
}

func (s *slowFinish) Submit(ctx context.Context, c command.Command, src journal.Source, at time.Time) (journal.Operation, error) {
	op, err := journal.CreateOrGet(ctx, s.j, journal.New(c, src, at, at))
	if err != nil {
		return op, err
	}
	op.PlanSteps(failover.StepSettle, failover.StepFenceOld, failover.StepFlip)
	_ = op.SetStatus(journal.Running, at)
	_ = op.WaitStep(failover.StepSettle, "settling for 1s", at)
	_ = op.SetStatus(journal.Waiting, at)
	return s.j.Update(ctx, op)
}

func (s *slowFinish) Advance(ctx context.Context) ([]journal.Operation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return nil, nil
	}
	s.done = true
	pending, _ := s.j.ListPending(ctx)
	op := pending[0]
	now := time.Now()
	_ = op.SetStatus(journal.Running, now)
	for _, st := range []string{failover.StepSettle, failover.StepFenceOld, failover.StepFlip} {
		_ = op.FinishStep(st, journal.StepDone, st+" done", nil, now)
	}
	op, err := s.j.Update(ctx, op) // every step journaled done; the plan is still running
	if err != nil {
		return nil, err
	}
	time.Sleep(s.between)
	_ = op.SetStatus(journal.Succeeded, time.Now())
	op, err = s.j.Update(ctx, op)
	return []journal.Operation{op}, err
}

// TestWaitReturnsOnlyOnceThePlanHasEnded: --direct --wait returned while the plan was
// still running, its last step journaled but not its end, when a poll came between
// the two; the operator was told "running" and the exit code did not say success.
func TestWaitReturnsOnlyOnceThePlanHasEnded(t *testing.T) {
	j := journaltest.New()
	runner := &slowFinish{j: j, between: 300 * time.Millisecond}
	opts := &operateOptions{
		IO: &IOStreams{In: strings.NewReader(""), Out: &bytes.Buffer{}, Err: &bytes.Buffer{}}, Now: time.Now,
		PollEvery: 20 * time.Millisecond, Wait: true, Direct: true,
	}
	c := command.Command{ID: "fo-1", Action: command.Failover, Pair: "contoso-b2b", RequestedBy: "tester"}
	op, err := newWatch(opts, j, c).run(context.Background(), runner)
	if err != nil {
		t.Fatal(err)
	}
	if op.Status != journal.Succeeded {
		t.Fatalf("--wait returned the operation %s; want it succeeded\n%s", op.Status, opts.IO.Out)
	}
}

func TestAnOperationIsSettledWhenItHasEndedOrWaitsOnlyOnItsFence(t *testing.T) {
	steps := func(fence journal.StepStatus) []journal.Step {
		return []journal.Step{{Name: failover.StepBump, Status: journal.StepDone}, {Name: failover.StepFenceOld, Status: fence}, {Name: failover.StepFlip, Status: journal.StepDone}}
	}
	for _, tc := range []struct {
		name string
		op   journal.Operation
		want bool
	}{
		{"succeeded", journal.Operation{Status: journal.Succeeded}, true},
		{"cancelled", journal.Operation{Status: journal.Cancelled}, true},
		{"flipped, waiting only on the fence", journal.Operation{Status: journal.Waiting, Steps: steps(journal.StepWaiting)}, true},
		{"every step done, the plan still running", journal.Operation{Status: journal.Running, Steps: steps(journal.StepDone)}, false},
		{"flipped, an attempt running the fence", journal.Operation{Status: journal.Running, Steps: steps(journal.StepRunning)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := settled(tc.op); got != tc.want {
				t.Errorf("settled = %v, want %v", got, tc.want)
			}
		})
	}
}

// A queued cancel is followed through its own operation: refused, that is the
// outcome; done, the cancelled operation is.
func TestAQueuedCancelIsFollowedToItsOutcome(t *testing.T) {
	for _, tc := range []struct {
		name, target string
		wantID       string
		want         journal.Status
	}{
		{"done", "fo-1", "fo-1", journal.Cancelled},
		{"refused", "fo-9", "cancel-1", journal.Rejected},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := journaltest.New()
			_, _ = (&slowFinish{j: j}).Submit(context.Background(), command.Command{ID: "fo-1", Action: command.Failover, Pair: "p"}, journal.Source{}, time.Now())
			c := command.Command{ID: "cancel-1", Action: command.Cancel, Pair: "p", Target: tc.target, Reason: "rebuilt", RequestedBy: "ops"}
			go func() {
				time.Sleep(100 * time.Millisecond) // RunCommand takes it off the queue
				_, _ = journal.Cancel(context.Background(), j, c, time.Now())
			}()
			opts := &operateOptions{
				IO: &IOStreams{In: strings.NewReader(""), Out: &bytes.Buffer{}, Err: &bytes.Buffer{}}, Now: time.Now,
				PollEvery: 20 * time.Millisecond, Wait: true, Action: command.Cancel, Target: tc.target,
			}
			op, err := newWatch(opts, j, c).run(context.Background(), nil)
			if err != nil || op.ID != tc.wantID || op.Status != tc.want {
				t.Fatalf("followed to %s %s (%v); want %s %s", op.ID, op.Status, err, tc.wantID, tc.want)
			}
		})
	}
}

// checkEvents fails unless out is one wait event per line, each with every field, a
// UTC RFC 3339 time and the operation's id, and returns them.
func checkEvents(t *testing.T, what, out string) []view.WaitEvent {
	t.Helper()
	viewtest.Lines(t, "drctl-wait-event.schema.json", what, []byte(out))
	var evs []view.WaitEvent
	for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var ev view.WaitEvent
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ev); err != nil || dec.More() {
			t.Fatalf("%s: line %d is not one wait event (%v): %q\n%s", what, i+1, err, line, out)
		}
		var keys map[string]any
		_ = json.Unmarshal([]byte(line), &keys)
		for _, k := range []string{"time", "operationId", "pair", "state", "step", "message"} {
			if _, ok := keys[k]; !ok {
				t.Fatalf("%s: line %d lacks %q: %s", what, i+1, k, line)
			}
		}
		if raw, _ := keys["time"].(string); !strings.HasSuffix(raw, "Z") || ev.Time.IsZero() {
			t.Fatalf("%s: line %d: time %q is not RFC 3339 UTC", what, i+1, raw)
		}
		if ev.OperationID == "" || ev.Pair == "" || ev.Message == "" {
			t.Fatalf("%s: line %d: empty id, pair or message: %s", what, i+1, line)
		}
		evs = append(evs, ev)
	}
	if len(evs) == 0 {
		t.Fatalf("%s: no events", what)
	}
	return evs
}

// TestDirectWaitDrivesAFallbackToItsEnd: with the function app down, a fallback waits
// for the reverse backlog to drain and, after the flip, for replication to run the
// new way; --direct --wait runs those passes itself and the fallback ends alone, every
// line of --json one wait event.
func TestDirectWaitDrivesAFallbackToItsEnd(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.must(ExitOK, "replicate", "--once")
	s.must(ExitOK, "failover", "--pair", "contoso-b2b", "--direct", "--wait")

	r := s.must(ExitOK, "fallback", "--pair", "contoso-b2b", "--direct", "--wait", "--json", "--id", "fb-1", "--timeout", "2m")
	evs := checkEvents(t, "fallback --direct --wait --json", r.out)
	end := evs[len(evs)-1]
	if end.State != "succeeded" || end.OperationID != "fb-1" || end.Step != "" || !strings.Contains(end.Message, "succeeded, 11/11 steps") {
		t.Errorf("last event: %+v", end)
	}
	replicated, steps := false, map[string]bool{}
	for _, ev := range evs {
		replicated = replicated || strings.HasPrefix(ev.Message, "replicated contoso-b2b")
		if strings.HasPrefix(ev.Message, "done") {
			steps[ev.Step] = true
		}
	}
	if !replicated || !steps["drain"] || !steps["confirm-replication"] {
		t.Errorf("the drain and the confirm were not driven by replication passes:\n%s", r.out)
	}
	if strings.Contains(r.out, `\u003e`) {
		t.Errorf("-> is escaped:\n%s", r.out)
	}
	st := checkSchema[view.Status](t, "status --json", s.must(ExitOK, "status", "--json").out)
	if st.Streams[0].ActiveRegion != "primary" || st.Streams[0].Epoch != 2 {
		t.Errorf("after the fallback: %+v", st.Streams[0])
	}
}

// TestNoDriveSaysWhatMovesThePlanOn: with --no-drive, drctl runs nothing the timers
// would; it says what the plan waits for and the commands that move it on, and those
// commands do.
func TestNoDriveSaysWhatMovesThePlanOn(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.must(ExitOK, "replicate", "--once")
	s.must(ExitOK, "failover", "--pair", "contoso-b2b", "--direct", "--wait")
	runs := func() int64 {
		cp, _, err := s.app().Checkpoints.Load(s.ctx, localstack.PairName)
		if err != nil {
			t.Fatal(err)
		}
		return cp.Runs
	}
	before := runs()

	r := s.must(ExitFailed, "fallback", "--pair", "contoso-b2b", "--direct", "--wait", "--no-drive", "--id", "fb-1", "--timeout", "2s")
	want := "to move it on: drctl replicate --once --pair contoso-b2b, then drctl fallback --pair contoso-b2b --id fb-1 --direct"
	if !strings.Contains(r.out, "waiting for drain: reverse replication has reached") || !strings.Contains(r.out, want) {
		t.Errorf("--no-drive does not say what moves the plan on (%q):\n%s", want, r)
	}
	if strings.Count(r.out, want) != 1 {
		t.Errorf("the advice is repeated:\n%s", r)
	}
	if got := runs(); got != before {
		t.Errorf("--no-drive ran %d replication passes", got-before)
	}
	oneErrorLine(t, r, "gave up waiting after 2s: operation fb-1 is waiting")

	// What it said, done by hand, moves it on; then driving finishes it.
	s.must(ExitOK, "replicate", "--once", "--pair", "contoso-b2b")
	s.must(ExitOK, "fallback", "--pair", "contoso-b2b", "--id", "fb-1", "--direct", "--wait", "--timeout", "2m")
}

func TestWaitFlagsAreCheckedBeforeAnythingRuns(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"a negative timeout", []string{"failover", "--pair", "p", "--direct", "--wait", "--timeout", "-5s"}, "--timeout -5s: give a positive duration"},
		{"a zero timeout", []string{"fallback", "--pair", "p", "--wait", "--timeout", "0s"}, "--timeout 0s: give a positive duration"},
		{"a timeout without --wait", []string{"failover", "--pair", "p", "--direct", "--timeout", "5m"}, "--timeout limits --wait"},
		{"--no-drive through the queue", []string{"failover", "--pair", "p", "--wait", "--no-drive"}, "--no-drive goes with --direct --wait"},
		{"a cancel with a negative timeout", []string{"cancel", "--pair", "p", "--operation", "fo-1", "--reason", "r", "--wait", "--timeout", "-1m"}, "--timeout -1m0s: give a positive duration"},
		{"a confirm with a zero timeout", []string{"confirm", "alert-1", "--pair", "p", "--wait", "--timeout", "0"}, "--timeout 0s: give a positive duration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ran := false
			capture := func(context.Context, *operateOptions) error { ran = true; return nil }
			root := rootCapturing(tc.args[0], capture)
			root.SetArgs(tc.args)
			err := classify(root.Execute())
			var ee *ExitError
			if !errors.As(err, &ee) || ee.Code != ExitUsage || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("want exit 2 %q, got %v", tc.want, err)
			}
			if ran {
				t.Error("the command ran")
			}
		})
	}
}

func TestADrivenWaitIsSettledOnAFenceOnlyWhenTheOldSideCannotBeReached(t *testing.T) {
	fenced := func(outcome string) journal.Operation {
		return journal.Operation{Status: journal.Waiting, Steps: []journal.Step{
			{Name: failover.StepBump, Status: journal.StepDone},
			{Name: failover.StepFenceOld, Status: journal.StepWaiting, Outcome: outcome},
			{Name: failover.StepFlip, Status: journal.StepDone},
		}}
	}
	unreachable := fenced("fence pending: the old side (primary) could not be reached within the 30s reach budget (dial tcp: connection refused)")
	transient := fenced("fence pending: disable x12-intake: 500 Internal Server Error")
	for _, tc := range []struct {
		name                  string
		direct, wait, noDrive bool
		op                    journal.Operation
		want                  bool
	}{
		{"driving, the old side down", true, true, false, unreachable, true},
		{"driving, the old side answers with an error: the next advance fences it", true, true, false, transient, false},
		{"following a queued command", false, true, false, transient, true},
		{"not driving (--no-drive)", true, true, true, transient, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWatch(&operateOptions{Now: time.Now, Direct: tc.direct, Wait: tc.wait, NoDrive: tc.noDrive}, nil, command.Command{ID: "fo-1"})
			if got := w.settled(tc.op); got != tc.want {
				t.Errorf("settled = %v, want %v", got, tc.want)
			}
		})
	}
}
