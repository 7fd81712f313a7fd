package failover

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"integration-dr/command"
	"integration-dr/drerr"
	"integration-dr/journal"
	"integration-dr/replication"
	"integration-dr/session"
)

// AgreementState is an agreement as a side holds it, with whether it checks received
// control numbers for duplicates.
type AgreementState struct {
	Agreement
	DuplicateChecks bool
}

// AgreementSource lists a side's agreements.
type AgreementSource interface {
	Agreements(ctx context.Context) ([]AgreementState, error)
}

// Workflow is a Logic Apps workflow that runs only where its side is active.
type Workflow interface {
	Name() string
	Enable(ctx context.Context) error
	Disable(ctx context.Context) error
}

// Side is one integration account of a pair, as a plan acts on it.
type Side struct {
	Sessions   replication.Account
	Agreements AgreementSource
	Workflows  []Workflow
	// Routes send partners' traffic to the side: stopped before its workflows,
	// started after them.
	Routes []Route
}

// Pair is a pair as plans see it.
type Pair struct {
	Name        string
	Replication replication.Pair
	Primary     Side
	Secondary   Side
	Policy      Policy
	// Settle is how long a bumped number takes to take effect (Microsoft's template
	// README: up to 15 s) before the side may send.
	Settle time.Duration
	// Cooldown refuses an operation this soon after the last one, unless forced.
	Cooldown time.Duration
	// RequireDuplicateChecks refuses a target whose agreements do not check received
	// control numbers for duplicates; false only warns.
	RequireDuplicateChecks bool
	// MaxLag is the replication lag above which readiness reports the pair not ready
	// (DefaultMaxLag when zero).
	MaxLag time.Duration
}

func (p Pair) side(r replication.Region) Side {
	if r == replication.Secondary {
		return p.Secondary
	}
	return p.Primary
}

// CatchUp runs one replication pass of a pair: the plan's final catch-up.
type CatchUp interface {
	Run(ctx context.Context, p replication.Pair) (replication.Stats, error)
}

// Runner runs the journaled plans of failover, fallback and drill commands. Every
// step checks the world before it acts and is journaled when done, so a redelivered
// command resumes where the last attempt stopped and never acts twice.
type Runner struct {
	Journal journal.Store
	Streams replication.Store
	CatchUp CatchUp
	Pairs   map[string]Pair
	// Writes is the ARM write budget the bumps share with replication.
	Writes *rate.Limiter
	Log    *slog.Logger
	Now    func() time.Time
	// ClockSkew is replication's clock-skew margin.
	ClockSkew time.Duration
	// CatchUpTimeout bounds the final catch-up from the old side.
	CatchUpTimeout time.Duration
	// Workers bound parallel bump writes.
	Workers int
	// ProposalTTL is how long a proposed operation waits for an operator's confirm
	// before it expires (default 1h): an alert from an hour ago is no reason to act.
	ProposalTTL time.Duration
	// SnapshotEvery is how often the active side's agreements are recorded, for the
	// readiness check of a failover whose old side no longer answers (default 10m).
	SnapshotEvery time.Duration
	// ReadinessEvery is how often the timer runs and keeps each pair's readiness
	// report, so that drift shows before a disaster (0: never). It lists the
	// target's sessions, so it is hourly by default, not every tick.
	ReadinessEvery time.Duration
	// ReachBudget is how long the old side is given to answer a call before the plan
	// counts it as down (default 30s). Only a side that could not be reached at all —
	// every try failed to connect, or no answer came within the budget — is down: a
	// slow, throttled, refusing or erroring side is "not known", and stop-first holds
	// against it unless the operator forces the move.
	ReachBudget time.Duration
	// Drift compares the pair's artifacts for the readiness report (nil: not at all).
	Drift DriftReporter
}

// snapshot is a side's agreements as last seen.
type snapshot struct {
	Side       replication.Region
	Taken      time.Time
	Agreements []Agreement
}

// Step names, in the order plans run them.
const (
	StepAuthorize  = "authorize"
	StepReadiness  = "readiness"
	StepStopIntake = "stop-intake"
	StepStopOld    = "stop-old-intake"
	StepDrain      = "drain"
	StepCatchUp    = "catch-up"
	StepHold       = "hold-replication"
	StepFloors     = "floors"
	StepBump       = "bump"
	StepSettle     = "settle"
	StepEnable     = "enable-target"
	StepFenceOld   = "fence-old-side"
	StepFlip       = "flip"
	StepConfirm    = "confirm-replication"
	lockTTL        = 2 * time.Hour
	holdTTL        = 2 * time.Hour
	ownerPrefix    = replication.HoldPrefix
	defaultCatchUp = 30 * time.Second
	defaultWorkers = 8
	// defaultReach is ReachBudget's default: long enough for azcore's retries of a
	// slow or throttled answer, short enough for an RTO measured in minutes.
	defaultReach = 30 * time.Second
	// secondChance is the budget of stop-first on a side another call found down.
	secondChance = 5 * time.Second
	// attemptTTL is how long an attempt is presumed alive after its last step; the
	// bump step, which may take longer, extends it for itself (claimFor).
	attemptTTL = 5 * time.Minute
	// claimMargin: an attempt starts no write this close to the end of its claim,
	// for the clocks of two instances may differ.
	claimMargin = 30 * time.Second
)

// steps is each action's plan.
func steps(a command.Action, dry bool) []string {
	switch {
	case dry || a == command.Drill:
		return []string{StepAuthorize, StepReadiness, StepFloors}
	case a == command.Fallback:
		return []string{StepAuthorize, StepReadiness, StepStopIntake, StepDrain, StepHold, StepFloors, StepBump, StepSettle, StepEnable, StepFlip, StepConfirm}
	default:
		return []string{StepAuthorize, StepReadiness, StepStopOld, StepCatchUp, StepHold, StepFloors, StepBump, StepSettle, StepEnable, StepFenceOld, StepFlip}
	}
}

// Submit runs a command: it journals it (or finds it journaled, when the message is
// redelivered or sent twice), takes the pair's lock, and runs or resumes its plan. The
// error is non-nil only for a transient failure, when the command must be retried;
// every other outcome is in the returned operation's status.
func (r *Runner) Submit(ctx context.Context, c command.Command, src journal.Source, rtoStart time.Time) (journal.Operation, error) {
	switch c.Action {
	case command.Confirm:
		return r.confirm(ctx, c)
	case command.Cancel:
		return r.cancel(ctx, c)
	case command.Failover, command.Fallback, command.Drill:
	default:
		return r.Reject(ctx, c, src, fmt.Sprintf("%s is not an integration-account action", c.Action))
	}
	op, err := r.journal(ctx, journal.New(c, src, rtoStart, r.now()))
	// A proposal runs only when an operator confirms it, whatever else carries its id.
	if err != nil || op.Status.Terminal() || op.Status == journal.Proposed {
		return op, err
	}
	return r.run(ctx, op)
}

// Owns says whether pair is one of this runner's integration-account pairs.
func (r *Runner) Owns(pair string) bool { _, ok := r.Pairs[pair]; return ok }

// Propose journals a command as proposed: nothing runs until an operator confirms it.
func (r *Runner) Propose(ctx context.Context, c command.Command, src journal.Source, rtoStart time.Time) (journal.Operation, error) {
	op := journal.New(c, src, rtoStart, r.now())
	op.Status = journal.Proposed
	return r.journal(ctx, op)
}

// Reject journals a command refused before anything ran (bad input, unknown pair).
func (r *Runner) Reject(ctx context.Context, c command.Command, src journal.Source, why string) (journal.Operation, error) {
	op := journal.New(c, src, r.now(), r.now())
	if err := op.Reject(why, r.now()); err != nil {
		return op, err
	}
	return r.journal(ctx, op)
}

// cancel ends an operation that can never end (a fence on a region rebuilt), as
// journal.Cancel says, and gives back what the plan held: the replication stream, and
// the old side's pending fence — the operator has said that side will not be fenced,
// so replication may write into it again.
func (r *Runner) cancel(ctx context.Context, c command.Command) (journal.Operation, error) {
	op, err := journal.Cancel(ctx, r.Journal, c, r.now())
	if err != nil || op.ID != c.Target || op.Status != journal.Cancelled {
		return op, err
	}
	r.release(ctx, op)
	r.log().Warn("operation cancelled", "id", op.ID, "pair", op.Pair, "by", c.RequestedBy, "reason", c.Reason, "force", c.Force)
	return op, nil
}

// journal creates op, or returns the one already journaled under its id.
func (r *Runner) journal(ctx context.Context, op journal.Operation) (journal.Operation, error) {
	return journal.CreateOrGet(ctx, r.Journal, op)
}

func (r *Runner) confirm(ctx context.Context, c command.Command) (journal.Operation, error) {
	op, err := r.Journal.Get(ctx, c.Pair, c.Target)
	if drerr.Is(err, drerr.NotFound) {
		return r.Reject(ctx, c, journal.Source{RequestedBy: c.RequestedBy}, fmt.Sprintf("no operation %s on pair %s to confirm", c.Target, c.Pair))
	}
	if err != nil {
		return op, err
	}
	if journal.ProposalExpired(op, r.ProposalTTL, r.now()) {
		// However many entries came since, a proposal older than its time is not
		// run by a late confirm.
		if err := op.Expire(r.ProposalTTL, r.now()); err != nil {
			return op, err
		}
		if _, err := r.Journal.Update(ctx, op); err != nil {
			return op, err
		}
		return r.Reject(ctx, c, journal.Source{RequestedBy: c.RequestedBy}, fmt.Sprintf("operation %s on pair %s expired before this confirm: not confirmed within %s", c.Target, c.Pair, proposalTTL(r.ProposalTTL)))
	}
	if op.Status == journal.Proposed {
		if err := op.SetStatus(journal.Accepted, r.now()); err != nil {
			return op, err
		}
		op.Source.RequestedBy = strings.TrimSpace(op.Source.RequestedBy + "; confirmed by " + c.RequestedBy)
		if op, err = r.Journal.Update(ctx, op); err != nil {
			return op, err
		}
	}
	if op.Status.Terminal() {
		return op, nil
	}
	return r.run(ctx, op)
}

// Advance resumes every operation waiting for the world: a settle time passed, a
// reverse backlog drained, an old side that answers again.
func (r *Runner) Advance(ctx context.Context) ([]journal.Operation, error) {
	out, errs := r.expireProposals(ctx)
	r.releaseEnded(ctx)
	// Plans first: the records and reports below read sides that may be down, each
	// within a reach budget, and a plan waiting on its settle or its fence must not
	// wait behind them.
	resumed, err := journal.Resume(ctx, r.Journal, r.Owns, r.now(), r.run)
	moving := r.moving(ctx)
	r.snapshots(ctx, moving)
	r.readinessReports(ctx, moving)
	return append(out, resumed...), errors.Join(append(errs, err)...)
}

// moving returns the pairs a plan is moving that has not flipped yet: their active
// side is the one being left, often down, and the plan reads both sides itself. A
// journal that cannot be listed names none.
func (r *Runner) moving(ctx context.Context) map[string]bool {
	ops, err := r.Journal.ListPending(ctx)
	if err != nil {
		return nil
	}
	out := map[string]bool{}
	for _, op := range ops {
		if flip := op.StepByName(StepFlip); r.Owns(op.Pair) && flip != nil && flip.Status != journal.StepDone {
			out[op.Pair] = true
		}
	}
	return out
}

