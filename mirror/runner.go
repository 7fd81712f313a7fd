package mirror

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"integration-dr/command"
	"integration-dr/drerr"
	"integration-dr/drift"
	"integration-dr/journal"
	"integration-dr/redact"
	"integration-dr/replication"
)

// Step names. A mirror's apply steps are named after their changes (ApplyStep).
const (
	StepCompare = "compare" // a drift command's only step
	StepPlan    = "plan"
	// SnapshotDrift names the last drift report kept per pair (the status page's).
	SnapshotDrift = "drift"

	attemptTTL  = 5 * time.Minute
	claimMargin = 30 * time.Second
	// maxApplySteps leaves room in an operation's 48 steps for the plan; maxBatch keeps
	// every change of a batch on its step's record (20 lines at most).
	maxApplySteps = journal.MaxSteps - 2
	maxBatch      = journal.MaxChanges
	// keptDifferences bounds the differences a kept report carries (a snapshot is one
	// table property).
	keptDifferences = KeptDifferences
)

// KeptDifferences is the most differences a kept drift report (the status page's, a
// readiness report's) carries; the rest are counted.
const KeptDifferences = 100

// PlanJournal is the plans' journal (failover, fallback, SSIS commands): a plan under
// way on a pair makes a mirror stand aside.
type PlanJournal interface {
	ListPending(ctx context.Context) ([]journal.Operation, error)
}

// Runner runs drift and mirror commands as journaled operations.
type Runner struct {
	// Journal is the mirrors' own journal, apart from the plans'. Plans never read
	// it, so a mirror is never a pending operation, a cooldown or a last move to them.
	Journal journal.Store
	// Plans is the plans' journal, read before every write.
	Plans   PlanJournal
	Regions Regions
	Pairs   map[string]Pair
	// Reads and Writes are ARM's buckets, shared with replication and the plans: one
	// token per listing of an adapter and per write. A mirror writes one change at a
	// time.
	Reads, Writes *rate.Limiter
	Log           *slog.Logger
	Now           func() time.Time
	// CallTimeout bounds each listing and each write (default 1m).
	CallTimeout time.Duration
	// ReportEvery is how often the operations timer remakes and keeps each pair's
	// drift report for the status page (0: never).
	ReportEvery time.Duration
	// Backoff is how long a mirror that failed on a transient error waits before the
	// timer resumes it (default 1m); a redelivery of its message resumes it at once.
	Backoff time.Duration
}

// Owns says whether pair is one of the mirror's pairs.
func (r *Runner) Owns(pair string) bool { _, ok := r.Pairs[pair]; return ok }

// Handles says whether the runner takes commands of action a, whichever runner owns
// their pair.
func (r *Runner) Handles(a command.Action) bool { return a == command.Drift || a == command.Mirror }

// Submit runs a drift or mirror command: it journals it (or finds it journaled, when
// the message comes again) and runs or resumes it. The error is non-nil only for a
// transient failure, when the command must be retried.
func (r *Runner) Submit(ctx context.Context, c command.Command, src journal.Source, rtoStart time.Time) (journal.Operation, error) {
	if !r.Handles(c.Action) {
		return r.Reject(ctx, c, src, fmt.Sprintf("%s is not a drift or mirror command", c.Action))
	}
	op, err := journal.CreateOrGet(ctx, r.Journal, journal.New(c, src, rtoStart, r.now()))
	if err != nil || op.Status.Terminal() {
		return op, err
	}
	return r.run(ctx, op)
}

// Propose refuses: nothing proposes a mirror; an operator sends it.
func (r *Runner) Propose(ctx context.Context, c command.Command, src journal.Source, _ time.Time) (journal.Operation, error) {
	return r.Reject(ctx, c, src, fmt.Sprintf("%s is not proposed: an operator sends it", c.Action))
}

// Reject journals a command refused before anything ran.
func (r *Runner) Reject(ctx context.Context, c command.Command, src journal.Source, why string) (journal.Operation, error) {
	op := journal.New(c, src, r.now(), r.now())
	if err := op.Reject(why, r.now()); err != nil {
		return op, err
	}
	return journal.CreateOrGet(ctx, r.Journal, op)
}

