package replication

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
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
	// Overlap is how far behind the watermark each run re-lists, for changes that
	// become visible late (clock skew, slow commits on the service side).
	Overlap time.Duration
}

// Engine runs replication passes. Its zero value is not usable: use NewEngine.
type Engine struct {
	store   Store
	limiter *rate.Limiter
	log     *slog.Logger
	opts    Options
}

// Options tune the engine. Zero fields take the defaults documented on each.
type Options struct {
	// Lease is how long a run may hold its stream (default 2m). A run stops writing
	// before its lease ends, so a stalled or killed run blocks others at most this long.
	Lease time.Duration
	// Workers write to the standby in parallel within a batch (default 8).
	Workers int
	// BatchSize bounds how many distinct sessions are held in memory at once
	// (default 500): memory stays flat however many sessions an account holds.
	BatchSize int
	// RecentLimit bounds the overlap memory kept in the checkpoint (default 2000).
	RecentLimit int
	// ProgressEvery logs full-sync progress after this many sessions (default 5000).
	ProgressEvery int
	// Now and NewRunID are injectable for tests.
	Now      func() time.Time
	NewRunID func() string
}

// NewEngine builds an engine whose writes, across all pairs, stay within limiter.
func NewEngine(store Store, limiter *rate.Limiter, log *slog.Logger, opts Options) *Engine {
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
	if opts.ProgressEvery <= 0 {
		opts.ProgressEvery = 5000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.NewRunID == nil {
		opts.NewRunID = randomID
	}
	return &Engine{store: store, limiter: limiter, log: log, opts: opts}
}

// Run makes one replication pass over the pair: everything changed on the active side
// since the checkpoint ends up on the standby, and the checkpoint moves past it.
// A run that finds the stream held by another run returns Stats.Skipped set and no
// error; a run that fails leaves the watermark where it was, so the next run repeats
// the work (writes are idempotent).
func (e *Engine) Run(ctx context.Context, p Pair) (Stats, error) {
	st := Stats{Pair: p.Name, WritesByKind: map[string]int{}}
	log := e.log.With("pair", p.Name, "stream", "sessions")

	cp, region, err := e.store.Load(ctx, p.Name)
	if err != nil {
		return st, fmt.Errorf("load checkpoint: %w", err)
	}
	now := e.opts.Now()
	if cp.LeaseOwner != "" && now.Before(cp.LeaseUntil) {
		st.Skipped = "another run holds the stream until " + cp.LeaseUntil.UTC().Format(time.RFC3339)
		return st, nil
	}

	// Claim the stream. Whoever loses this ETag race stops before touching the standby.
	runID := e.opts.NewRunID()
	cp.Pair = p.Name
	cp.LeaseOwner, cp.LeaseUntil = runID, now.Add(e.opts.Lease)
	if cp.Epoch != region.Epoch || cp.Recent == nil {
		if cp.Epoch != region.Epoch {
			cp.Watermark, cp.SyncedThrough = time.Time{}, time.Time{}
		}
		cp.Epoch, cp.Recent = region.Epoch, map[string]time.Time{}
	}
	cp, err = e.store.Save(ctx, cp)
	if drerr.Is(err, drerr.Conflict) {
		st.Skipped = "another run claimed the stream first"
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("claim stream: %w", err)
	}

	// Stop work with a margin before the lease ends, so no write lands after another
	// run may have taken over.
	runCtx, cancel := context.WithDeadline(ctx, cp.LeaseUntil.Add(-e.opts.Lease/10))
	defer cancel()

	active, standby := p.Primary, p.Secondary
	if region.Active == Secondary {
		active, standby = p.Secondary, p.Primary
	}
	st.Direction = fmt.Sprintf("%s->%s", region.Active, region.Active.Other())
	st.FullSync = cp.Watermark.IsZero()
	if st.FullSync {
		log.Info("full sync starting", "direction", st.Direction)
	}

	started := e.opts.Now()
	pass := &pass{engine: e, pair: p, standby: standby, cp: &cp, st: &st, log: log}
	runErr := pass.run(runCtx, active)

	// Record the outcome and release the lease. On failure the watermark stays.
	cp.Runs++
	cp.LastRun = started
	cp.LastDuration = e.opts.Now().Sub(started)
	cp.Writes += int64(st.Writes)
	cp.LastWrites, cp.LastListed = int64(st.Writes), int64(st.Listed)
	cp.LeaseOwner, cp.LeaseUntil = "", time.Time{}
	if runErr == nil {
		cp.Watermark = pass.watermark()
		cp.SyncedThrough = started
		cp.LastError = ""
	} else {
		cp.LastError = runErr.Error()
	}
	// Even a failed run keeps what it proved is on the standby, so the next run does
	// not redo it: under sustained throttling or slowness every run gets further.
	cp.Recent = pass.recent(cp.Watermark)
	st.Watermark = cp.Watermark
	if !cp.SyncedThrough.IsZero() {
		st.Lag = e.opts.Now().Sub(cp.SyncedThrough)
	}
	if _, err := e.store.Save(ctx, cp); err != nil {
		// Someone took the stream (our lease ran out): the watermark we hold is not
		// ours to write. The standby writes made are idempotent and stay.
		return st, errors.Join(runErr, fmt.Errorf("commit checkpoint: %w", err))
	}
	if runErr != nil {
		return st, runErr
	}
	if st.FullSync {
		log.Info("full sync done", "listed", st.Listed, "writes", st.Writes)
	}
	return st, nil
}

// pass is the state of one run over one stream.
type pass struct {
	engine  *Engine
	pair    Pair
	standby Sink
	cp      *Checkpoint
	st      *Stats
	log     *slog.Logger

	maxSeen time.Time
	logged  int
	batch   map[string]session.Session
	done    map[string]time.Time // replicated (or proven present) in this run
	mu      sync.Mutex
}

func (ps *pass) run(ctx context.Context, active Source) error {
	var since time.Time
	if !ps.cp.Watermark.IsZero() {
		since = ps.cp.Watermark.Add(-ps.pair.Overlap)
	}
	ps.batch = map[string]session.Session{}
	ps.done = map[string]time.Time{}
	err := active.ListChanged(ctx, since, func(page []session.Session) error {
		ps.st.Pages++
		for _, s := range page {
			if !since.IsZero() && s.ChangedTime.Before(since) {
				continue // the service ignored or widened the filter
			}
			ps.st.Listed++
			if s.ChangedTime.After(ps.maxSeen) {
				ps.maxSeen = s.ChangedTime
			}
			if t, ok := ps.cp.Recent[s.Name]; ok && t.Equal(s.ChangedTime) {
				ps.st.RescanSkipped++
				ps.done[s.Name] = t
				continue
			}
			// Coalesce: several changes of one session become one write of its newest state.
			if prev, ok := ps.batch[s.Name]; !ok || s.ChangedTime.After(prev.ChangedTime) {
				ps.batch[s.Name] = s
			}
			if len(ps.batch) >= ps.engine.opts.BatchSize {
				if err := ps.flush(ctx); err != nil {
					return err
				}
				if err := ps.saveProgress(ctx); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list active sessions: %w", err)
	}
	return ps.flush(ctx)
}

type item struct {
	s    session.Session
	kind session.Kind
}

// flush writes the batch to the standby, generated control numbers first: if the run
// is cut short, the numbers that protect partners from duplicates are already there.
func (ps *pass) flush(ctx context.Context) error {
	items := make([]item, 0, len(ps.batch))
	for _, s := range ps.batch {
		k := session.Classify(s.Name, session.ParseContent(s.Content))
		if len(ps.pair.Kinds) > 0 && !ps.pair.Kinds[k] {
			continue
		}
		items = append(items, item{s, k})
	}
	clear(ps.batch)
	sort.Slice(items, func(i, j int) bool {
		if ri, rj := writeRank(items[i].kind), writeRank(items[j].kind); ri != rj {
			return ri < rj
		}
		return items[i].s.Name < items[j].s.Name
	})
	ps.st.Candidates += len(items)

	// One kind at a time, so no received number is written while a generated one is pending.
	for start := 0; start < len(items); {
		end := start
		for end < len(items) && items[end].kind == items[start].kind {
			end++
		}
		if err := ps.writeAll(ctx, items[start:end]); err != nil {
			return err
		}
		start = end
	}
	if ps.st.FullSync && ps.st.Listed-ps.logged >= ps.engine.opts.ProgressEvery {
		ps.logged = ps.st.Listed
		ps.log.Info("full sync progress", "listed", ps.st.Listed, "writes", ps.st.Writes)
	}
	return nil
}

// writeRank orders kinds as session.Kinds lists them.
func writeRank(k session.Kind) int {
	for i, kk := range session.Kinds {
		if kk == k {
			return i
		}
	}
	return len(session.Kinds)
}

func (ps *pass) writeAll(ctx context.Context, items []item) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	work := make(chan item)
	var wg sync.WaitGroup
	for range min(ps.engine.opts.Workers, len(items)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range work {
				if err := ps.replicate(ctx, it); err != nil {
					cancel(err)
				}
			}
		}()
	}
	for _, it := range items {
		if ctx.Err() != nil {
			break
		}
		work <- it
	}
	close(work)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return nil
}

// replicate brings one session to the standby if the merge rule says so.
func (ps *pass) replicate(ctx context.Context, it item) error {
	current, err := ps.standby.Get(ctx, it.s.Name)
	var standby *session.Session
	switch {
	case err == nil:
		standby = &current
	case drerr.Is(err, drerr.NotFound):
	default:
		return fmt.Errorf("read standby session %q: %w", it.s.Name, err)
	}
	verdict := session.Decide(it.s, standby)
	if verdict == session.Write {
		if err := ps.engine.limiter.Wait(ctx); err != nil {
			if ctx.Err() == nil || errors.Is(ctx.Err(), context.DeadlineExceeded) {
				// The budget allows no more writes before this run's lease ends.
				return drerr.E(drerr.Throttled, "write budget", fmt.Errorf("no budget left in this run; the next tick resumes: %w", err))
			}
			return fmt.Errorf("write budget: %w", err)
		}
		if err := ps.standby.Put(ctx, it.s); err != nil {
			return fmt.Errorf("write standby session %q: %w", it.s.Name, err)
		}
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.st.Reads++
	switch verdict {
	case session.Write:
		ps.st.Writes++
		ps.st.WritesByKind[it.kind.String()]++
	case session.Same:
		ps.st.Same++
	case session.StandbyNewer:
		ps.st.StandbyNewer++
		ps.log.Warn("standby holds a newer state; not moving it back", "session", it.s.Name)
	}
	ps.done[it.s.Name] = it.s.ChangedTime
	return nil
}

// watermark is where the next run starts: past everything listed in this run.
func (ps *pass) watermark() time.Time {
	// Only the service's own changedTime may move the watermark: this machine's clock
	// is not the service's. An empty account stays at zero (a full, empty listing).
	if ps.maxSeen.After(ps.cp.Watermark) {
		return ps.maxSeen
	}
	return ps.cp.Watermark
}

// saveProgress records, between batches, what this run has put on the standby, so
// that a run killed later does not redo it. The watermark does not move: the listing
// is not in changedTime order. Losing the ETag race here means another run took the
// stream: stop.
func (ps *pass) saveProgress(ctx context.Context) error {
	ps.cp.Recent = ps.recent(ps.cp.Watermark)
	saved, err := ps.engine.store.Save(ctx, *ps.cp)
	if err != nil {
		return fmt.Errorf("save progress: %w", err)
	}
	*ps.cp = saved
	return nil
}

// recent keeps what this run replicated inside the overlap window behind watermark,
// which is what the next run re-lists.
func (ps *pass) recent(watermark time.Time) map[string]time.Time {
	floor := watermark.Add(-ps.pair.Overlap)
	out := map[string]time.Time{}
	// This run's entries first: they are newer than what the checkpoint held.
	for _, src := range []map[string]time.Time{ps.done, ps.cp.Recent} {
		for name, t := range src {
			if _, ok := out[name]; !ok && !t.Before(floor) && len(out) < ps.engine.opts.RecentLimit {
				out[name] = t
			}
		}
	}
	return out
}