// snapshots records each pair's active side's agreements when the last record is
// older than SnapshotEvery. A side that does not answer keeps its last record; a pair
// a plan is moving (see moving) is left alone.
func (r *Runner) snapshots(ctx context.Context, moving map[string]bool) {
	every := r.SnapshotEvery
	if every <= 0 {
		every = 10 * time.Minute
	}
	for name, pair := range r.Pairs {
		if moving[name] {
			continue
		}
		if raw, err := r.Journal.LoadSnapshot(ctx, name, journal.SnapshotAgreements); err == nil {
			var s snapshot
			if json.Unmarshal(raw, &s) == nil && r.now().Sub(s.Taken) < every {
				continue
			}
		}
		_, region, err := r.Streams.Load(ctx, name)
		if err != nil {
			continue
		}
		actx, cancel := context.WithTimeout(ctx, r.reach())
		ags, err := pair.side(region.Active).Agreements.Agreements(actx)
		cancel()
		if err != nil {
			continue
		}
		raw, _ := json.Marshal(snapshot{Side: region.Active, Taken: r.now(), Agreements: plain(ags)})
		if err := r.Journal.SaveSnapshot(ctx, name, journal.SnapshotAgreements, raw); err != nil {
			r.log().Warn("readiness snapshot not saved", "pair", name, "err", err)
		}
	}
}

// readinessReports runs and keeps each pair's readiness report when the kept one is
// older than ReadinessEvery. A pair an operation runs on is left alone: its plan
// checks readiness itself.
func (r *Runner) readinessReports(ctx context.Context, moving map[string]bool) {
	if r.ReadinessEvery <= 0 {
		return
	}
	for name := range r.Pairs {
		if moving[name] {
			continue
		}
		if last, err := r.LastReadiness(ctx, name); err == nil && r.now().Sub(last.At) < r.ReadinessEvery {
			continue
		}
		// One reach budget for the whole report: a side that does not answer costs
		// the timer one budget, not one per read, and its checks say they could not
		// be made.
		rctx, cancel := context.WithTimeout(ctx, r.reach())
		rep, err := r.Readiness(rctx, name)
		if err == nil && rctx.Err() != nil {
			// A check cut short reads "not checked", which is no verdict: a report
			// that ran out of its budget is not ready until one that did not.
			rep.Checks = append(rep.Checks, Check{Name: CheckNameComplete, Why: fmt.Sprintf("the report ran out of its %s budget before every check was made (a side slow or down): not ready until a complete report", r.reach())})
		}
		cancel()
		if err != nil {
			r.log().Warn("readiness report not made", "pair", name, "err", err)
			continue
		}
		raw, _ := json.Marshal(rep)
		if len(raw) > journal.MaxSnapshot {
			rep.Bumps = append(rep.Bumps[:0:0], fmt.Sprintf("%d numbers to bump (too many to keep)", len(rep.Bumps)))
			raw, _ = json.Marshal(rep)
		}
		if err := r.Journal.SaveSnapshot(ctx, name, journal.SnapshotReadiness, raw); err != nil {
			r.log().Warn("readiness report not saved", "pair", name, "err", err)
		}
	}
}

// LastReadiness returns the readiness report the timer kept last; drerr.NotFound if
// there is none yet.
func (r *Runner) LastReadiness(ctx context.Context, pair string) (Report, error) {
	raw, err := r.Journal.LoadSnapshot(ctx, pair, journal.SnapshotReadiness)
	if err != nil {
		return Report{}, err
	}
	var rep Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		return Report{}, drerr.E(drerr.Internal, "decode readiness report of "+pair, err)
	}
	return rep, nil
}

// expireProposals rejects proposals no operator confirmed in time.
func (r *Runner) expireProposals(ctx context.Context) ([]journal.Operation, []error) {
	out, err := journal.ExpireProposals(ctx, r.Journal, r.Owns, r.ProposalTTL, r.now())
	return out, []error{err}
}

func proposalTTL(ttl time.Duration) time.Duration {
	if ttl <= 0 {
		return journal.DefaultProposalTTL
	}
	return ttl
}

// run takes the pair's lock and runs op's remaining steps.
func (r *Runner) run(ctx context.Context, op journal.Operation) (journal.Operation, error) {
	pair, ok := r.Pairs[op.Pair]
	if !ok {
		return r.finish(ctx, op, journal.Refuse("unknown pair %q", op.Pair))
	}
	// A dry run or a drill only reads: it takes no lock, so a preview (drctl plan) never
	// stands in the way of the real failover.
	if !readOnly(op) {
		if _, err := journal.TakeLock(ctx, r.Journal, op.Pair, op.ID, r.now().Add(lockTTL)); err != nil {
			if drerr.Is(err, drerr.Conflict) && op.Status == journal.Accepted {
				return r.finish(ctx, op, journal.Refuse("another operation runs on pair %s: %v", op.Pair, err))
			}
			// An operation under way whose lock expired while it waited, and that
			// another took meanwhile (to be refused by the journal at once), is not
			// refused: it is the pair's operation; it tries again.
			return op, err
		}
		// A lock outlives a stalled operation only by its expiry: the journal, not
		// the lock, says whether another operation is still under way on the pair.
		if other, err := journal.OtherPending(ctx, r.Journal, op); err != nil {
			return op, err
		} else if other != nil && op.Status == journal.Accepted {
			return r.finish(ctx, op, journal.Refuse("operation %s (%s) is still %s on pair %s", other.ID, other.Action, other.Status, op.Pair))
		}
	}
	// One attempt at a time: only a later delivery of the message whose attempt holds
	// the claim may take it over (see journal.Claim).
	if err := op.Claim(ctx, r.now(), attemptTTL); err != nil {
		return op, err
	}
	if op.Status != journal.Running {
		if err := op.SetStatus(journal.Running, r.now()); err != nil {
			return op, err
		}
	}
	if len(op.Steps) == 0 {
		op.PlanSteps(steps(op.Action, op.DryRun)...)
	}
	var err error
	if op, err = r.Journal.Update(ctx, op); err != nil {
		return op, journal.Busy(err)
	}
	p := &plan{r: r, pair: pair, op: &op}
	if fl := op.StepByName(StepFloors); fl != nil && fl.Status == journal.StepDone {
		p.floorsEarlier = true
	}
	if err := p.renewHold(ctx); err != nil {
		return op, err
	}
	for _, st := range op.Steps {
		if st.Status == journal.StepFailed {
			// Refused earlier, and what it changed could not all be undone then: the
			// undo is tried again, never the steps.
			return r.finish(ctx, op, journal.Refuse("%s", st.Outcome))
		}
	}
	for i := range op.Steps {
		st := op.Steps[i]
		if st.Status == journal.StepDone || st.Status == journal.StepSkipped {
			continue
		}
		p.resumed = st.Status != journal.StepPending
		if err := op.StartStep(st.Name, r.now()); err != nil {
			return op, err
		}
		outcome, changes, err := p.step(ctx, st.Name)
		var wait *journal.WaitError
		switch {
		case errors.As(err, &wait):
			// What landed before the step had to wait (a route fenced, its
			// workflows not yet) stays on record.
			op.NoteChanges(st.Name, changes)
			if werr := op.WaitStep(st.Name, wait.Why, r.now()); werr != nil {
				return op, werr
			}
			if st.Name == StepFenceOld {
				// The old side is fenced as soon as it answers; the rest goes on.
				continue
			}
			return r.finish(ctx, op, err)
		case err != nil:
			var ref *journal.RefusedError
			if errors.As(err, &ref) {
				op.NoteChanges(st.Name, changes)
				_ = op.FinishStep(st.Name, journal.StepFailed, ref.Why, op.StepByName(st.Name).Changes, r.now())
			} else {
				// What this attempt changed before it stopped stays on record for the
				// attempt that resumes, or compensates, the step.
				op.NoteChanges(st.Name, changes)
			}
			return r.finish(ctx, op, err)
		}
		if err := op.Complete(st.Name, outcome, changes, r.now(), attemptTTL); err != nil {
			return op, err
		}
		if op, err = r.Journal.Update(ctx, op); err != nil {
			return op, err
		}
		p.op = &op
	}
	for _, st := range op.Steps {
		if st.Status == journal.StepWaiting {
			return r.finish(ctx, op, &journal.WaitError{Why: st.Outcome})
		}
	}
	return r.finish(ctx, op, nil)
}

// finish journals the attempt's outcome: succeeded, waiting, refused or failed; or,
// for a transient error, the error alone, for the command to be retried.
func (r *Runner) finish(ctx context.Context, op journal.Operation, err error) (journal.Operation, error) {
	now := r.now()
	var wait *journal.WaitError
	var ref *journal.RefusedError
	unlock := true
	switch {
	case err == nil:
		rto := op.RTO // taken when the target became active, not when a late fence landed
		if serr := op.SetStatus(journal.Succeeded, now); serr != nil {
			return op, serr
		}
		if rto > 0 {
			op.RTO = rto
		}
	case errors.As(err, &wait):
		unlock = false
		if serr := op.SetStatus(journal.Waiting, now); serr != nil {
			return op, serr
		}
	case errors.As(err, &ref):
		// Rejected while nothing has changed yet, or once what changed is undone;
		// failed, saying exactly what stays changed, otherwise.
		to, why := journal.Rejected, ref.Why
		if changedAnything(op) {
			to, why = r.compensate(ctx, op, ref.Why)
		}
		if to == journal.Waiting {
			// The undo waits for a side to answer: the pair stays locked and held, so
			// that nothing writes into a side that may be sending, and the timer tries
			// the undo again.
			unlock = false
		}
		if serr := op.SetStatus(to, now); serr != nil {
			return op, serr
		}
		op.Error = why
	default:
		// Transient: record it for the operator and let the message come back.
		op.Error = err.Error()
		op.AttemptUntil, op.AttemptBy = time.Time{}, "" // this attempt is over: the redelivery may run it
		if saved, uerr := r.Journal.Update(ctx, op); uerr == nil {
			op = saved
		}
		return op, err
	}
	saved, uerr := r.Journal.Update(ctx, op)
	if uerr != nil {
		return op, uerr
	}
	if unlock && !readOnly(op) {
		if err := r.Journal.Unlock(ctx, op.Pair, op.ID); err != nil && !drerr.Is(err, drerr.Conflict) {
			return saved, err
		}
		r.release(ctx, saved)
	}
	r.log().Info("operation", "id", saved.ID, "pair", saved.Pair, "action", saved.Action, "status", saved.Status, "error", saved.Error)
	return saved, nil
}

// readOnly says whether op only reads: a dry run or a drill.
func readOnly(op journal.Operation) bool { return op.DryRun || op.Action == command.Drill }

