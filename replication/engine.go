package replication

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"integration-dr/drerr"
	"integration-dr/session"
)

// Pair is one primary/secondary couple of integration accounts.
type Pair struct {
	Name      string
	Primary   Account
	Secondary Account
	// Kinds to replicate; empty means all.
	Kinds map[session.Kind]bool
	// Overlap is how far behind the watermark each incremental scan re-lists, for
	// changes that become visible late (slow commits, skew between service nodes).
	Overlap time.Duration
}

// Limits are ARM's per-principal token buckets as this app budgets them: every pair's
// reads and writes draw from the same two, because ARM counts them per identity.
type Limits struct {
	Reads  *rate.Limiter
	Writes *rate.Limiter
}

// Engine runs replication passes. Its zero value is not usable: use NewEngine.
type Engine struct {
	store  Store
	limits Limits
	log    *slog.Logger
	opts   Options
}

// Options tune the engine. Zero fields take the defaults documented on each.
type Options struct {
	// Lease is how long a run may hold its stream (default 2m), counted from before
	// its claim is sent. A run starts no write within a tenth of it plus ClockSkew of
	// its end, so a stalled or killed run blocks others at most this long, and a run
	// answered late never writes after another may have taken the stream.
	Lease time.Duration
	// Workers read and write the standby in parallel within a batch (default 8).
	Workers int
	// BatchSize bounds how many sessions are written between two checks that the run
	// still holds its lease and the epoch has not changed (default 500).
	BatchSize int
	// RecentLimit bounds the overlap memory kept in the checkpoint (default 2000).
	RecentLimit int
	// ClockSkew is how far apart two clocks may be: this machine's and another
	// instance's (it widens the lease's stop margin), and the service's front end and
	// its nodes (the watermark stays this far behind the service's Date; a changedTime
	// further ahead of it is counted as future-stamped). Default 5s.
	ClockSkew time.Duration
	// ReconcileEvery is how often a reconciliation scan compares both sides whole
	// (default 24h; negative: never).
	ReconcileEvery time.Duration
	// ProgressEvery logs scan progress after this many listed sessions (default 5000).
	ProgressEvery int
	// Now and NewRunID are injectable for tests.
	Now      func() time.Time
	NewRunID func() string
}

