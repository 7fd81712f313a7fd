package journal

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"integration-dr/command"
	"integration-dr/drerr"
	"integration-dr/redact"
)

// Limits on what one operation holds, so that it fits one table entity (1 MiB):
// at these limits the steps take about 250,000 characters. The helpers below
// truncate to them; Validate refuses what exceeds them.
const (
	MaxSteps       = 48
	MaxStepName    = 128
	MaxOutcome     = 1000 // characters
	MaxChanges     = 20   // lines per step
	MaxChangeLen   = 200  // characters per line
	MaxError       = 4000 // characters
	MaxSourceField = 512  // characters
)

// operation moves: from → the statuses it may move to. A status missing here is
// terminal. "" is a new operation.
//
// Every status that is not terminal may become Cancelled: an operator's way out of an
// operation that can never end by itself (a fence on a side that was rebuilt).
var moves = map[Status][]Status{
	"":       {Accepted, Proposed, Rejected},
	Accepted: {Proposed, Running, Waiting, Succeeded, Failed, Rejected, Cancelled},
	Proposed: {Accepted, Running, Failed, Rejected, Cancelled},
	// A plan refused by its own checks before it changed anything is rejected.
	Running: {Waiting, Succeeded, Failed, Rejected, Cancelled},
	Waiting: {Running, Succeeded, Failed, Rejected, Cancelled},
}

var stepMoves = map[StepStatus][]StepStatus{
	StepPending: {StepRunning, StepWaiting, StepDone, StepSkipped, StepFailed},
	StepRunning: {StepWaiting, StepDone, StepSkipped, StepFailed},
	StepWaiting: {StepRunning, StepDone, StepSkipped, StepFailed},
}

var statuses = []Status{Accepted, Proposed, Running, Waiting, Succeeded, Failed, Rejected, Cancelled}
var stepStatuses = []StepStatus{StepPending, StepRunning, StepWaiting, StepDone, StepSkipped, StepFailed}

// Open reports whether s is work the operations timer advances: accepted (journaled,
// and owed a run even when the attempt that journaled it died before starting it),
// running or waiting.
func (s Status) Open() bool { return s == Accepted || s.Pending() }

// Terminal reports whether nothing follows s.
func (s Status) Terminal() bool {
	return s == Succeeded || s == Failed || s == Rejected || s == Cancelled
}

// Pending reports whether the timer has work for an operation in s.
func (s Status) Pending() bool { return s == Running || s == Waiting }

// Terminal reports whether nothing follows s.
func (s StepStatus) Terminal() bool { return s == StepDone || s == StepSkipped || s == StepFailed }

// CheckMove returns nil if an operation may go from one status to the other (staying
// where it is included), else a drerr.Invalid saying why not.
func CheckMove(from, to Status) error {
	if err := move(from, to); err != nil {
		return drerr.E(drerr.Invalid, "journal", err)
	}
	return nil
}

// CheckStepMove is CheckMove for a step.
func CheckStepMove(from, to StepStatus) error {
	if err := stepMove(from, to); err != nil {
		return drerr.E(drerr.Invalid, "journal", err)
	}
	return nil
}

func move(from, to Status) error {
	switch {
	case !slices.Contains(statuses, to):
		return fmt.Errorf("%q is not an operation status", to)
	case from == to || slices.Contains(moves[from], to):
		return nil
	case from.Terminal():
		return fmt.Errorf("status %s is terminal; it cannot become %s", from, to)
	}
	return fmt.Errorf("status %s cannot become %s (allowed: %s)", from, to, list(moves[from]))
}

func stepMove(from, to StepStatus) error {
	switch {
	case !slices.Contains(stepStatuses, to):
		return fmt.Errorf("%q is not a step status", to)
	case from == to || slices.Contains(stepMoves[from], to):
		return nil
	case from.Terminal():
		return fmt.Errorf("status %s is terminal; it cannot become %s", from, to)
	}
	return fmt.Errorf("status %s cannot become %s (allowed: %s)", from, to, list(stepMoves[from]))
}

