package cli

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"integration-dr/command"
	"integration-dr/failover"
	"integration-dr/journal"
	"integration-dr/journal/journaltest"
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
			(&slowFinish{j: j}).Submit(context.Background(), command.Command{ID: "fo-1", Action: command.Failover, Pair: "p"}, journal.Source{}, time.Now())
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