// Advance resumes the mirrors whose attempt died (or whose back-off ended), and keeps
// each pair's drift report fresh for the status page.
func (r *Runner) Advance(ctx context.Context) ([]journal.Operation, error) {
	// Mirrors first; the reports read both sides, and a side that is down costs them
	// their budget.
	ops, err := journal.Resume(ctx, r.Journal, r.Owns, r.now(), r.run)
	r.keepReports(ctx)
	return ops, err
}

// Get reads a drift or mirror operation.
func (r *Runner) Get(ctx context.Context, pair, id string) (journal.Operation, error) {
	return r.Journal.Get(ctx, pair, id)
}

// List returns a pair's drift and mirror operations, newest first.
func (r *Runner) List(ctx context.Context, pair string, limit int) ([]journal.Operation, error) {
	return r.Journal.List(ctx, pair, limit)
}

// PlanOf returns the plan a mirror journaled; drerr.NotFound before it has one.
func (r *Runner) PlanOf(ctx context.Context, pair, id string) (Plan, error) {
	raw, err := r.Journal.LoadNumbers(ctx, pair, id)
	if err != nil {
		return Plan{}, err
	}
	var pl Plan
	if err := json.Unmarshal(raw, &pl); err != nil {
		return Plan{}, drerr.E(drerr.Internal, "decode the plan of "+id, err)
	}
	return pl, nil
}

// ReportOf returns the drift report a drift command journaled; drerr.NotFound before
// it has one.
func (r *Runner) ReportOf(ctx context.Context, pair, id string) (drift.PairReport, error) {
	raw, err := r.Journal.LoadNumbers(ctx, pair, id)
	if err != nil {
		return drift.PairReport{}, err
	}
	var rep drift.PairReport
	if err := json.Unmarshal(raw, &rep); err != nil {
		return rep, drerr.E(drerr.Internal, "decode the drift report of "+id, err)
	}
	return rep, nil
}

// Report compares the pair's sides now, changing nothing. A side that cannot be read
// makes the report "not compared", saying which and why. The only error is an
// unknown pair.
func (r *Runner) Report(ctx context.Context, name string) (drift.PairReport, error) {
	pair, ok := r.Pairs[name]
	if !ok {
		return drift.PairReport{}, drerr.Errorf(drerr.Invalid, "drift", "%q is not a pair with artifacts to compare", name)
	}
	rep := drift.PairReport{Pair: name, At: r.now()}
	act, err := r.Regions.Active(ctx, name)
	if err != nil {
		rep.NotCompared = "which side is active could not be read: " + brief(err)
		return masked(rep), nil
	}
	standby := other(act.Side)
	rep.Epoch, rep.Active, rep.Standby = act.Epoch, string(act.Side), string(standby)
	active, err := r.list(ctx, pair.side(act.Side))
	if err != nil {
		rep.NotCompared = fmt.Sprintf("the active side (%s) did not answer: %s", act.Side, brief(err))
		return masked(rep), nil
	}
	held, err := r.list(ctx, pair.side(standby))
	if err != nil {
		rep.NotCompared = fmt.Sprintf("the standby (%s) did not answer: %s", standby, brief(err))
		return masked(rep), nil
	}
	rep.Result = drift.Compare(active, held, pair.Allow, false)
	rep.Scripts = drift.Scripts(rep.Result, active)
	return masked(rep), nil
}

// LastReports returns the drift report kept last for each pair that has one.
func (r *Runner) LastReports(ctx context.Context) ([]drift.PairReport, error) {
	var out []drift.PairReport
	var errs []error
	for _, name := range r.pairNames() {
		raw, err := r.Journal.LoadSnapshot(ctx, name, SnapshotDrift)
		if drerr.Is(err, drerr.NotFound) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("drift report of %s: %w", name, err))
			continue
		}
		var rep drift.PairReport
		if err := json.Unmarshal(raw, &rep); err != nil {
			errs = append(errs, drerr.E(drerr.Internal, "decode the drift report of "+name, err))
			continue
		}
		out = append(out, rep)
	}
	return out, errors.Join(errs...)
}