// SetStatus moves op to status at now. Reaching a terminal status sets Done; success
// also sets RTO from RTOStart. Staying in the same status changes nothing.
func (op *Operation) SetStatus(to Status, now time.Time) error {
	if err := move(op.Status, to); err != nil {
		return invalid(op.ID, "%v", err)
	}
	if to != Running {
		op.AttemptUntil, op.AttemptBy = time.Time{}, "" // the attempt is over: the next may run it
	}
	if op.Status == to {
		return nil
	}
	op.Status, op.Updated = to, now
	if to.Terminal() {
		op.Done = now
		// A dry run or a drill moves nothing: it has no RTO to report.
		if to == Succeeded && !op.RTOStart.IsZero() && !op.DryRun && op.Action != command.Drill {
			op.RTO = now.Sub(op.RTOStart)
		}
	}
	return nil
}

// ErrBusy is wrapped by Claim's refusal: another attempt runs the operation now.
var ErrBusy = errors.New("another attempt runs the operation")

type deliveryKey struct{}

// WithDelivery marks ctx as a delivery of a command's message, by its message id.
func WithDelivery(ctx context.Context, messageID string) context.Context {
	return context.WithValue(ctx, deliveryKey{}, messageID)
}

func deliveryOf(ctx context.Context) string {
	id, _ := ctx.Value(deliveryKey{}).(string)
	return id
}

// Claim makes the caller the attempt running op until now+ttl, refusing (ErrBusy)
// while another attempt's claim has not run out. The one exception is a later
// delivery of the message whose delivery made the claim: Service Bus redelivers a
// message only once its last delivery is over (failed, or its process gone), which is
// when a resumption must not wait out a claim. Anyone else (the timer, drctl
// --direct, a confirm, a duplicate of the command in another message) waits. The
// claim is stored with the operation's next Update, which is conditional on its ETag:
// of two attempts that read the same version, one wins (Busy maps that conflict to
// ErrBusy).
func (op *Operation) Claim(ctx context.Context, now time.Time, ttl time.Duration) error {
	me := deliveryOf(ctx)
	if op.Status == Running && op.AttemptUntil.After(now) && (me == "" || op.AttemptBy != me) {
		return fmt.Errorf("%w until %s", ErrBusy, op.AttemptUntil.UTC().Format(time.RFC3339))
	}
	op.AttemptUntil, op.AttemptBy = now.Add(ttl), me
	return nil
}

// Busy turns an Update's ETag conflict, right after Claim, into ErrBusy: another
// attempt claimed the operation first.
func Busy(err error) error {
	if drerr.Is(err, drerr.Conflict) {
		return fmt.Errorf("%w: %v", ErrBusy, err)
	}
	return err
}

// AcceptedGrace is how long an accepted operation is left to the delivery (or drctl)
// that journaled it before the operations timer runs it: past it, that attempt is
// taken to have died before it began.
const AcceptedGrace = 5 * time.Minute

// Resume runs, with run, every open operation (running or waiting, or accepted for
// longer than AcceptedGrace at now) of a pair owns accepts: what the operations timer
// does for each kind of pair. An operation another attempt is running (ErrBusy) is
// left to it; every other error is kept, naming its operation, and the rest go on.
func Resume(ctx context.Context, s Store, owns func(pair string) bool, now time.Time, run func(context.Context, Operation) (Operation, error)) ([]Operation, error) {
	pending, err := s.ListPending(ctx)
	if err != nil {
		return nil, err
	}
	var out []Operation
	var errs []error
	for _, op := range pending {
		if !owns(op.Pair) {
			continue // another runner's
		}
		if op.Status == Accepted && now.Sub(op.Created) < AcceptedGrace {
			continue // its own attempt is about to run it
		}
		done, err := run(ctx, op)
		if errors.Is(err, ErrBusy) {
			continue
		}
		out = append(out, done)
		if err != nil {
			errs = append(errs, fmt.Errorf("operation %s: %w", op.ID, err))
		}
	}
	return out, errors.Join(errs...)
}

// CreateOrGet journals op, or returns the operation already journaled under its id (a
// redelivered or duplicated command).
func CreateOrGet(ctx context.Context, s Store, op Operation) (Operation, error) {
	created, err := s.Create(ctx, op)
	if drerr.Is(err, drerr.Conflict) {
		return s.Get(ctx, op.Pair, op.ID)
	}
	return created, err
}

// Reject moves op to Rejected, recording why (cut to MaxError): a command refused
// before anything ran. Bad input ends here, whatever its length.
func (op *Operation) Reject(why string, now time.Time) error {
	if err := op.SetStatus(Rejected, now); err != nil {
		return err
	}
	op.Error = Cut(redact.String(why), MaxError)
	return nil
}