// compensate undoes what a refused plan changed where that can be undone: the
// target's intake, if the plan began to enable it, is stopped again, what the target
// may have sent and received meanwhile is merged into the old side, and then the old side's
// intake, stopped by the plan, is enabled again — as long as the pair was never
// flipped. It returns the operation's status and error: rejected when nothing is left
// changed; waiting while a side the undo needs does not let it through (the timer
// tries again; drctl cancel ends it); failed with the exact state and what the
// operator can do when it cannot be undone. Bumped numbers stay: they only ever move
// up, and the target does not send until a move enables it.
func (r *Runner) compensate(ctx context.Context, op journal.Operation, why string) (journal.Status, string) {
	pair, ok := r.Pairs[op.Pair]
	if !ok {
		return journal.Failed, "refused: " + why
	}
	from, to := replication.Primary, replication.Secondary
	stop := op.StepByName(StepStopOld)
	if op.Action == command.Fallback {
		from, to, stop = replication.Secondary, replication.Primary, op.StepByName(StepStopIntake)
	}
	enable := op.StepByName(StepEnable)
	if st := op.StepByName(StepFlip); st != nil && st.Status != journal.StepPending {
		left := []string{fmt.Sprintf("step %s %s", StepFlip, st.Status)}
		if enable != nil && len(enable.Changes) > 0 {
			left = append([]string{"the target's intake (" + strings.Join(enable.Changes, ", ") + ")"}, left...)
		}
		return journal.Failed, fmt.Sprintf("refused: %s; left as it is: %s — see the journal's steps, and run the move the other way if the target must not serve", why, strings.Join(left, ", "))
	}
	bumped := ""
	if st := op.StepByName(StepBump); st != nil && st.Status != journal.StepPending {
		bumped = "; the target's bumped numbers stay (numbers only move up)"
	}
	var undone []string
	if enable != nil && enable.Status != journal.StepPending {
		// An attempt may have enabled some of the target's workflows without the
		// journal knowing it (an error after an earlier workflow was enabled, a crash
		// after the call landed): whatever the step's changes say, the target's intake
		// is stopped before the old side's comes back, or both sides would send.
		changes, err := stopSide(ctx, pair.side(to), r.reach())
		if err != nil {
			return journal.Waiting, fmt.Sprintf("refused: %s%s; undoing: the %s's intake may be on (step %s ran) and could not be stopped yet (%v; done: %s), so the %s's intake stays stopped until it is; tried again on each timer pass, or drctl cancel", why, bumped, to, StepEnable, err, strings.Join(changes, ", "), from)
		}
		undone = append(undone, fmt.Sprintf("the %s's intake is stopped again (%s)", to, strings.Join(changes, ", ")))
		// What the target sent and received while it was on is the old side's to go
		// on from.
		rolled, err := r.rollovers(ctx, op)
		if stop == nil || stop.Status != journal.StepDone {
			// Only a side this plan stopped may be moved down into the target's
			// cycle: one passed by (forced, or down) may be sending.
			rolled = nil
		}
		if err == nil {
			var merged int
			var skipped []string
			merged, skipped, err = mergeInto(ctx, pair.side(to).Sessions, pair.side(from).Sessions, r.now(), r.reach(), rolled)
			if merged > 0 {
				undone = append(undone, fmt.Sprintf("%d sessions the %s held alone merged into the %s", merged, to, from))
			}
			if len(skipped) > 0 {
				undone = append(undone, fmt.Sprintf("not merged, their numbers cannot be compared — check them by hand before the %s sends: %s", from, strings.Join(skipped, ", ")))
			}
		}
		if err != nil {
			return journal.Waiting, fmt.Sprintf("refused: %s%s; undoing: what the %s may have sent and received is not yet merged into the %s (%v), so the %s's intake stays stopped until it is; tried again on each timer pass, or drctl cancel", why, bumped, to, from, err, from)
		}
	}
	if stop == nil || stop.Status == journal.StepPending || len(stop.Changes) == 0 {
		if len(undone) > 0 {
			return journal.Rejected, fmt.Sprintf("refused: %s%s; undone: %s; nothing else was changed", why, bumped, strings.Join(undone, "; "))
		}
		return journal.Rejected, "refused: " + why + bumped + "; nothing else was changed"
	}
	done := ""
	if len(undone) > 0 {
		done = "; undone: " + strings.Join(undone, "; ")
	}
	changes, err := switchWorkflows(ctx, pair.side(from), true, r.reach())
	switch {
	case drerr.Is(err, drerr.NotFound):
		return journal.Failed, fmt.Sprintf("refused: %s%s%s; the %s's intake was stopped by this plan and its workflows are gone (%v; done: %s): neither side takes traffic — deploy the %s's workflows, or run the move again", why, bumped, done, from, err, strings.Join(changes, ", "), from)
	case err != nil:
		return journal.Waiting, fmt.Sprintf("refused: %s%s%s; undoing: the %s's intake was stopped by this plan and is not enabled again yet (%v; done: %s); tried again on each timer pass, or drctl cancel", why, bumped, done, from, err, strings.Join(changes, ", "))
	}
	undone = append(undone, fmt.Sprintf("the %s's intake is enabled again (%s)", from, strings.Join(changes, ", ")))
	// Its routes last, once its intake takes traffic again; a route its stop never
	// reached was never disabled.
	if routes := pair.side(from).Routes; len(routes) > 0 {
		// Every route, including one the journal calls pending: an attempt may have
		// disabled it before a later one found its profile out and journaled it so.
		// Enable reads first, so a route never disabled is not written; one that
		// does not answer keeps the undo waiting, never counted as undone.
		ro := switchRoutes(ctx, routes, true, r.reach(), nil)
		switch {
		case len(ro.fatal) > 0:
			return journal.Failed, fmt.Sprintf("refused: %s%s; undone: %s; the %s's routes cannot be enabled again (%s; done: %s): partners are not sent to it — fix the routes and enable them, or run the move again", why, bumped, strings.Join(undone, "; "), from, strings.Join(ro.fatal, "; "), strings.Join(ro.changes, ", "))
		case !ro.ok():
			return journal.Waiting, fmt.Sprintf("refused: %s%s; undone: %s; undoing: the %s's routes are not enabled again yet (%v; done: %s); tried again on each timer pass, or drctl cancel", why, bumped, strings.Join(undone, "; "), from, ro.err(), strings.Join(ro.changes, ", "))
		}
		undone = append(undone, fmt.Sprintf("the %s's routes are enabled again (%s)", from, strings.Join(ro.changes, ", ")))
	}
	return journal.Rejected, fmt.Sprintf("refused: %s%s; undone: %s", why, bumped, strings.Join(undone, "; "))
}

// mergeInto brings into into what from holds alone, as replication's merge-back
// does (session.MergeBack): the received numbers it lacks, and each generated number
// from holds higher — what a side that may have sent went on from. A session the move
// rolled over on from (rolled: the number it rolled over from, by lower-cased name)
// carries its new cycle into into while into is still in the cycle the move left
// (carryCycle), lower or not: into, whose intake the move stopped, would otherwise go
// on in that cycle, wrap, and resend what from sent in its new one. It reads
// from one page per call, each call and each write within budget, so that a large
// side is merged a page at a time; a page merged again writes nothing. A session the
// two sides' numbers cannot be compared for is left as into holds it and named in
// skipped. It returns how many sessions it wrote.
func mergeInto(ctx context.Context, from, into replication.Account, now time.Time, budget time.Duration, rolled map[string]uint64) (wrote int, skipped []string, err error) {
	err = eachPage(ctx, from, budget, func(pg replication.Page) error {
		for _, s := range pg.Sessions {
			w, err := mergeOne(ctx, s, into, now, budget, rolled[strings.ToLower(s.Name)])
			switch {
			case errors.Is(err, errIncomparable):
				skipped = append(skipped, s.Name)
			case err != nil:
				return err
			case w:
				wrote++
			}
		}
		return nil
	})
	return wrote, skipped, err
}

// eachPage lists every session of src, calling fn for each page, one page per List
// call and each call within budget (none when budget is 0): a large side that
// answers page after page is read whole, where one call for all of it would run out
// of its budget and look like a side that does not answer.
func eachPage(ctx context.Context, src replication.Source, budget time.Duration, fn func(replication.Page) error) error {
	errPage := errors.New("one page")
	for cursor, first := "", true; first || cursor != ""; first = false {
		var pg replication.Page
		lctx, cancel := ctx, context.CancelFunc(func() {})
		if budget > 0 {
			lctx, cancel = context.WithTimeout(ctx, budget)
		}
		got := false
		err := src.List(lctx, time.Time{}, cursor, func(p replication.Page) error {
			pg, got = p, true
			return errPage
		})
		cancel()
		if err != nil && !errors.Is(err, errPage) {
			return fmt.Errorf("list the sessions: %w", err)
		}
		if !got {
			return nil // the listing ended without a page
		}
		cursor = pg.Next
		if err := fn(pg); err != nil {
			return err
		}
	}
	return nil
}

// errIncomparable marks a session whose two copies' numbers cannot be compared.
var errIncomparable = errors.New("the two sides' numbers cannot be compared")

// mergeOne merges s into into's copy of it (see mergeInto) and says whether it wrote.
func mergeOne(ctx context.Context, s session.Session, into replication.Account, now time.Time, budget time.Duration, rolledFrom uint64) (bool, error) {
	cctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	var cur *session.Session
	got, err := into.Get(cctx, s.Name)
	switch {
	case err == nil:
		cur = &got
	case !drerr.Is(err, drerr.NotFound):
		return false, fmt.Errorf("read %s: %w", s.Name, err)
	}
	next, ok, err := session.MergeBack(s, cur, now)
	if err == nil && rolledFrom > 0 && cur != nil {
		next, ok, err = carryCycle(s, *cur, now, rolledFrom)
	}
	if err != nil {
		return false, fmt.Errorf("%s: %w (%w)", s.Name, errIncomparable, err)
	}
	if !ok {
		return false, nil
	}
	if err := into.Put(cctx, next); err != nil {
		return false, fmt.Errorf("write %s: %w", s.Name, err)
	}
	return true, nil
}

// carryCycle sets cur to s's generated number, s being a session a move rolled over
// from rolledFrom: while cur is still in the cycle the move left (at or above
// rolledFrom), cur's side goes on in s's cycle, lower or not. Below rolledFrom cur is
// in the new cycle already — a retried undo finds the number it carried, and whatever
// the old side sent since — and the higher number wins, as in any merge.
func carryCycle(s, cur session.Session, now time.Time, rolledFrom uint64) (session.Session, bool, error) {
	sc, cc := session.ParseContent(s.Content), session.ParseContent(cur.Content)
	if session.Classify(s.Name, sc) != session.Generated || sc.ControlNumber == cc.ControlNumber {
		return session.Session{}, false, nil
	}
	n, err := strconv.ParseUint(sc.ControlNumber, 10, 64)
	if err != nil {
		return session.Session{}, false, fmt.Errorf("control number %q is not a number", sc.ControlNumber)
	}
	c, err := strconv.ParseUint(cc.ControlNumber, 10, 64)
	if err != nil {
		return session.Session{}, false, fmt.Errorf("control number %q is not a number", cc.ControlNumber)
	}
	if c < rolledFrom {
		return session.MergeBack(s, &cur, now)
	}
	content, err := session.RaiseControlNumber(cur.Content, n, session.NextStamp(now, sc.ControlNumberChangedTime, cc.ControlNumberChangedTime))
	if err != nil {
		return session.Session{}, false, err
	}
	return session.Session{Name: cur.Name, Content: content}, true, nil
}

