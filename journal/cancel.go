package journal

import (
	"context"
	"fmt"
	"strings"
	"time"

	"integration-dr/command"
	"integration-dr/drerr"
)

// StepCancel is the one step of a cancel command's own operation: it is started
// before the target is touched and done once the target is cancelled, so that a
// cancel retried after a crash between the two knows the cancelled target is its own
// doing.
const StepCancel = "cancel"

// cancelTries bounds how often Cancel re-reads a target that changed under it (an
// attempt journaled a step) before it leaves the command to be retried.
const cancelTries = 3

// Cancel runs a cancel command c (c.Action command.Cancel, c.Target the operation to
// end): the operator's way out of an operation that can never end by itself, such as
// a fence on an old side that was rebuilt and answers 404 for good.
//
// The cancel command is journaled as an operation of its own, under its id (a
// redelivered or repeated cancel finds it and changes nothing twice). It is refused,
// journaled as rejected with the reason, when the target does not exist or has already
// ended, and, without c.Force, while an attempt's claim on the target is alive
// (AttemptUntil in the future: something may be acting on the pair right now).
// Otherwise the target becomes Cancelled with Error "cancelled by <who>: <reason>";
// its pending steps become skipped and its running or waiting steps failed, each
// saying so, so that the record tells which steps ran and which did not; and the
// pair's lock is released if the target holds it. Holds that live outside the journal
// (a replication stream held by a failover, an SSIS group failover in flight) are the
// caller's to release.
//
// It returns the target as cancelled, or, when the cancel is refused, the cancel
// command's own rejected operation (its ID is c.ID, not c.Target). The error is
// non-nil only when the store failed or the target kept changing, and the command
// may be retried.
func Cancel(ctx context.Context, s Store, c command.Command, now time.Time) (cancelled Operation, err error) {
	if c.Action != command.Cancel {
		return Operation{}, drerr.Errorf(drerr.Invalid, "cancel", "command %s is a %s, not a cancel", c.ID, c.Action)
	}
	if err := c.Validate(nil); err != nil {
		return Operation{}, err
	}
	own, err := CreateOrGet(ctx, s, New(c, Source{}, now, now))
	if err != nil {
		return own, err
	}
	switch own.Status {
	case Rejected:
		return own, nil
	case Succeeded: // done before: the target as it is now
		return s.Get(ctx, c.Pair, c.Target)
	}
	if own.Status.Terminal() {
		return own, nil
	}
	who := c.RequestedBy
	if who == "" {
		who = "an operator"
	}
	why := Cut(fmt.Sprintf("cancelled by %s: %s", who, strings.TrimSpace(c.Reason)), MaxError)

	for try := 1; ; try++ {
		target, err := s.Get(ctx, c.Pair, c.Target)
		if drerr.Is(err, drerr.NotFound) {
			return refuseCancel(ctx, s, own, fmt.Sprintf("no operation %s on pair %s to cancel", c.Target, c.Pair), now)
		}
		if err != nil {
			return own, err
		}
		started := own.StepByName(StepCancel) != nil
		switch {
		case target.Status == Cancelled && started:
			// An earlier attempt of this cancel got as far as the target.
			return finishCancel(ctx, s, own, target, now)
		case target.Status.Terminal():
			return refuseCancel(ctx, s, own, fmt.Sprintf("operation %s has already ended (%s): there is nothing to cancel", target.ID, target.Status), now)
		case !c.Force && target.AttemptUntil.After(now):
			by := "the timer or drctl --direct"
			if target.AttemptBy != "" {
				by = "a delivery of message " + target.AttemptBy
			}
			return refuseCancel(ctx, s, own, fmt.Sprintf("operation %s is being run by an attempt (%s) whose claim lasts until %s: wait for it to stop, or cancel with force if it is gone",
				target.ID, by, target.AttemptUntil.UTC().Format(time.RFC3339)), now)
		}
		if !started {
			if err := own.StartStep(StepCancel, now); err != nil {
				return own, err
			}
			if own, err = s.Update(ctx, own); err != nil {
				return own, err
			}
		}
		markCancelled(&target, who, now)
		if err := target.SetStatus(Cancelled, now); err != nil {
			return own, err
		}
		target.Error = why
		saved, err := s.Update(ctx, target)
		if drerr.Is(err, drerr.Conflict) && try < cancelTries {
			continue // an attempt journaled a step meanwhile: decide again on what it wrote
		}
		if err != nil {
			return own, fmt.Errorf("cancel %s: %w", target.ID, err)
		}
		return finishCancel(ctx, s, own, saved, now)
	}
}

// markCancelled ends every step of op that has not ended: a pending step did not run
// (skipped), a running or waiting one was cut short (failed, keeping what it said).
func markCancelled(op *Operation, who string, now time.Time) {
	for i := range op.Steps {
		st := &op.Steps[i]
		var to StepStatus
		var outcome string
		switch st.Status {
		case StepPending:
			to, outcome = StepSkipped, "not run: the operation was cancelled by "+who
		case StepRunning:
			to, outcome = StepFailed, "cut short while running: the operation was cancelled by "+who+"; whether the step finished is not known"
		case StepWaiting:
			to, outcome = StepFailed, "cut short while waiting: the operation was cancelled by "+who
		default:
			continue
		}
		if st.Outcome != "" {
			outcome += " (it said: " + st.Outcome + ")"
		}
		if st.Started.IsZero() {
			st.Started = now
		}
		st.Status, st.Ended, st.Outcome = to, now, Cut(outcome, MaxOutcome)
	}
}

// finishCancel releases the pair's lock if the cancelled target holds it, and ends the
// cancel's own operation as succeeded, naming what ran and what did not.
func finishCancel(ctx context.Context, s Store, own, target Operation, now time.Time) (Operation, error) {
	if err := s.Unlock(ctx, target.Pair, target.ID); err != nil && !drerr.Is(err, drerr.Conflict) {
		return target, err // the lock is someone else's (Conflict): not ours to free
	}
	var ran, notRun []string
	for _, st := range target.Steps {
		if st.Status == StepDone {
			ran = append(ran, st.Name)
		} else {
			notRun = append(notRun, st.Name+" ("+string(st.Status)+")")
		}
	}
	outcome := fmt.Sprintf("cancelled operation %s (%s of %s); done: %s; not done: %s",
		target.ID, target.Action, target.Pair, listOrNone(ran), listOrNone(notRun))
	if err := own.FinishStep(StepCancel, StepDone, outcome, nil, now); err != nil {
		return target, err
	}
	if err := own.SetStatus(Succeeded, now); err != nil {
		return target, err
	}
	if _, err := s.Update(ctx, own); err != nil {
		return target, err
	}
	return target, nil
}

// refuseCancel journals the cancel as rejected, saying why.
func refuseCancel(ctx context.Context, s Store, own Operation, why string, now time.Time) (Operation, error) {
	if st := own.StepByName(StepCancel); st != nil && !st.Status.Terminal() {
		if err := own.FinishStep(StepCancel, StepFailed, why, nil, now); err != nil {
			return own, err
		}
	}
	if err := own.Reject(why, now); err != nil {
		return own, err
	}
	return s.Update(ctx, own)
}

func listOrNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}