// NewEngine builds an engine whose ARM calls, across all pairs, stay within limits.
// A nil limiter means no budget of that kind.
func NewEngine(store Store, limits Limits, log *slog.Logger, opts Options) *Engine {
	if opts.Lease <= 0 {
		opts.Lease = 2 * time.Minute
	}
	if opts.Workers <= 0 {
		opts.Workers = 8
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 500
	}
	if opts.RecentLimit <= 0 {
		opts.RecentLimit = 2000
	}
	if opts.ClockSkew <= 0 {
		opts.ClockSkew = 5 * time.Second
	}
	if opts.ReconcileEvery == 0 {
		opts.ReconcileEvery = 24 * time.Hour
	}
	if opts.ProgressEvery <= 0 {
		opts.ProgressEvery = 5000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.NewRunID == nil {
		opts.NewRunID = randomID
	}
	if limits.Reads == nil {
		limits.Reads = rate.NewLimiter(rate.Inf, 1)
	}
	if limits.Writes == nil {
		limits.Writes = rate.NewLimiter(rate.Inf, 1)
	}
	return &Engine{store: store, limits: limits, log: log, opts: opts}
}

// stopMargin is how long before its lease ends a run stops starting work.
func (e *Engine) stopMargin() time.Duration { return e.opts.Lease/10 + e.opts.ClockSkew }

// errOutOfTime marks work left undone because the run's lease is nearly over: the
// scan's cursor and overlap memory carry it to the next run.
var errOutOfTime = errors.New("no time left in this run's lease; the next run resumes")

// errStale stops a run that no longer owns its stream or whose epoch changed.
type errStale struct{ reason string }

func (e *errStale) Error() string { return e.reason }

// commitTimeout bounds the last checkpoint write, which runs after the run's deadline.
const commitTimeout = 30 * time.Second

// Run makes one replication pass over the pair. It resumes the scan under way or
// starts the next one; a scan that does not finish within the lease is continued by
// the next run (Stats.ScanDone false, no error). A run that finds the stream held by
// another, or that loses it mid-run (lease taken, epoch changed), returns Stats.Skipped
// set and no error. The watermark moves only when a scan completes.
//
// While the checkpoint's FencePending is set the run writes nothing (Stats.Skipped
// says why) but is recorded and releases its lease. While a merge-back is pending it
// runs first, writing into the active side only; the forward scan writes into the
// standby once it has completed. The run's deadline is the LeaseUntil its claim wrote
// (taken before the claim is sent) less the stop margin, on Options.Now: no write
// starts at or after it. A final commit that fails comes back as a *CommitError.
func (e *Engine) Run(ctx context.Context, p Pair) (Stats, error) {
	st := Stats{Pair: p.Name, WritesByKind: map[string]int{}}
	log := e.log.With("pair", p.Name, "stream", "sessions")

	// The lease is measured from before the claim is sent: a claim answered late must
	// not carry the run's deadline past the LeaseUntil it wrote, which is when another
	// run (or a failover) may take the stream.
	now := e.opts.Now()
	cp, region, err := e.store.Load(ctx, p.Name)
	if err != nil {
		return st, fmt.Errorf("load checkpoint: %w", err)
	}
	if strings.HasPrefix(cp.LeaseOwner, HoldPrefix) {
		st.Skipped = "operation " + strings.TrimPrefix(cp.LeaseOwner, HoldPrefix) + " holds the stream until it ends"
		return st, nil
	}
	if cp.LeaseOwner != "" && now.Before(cp.LeaseUntil) {
		st.Skipped = "another run holds the stream until " + cp.LeaseUntil.UTC().Format(time.RFC3339)
		return st, nil
	}

	// Claim the stream. Whoever loses this ETag race stops before touching the standby.
	runID := e.opts.NewRunID()
	cp.Pair = p.Name
	cp.LeaseOwner, cp.LeaseUntil = runID, now.Add(e.opts.Lease)
	deadline := cp.LeaseUntil.Add(-e.stopMargin())
	if cp.Epoch != region.Epoch {
		// The direction changed: what the checkpoint knows is about the other side.
		cp.Watermark, cp.Scan, cp.Reconcile, cp.Recent, cp.LastReconciled = time.Time{}, Scan{}, Scan{}, nil, time.Time{}
		// A flip prepares the checkpoint itself (its epoch, FencePending, MergeBack);
		// one found unprepared still brings back what the old side held alone before
		// anything is written into it, from the start: a cursor left from an earlier
		// direction lists the other side.
		cp.MergeBack, cp.Rollovers = Scan{Kind: ScanMergeBack}, nil
	}
	if cp.Recent == nil {
		cp.Recent = map[string]Seen{}
	}
	cp.Epoch = region.Epoch
	if cp.Scan.Kind == "" {
		cp.Scan = e.nextScan(cp, p)
	}
	cp, err = e.store.Save(ctx, cp)
	if drerr.Is(err, drerr.Conflict) {
		st.Skipped = "another run claimed the stream first"
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("claim stream: %w", err)
	}

	// The deadline is LeaseUntil less the stop margin, on the engine's clock; the
	// context's timeout is what is left of it now that the claim has answered.
	left := deadline.Sub(e.opts.Now())
	runCtx, cancel := context.WithTimeout(ctx, max(left, 0))
	defer cancel()

	active, standby := p.Primary, p.Secondary
	if region.Active == Secondary {
		active, standby = p.Secondary, p.Primary
	}
	st.Direction = fmt.Sprintf("%s->%s", region.Active, region.Active.Other())
	st.Scan = cp.Scan.Kind
	st.FullSync = cp.Scan.Kind == ScanFull

	started := e.opts.Now()
	ps := &pass{engine: e, pair: p, active: active, standby: standby, cp: &cp, st: &st, log: log, epoch: region.Epoch, checked: true, deadline: deadline}
	var runErr error
	switch {
	case left <= 0:
		// Nothing may start: the lease this run wrote is already over, or nearly.
		runErr = drerr.Errorf(drerr.Unavailable, "claim stream", "the checkpoint store answered the claim %s after the run's deadline; nothing was done", (-left).Round(time.Millisecond))
	case cp.FencePending != "":
		// The standby is the old active side and may still be sending: nothing is
		// written into it (nor merged back from it) until its fence lands.
		st.Skipped = fmt.Sprintf("the standby's fence is pending (operation %s): nothing is written into a side that may still send", cp.FencePending)
		log.Info("run skipped", "reason", st.Skipped)
	default:
		runErr = ps.runAll(runCtx)
	}

	var stale *errStale
	switch {
	case errors.As(runErr, &stale):
		st.Skipped = stale.reason
		log.Warn("run stopped", "reason", stale.reason)
		if drerr.Is(runErr, drerr.Conflict) {
			// Another run owns the stream now: nothing here is ours to write.
			return st, nil
		}
		runErr = nil
	case runErr != nil && ctx.Err() == nil && (errors.Is(runErr, errOutOfTime) || runCtx.Err() != nil && cutShort(runErr)):
		// The lease ran out mid-scan: progress is kept, the next run resumes. A run
		// that could not finish a single page, though, would never get anywhere.
		runErr = nil
		if !ps.progress && !st.ScanDone {
			runErr = drerr.Errorf(drerr.Internal, "replicate", "the lease ended before a single page was handled; raise %s or lower the list page size", "DR_RUN_LEASE")
		}
	}

	// Record the outcome and release the lease, even though the run's own deadline
	// has passed: a context that outlives it, with a short limit of its own.
	commitCtx, cancelCommit := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancelCommit()
	cp.Runs++
	cp.LastRun = started
	cp.LastDuration = e.opts.Now().Sub(started)
	cp.Writes += int64(st.Writes)
	cp.LastWrites, cp.LastListed = int64(st.Writes), int64(st.Listed)
	cp.FutureStamped += int64(st.FutureStamped)
	cp.LeaseOwner, cp.LeaseUntil = "", time.Time{}
	cp.LastError = ""
	if runErr != nil {
		cp.LastError = runErr.Error()
	} else {
		cp.LastSuccess = started
	}
	st.ScanListed, st.ReconcileListed = cp.Scan.Listed, cp.Reconcile.Listed
	if st.Scan == ScanMergeBack {
		st.ScanListed = cp.MergeBack.Listed
	}
	cp.Recent = ps.recent()
	cp.Rates = mergeRates(cp.Rates, ps.rates)
	st.Watermark = cp.Watermark
	st.Lag = Lag(cp, e.opts.Now())
	cp.History = append(cp.History, RunSample{At: started, LagSeconds: st.Lag.Seconds(), Writes: int64(st.Writes), OK: runErr == nil})
	if n := len(cp.History); n > HistoryLen {
		cp.History = append([]RunSample(nil), cp.History[n-HistoryLen:]...)
	}
	if _, err := e.store.Save(commitCtx, cp); err != nil {
		// Someone took the stream (our lease ran out): the checkpoint is not ours to
		// write. The standby writes made are idempotent and stay. Or the store
		// failed: then the lease is still ours, and the failure must not hide.
		cerr := &CommitError{Err: err}
		if rerr := e.releaseAfterFailedCommit(commitCtx, p.Name, runID, started, errors.Join(runErr, cerr)); rerr != nil {
			log.Error("run's outcome not recorded; its lease stays until it expires", "err", rerr)
		}
		return st, errors.Join(runErr, cerr)
	}
	if runErr != nil {
		return st, runErr
	}
	if st.ScanDone && st.Scan != ScanIncremental {
		log.Info("scan done", "scan", st.Scan, "writes", st.Writes, "watermark", cp.Watermark)
	}
	if st.ReconcileDone {
		log.Info("reconciliation done", "healed", cp.LastHealed)
	}
	return st, nil
}

// runAll runs what a run does when it may write: the merge-back first, when one is
// pending, then the forward scan and a reconciliation beside it. Nothing is written
// into the standby before the merge-back completes.
func (ps *pass) runAll(ctx context.Context) error {
	cp, st := ps.cp, ps.st
	if cp.MergeBack.Kind != "" {
		if cp.MergeBack.Kind != ScanMergeBack {
			// A kind this version does not know: still a listing of the old side.
			cp.MergeBack.Kind = ScanMergeBack
		}
		st.Scan, st.FullSync = ScanMergeBack, false
		if cp.MergeBack.Cursor == "" {
			ps.log.Info("merge-back starting", "direction", st.Direction)
		}
		done, err := ps.runMergeBack(ctx, &cp.MergeBack)
		if err != nil || !done {
			return err
		}
		ps.log.Info("merge-back done", "listed", cp.MergeBack.Listed, "mergedBack", cp.MergeBack.Writes)
		cp.MergeBack, cp.Rollovers = Scan{}, nil
		st.Scan, st.FullSync = cp.Scan.Kind, cp.Scan.Kind == ScanFull
		if ctx.Err() != nil {
			return errOutOfTime
		}
	}
	if cp.Scan.Cursor == "" {
		ps.log.Info("scan starting", "scan", cp.Scan.Kind, "since", cp.Scan.Since, "direction", st.Direction)
	}
	st.ScanResumed = cp.Scan.Cursor != "" || !cp.Scan.StartedAt.IsZero()
	done, err := ps.runScan(ctx, &cp.Scan)
	if err != nil || !done {
		return err
	}
	st.ScanDone = true
	ps.completeScan(&cp.Scan)
	// A reconciliation goes on beside replication, with the time a run has left, so
	// that comparing a large account whole never holds up new changes.
	if ctx.Err() == nil && ps.engine.reconcileDue(*cp) {
		if cp.Reconcile.Kind == "" {
			cp.Reconcile = Scan{Kind: ScanReconcile}
		}
		st.Reconcile = true
		rdone, err := ps.runScan(ctx, &cp.Reconcile)
		if err == nil && rdone {
			st.ReconcileDone = true
			ps.completeScan(&cp.Reconcile)
		}
		return err
	}
	return nil
}

// CommitError is a run whose outcome could not be recorded in its checkpoint: its
// lease may still be held, and its LastError may be missing. Callers must treat it as
// a failure of its own, whatever else the run returned (a throttled run included).
type CommitError struct{ Err error }

func (e *CommitError) Error() string { return "commit checkpoint: " + e.Err.Error() }
func (e *CommitError) Unwrap() error { return e.Err }

// releaseAfterFailedCommit records a run whose final commit failed: on a fresh read,
// and only if the stream is still this run's, it writes the error and releases the
// lease, touching nothing else (the checkpoint may hold another's changes).
func (e *Engine) releaseAfterFailedCommit(ctx context.Context, pair, runID string, started time.Time, runErr error) error {
	cp, _, err := e.store.Load(ctx, pair)
	if err != nil {
		return fmt.Errorf("reload checkpoint: %w", err)
	}
	if cp.LeaseOwner != runID {
		return nil // another run or a failover holds it: not ours to write
	}
	cp.LeaseOwner, cp.LeaseUntil = "", time.Time{}
	cp.Runs++
	cp.LastRun = started
	cp.LastError = runErr.Error()
	cp.History = append(cp.History, RunSample{At: started, LagSeconds: Lag(cp, e.opts.Now()).Seconds(), OK: false})
	if n := len(cp.History); n > HistoryLen {
		cp.History = append([]RunSample(nil), cp.History[n-HistoryLen:]...)
	}
	if _, err := e.store.Save(ctx, cp); err != nil {
		return fmt.Errorf("record the failed commit: %w", err)
	}
	return nil
}

// cutShort tells a call cut short by the run's own deadline from one that failed: an
// adapter reports a call that had failed tries before the deadline as Unavailable,
// but one whose only try the deadline ended (after the endpoint had answered, say)
// says so with CutByCaller.
func cutShort(err error) bool {
	var c interface{ CutByCaller() bool }
	return drerr.Is(err, drerr.Interrupted) ||
		errors.Is(err, context.DeadlineExceeded) && (drerr.CodeOf(err) == drerr.Internal || errors.As(err, &c) && c.CutByCaller())
}

// nextScan decides what the next scan lists: everything when no full sync has
// completed, else what changed since the watermark less the overlap.
func (e *Engine) nextScan(cp Checkpoint, p Pair) Scan {
	if cp.Watermark.IsZero() {
		return Scan{Kind: ScanFull}
	}
	return Scan{Kind: ScanIncremental, Since: cp.Watermark.Add(-p.Overlap)}
}

// reconcileDue says a reconciliation is under way or its time has come.
func (e *Engine) reconcileDue(cp Checkpoint) bool {
	return cp.Reconcile.Kind != "" || (e.opts.ReconcileEvery > 0 && !cp.Watermark.IsZero() &&
		e.serviceNow(cp, e.opts.Now()).Sub(cp.LastReconciled) >= e.opts.ReconcileEvery)
}

func (e *Engine) serviceNow(cp Checkpoint, local time.Time) time.Time {
	return local.Add(cp.ClockOffset)
}

// Lag is how far the standby is behind on the active side's service clock: the
// service's now (this machine's clock corrected by the measured offset) less the
// watermark. -1s when no full sync has completed.
func Lag(cp Checkpoint, local time.Time) time.Duration {
	if cp.Watermark.IsZero() {
		return -time.Second
	}
	return max(0, local.Add(cp.ClockOffset).Sub(cp.Watermark))
}