// stopIntake disables every workflow of a side, each call within budget when it is
// set; a workflow that is gone (404) takes no traffic and counts as stopped. It
// returns what it changed before the first error.
func stopIntake(ctx context.Context, side Side, budget time.Duration) ([]string, error) {
	var changes []string
	for _, w := range side.Workflows {
		cctx, cancel := ctx, context.CancelFunc(func() {})
		if budget > 0 {
			cctx, cancel = context.WithTimeout(ctx, budget)
		}
		err := w.Disable(cctx)
		cancel()
		switch {
		case drerr.Is(err, drerr.NotFound):
			changes = append(changes, w.Name()+" is gone")
		case err != nil:
			return changes, fmt.Errorf("workflow %s: %w", w.Name(), err)
		default:
			changes = append(changes, "disabled "+w.Name())
		}
	}
	return changes, nil
}

// changedAnything says whether a step that changes Azure has run.
func changedAnything(op journal.Operation) bool {
	for _, name := range []string{StepStopIntake, StepStopOld, StepBump, StepEnable, StepFenceOld, StepFlip} {
		if st := op.StepByName(name); st != nil && st.Status != journal.StepPending {
			return true
		}
	}
	return false
}

// releaseEnded gives replication back a stream held by a plan that has ended (an
// attempt that died between its last journal entry and its release): a plan's hold
// does not end by time.
func (r *Runner) releaseEnded(ctx context.Context) {
	for name := range r.Pairs {
		cp, _, err := r.Streams.Load(ctx, name)
		if err != nil || !strings.HasPrefix(cp.LeaseOwner, ownerPrefix) {
			continue
		}
		op, err := r.Journal.Get(ctx, name, strings.TrimPrefix(cp.LeaseOwner, ownerPrefix))
		if drerr.Is(err, drerr.NotFound) || err == nil && op.Status.Terminal() {
			op.ID, op.Pair = strings.TrimPrefix(cp.LeaseOwner, ownerPrefix), name
			r.release(ctx, op)
		}
	}
}

// release gives replication back its stream if an ended plan still holds it, and
// drops the fence it left pending (only a cancel ends a plan whose fence is pending).
func (r *Runner) release(ctx context.Context, op journal.Operation) {
	cp, _, err := r.Streams.Load(ctx, op.Pair)
	if err != nil || (cp.LeaseOwner != ownerPrefix+op.ID && cp.FencePending != op.ID) {
		return
	}
	if cp.LeaseOwner == ownerPrefix+op.ID {
		cp.LeaseOwner, cp.LeaseUntil = "", time.Time{}
	}
	if cp.FencePending == op.ID {
		cp.FencePending = ""
	}
	_, _ = r.Streams.Save(ctx, cp)
}

func (r *Runner) reach() time.Duration {
	if r.ReachBudget > 0 {
		return r.ReachBudget
	}
	return defaultReach
}

// unreachable says an answer of the old side, asked within the reach budget, means the
// side is down: no try connected (drerr.Unreachable), or the budget itself ran out
// with no answer (the call was cut short by its own deadline while the caller's
// context is still live). Slow-but-answering, throttled, 4xx and 5xx are not down.
func unreachable(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil {
		return false
	}
	return drerr.Is(err, drerr.Unreachable) || (drerr.Is(err, drerr.Interrupted) && errors.Is(err, context.DeadlineExceeded))
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Runner) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.New(slog.DiscardHandler)
}

// plan is one attempt at an operation's steps.
type plan struct {
	r    *Runner
	pair Pair
	op   *journal.Operation
	// oldDown: the old side could not be reached within the reach budget in this
	// attempt (downWhy says how); later steps that would only retry it skip at once
	// instead of paying the budget again. A side that answered badly is not down.
	oldDown bool
	downWhy string
	// unread: a fallback's old side answered but its numbers could not be read.
	unread string
	// resumed: the step under way was started by an earlier attempt; floorsEarlier:
	// the floors were fixed by one. Either way the target must be read again.
	resumed, floorsEarlier bool
	// target is the target's agreements as readiness read them in this attempt.
	target []AgreementState
}

// direction is where the operation moves the pair: from the side active when it was
// authorized to the other one.
func (p *plan) direction() (from, to replication.Region) {
	if p.op.Action == command.Fallback {
		return replication.Secondary, replication.Primary
	}
	return replication.Primary, replication.Secondary
}

func (p *plan) step(ctx context.Context, name string) (string, []string, error) {
	switch name {
	case StepAuthorize:
		return p.authorize(ctx)
	case StepReadiness:
		return p.readiness(ctx)
	case StepCatchUp:
		return p.catchUp(ctx)
	case StepStopIntake:
		// A workflow that is gone (a side rebuilt without it) takes no traffic: it
		// counts as stopped, or the plan would retry a 404 for ever.
		from, to := p.direction()
		side := p.pair.side(from)
		// As a failover's stop-old: the target is not routed before its bumps settle.
		changes, err := p.unrouteTarget(ctx, to)
		if err != nil {
			return "", changes, err
		}
		stopped, err := stopSide(ctx, side, 0)
		changes = append(changes, stopped...)
		if err != nil {
			return "", changes, err
		}
		return counted(side), changes, nil
	case StepStopOld:
		return p.stopOld(ctx)
	case StepDrain:
		return p.drain(ctx)
	case StepHold:
		return p.hold(ctx)
	case StepFloors:
		return p.floors(ctx)
	case StepBump:
		return p.bump(ctx)
	case StepSettle:
		return p.settle()
	case StepEnable:
		return p.enableTarget(ctx)
	case StepFenceOld:
		return p.fence(ctx)
	case StepFlip:
		return p.flip(ctx)
	case StepConfirm:
		return p.confirmReplication(ctx)
	}
	return "", nil, fmt.Errorf("unknown step %q", name)
}

func (p *plan) authorize(ctx context.Context) (string, []string, error) {
	from, to := p.direction()
	_, region, err := p.r.Streams.Load(ctx, p.pair.Name)
	if err != nil {
		return "", nil, err
	}
	if e := p.op.ExpectedEpoch; e != nil && *e != region.Epoch {
		return "", nil, journal.Refuse("expected epoch %d, the pair is at epoch %d", *e, region.Epoch)
	}
	if region.Active != from {
		return "", nil, journal.Refuse("the pair is already active on its %s (epoch %d): nothing to %s", region.Active, region.Epoch, p.op.Action)
	}
	p.op.EpochBefore = region.Epoch
	recent, err := p.r.Journal.List(ctx, p.pair.Name, 20)
	if err != nil {
		return "", nil, err
	}
	for _, o := range recent {
		if o.ID != p.op.ID && o.Status.Pending() && !readOnly(o) && !readOnly(*p.op) {
			return "", nil, journal.Refuse("operation %s (%s) is still %s on pair %s", o.ID, o.Action, o.Status, p.pair.Name)
		}
	}
	if p.pair.Cooldown > 0 && !p.op.DryRun && p.op.Action != command.Drill {
		for _, o := range recent {
			if o.ID != p.op.ID && o.Status == journal.Succeeded && !o.DryRun && o.Action != command.Drill && p.r.now().Sub(o.Done) < p.pair.Cooldown {
				if !p.op.Force {
					return "", nil, journal.Refuse("operation %s ended %s ago, within the %s cooldown; use force to override", o.ID, p.r.now().Sub(o.Done).Round(time.Second), p.pair.Cooldown)
				}
				return fmt.Sprintf("forced past the cooldown (operation %s ended %s ago); %s -> %s", o.ID, p.r.now().Sub(o.Done).Round(time.Second), from, to), nil, nil
			}
		}
	}
	return fmt.Sprintf("%s -> %s from epoch %d", from, to, region.Epoch), nil, nil
}

func (p *plan) readiness(ctx context.Context) (string, []string, error) {
	r, noChecks, notes, err := p.assess(ctx)
	if err != nil {
		return "", nil, err
	}
	if why := p.unreplicated(); why != "" {
		r = r.Merge(Readiness{Reasons: []string{why}})
	}
	routes, routeNotes := p.routesReady(ctx)
	r = r.Merge(routes)
	notes = append(notes, routeNotes...)
	if p.pair.RequireDuplicateChecks {
		r = r.Merge(Readiness{Reasons: noChecks})
	} else {
		for _, why := range noChecks {
			notes = append(notes, "warning: "+why)
		}
	}
	if !r.Ready() && !p.op.Force {
		return "", nil, journal.Refuse("target not ready: %s", strings.Join(r.Reasons, "; "))
	}
	cp, _, err := p.r.Streams.Load(ctx, p.pair.Name)
	if err != nil {
		return "", nil, err
	}
	p.op.LagAtStart = replication.Lag(cp, p.r.now())
	if p.op.LagAtStart < 0 {
		// No full sync has completed: the lag the margins are sized by is unknown.
		maxLag := p.pair.MaxLag
		if maxLag <= 0 {
			maxLag = DefaultMaxLag
		}
		if !p.op.Force && !readOnly(*p.op) {
			return "", nil, journal.Refuse("replication has not completed a full sync, so the lag the bumps are sized by is unknown; use force to size them by the pair's maximum lag (%s)", maxLag)
		}
		p.op.LagAtStart = maxLag
		notes = append(notes, fmt.Sprintf("replication has not completed a full sync: the bumps are sized by the pair's maximum lag, %s", maxLag))
	}
	notes = append(notes, r.Reasons...)
	return fmt.Sprintf("target ready: %d agreements; replication lag %s", len(p.target), p.op.LagAtStart.Round(time.Second)), notes, nil
}

// assess reads both sides' agreements and compares them: r holds the agreements
// missing or differing on the target, noChecks one line per target agreement that
// does not check received numbers for duplicates (a refusal or a warning, as the pair
// says), notes the rest. The error is for a target that does not answer.
func (p *plan) assess(ctx context.Context) (r Readiness, noChecks, notes []string, err error) {
	from, to := p.direction()
	// Both sides at once: the old one may take its budget to say it is down.
	var old []AgreementState
	var oldErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		octx, cancel := context.WithTimeout(ctx, p.r.reach())
		defer cancel()
		old, oldErr = p.pair.side(from).Agreements.Agreements(octx)
		p.noteDown(ctx, oldErr)
	}()
	target, err := p.pair.side(to).Agreements.Agreements(ctx)
	<-done
	if err != nil {
		return r, nil, nil, fmt.Errorf("the target (%s) does not answer: %w", to, err)
	}
	p.target = target
	if oldErr != nil {
		state := "did not answer the agreements listing (" + drerr.CodeOf(oldErr).String() + ")"
		if p.oldDown {
			state = p.downWhy
		}
		// Compare with the last record of the old side's agreements instead.
		var snap snapshot
		raw, lerr := p.r.Journal.LoadSnapshot(ctx, p.pair.Name, journal.SnapshotAgreements)
		if lerr == nil && json.Unmarshal(raw, &snap) == nil && snap.Side == from {
			r = CheckAgreements(snap.Agreements, plain(target))
			notes = append(notes, fmt.Sprintf("old side (%s) %s: compared with its agreements as recorded at %s", from, state, snap.Taken.UTC().Format(time.RFC3339)))
		} else {
			notes = append(notes, fmt.Sprintf("old side (%s) %s and never recorded: agreements not compared", from, state))
			r.NotCompared = true
		}
	} else {
		r = CheckAgreements(plain(old), plain(target))
	}
	for _, a := range target {
		if a.Protocol != AS2 && !a.DuplicateChecks {
			noChecks = append(noChecks, fmt.Sprintf("agreement %q does not check received control numbers for duplicates", a.Name))
		}
	}
	return r, noChecks, notes, nil
}