// Fail records why op failed (cut to MaxError) and moves it to Failed.
func (op *Operation) Fail(reason string, now time.Time) error {
	if err := op.SetStatus(Failed, now); err != nil {
		return err
	}
	op.Error = Cut(redact.String(reason), MaxError)
	return nil
}

// StepByName returns op's step of that name, nil if it has none. The pointer is into
// op.Steps: changing the step changes op.
func (op *Operation) StepByName(name string) *Step {
	for i := range op.Steps {
		if op.Steps[i].Name == name {
			return &op.Steps[i]
		}
	}
	return nil
}

// PlanSteps appends, as pending, each named step op does not have yet, in order.
func (op *Operation) PlanSteps(names ...string) {
	for _, n := range names {
		if op.StepByName(n) == nil {
			op.Steps = append(op.Steps, Step{Name: n, Status: StepPending})
		}
	}
}

// StartStep moves the named step (appended if new) to running. Started is set the
// first time only, so a resumed step keeps its start.
func (op *Operation) StartStep(name string, now time.Time) error {
	s, err := op.step(name, StepRunning)
	if err != nil {
		return err
	}
	if s.Started.IsZero() {
		s.Started = now
	}
	s.Status, op.Updated = StepRunning, now
	return nil
}

// WaitStep moves the named step to waiting, saying on what.
func (op *Operation) WaitStep(name, outcome string, now time.Time) error {
	s, err := op.step(name, StepWaiting)
	if err != nil {
		return err
	}
	if s.Started.IsZero() {
		s.Started = now
	}
	s.Status, s.Outcome, op.Updated = StepWaiting, Cut(outcome, MaxOutcome), now
	return nil
}

// FinishStep ends the named step (appended if new) as done, skipped or failed, with
// its outcome and the changes it made (each truncated to the limits; changes beyond
// MaxChanges are counted in the last line). Finishing a step again with the same
// status changes nothing.
func (op *Operation) FinishStep(name string, status StepStatus, outcome string, changes []string, now time.Time) error {
	if !status.Terminal() {
		return invalid(op.ID, "step %q cannot finish as %q: want done, skipped or failed", name, status)
	}
	s, err := op.step(name, status)
	if err != nil {
		return err
	}
	if s.Status == status {
		return nil
	}
	if s.Started.IsZero() {
		s.Started = now
	}
	s.Status, s.Ended, op.Updated = status, now, now
	s.Outcome = Cut(outcome, MaxOutcome)
	s.Changes = limitChanges(changes)
	return nil
}

func (op *Operation) step(name string, to StepStatus) (*Step, error) {
	if name == "" || utf8.RuneCountInString(name) > MaxStepName {
		return nil, invalid(op.ID, "step name %q is empty or longer than %d characters", name, MaxStepName)
	}
	s := op.StepByName(name)
	if s == nil {
		if len(op.Steps) >= MaxSteps {
			return nil, invalid(op.ID, "cannot add step %q: an operation has at most %d steps", name, MaxSteps)
		}
		op.Steps = append(op.Steps, Step{Name: name, Status: StepPending})
		s = &op.Steps[len(op.Steps)-1]
	}
	if err := stepMove(s.Status, to); err != nil {
		return nil, invalid(op.ID, "step %q: %v", name, err)
	}
	return s, nil
}