// Keep saves rep as the pair's last drift report, its differences cut to what one
// snapshot holds.
func (r *Runner) Keep(ctx context.Context, rep drift.PairReport) error {
	raw, err := json.Marshal(rep.Trim(keptDifferences))
	if err != nil {
		return drerr.E(drerr.Internal, "encode drift report", err)
	}
	return r.Journal.SaveSnapshot(ctx, rep.Pair, SnapshotDrift, raw)
}

func (r *Runner) keepReports(ctx context.Context) {
	if r.ReportEvery <= 0 {
		return
	}
	last := map[string]time.Time{}
	reps, _ := r.LastReports(ctx)
	for _, rep := range reps {
		last[rep.Pair] = rep.At
	}
	busy := map[string]bool{}
	if r.Plans != nil {
		// A pair a plan is moving is compared once it has moved: its old side is
		// often down, and a report from before the move is stale anyway.
		if pending, err := r.Plans.ListPending(ctx); err == nil {
			for _, o := range pending {
				busy[o.Pair] = busy[o.Pair] || moves(o)
			}
		}
	}
	for _, name := range r.pairNames() {
		if at, ok := last[name]; busy[name] || ok && r.now().Sub(at) < r.ReportEvery {
			continue
		}
		// One call timeout for the whole report, kept even when a side did not
		// answer ("not compared"), so that a side that is down costs the timer one
		// budget per ReportEvery, not one per tick.
		rctx, cancel := context.WithTimeout(ctx, r.reportBudget())
		rep, err := r.Report(rctx, name)
		cancel()
		if err == nil {
			err = r.Keep(ctx, rep)
		}
		if err != nil {
			r.log().Warn("drift report not kept", "pair", name, "err", err)
		}
	}
}

// list lists a side, within the read budget and the call timeout.
func (r *Runner) list(ctx context.Context, s Side) ([]drift.Artifact, error) {
	if r.Reads != nil {
		if err := r.Reads.WaitN(ctx, max(len(s), 1)); err != nil {
			return nil, drerr.E(drerr.Interrupted, "read budget", err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, r.callTimeout())
	defer cancel()
	return s.Artifacts(ctx)
}

func (r *Runner) pairNames() []string { return slices.Sorted(maps.Keys(r.Pairs)) }

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
	return slog.Default()
}

func (r *Runner) callTimeout() time.Duration {
	if r.CallTimeout > 0 {
		return r.CallTimeout
	}
	return time.Minute
}

// reportBudget bounds the making of one kept report: the reach budget a plan gives a
// side (30 s), within the call timeout.
func (r *Runner) reportBudget() time.Duration { return min(r.callTimeout(), 30*time.Second) }

func (r *Runner) backoff() time.Duration {
	if r.Backoff > 0 {
		return r.Backoff
	}
	return time.Minute
}

func other(s replication.Region) replication.Region {
	if s == replication.Secondary {
		return replication.Primary
	}
	return replication.Secondary
}

// masked masks what came from outside (an SDK's error text) before it is kept or shown.
func masked(rep drift.PairReport) drift.PairReport {
	rep.NotCompared = redact.String(rep.NotCompared)
	return rep
}

// cutLines keeps lines to what a step's record holds.
func cutLines(lines []string) []string {
	if len(lines) <= journal.MaxChanges {
		return lines
	}
	out := append([]string(nil), lines[:journal.MaxChanges-1]...)
	return append(out, fmt.Sprintf("… and %d more", len(lines)-(journal.MaxChanges-1)))
}

// brief is an error in one line, as a report says it: an SDK's error carries the
// whole response on the lines after its first.
func brief(err error) string {
	line, _, _ := strings.Cut(err.Error(), "\n")
	line = strings.TrimSpace(line)
	if c := drerr.CodeOf(err); c != drerr.Internal && !strings.Contains(line, string(c)) {
		line += " (" + string(c) + ")"
	}
	return journal.Cut(line, 300)
}