// unreplicated says why the target cannot be trusted to hold the old side's generated
// numbers: the pair's replication leaves them out. Empty when it replicates them.
func (p *plan) unreplicated() string {
	k := p.pair.Replication.Kinds
	if len(k) == 0 || k[session.Generated] {
		return ""
	}
	return "the pair does not replicate generated control numbers (its kinds leave them out), so the target does not hold the numbers the old side sent; use force to move anyway (the floors then come from the old side where it answers, the last move's numbers and the agreements' lower bounds)"
}

// unreachableWords is how the journal says a side was down.
const unreachableWords = "could not be reached"

// noteDown marks the old side down when err says it could not be reached within the
// reach budget, with the journal's words for it.
func (p *plan) noteDown(ctx context.Context, err error) {
	if !unreachable(ctx, err) || p.oldDown {
		return
	}
	from, _ := p.direction()
	p.oldDown = true
	p.downWhy = fmt.Sprintf("%s within the %s reach budget (%v)", unreachableWords, p.r.reach(), err)
	p.r.log().Warn("old side down", "pair", p.pair.Name, "side", from, "why", p.downWhy)
}

func plain(as []AgreementState) []Agreement {
	out := make([]Agreement, len(as))
	for i, a := range as {
		out[i] = a.Agreement
	}
	return out
}