// Validate checks what a store needs to keep op: its keys, statuses, steps and the
// lengths of its text. Every error is a drerr.Invalid.
func (op Operation) Validate() error {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if !command.ValidID(op.ID) {
		add("id %q is not 1-%d letters, digits, '-', '_', '.', ':'", op.ID, command.MaxIDLen)
	}
	if !command.ValidPairName(op.Pair) {
		add("pair %q is not a pair name", op.Pair)
	}
	if op.Target != "" && !command.ValidID(op.Target) {
		add("target %q is not an id", op.Target)
	}
	if !slices.Contains(statuses, op.Status) {
		add("status %q is not one of %s", op.Status, list(statuses))
	}
	for _, f := range []struct{ name, v string }{
		{"action", string(op.Action)}, {"alert id", op.Source.AlertID}, {"alert rule", op.Source.AlertRule},
		{"requested by", op.Source.RequestedBy}, {"reason", op.Reason}, {"side", op.Side},
	} {
		if utf8.RuneCountInString(f.v) > MaxSourceField {
			add("%s is longer than %d characters", f.name, MaxSourceField)
		}
	}
	if utf8.RuneCountInString(op.Error) > MaxError {
		add("error is longer than %d characters", MaxError)
	}
	if len(op.Steps) > MaxSteps {
		add("%d steps; the limit is %d", len(op.Steps), MaxSteps)
	}
	seen := map[string]bool{}
	for i, s := range op.Steps {
		switch {
		case s.Name == "" || utf8.RuneCountInString(s.Name) > MaxStepName:
			add("step %d: name %q is empty or longer than %d characters", i+1, s.Name, MaxStepName)
		case seen[s.Name]:
			add("step %q appears twice", s.Name)
		}
		seen[s.Name] = true
		if !slices.Contains(stepStatuses, s.Status) {
			add("step %q: status %q is not one of %s", s.Name, s.Status, list(stepStatuses))
		}
		if utf8.RuneCountInString(s.Outcome) > MaxOutcome {
			add("step %q: outcome is longer than %d characters", s.Name, MaxOutcome)
		}
		if len(s.Changes) > MaxChanges {
			add("step %q: %d changes; the limit is %d", s.Name, len(s.Changes), MaxChanges)
		}
		for _, c := range s.Changes {
			if utf8.RuneCountInString(c) > MaxChangeLen {
				add("step %q: a change is longer than %d characters", s.Name, MaxChangeLen)
				break
			}
		}
	}
	if len(problems) > 0 {
		return invalid(op.ID, "%s", strings.Join(problems, "; "))
	}
	return nil
}

func limitChanges(changes []string) []string {
	if len(changes) == 0 {
		return nil
	}
	out := make([]string, 0, min(len(changes), MaxChanges))
	for i, c := range changes {
		if i == MaxChanges-1 && len(changes) > MaxChanges {
			out = append(out, fmt.Sprintf("… and %d more", len(changes)-i))
			break
		}
		out = append(out, Cut(c, MaxChangeLen))
	}
	return out
}

// truncate keeps at most n characters, marking the cut.
func Cut(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// invalid is the error for something op cannot do or be: terminal, as retrying the
// same request cannot help.
func invalid(id, format string, args ...any) error {
	return drerr.Errorf(drerr.Invalid, "journal", "operation %s: %s", id, fmt.Sprintf(format, args...))
}

func list[T ~string](xs []T) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = string(x)
	}
	return strings.Join(s, ", ")
}

// OtherPending returns another operation running or waiting on op's pair that
// changes Azure (not a dry run or a drill), however many journal entries came since;
// nil if there is none. A pair's lock can expire under a stalled operation: the
// journal, not the lock, says whether one is still under way.
func OtherPending(ctx context.Context, s Store, op Operation) (*Operation, error) {
	pending, err := s.ListPending(ctx)
	if err != nil {
		return nil, err
	}
	for _, o := range pending {
		if o.Pair == op.Pair && o.ID != op.ID && o.Status.Pending() && !o.DryRun && o.Action != command.Drill {
			return &o, nil
		}
	}
	return nil, nil
}

// NoteChanges records on a step that has not ended what an attempt changed before it
// stopped, so that whoever compensates the plan later knows (a step's changes are
// otherwise journaled only when it ends). Changes already noted are kept once.
func (op *Operation) NoteChanges(name string, changes []string) {
	s := op.StepByName(name)
	if s == nil || s.Status.Terminal() || len(changes) == 0 {
		return
	}
	for _, c := range changes {
		if !slices.Contains(s.Changes, c) {
			s.Changes = append(s.Changes, c)
		}
	}
	s.Changes = limitChanges(s.Changes)
}

// TakeLock takes the pair's lock for opID as Store.Lock does, and also when its holder
// is an operation that has ended: an attempt that died between its last journal entry
// and its unlock leaves the lock behind, and the pair's next operation must not wait
// for its expiry (nor an operation under way be held off by it).
func TakeLock(ctx context.Context, s Store, pair, opID string, until time.Time) (Lock, error) {
	l, err := s.Lock(ctx, pair, opID, until)
	var held *HeldError
	if err == nil || !errors.As(err, &held) {
		return l, err
	}
	holder, gerr := s.Get(ctx, pair, held.Lock.OpID)
	if gerr != nil || !holder.Status.Terminal() {
		return l, err // alive, or not an operation (a reconcile pass): its lock
	}
	if uerr := s.Unlock(ctx, pair, holder.ID); uerr != nil && !drerr.Is(uerr, drerr.Conflict) {
		return l, uerr
	}
	return s.Lock(ctx, pair, opID, until)
}
