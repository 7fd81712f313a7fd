package cli

// Review tests: each fails on the code as reviewed, for the reason its comment gives.

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/logic/armlogic"

	"integration-dr/command"
	"integration-dr/dev/armstandin"
	"integration-dr/dev/localstack"
	"integration-dr/failover"
	"integration-dr/journal"
	"integration-dr/replication"
)

// In a real outage the old primary does not answer, so a failover ends with its
// fence pending (README, runbook step 3: "the operation ends with its fence
// pending; the timer applies it when the old side answers"). --wait must then come
// back with the failover's outcome. It does not: it follows the journal until the
// operation is terminal, which a pending fence never is while the region is down, so
// the operator's command hangs (or, with --timeout, exits 1 "failed" although the
// secondary is active).
func TestReviewWaitEndsWhenOnlyTheFenceOnTheLostSideIsPending(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.must(ExitOK, "replicate", "--once")
	s.arm.SetUnreachable(localstack.PrimaryGroup, "", true) // the primary region is lost

	r := s.drctl("failover", "--pair", "contoso-b2b", "--direct", "--wait", "--timeout", "45s", "--id", "fo-outage", "--reason", "West Europe outage")

	_, region, err := s.app().Checkpoints.Load(s.ctx, localstack.PairName)
	if err != nil {
		t.Fatal(err)
	}
	if region.Active != replication.Secondary {
		t.Fatalf("precondition: the failover did not flip the pair (active %s)\n%s", region.Active, r)
	}
	if r.code != ExitOK {
		t.Errorf("the secondary is active and only the fence on the lost primary is pending, yet --wait exits %d (want 0, the failover succeeded with its fence pending)\n%s", r.code, r)
	}
}