// catchUp replicates once more from the old side, best effort: it may be down.
func (p *plan) catchUp(ctx context.Context) (string, []string, error) {
	if p.oldDown {
		return "skipped: the old side does not answer", nil, nil
	}
	timeout := p.r.CatchUpTimeout
	if timeout <= 0 {
		timeout = defaultCatchUp
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	st, err := p.r.CatchUp.Run(cctx, p.pair.Replication)
	switch {
	case err != nil:
		return "skipped: the old side did not answer: " + err.Error(), nil, nil
	case st.Skipped != "":
		return "skipped: " + st.Skipped, nil, nil
	case !st.ScanDone:
		// Out of time with no error: the target may still miss the old side's last
		// numbers, so the floors read the old side (caughtUp).
		return fmt.Sprintf("incomplete: replicated %d changes from the old side before the catch-up ran out of time", st.Writes), nil, nil
	}
	if st.ScanResumed {
		// The scan it finished was begun by a run of the timer, maybe before the old
		// side's intake stopped, and may have passed by a session changed since:
		// one more scan, begun now, is what catches up.
		writes := st.Writes
		st, err = p.r.CatchUp.Run(cctx, p.pair.Replication)
		switch {
		case err != nil:
			return fmt.Sprintf("incomplete: replicated %d changes from the old side, then the old side did not answer: %v", writes, err), nil, nil
		case st.Skipped != "" || !st.ScanDone:
			return fmt.Sprintf("incomplete: replicated %d changes from the old side finishing a scan begun before the stop; a new scan did not complete", writes+st.Writes), nil, nil
		}
		st.Writes += writes
	}
	return fmt.Sprintf("%s %d changes from the old side", caughtUpOutcome, st.Writes), nil, nil
}

// caughtUpOutcome starts the outcome of a catch-up that completed its scan.
const caughtUpOutcome = "replicated"

// caughtUp says whether op's catch-up completed: the target then holds everything the
// old side had when its intake stopped. A skipped, incomplete or pending catch-up
// leaves the old side's own numbers to be read.
func caughtUp(op journal.Operation) bool {
	cu := op.StepByName(StepCatchUp)
	return cu != nil && cu.Status == journal.StepDone && strings.HasPrefix(cu.Outcome, caughtUpOutcome+" ")
}

// renewHold extends the plan's hold on the replication stream on every attempt until
// the flip hands the stream back, so that a plan that waits long (a settle, a fence,
// an outage of this app) never lets a replication run write an older number over its
// bumps.
func (p *plan) renewHold(ctx context.Context) error {
	hold, flip := p.op.StepByName(StepHold), p.op.StepByName(StepFlip)
	if hold == nil || hold.Status != journal.StepDone || flip == nil || flip.Status == journal.StepDone {
		return nil
	}
	cp, region, err := p.r.Streams.Load(ctx, p.pair.Name)
	if err != nil {
		return err
	}
	if region.Epoch != p.op.EpochBefore {
		// The pair has moved: an attempt that died before journaling its flip made
		// it, and handed the stream back. Taking it again would stop the very
		// replication the plan's last step waits for; the flip, run again, finds
		// the move done.
		return nil
	}
	if cp.LeaseOwner != ownerPrefix+p.op.ID && cp.LeaseOwner != "" && p.r.now().Before(cp.LeaseUntil) {
		return fmt.Errorf("the replication stream is held by %s, not by this plan", cp.LeaseOwner)
	}
	cp.LeaseOwner, cp.LeaseUntil = ownerPrefix+p.op.ID, p.r.now().Add(holdTTL)
	_, err = p.r.Streams.Save(ctx, cp)
	return err
}

// hold takes the replication stream for the plan, so that no replication run writes
// an older number over a bump.
func (p *plan) hold(ctx context.Context) (string, []string, error) {
	cp, _, err := p.r.Streams.Load(ctx, p.pair.Name)
	if err != nil {
		return "", nil, err
	}
	owner := ownerPrefix + p.op.ID
	if cp.LeaseOwner != "" && cp.LeaseOwner != owner && p.r.now().Before(cp.LeaseUntil) {
		return "", nil, journal.Wait("a replication run holds the stream until %s", cp.LeaseUntil.UTC().Format(time.RFC3339))
	}
	cp.LeaseOwner, cp.LeaseUntil = owner, p.r.now().Add(holdTTL)
	if _, err := p.r.Streams.Save(ctx, cp); err != nil {
		if drerr.Is(err, drerr.Conflict) {
			return "", nil, journal.Wait("a replication run took the stream first")
		}
		return "", nil, err
	}
	return "replication paused for the plan", nil, nil
}

// drain waits until reverse replication has carried everything up to the end of the
// stop-intake step to the target.
func (p *plan) drain(ctx context.Context) (string, []string, error) {
	stopped := p.op.StepByName(StepStopIntake).Ended
	cp, region, err := p.r.Streams.Load(ctx, p.pair.Name)
	if err != nil {
		return "", nil, err
	}
	if cp.Epoch != region.Epoch || !cp.Watermark.After(stopped.Add(cp.ClockOffset)) {
		return "", nil, journal.Wait("reverse replication has reached %s; waiting for %s", cp.Watermark.UTC().Format(time.RFC3339), stopped.UTC().Format(time.RFC3339))
	}
	return "the reverse backlog drained", nil, nil
}

// numbers is what the floors step journals, once.
type numbers struct {
	Plan    Plan
	Skipped []string
}

func (p *plan) floors(ctx context.Context) (string, []string, error) {
	from, to := p.direction()
	if !p.op.DryRun && p.op.Action != command.Drill {
		if raw, err := p.r.Journal.LoadNumbers(ctx, p.pair.Name, p.op.ID); err == nil {
			var n numbers
			if err := json.Unmarshal(raw, &n); err != nil {
				return "", nil, fmt.Errorf("journaled numbers: %w", err)
			}
			return summary(n.Plan, "floors computed earlier"), nil, nil
		} else if !drerr.Is(err, drerr.NotFound) {
			return "", nil, err
		}
	}
	target := p.pair.side(to)
	ags := p.target
	if ags == nil {
		var err error
		if ags, err = target.Agreements.Agreements(ctx); err != nil {
			return "", nil, err
		}
	}
	// The observed rate of each number, as replication saw it move.
	cp, region, err := p.r.Streams.Load(ctx, p.pair.Name)
	if err != nil {
		return "", nil, err
	}
	var inputs []Input
	targetNums, err := generatedNumbers(ctx, target.Sessions, 0)
	if err != nil {
		return "", nil, fmt.Errorf("list the target's sessions: %w", err)
	}
	for _, g := range targetNums {
		inputs = append(inputs, Input{Session: g.name, Last: g.number, LastChangedTime: g.stamp, Rate: cp.Rates[g.name], Lag: p.op.LagAtStart, Target: g.content})
	}
	// Floors from everything known: the target's copy, raised to what the old side
	// holds where it answers and to the numbers the last move set.
	complete := cp.Epoch == region.Epoch && !cp.Watermark.IsZero()
	known, last, sources := p.knownNumbers(ctx, complete)
	if p.unread != "" {
		return "", nil, journal.Wait("%s", p.unread)
	}
	if last.oldRead == nil && !complete {
		// Nothing says what the old side sent: no full sync of this stream, and the old
		// side not read now. Force overrides bounds, readiness and the cooldown; it does
		// not invent a floor, or the target starts among numbers partners already hold.
		why := fmt.Sprintf("nothing is known of the old side's (%s) numbers: replication has not completed a full sync and the old side could not be read; the floors can be fixed once it answers or a full sync completes", from)
		if !readOnly(*p.op) {
			return "", nil, journal.Refuse("%s", why)
		}
		sources = append(sources, "a move would be refused now: "+why)
	}
	agreements := plain(ags)
	inputs = raiseTo(inputs, known, agreements, cp.Rates, p.op.LagAtStart)
	inputs = p.afterRollovers(inputs, targetNums, last)
	inputs, notes := coverAgreements(inputs, agreements, p.op.LagAtStart)
	policy := p.pair.Policy
	pl, err := Compute(inputs, policy, agreements, p.r.now())
	if err != nil {
		return "", nil, journal.Refuse("floors: %v", err)
	}
	if len(pl.Refused) > 0 && p.op.Force {
		if pl, err = forceToUpper(pl, inputs, agreements, p.r.now()); err != nil {
			return "", nil, journal.Refuse("floors: %v", err)
		}
	}
	changes := notes
	for _, b := range pl.Bumps {
		changes = append(changes, fmt.Sprintf("%s: %s -> %s", b.Session, b.From, b.To))
	}
	if err := pl.Err(); err != nil && !p.op.Force {
		return "", changes, journal.Refuse("%v", err)
	}
	seen := ""
	if len(sources) > 0 {
		seen = "; " + strings.Join(sources, "; ")
	}
	if p.op.DryRun || p.op.Action == command.Drill {
		return summary(pl, "would bump") + "; " + p.expectedRTO(len(pl.Bumps)) + seen, changes, nil
	}
	raw, _ := json.Marshal(numbers{Plan: pl})
	if err := p.r.Journal.SaveNumbers(ctx, p.pair.Name, p.op.ID, raw); err != nil {
		return "", nil, err
	}
	return summary(pl, "floors computed") + seen, changes, nil
}

// generated is one generated control-number session as a side holds it.
type generated struct {
	name, number string
	stamp        time.Time
	content      json.RawMessage
}

// generatedNumbers lists a side's generated control-number sessions.
func generatedNumbers(ctx context.Context, src replication.Source, budget time.Duration) ([]generated, error) {
	var out []generated
	err := eachPage(ctx, src, budget, func(pg replication.Page) error {
		for _, s := range pg.Sessions {
			c := session.ParseContent(s.Content)
			if session.Classify(s.Name, c) != session.Generated {
				continue
			}
			out = append(out, generated{name: s.Name, number: c.ControlNumber, stamp: c.ControlNumberChangedTime, content: s.Content})
		}
		return nil
	})
	return out, err
}

// knownNumbers is what else is known of the numbers the old side may have sent,
// keyed by lower-case session name: the old side's own sessions where it answers
// within the reach budget — always on a fallback (the target may have been sending
// on its own while its fence was pending), on a failover whose catch-up did not
// complete, and whenever the target's copy is not complete (no full sync of this
// stream) — and the numbers the last move on this pair set.
func (p *plan) knownNumbers(ctx context.Context, complete bool) (map[string]generated, lastMove, []string) {
	known := map[string]generated{}
	var notes []string
	last := p.lastMove(ctx)
	keep := func(g generated) {
		if _, ok := parseDigits(g.number); !ok {
			return
		}
		k := strings.ToLower(g.name)
		if cur, ok := known[k]; !ok || higher(g.number, cur.number) {
			known[k] = g
		}
	}
	for _, g := range last.floors {
		keep(g)
	}
	from, _ := p.direction()
	readOld := p.op.Action == command.Fallback || !complete // the target's copy may miss any number
	if p.op.StepByName(StepCatchUp) != nil && !caughtUp(*p.op) {
		readOld = true
	}
	if p.op.DryRun || p.op.Action == command.Drill {
		readOld = true // a preview shows the floors a move would fix now
	}
	switch {
	case !readOld:
	case p.oldDown:
		notes = append(notes, fmt.Sprintf("old side (%s) %s: floors from the target's copy, the last move's numbers and the lag margin", from, p.downWhy))
	default:
		old, err := generatedNumbers(ctx, p.pair.side(from).Sessions, p.r.reach())
		if err != nil {
			p.noteDown(ctx, err)
			if !p.oldDown && !p.op.Force && !readOnly(*p.op) {
				// The old side answers (slow, throttled, erroring: not down), and
				// the target's copy may miss what it sent: what it sent is read,
				// not guessed, or the target may start among its numbers.
				p.unread = fmt.Sprintf("the old side (%s) answers but its numbers could not be read (%v); the floors are fixed once they can be, or use force", from, err)
			}
			notes = append(notes, fmt.Sprintf("old side (%s) not read (%v): floors from the target's copy, the last move's numbers and the lag margin", from, err))
			break
		}
		last.oldRead = map[string]generated{}
		for _, g := range old {
			keep(g)
			last.oldRead[strings.ToLower(g.name)] = g
		}
		notes = append(notes, fmt.Sprintf("old side (%s) read: %d generated numbers", from, len(old)))
	}
	return known, last, notes
}

// lastMove is what the pair's last move (that bumped anything) left: floors, the
// numbers it set on its target — that side sent from them on, so they are a floor even
// when nothing else about that side can be read — and, when it flipped the pair, the
// sessions it rolled over there (journaled rollovers) and which side that was.
// oldRead is the old side's own numbers, when this plan read them.
type lastMove struct {
	floors    []generated
	rollovers map[string]rollover
	target    replication.Region
	oldRead   map[string]generated
}

func (p *plan) lastMove(ctx context.Context) lastMove {
	recent, err := p.r.Journal.List(ctx, p.pair.Name, 20)
	if err != nil {
		return lastMove{}
	}
	for _, o := range recent {
		if o.ID == p.op.ID || readOnly(o) || o.Action == command.Confirm {
			continue
		}
		raw, err := p.r.Journal.LoadNumbers(ctx, p.pair.Name, o.ID)
		if err != nil {
			continue
		}
		var n numbers
		if json.Unmarshal(raw, &n) != nil {
			continue
		}
		m := lastMove{floors: make([]generated, 0, len(n.Plan.Bumps)), target: replication.Secondary}
		if o.Action == command.Fallback {
			m.target = replication.Primary
		}
		flipped := false
		if st := o.StepByName(StepFlip); st != nil && st.Status == journal.StepDone {
			flipped = true
		}
		for _, b := range n.Plan.Bumps {
			m.floors = append(m.floors, generated{name: b.Session, number: b.To, stamp: b.ChangedTime})
			if r, ok := rolledOver(b); ok && flipped {
				if m.rollovers == nil {
					m.rollovers = map[string]rollover{}
				}
				m.rollovers[strings.ToLower(b.Session)] = r
			}
		}
		return m
	}
	return lastMove{}
}

// afterRollovers fixes the last number of each session the last move rolled over on
// the side it made active: the higher number wins only within a cycle. A state stamped
// before the rollover is superseded by it (the move's floor covered it, margin and
// all), and when this plan moves away from the side that rolled over and read it,
// that side's own number is where it stands in its new cycle: numbers elsewhere at or
// above the one it rolled over from are of the cycle it left (the other side's sends
// while its fence was pending, or copies of its own). Taking the highest number
// across the rollover instead would wrap again from the old cycle's top and land on
// numbers the side has just sent.
func (p *plan) afterRollovers(inputs []Input, targetNums []generated, last lastMove) []Input {
	if len(last.rollovers) == 0 {
		return inputs
	}
	from, _ := p.direction()
	onTarget := map[string]generated{}
	for _, g := range targetNums {
		onTarget[strings.ToLower(g.name)] = g
	}
	for i, in := range inputs {
		k := strings.ToLower(in.Session)
		r, ok := last.rollovers[k]
		if !ok {
			continue
		}
		if g, ok := last.oldRead[k]; ok && from == last.target && !g.stamp.Before(r.stamp) {
			inputs[i].Last, inputs[i].LastChangedTime = g.number, g.stamp
			continue
		}
		best := generated{name: in.Session, number: pad(r.to, in.Last), stamp: r.stamp}
		for _, g := range []generated{onTarget[k], last.oldRead[k]} {
			if g.number != "" && !g.stamp.Before(r.stamp) && higher(g.number, best.number) {
				best = g
			}
		}
		inputs[i].Last, inputs[i].LastChangedTime = best.number, best.stamp
	}
	return inputs
}

// pad writes n with the width of like, zero padded where like is.
func pad(n int64, like string) string {
	if len(like) > 1 && like[0] == '0' {
		return fmt.Sprintf("%0*d", len(like), n)
	}
	return strconv.FormatInt(n, 10)
}

// raiseTo raises each input's last number to the highest known one: when both sides
// may have sent, the higher number wins, never the newer stamp alone — except for a
// rollover, a newer state whose number crossed from the upper half of the agreement's
// range to its lower half (rolledOverPast): the old side went on in a new cycle, and its
// newer number is where it stands. Sessions known but absent on the target are added.
func raiseTo(inputs []Input, known map[string]generated, agreements []Agreement, rates map[string]float64, lag time.Duration) []Input {
	seen := map[string]bool{}
	for i, in := range inputs {
		k := strings.ToLower(in.Session)
		seen[k] = true
		g, ok := known[k]
		if ok && (higher(g.number, in.Last) || rolledOverPast(in, g, agreements)) {
			inputs[i].Last, inputs[i].LastChangedTime = g.number, g.stamp
		}
	}
	names := make([]string, 0, len(known))
	for k := range known {
		if !seen[k] {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		g := known[k]
		inputs = append(inputs, Input{Session: g.name, Last: g.number, LastChangedTime: g.stamp, Rate: rates[g.name], Lag: lag})
	}
	return inputs
}

// rolledOverPast says the known state g of in's session is a rollover past in: newer by
// its stamp, and in the lower half of the agreement's range where in is in the upper.
func rolledOverPast(in Input, g generated, agreements []Agreement) bool {
	if g.stamp.IsZero() || in.LastChangedTime.IsZero() || !g.stamp.After(in.LastChangedTime) {
		return false
	}
	agr, lvl, ok := ParseGenerated(in.Session)
	if !ok {
		return false
	}
	for _, a := range agreements {
		if !strings.EqualFold(a.Name, agr) {
			continue
		}
		b, ok := a.BoundsFor(lvl)
		x, okX := parseDigits(g.number)
		y, okY := parseDigits(in.Last)
		mid := b.Lower + (b.Upper-b.Lower)/2
		return ok && b.Rollover && okX && okY && x < mid && y >= mid
	}
	return false
}

// higher says the number a is above b; an unreadable b is below any readable a.
func higher(a, b string) bool {
	x, okA := parseDigits(a)
	y, okB := parseDigits(b)
	return okA && (!okB || x > y)
}

func parseDigits(s string) (int64, bool) {
	n, err := parseNumber(s)
	return n, err == nil
}

// coverAgreements fits the inputs to the target's agreements: a generated number of
// every send level the target has a range for — acknowledgement numbers included — is
// bumped even where neither side shows a session (the old side may have used it
// without it ever replicating: it started at the range's lower bound), and a session
// of an agreement the target no longer has is left out with a note: nothing sends on
// it.
func coverAgreements(inputs []Input, agreements []Agreement, lag time.Duration) ([]Input, []string) {
	have := map[string]bool{}
	byName := map[string]Agreement{}
	for _, a := range agreements {
		byName[strings.ToLower(a.Name)] = a
	}
	var out []Input
	var notes []string
	for _, in := range inputs {
		agr, _, ok := ParseGenerated(in.Session)
		if _, known := byName[strings.ToLower(agr)]; !ok || !known {
			notes = append(notes, fmt.Sprintf("%s: no such agreement on the target; left alone", in.Session))
			continue
		}
		have[strings.ToLower(in.Session)] = true
		out = append(out, in)
	}
	for _, a := range agreements {
		if a.Protocol != X12 && a.Protocol != EDIFACT {
			continue
		}
		for _, l := range Levels {
			name := SessionName(a.Name, l)
			b, ok := a.Bounds[l] // a level with a range of its own: acknowledgement levels share Ack's
			if !ok || have[strings.ToLower(name)] {
				continue
			}
			last := strconv.FormatInt(b.Lower, 10)
			if a.Protocol == X12 {
				last = fmt.Sprintf("%09d", b.Lower) // ISA13 is nine digits, zero padded
			}
			out = append(out, Input{Session: name, Last: last, Lag: lag})
		}
	}
	return out, notes
}

func summary(pl Plan, what string) string {
	s := fmt.Sprintf("%s: %d sessions to bump", what, len(pl.Bumps))
	if len(pl.Refused) > 0 {
		s += fmt.Sprintf(", %d forced past their bounds", len(pl.Refused))
	}
	return s
}

// expectedRTO estimates a real run from the write budget, the settle time and a
// catch-up.
func (p *plan) expectedRTO(writes int) string {
	bump := p.bumpTime(writes)
	return fmt.Sprintf("expected RTO about %s (bumps %s, settle %s)", (bump + p.pair.Settle + defaultCatchUp).Round(time.Second), bump.Round(time.Second), p.pair.Settle)
}

// bumpTime is how long writes bumps take at least within the write budget.
func (p *plan) bumpTime(writes int) time.Duration {
	perSecond := 10.0
	if p.r.Writes != nil && p.r.Writes.Limit() != rate.Inf {
		perSecond = float64(p.r.Writes.Limit())
	}
	burst := 200
	if p.r.Writes != nil {
		burst = p.r.Writes.Burst()
	}
	return time.Duration(float64(max(0, writes-burst)) / perSecond * float64(time.Second))
}

// claimKeeper keeps an attempt's claim on its operation alive through a step that
// takes minutes (the bumps of a large pair within the write budget), and stops the
// step's writes once the claim is lost: otherwise the timer takes the operation over,
// and a late write of this attempt lands over what the other did since.
type claimKeeper struct {
	p        *plan
	mu       sync.Mutex
	deadline time.Time
}

// write runs one write within the claim: it starts only while the claim holds, and its
// context ends where the claim's margin begins, so that it cannot land after another
// attempt may have taken the operation over.
func (k *claimKeeper) write(ctx context.Context, put func(context.Context) error) error {
	if err := k.ok(ctx); err != nil {
		return err
	}
	k.mu.Lock()
	left := k.deadline.Sub(k.p.r.now())
	k.mu.Unlock()
	wctx, cancel := context.WithTimeout(ctx, left)
	defer cancel()
	return put(wctx)
}

// ok says whether a write may start now, renewing the claim (journaled, conditional
// on the operation's ETag) once half of it has gone by.
func (k *claimKeeper) ok(ctx context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	p := k.p
	now := p.r.now()
	if k.deadline.IsZero() {
		k.deadline = p.op.AttemptUntil.Add(-claimMargin)
	}
	if !now.Before(k.deadline) {
		return drerr.Errorf(drerr.Interrupted, "claim", "this attempt's claim on the operation ended at %s: no write starts after it (the next attempt resumes, reading each session first)", p.op.AttemptUntil.UTC().Format(time.RFC3339))
	}
	if p.op.AttemptUntil.Sub(now) > attemptTTL/2 {
		return nil
	}
	p.op.AttemptUntil = now.Add(attemptTTL)
	saved, err := p.r.Journal.Update(ctx, *p.op)
	if err != nil {
		return journal.Busy(err) // another attempt took the operation over
	}
	*p.op = saved
	k.deadline = saved.AttemptUntil.Add(-claimMargin)
	return nil
}

// bump writes the journaled floors: each session only if it does not hold its new
// number yet, so a resumed plan never bumps twice.
func (p *plan) bump(ctx context.Context) (string, []string, error) {
	_, to := p.direction()
	raw, err := p.r.Journal.LoadNumbers(ctx, p.pair.Name, p.op.ID)
	if err != nil {
		return "", nil, err
	}
	var n numbers
	if err := json.Unmarshal(raw, &n); err != nil {
		return "", nil, fmt.Errorf("journaled numbers: %w", err)
	}
	sessions := p.pair.side(to).Sessions
	claim := &claimKeeper{p: p}
	g, gctx := errgroup.WithContext(ctx)
	workers := p.r.Workers
	if workers <= 0 {
		workers = defaultWorkers
	}
	g.SetLimit(workers)
	written := make([]bool, len(n.Plan.Bumps))
	for i, b := range n.Plan.Bumps {
		g.Go(func() error {
			// A first attempt writes what the floors step just read; a resumed one
			// reads each session first, and skips what an earlier attempt wrote.
			var cur session.Session
			err := drerr.E(drerr.NotFound, "bump", errors.New("not read"))
			if p.resumed || p.floorsEarlier {
				cur, err = sessions.Get(gctx, b.Session)
			}
			if err != nil && !drerr.Is(err, drerr.NotFound) {
				return fmt.Errorf("read %s: %w", b.Session, err)
			}
			content := b.NewContent
			if err == nil {
				c := session.ParseContent(cur.Content)
				if c.ControlNumber == b.To {
					return nil // written by an earlier attempt
				}
				if !c.Stamp().Before(b.ChangedTime) {
					// Something wrote a newer stamp since the floors were fixed: the
					// same number, stamped after it, or the bump would lose.
					if content, err = Restamp(b.NewContent, c.Stamp().Add(Tick)); err != nil {
						return fmt.Errorf("bump %s: %w", b.Session, err)
					}
				}
			}
			if p.r.Writes != nil {
				if err := p.r.Writes.Wait(gctx); err != nil {
					return err
				}
			}
			err = claim.write(gctx, func(ctx context.Context) error {
				return sessions.Put(ctx, session.Session{Name: b.Session, Content: content})
			})
			if err != nil {
				return fmt.Errorf("bump %s: %w", b.Session, err)
			}
			written[i] = true
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return "", nil, err
	}
	count := 0
	for _, w := range written {
		if w {
			count++
		}
	}
	return fmt.Sprintf("bumped %d sessions (%d already held their new number)", count, len(written)-count), nil, nil
}

func (p *plan) settle() (string, []string, error) {
	bumped := p.op.StepByName(StepBump).Ended
	if left := bumped.Add(p.pair.Settle).Sub(p.r.now()); left > 0 {
		return "", nil, journal.Wait("the bumped numbers take effect in %s", left.Round(time.Second))
	}
	return fmt.Sprintf("waited %s after the last bump", p.pair.Settle), nil, nil
}

// workflows enables or disables a side's workflows; an error is transient (the
// command is retried) and names the workflow.
func (p *plan) workflows(ctx context.Context, side Side, enable bool) (string, []string, error) {
	changes, err := switchWorkflows(ctx, side, enable, 0)
	if err != nil {
		return "", changes, err
	}
	return fmt.Sprintf("%d workflows", len(side.Workflows)), changes, nil
}

// switchWorkflows enables or disables each workflow in order, each call within budget
// when it is set, and returns what it changed before the first error.
func switchWorkflows(ctx context.Context, side Side, enable bool, budget time.Duration) ([]string, error) {
	var changes []string
	for _, w := range side.Workflows {
		do, verb := w.Disable, "disabled"
		if enable {
			do, verb = w.Enable, "enabled"
		}
		cctx, cancel := ctx, context.CancelFunc(func() {})
		if budget > 0 {
			cctx, cancel = context.WithTimeout(ctx, budget)
		}
		err := do(cctx)
		cancel()
		if err != nil {
			return changes, fmt.Errorf("workflow %s: %w", w.Name(), err)
		}
		changes = append(changes, verb+" "+w.Name())
	}
	return changes, nil
}

// stopOld stops the old side's intake before the floors are fixed: a side that keeps
// sending through the plan could outrun its margin. Its routes go first, so that
// partners stop being sent there, then its workflows. Only what cannot be reached is
// passed by (its fence stays pending); what answers badly — slow, throttled,
// refusing, erroring — holds the plan until it can be stopped, unless the operator
// forced the move.
func (p *plan) stopOld(ctx context.Context) (string, []string, error) {
	from, to := p.direction()
	side := p.pair.side(from)
	// The target is not routed until its bumps have settled: a route on already (a
	// profile set up with both endpoints on, one enabled by hand, one a cancelled
	// move left on) is taken off first, and enabled again at enable-target.
	changes, err := p.unrouteTarget(ctx, to)
	if err != nil {
		return "", changes, err
	}
	// Each route on its own and with the whole reach budget: a route lives in a
	// global profile, which may answer while the old side's region does not (and
	// the other way round), so the old side being down says nothing of it.
	ro := switchRoutes(ctx, side.Routes, false, p.r.reach(), nil)
	changes = append(changes, ro.changes...)
	if ctx.Err() != nil {
		return "", changes, ctx.Err()
	}
	for _, name := range sortedKeys(ro.down) {
		changes = append(changes, routePending+name+": "+ro.down[name]+"; fenced once it answers")
	}
	if len(ro.bad) > 0 && p.op.Force {
		for _, name := range sortedKeys(ro.bad) {
			changes = append(changes, routePending+name+": forced past a route that answers but could not be disabled ("+ro.bad[name]+"); fenced once it can be")
		}
	}
	routes := ""
	if len(ro.down) > 0 || (len(ro.bad) > 0 && p.op.Force) {
		routes = "; both sides may be routed until the old side's route fence lands"
	}
	// Tried even when another call of this attempt found the old side down: one of
	// its endpoints out (its agreements listing, say) does not mean its workflows
	// are, and stop-first is what keeps both sides from sending. That second chance
	// gets a short budget, so that a region that is gone costs the RTO little more.
	// A workflow that is gone (404) takes no traffic: it counts as stopped.
	budget := p.r.reach()
	if p.oldDown {
		budget = min(budget, secondChance)
	}
	wchanges, err := stopIntake(ctx, side, budget)
	changes = append(changes, wchanges...)
	switch {
	case ctx.Err() != nil:
		return "", changes, ctx.Err()
	case len(ro.bad) > 0 && !p.op.Force:
		// A route that answers badly is "not known", never "gone": partners may
		// still be sent to a side that keeps taking them.
		var bad []string
		for _, name := range sortedKeys(ro.bad) {
			bad = append(bad, ro.bad[name])
		}
		return "", changes, journal.Wait("stop-first holds: the old side (%s) answers but its routes could not be disabled (%s); retried until they are, or use force", from, strings.Join(bad, "; "))
	case err == nil:
		return counted(side) + routes, changes, nil
	}
	if p.noteDown(ctx, err); p.oldDown && unreachable(ctx, err) {
		return fmt.Sprintf("skipped: the old side (%s) %s; fenced once it answers%s", from, p.downWhy, routes), changes, nil
	}
	if p.op.Force {
		return fmt.Sprintf("skipped: forced past an old side (%s) that answers but could not be stopped (%v); fenced once it can be%s", from, err, routes), changes, nil
	}
	return "", changes, journal.Wait("stop-first holds: the old side (%s) answers but its intake could not be stopped (%v); retried until it is, or use force", from, err)
}

// enableTarget enables the target's workflows, then its routes: partners are sent
// to the new side only once it takes traffic, which is after the bumps have settled.
// The old side's routes were disabled by stop-old first, so both sides are routed
// only where a route of the old side could not be reached (or force passed one that
// answered badly): the outcome says so, and the fence disables it once it answers.
func (p *plan) enableTarget(ctx context.Context) (string, []string, error) {
	from, to := p.direction()
	side := p.pair.side(to)
	outcome, changes, err := p.workflows(ctx, side, true)
	if drerr.Is(err, drerr.NotFound) || drerr.Is(err, drerr.Invalid) {
		// Asking again cannot help (the workflow is gone, or the app may not
		// enable it): end the plan, giving the old side its intake back.
		return "", changes, journal.Refuse("the target's intake cannot be enabled: %v", err)
	}
	if err != nil {
		return outcome, changes, err
	}
	if len(side.Routes) == 0 {
		return outcome, changes, nil
	}
	ro := switchRoutes(ctx, side.Routes, true, 0, nil)
	changes = append(changes, ro.changes...)
	switch {
	case len(ro.fatal) > 0:
		return "", changes, journal.Refuse("the target's routes cannot be enabled: %s", strings.Join(ro.fatal, "; "))
	case !ro.ok():
		return "", changes, fmt.Errorf("the target's routes: %w", ro.err())
	}
	outcome = counted(side)
	if stop := p.op.StepByName(StepStopOld); stop != nil {
		if pending := pendingRoutes(stop.Changes, p.pair.side(from).Routes); len(pending) > 0 {
			names := make([]string, 0, len(pending))
			for n := range pending {
				names = append(names, n)
			}
			sort.Strings(names)
			outcome += fmt.Sprintf("; both sides may be routed until the fence of the old side's route %s lands", strings.Join(names, ", "))
		}
	}
	return outcome, changes, nil
}

// unrouteTarget disables each of the target's routes that is enabled now, read
// first so that the journal names only what it changed. A route that cannot be read
// or disabled holds the plan (forced: passed by, and said): partners sent to the
// target before its numbers take effect could receive a number the old side sent.
func (p *plan) unrouteTarget(ctx context.Context, to replication.Region) ([]string, error) {
	var on []Route
	var problems []string
	for _, rd := range readRoutes(ctx, to, p.pair.side(to).Routes, p.r.reach(), p.r.now) {
		switch {
		case rd.Missing:
		case rd.Error != "":
			problems = append(problems, fmt.Sprintf("route %s could not be read: %s", rd.Name, rd.Error))
		case rd.Enabled:
			for _, rt := range p.pair.side(to).Routes {
				if rt.Name() == rd.Name {
					on = append(on, rt)
				}
			}
		}
	}
	ro := switchRoutes(ctx, on, false, p.r.reach(), nil)
	var changes []string
	for _, c := range ro.changes {
		changes = append(changes, c+" (the target's, until its bumps settle)")
	}
	if err := ro.err(); err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) == 0 || ctx.Err() != nil {
		return changes, ctx.Err()
	}
	if p.op.Force {
		return append(changes, "forced past the target's routes: "+strings.Join(problems, "; ")), nil
	}
	return changes, journal.Wait("stop-first holds: the target (%s) may be routed before its numbers take effect (%s); retried until its routes are off, or use force", to, strings.Join(problems, "; "))
}

// fence disables the old side's routes and intake once it answers; until then the
// step waits while the plan goes on. Replication writes nothing into that side (the
// flip marks its fence pending) until its workflows are disabled: a route still
// pending after that only lets partners reach a side that takes nothing, so the
// step waits on for it, and the journal says so, but replication goes on. Any error
// waits: a fence is retried, never given up on, short of an operator's cancel.
func (p *plan) fence(ctx context.Context) (string, []string, error) {
	from, _ := p.direction()
	side := p.pair.side(from)
	flip, stop := p.op.StepByName(StepFlip), p.op.StepByName(StepStopOld)
	beforeFlip := flip != nil && flip.Status == journal.StepPending
	var skip map[string]bool
	if beforeFlip && stop != nil {
		// A route its stop could not reach is not waited out again before the flip:
		// the timer tries it after.
		skip = pendingRoutes(stop.Changes, side.Routes)
	}
	ro := switchRoutes(ctx, side.Routes, false, p.r.reach(), skip)
	changes := ro.changes
	if ctx.Err() != nil {
		return "", changes, ctx.Err()
	}
	routesLeft := ""
	if !ro.ok() || len(skip) > 0 {
		var left []string
		for n := range skip {
			left = append(left, fmt.Sprintf("route %s could not be reached when the old side's intake was to stop; tried again once the pair has flipped", n))
		}
		sort.Strings(left)
		if err := ro.err(); err != nil {
			left = append(left, err.Error())
		}
		routesLeft = strings.Join(left, "; ")
	}
	if p.oldDown {
		return "", changes, journal.Wait("fence pending: the old side (%s) %s%s", from, p.downWhy, prefixed("; ", routesLeft))
	}
	if beforeFlip && stop != nil && stop.Status == journal.StepSkipped && strings.Contains(stop.Outcome, unreachableWords) {
		// The old side could not be reached earlier in this plan: the flip does not
		// wait out another reach budget for it; the timer tries the fence after.
		return "", changes, journal.Wait("fence pending: the old side (%s) could not be reached when its intake was to stop; tried again once the pair has flipped%s", from, prefixed("; ", routesLeft))
	}
	wchanges, err := switchWorkflows(ctx, side, false, p.r.reach())
	changes = append(changes, wchanges...)
	if err != nil {
		if ctx.Err() != nil {
			return "", changes, err
		}
		return "", changes, journal.Wait("fence pending: %v%s", err, prefixed("; ", routesLeft))
	}
	if err := p.fenceLanded(ctx); err != nil {
		return "", changes, err
	}
	if routesLeft != "" {
		return "", changes, journal.Wait("fence pending: the old side's intake is disabled, its routes not yet: %s", routesLeft)
	}
	return counted(side), changes, nil
}

func prefixed(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

// fenceLanded lets replication write into the old side again once this plan's fence
// of it has landed: the merge-back the flip queued runs first.
func (p *plan) fenceLanded(ctx context.Context) error {
	cp, _, err := p.r.Streams.Load(ctx, p.pair.Name)
	if err != nil {
		return err
	}
	if cp.FencePending != p.op.ID {
		return nil
	}
	cp.FencePending = ""
	_, err = p.r.Streams.Save(ctx, cp)
	return err
}

// flip moves the active-region record to the target by compare-and-swap, and starts
// replication in the new direction from just before the plan began, not with a full
// sync, with a reconciliation beside it.
func (p *plan) flip(ctx context.Context) (string, []string, error) {
	_, to := p.direction()
	cp, region, err := p.r.Streams.Load(ctx, p.pair.Name)
	if err != nil {
		return "", nil, err
	}
	next := p.op.EpochBefore + 1
	switch {
	case region.Epoch == next && region.Active == to:
		// Flipped by an earlier attempt.
	case region.Epoch != p.op.EpochBefore:
		return "", nil, journal.Refuse("the epoch moved from %d to %d under the plan", p.op.EpochBefore, region.Epoch)
	default:
		if _, err := p.r.Streams.SetActiveRegion(ctx, p.pair.Name, replication.ActiveRegion{Active: to, Epoch: next, ETag: region.ETag}); err != nil {
			return "", nil, err
		}
	}
	p.op.EpochAfter = next
	// The old side's fence gates every write into it, whoever prepared the new
	// direction's checkpoint (an earlier attempt, or a run that found it unprepared).
	fence := ""
	if fe := p.op.StepByName(StepFenceOld); fe != nil && fe.Status != journal.StepDone {
		fence = p.op.ID
	}
	rolled, err := p.rollovers(ctx)
	if err != nil {
		return "", nil, err
	}
	if cp.Epoch == next && (cp.FencePending != fence || (cp.MergeBack.Kind != "" && cp.Rollovers == nil && rolled != nil)) {
		cp.FencePending = fence
		if cp.MergeBack.Kind != "" && cp.Rollovers == nil {
			cp.Rollovers = rolled
		}
		if _, err := p.r.Streams.Save(ctx, cp); err != nil {
			return "", nil, err
		}
	}
	if cp.Epoch != next {
		// The new direction's watermark is on the new active side's clock: the plan's
		// start, moved by that clock's offset from ours, read off an empty listing.
		offset, err := p.clockOffset(ctx, p.pair.side(to))
		if err != nil {
			return "", nil, err
		}
		cp.Epoch = next
		cp.Watermark = p.op.Created.Add(offset - p.r.ClockSkew)
		cp.ClockOffset = offset
		// What the old side held alone (received numbers recorded just before an
		// outage, numbers it sent past the last run) is merged into the new active
		// side first; a reconciliation follows. While the old side's fence is pending
		// it may still be sending, so nothing is written into it at all.
		cp.Scan, cp.Reconcile, cp.Recent = replication.Scan{}, replication.Scan{Kind: replication.ScanReconcile}, nil
		cp.MergeBack = replication.Scan{Kind: replication.ScanMergeBack}
		cp.Rollovers = rolled // numbers this plan rolled over stay in their new cycle
		cp.FencePending = fence
		cp.LeaseOwner, cp.LeaseUntil = "", time.Time{}
		if _, err := p.r.Streams.Save(ctx, cp); err != nil {
			return "", nil, err
		}
	}
	p.op.RTO = p.r.now().Sub(p.op.RTOStart)
	return fmt.Sprintf("%s is active at epoch %d; RTO %s", to, next, p.op.RTO.Round(time.Millisecond)), nil, nil
}

// rollovers are the sessions this plan's bumps rolled over (the floor passed the
// upper bound and wrapped to the low end), each with the number it rolled over from:
// what the merge-back must not raise them back to.
func (p *plan) rollovers(ctx context.Context) (map[string]uint64, error) {
	return p.r.rollovers(ctx, *p.op)
}

// rollovers are the sessions op's bumps rolled over; see plan.rollovers.
func (r *Runner) rollovers(ctx context.Context, op journal.Operation) (map[string]uint64, error) {
	raw, err := r.Journal.LoadNumbers(ctx, op.Pair, op.ID)
	if drerr.Is(err, drerr.NotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var n numbers
	if err := json.Unmarshal(raw, &n); err != nil {
		return nil, fmt.Errorf("journaled numbers: %w", err)
	}
	var out map[string]uint64
	for _, b := range n.Plan.Bumps {
		if r, ok := rolledOver(b); ok {
			if out == nil {
				out = map[string]uint64{}
			}
			out[strings.ToLower(b.Session)] = uint64(r.from)
		}
	}
	return out, nil
}

// rollover is a journaled rollover of one generated session: a move's bump whose
// floor passed the upper bound set the session to "to", at stamp, in a new cycle,
// leaving "from", the highest number it knew, in the cycle before.
type rollover struct {
	to, from int64
	stamp    time.Time
}

// rolledOver says whether a bump rolled its session over: its number is below the
// floor it was computed for, which happens only when the floor wrapped.
func rolledOver(b Bump) (rollover, bool) {
	to, err := parseNumber(b.To)
	if err != nil || to >= b.Floor || b.Floor-b.Margin <= 0 {
		return rollover{}, false
	}
	return rollover{to: to, from: b.Floor - b.Margin, stamp: b.ChangedTime}, true
}

// clockOffset is a side's service clock less this machine's, rounded up to the next
// second, from the Date of a listing that returns nothing.
func (p *plan) clockOffset(ctx context.Context, s Side) (time.Duration, error) {
	local := p.r.now()
	var date time.Time
	err := s.Sessions.List(ctx, local.Add(24*time.Hour*365), "", func(pg replication.Page) error {
		if date.IsZero() {
			date = pg.Date
		}
		return nil
	})
	if err != nil || date.IsZero() {
		return 0, err
	}
	return date.Add(time.Second).Sub(local), nil
}

// confirmReplication waits for a replication run to complete a scan in the new
// direction.
func (p *plan) confirmReplication(ctx context.Context) (string, []string, error) {
	cp, _, err := p.r.Streams.Load(ctx, p.pair.Name)
	if err != nil {
		return "", nil, err
	}
	flipped := p.op.StepByName(StepFlip).Ended
	if cp.Epoch != p.op.EpochAfter || cp.LastRun.Before(flipped) || cp.LastError != "" || cp.FencePending != "" || cp.MergeBack.Kind != "" {
		return "", nil, journal.Wait("waiting for replication to run in the new direction")
	}
	return "replication runs forward again", nil, nil
}
