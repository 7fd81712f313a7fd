package journal

import (
	"fmt"
	"strings"
	"time"
)

// WaitError is a step's answer when it must wait for the world (a settle time, a
// side that does not answer yet): the operation goes to waiting, keeps its lock, and
// the operations timer resumes it.
type WaitError struct{ Why string }

func (e *WaitError) Error() string { return e.Why }

// Wait returns a WaitError saying what the step waits on.
func Wait(format string, args ...any) error {
	return &WaitError{Why: fmt.Sprintf(format, args...)}
}

// RefusedError is a step's answer when the operation must end for good (a safety
// rule, an answer retrying cannot change): rejected if nothing was changed yet,
// failed otherwise, and the command is not retried.
type RefusedError struct{ Why string }

func (e *RefusedError) Error() string { return e.Why }

// Refuse returns a RefusedError saying why.
func Refuse(format string, args ...any) error {
	return &RefusedError{Why: fmt.Sprintf(format, args...)}
}

// SkippedPrefix starts the outcome of a step that had nothing to do.
const SkippedPrefix = "skipped: "

// Complete ends a step that answered without error: skipped when its outcome starts
// with SkippedPrefix, done otherwise. It renews the attempt's claim for claim, to be
// stored with the Update that follows.
func (op *Operation) Complete(name, outcome string, changes []string, now time.Time, claim time.Duration) error {
	status := StepDone
	if strings.HasPrefix(outcome, SkippedPrefix) {
		status = StepSkipped
	}
	if err := op.FinishStep(name, status, outcome, changes, now); err != nil {
		return err
	}
	op.AttemptUntil = now.Add(claim)
	return nil
}