// --direct runs the plan with the command's id as a new delivery would, so it does not
// respect the claim of an attempt that is running the same operation right now (here:
// RunCommand took the queued command and claimed the operation a moment ago). Service
// Bus never hands one message to two receivers at once, which is why RunCommand may
// ignore a claim; drctl has no such guarantee, and drctl itself suggests
// "run it here with --direct --id <id>" when a send's outcome is unknown. Two attempts
// then run the same steps at once.
func TestReviewDirectDoesNotRunAnOperationAnotherAttemptIsRunning(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.must(ExitOK, "replicate", "--once")
	a := s.app()
	now := time.Now()

	// RunCommand's attempt, as its first journal update leaves it: running, claimed
	// for the next five minutes, the pair locked, no step finished yet.
	op := journal.New(command.Command{ID: "fo-queued", Action: command.Failover, Pair: localstack.PairName, RequestedBy: "alert"}, journal.Source{RequestedBy: "alert"}, now, now)
	op.Status = journal.Running
	op.PlanSteps(failover.StepAuthorize, failover.StepReadiness, failover.StepStopOld, failover.StepCatchUp, failover.StepHold,
		failover.StepFloors, failover.StepBump, failover.StepSettle, failover.StepEnable, failover.StepFenceOld, failover.StepFlip)
	op.AttemptUntil = now.Add(5 * time.Minute)
	if _, err := a.Journal.Create(s.ctx, op); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Journal.Lock(s.ctx, localstack.PairName, op.ID, now.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	writes := len(s.arm.Writes(localstack.SecondaryGroup, localstack.SecondaryAcct))

	r := s.drctl("failover", "--pair", "contoso-b2b", "--direct", "--id", "fo-queued")

	if st, _ := s.arm.WorkflowState(localstack.PrimaryGroup, intake); st != armlogic.WorkflowStateEnabled {
		t.Errorf("drctl --direct ran the plan beside the attempt that holds it: the primary's intake is now %s", st)
	}
	if n := len(s.arm.Writes(localstack.SecondaryGroup, localstack.SecondaryAcct)); n != writes {
		t.Errorf("drctl --direct ran the plan beside the attempt that holds it: %d writes to the secondary", n-writes)
	}
	if t.Failed() {
		t.Logf("drctl:\n%s", r)
	}
}

// replicate --once, when another run holds the stream, stands aside; its table then
// shows the pair's lag as 0s (the skipped run's Stats carry no lag), which reads as
// "fully caught up" while nothing was replicated.
func TestReviewReplicateOnceDoesNotShowZeroLagForARunThatStoodAside(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.must(ExitOK, "replicate", "--once")
	a := s.app()
	cp, _, err := a.Checkpoints.Load(s.ctx, localstack.PairName)
	if err != nil {
		t.Fatal(err)
	}
	// The standby is some seconds behind, and another run holds the stream.
	cp.Watermark = cp.Watermark.Add(-10 * time.Second)
	cp.LeaseOwner, cp.LeaseUntil = "run-elsewhere", time.Now().Add(time.Minute)
	if _, err := a.Checkpoints.Save(s.ctx, cp); err != nil {
		t.Fatal(err)
	}

	r := s.drctl("replicate", "--once", "--pair", "contoso-b2b")
	if !strings.Contains(r.out, "another run holds the stream") {
		t.Fatalf("precondition: the run did not stand aside\n%s", r)
	}
	if regexp.MustCompile(`(?m)^contoso-b2b\s.*\s0s\s`).MatchString(r.out) {
		t.Errorf("a run that stood aside shows the pair's lag as 0s (the checkpoint says %s behind)\n%s",
			replication.Lag(cp, time.Now()).Round(time.Second), r)
	}
}

// queueRunner is the command queue with RunCommand behind it: each command sent is run
// as RunCommand runs it, in the background.
type queueRunner struct {
	ops func(context.Context) (submitter, error)
	wg  sync.WaitGroup
}

func (q *queueRunner) Send(ctx context.Context, c command.Command) error {
	ops, err := q.ops(ctx)
	if err != nil {
		return err
	}
	q.wg.Add(1)
	go func() {
		defer q.wg.Done()
		_, _ = ops.Submit(context.Background(), c, journal.Source{RequestedBy: c.RequestedBy}, time.Now())
	}()
	return nil
}

// confirm --wait (through the queue) follows the proposed operation's id. When there is
// no such proposal (a mistyped id, another pair), RunCommand journals the confirm itself
// as rejected under the confirm's own id, and drctl keeps waiting for an operation that
// will never appear: it hangs, or with --timeout exits 1 instead of 4 (refused).
func TestReviewQueuedConfirmOfAnUnknownProposalEndsRefused(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	f := s.factory()
	q := &queueRunner{ops: func(ctx context.Context) (submitter, error) {
		a, err := f.App(ctx)
		if err != nil {
			return nil, err
		}
		return a.Operations, nil
	}}
	f.Sender = func(context.Context, *Settings) (commandSender, func(), error) { return q, func() {}, nil }

	r := runDrctl(s.ctx, f, "confirm", "alert-doesnotexist", "--pair", "contoso-b2b", "--wait", "--timeout", "15s")
	q.wg.Wait()
	ops, err := f.app.Journal.List(s.ctx, localstack.PairName, 10)
	if err != nil || len(ops) == 0 || ops[0].Status != journal.Rejected {
		t.Fatalf("precondition: RunCommand did not journal the confirm as rejected: %+v %v", ops, err)
	}
	if r.code != ExitRefused {
		t.Errorf("RunCommand rejected the confirm (%s: %s), yet drctl confirm --wait exits %d, want %d\n%s", ops[0].ID, ops[0].Error, r.code, ExitRefused, r)
	}
}

// drctl plan (the runbook's "what would a failover do now", run during an outage as
// much as before one) journals a dry run that takes the pair's operation lock for as
// long as readiness and the floors take (listing every session of the target). A real
// failover arriving meanwhile (an alert in mode auto, or an operator's command) is
// refused for good: journaled as rejected, its message completed. A dry run changes
// nothing and must not stand in the way of one that does.
func TestReviewAPlanDoesNotMakeARealFailoverBeRejected(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.must(ExitOK, "replicate", "--once")
	a := s.app()
	s.arm.SetFaults(armstandin.Faults{Latency: 700 * time.Millisecond}) // a plan of a large pair takes a while

	done := make(chan result, 1)
	go func() { done <- s.drctl("plan", "failover", "--pair", "contoso-b2b") }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		pending, err := a.Journal.ListPending(s.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(pending) > 0 && strings.HasPrefix(pending[0].ID, "plan-") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the plan never started")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// RunCommand takes the alert's failover while the plan runs.
	ctx, cancel := context.WithTimeout(s.ctx, 3*time.Second)
	defer cancel()
	op, _ := a.Operations.Submit(ctx, command.Command{ID: "alert-fo-1", Action: command.Failover, Pair: localstack.PairName, RequestedBy: "alert"},
		journal.Source{AlertID: "a1", RequestedBy: "alert"}, time.Now())
	if op.Status == journal.Rejected {
		t.Errorf("a real failover was rejected because drctl plan's dry run held the pair: %s", op.Error)
	}
	s.arm.SetFaults(armstandin.Faults{})
	<-done
}

// The same lock, left behind: a dry run cut short (Ctrl-C on drctl plan, a lost
// connection) keeps the pair's lock for its two-hour TTL, as a real plan does so that it
// can resume. With the function app down (when drctl is used), nothing resumes the dry
// run, and every failover of the pair, --direct included, is rejected until the lock
// runs out.
func TestReviewAnInterruptedPlanDoesNotBlockFailoverForHours(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.must(ExitOK, "replicate", "--once")
	a := s.app()
	s.arm.SetFaults(armstandin.Faults{Latency: 700 * time.Millisecond})

	ctx, cancel := context.WithCancel(s.ctx)
	done := make(chan result, 1)
	go func() { done <- runDrctl(ctx, s.factory(), "plan", "failover", "--pair", "contoso-b2b") }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		pending, err := a.Journal.ListPending(s.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(pending) > 0 && strings.HasPrefix(pending[0].ID, "plan-") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the plan never started")
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel() // the operator presses Ctrl-C
	if r := <-done; r.code == ExitOK {
		t.Fatalf("precondition: the plan was not interrupted\n%s", r)
	}
	s.arm.SetFaults(armstandin.Faults{})

	r := s.drctl("failover", "--pair", "contoso-b2b", "--direct", "--reason", "West Europe outage")
	if r.code == ExitRefused {
		t.Errorf("an interrupted dry run keeps the pair locked: the failover is rejected\n%s", r)
	}
}

// A Service Bus connection string given where the namespace goes (--sb-namespace, or
// ServiceBusConnection__fullyQualifiedNamespace: the Functions host's own setting for
// a connection string is ServiceBusConnection, an easy slip) is refused, and the
// refusal prints it whole, key included, on stderr and into the operator's terminal
// scrollback or CI log. drctl's help promises the connection string is never printed.
func TestReviewASettingThatHoldsAKeyIsNotPrinted(t *testing.T) {
	const key = "c2VjcmV0LWtleS1vZi10aGUtbmFtZXNwYWNl="
	env := map[string]string{
		"AzureWebJobsStorage": "UseDevelopmentStorage=true",
		"DR_TOPOLOGY":         `{"pairs":[{"name":"p1","primary":"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/a/providers/Microsoft.Logic/integrationAccounts/x","secondary":"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/b/providers/Microsoft.Logic/integrationAccounts/y"}]}`,
		"DR_COMMAND_QUEUE":    "dr-commands",
	}
	f := testFactory(func(k string) string { return env[k] })
	r := runDrctl(context.Background(), f, "dlq", "list",
		"--sb-namespace", "Endpoint=sb://contoso.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey="+key)
	if r.code != ExitUsage {
		t.Fatalf("precondition: want exit %d for bad settings\n%s", ExitUsage, r)
	}
	if strings.Contains(r.err+r.out, key) {
		t.Errorf("drctl printed the namespace's key:\n%s", r)
	}
}
