package replication

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"runtime/debug"
	"sort"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"integration-dr/drerr"
	"integration-dr/session"
)

// pass is the state of one run over one stream.
type pass struct {
	engine  *Engine
	pair    Pair
	active  Account
	standby Account
	cp      *Checkpoint
	st      *Stats
	log     *slog.Logger
	epoch   int64
	// deadline is the run's LeaseUntil less the stop margin, on the engine's clock: no
	// write starts at or after it.
	deadline time.Time

	// scan is the listing being worked on: the checkpoint's Scan, then its Reconcile.
	scan    *Scan
	checked bool // the stream and the epoch were verified since the last batch
	// progress says a page was handled in this run.
	progress bool
	logged   int64
	// done holds, per session handled in this run, the active changedTime of the state
	// the standby now holds and its digest: a later page listing an older state of the
	// same session does not write it, and the next run skips it.
	done map[string]Seen
	// remembered names the sessions in done on the overlap memory's word alone, not
	// on a look at the standby: a reconciliation does not take them as handled, since
	// the standby may have lost them since that memory was written (rebuilt, restored).
	remembered map[string]bool
	// digest is the standby's listing, for a reconciliation scan: name hash → content
	// digest of what the standby holds, kept current with this run's own writes.
	// Compact, so memory stays small for large accounts; nil: read the standby.
	digest map[uint64]uint64
	// rates are this run's observed rates of generated numbers.
	rates map[string]float64
	mu    sync.Mutex
}

type item struct {
	s      session.Session
	kind   session.Kind
	digest uint64
}

// runScan lists scan from its cursor to its end, or until the run's time is up. It
// reports whether the listing completed.
func (ps *pass) runScan(ctx context.Context, scan *Scan) (bool, error) {
	if ps.done == nil {
		ps.done, ps.remembered = map[string]Seen{}, map[string]bool{}
	}
	ps.scan, ps.digest = scan, nil
	if scan.Kind == ScanReconcile && !scan.NoDigest {
		if err := ps.loadDigest(ctx); err != nil {
			if !errors.Is(err, errOutOfTime) && ctx.Err() == nil {
				return false, fmt.Errorf("list standby sessions: %w", err)
			}
			// The standby is too large to list within a lease: compare it one
			// session at a time instead, which resumes page by page like any scan.
			ps.log.Warn("standby listing does not fit in a run; reconciling with one read per session")
			scan.NoDigest, ps.digest = true, nil
			return false, errOutOfTime
		}
	}
	return ps.listScan(ctx, ps.active, scan, func(pg Page) error { return ps.page(ctx, pg) }, "list active sessions")
}

// listScan lists src from scan's cursor, handling each page; a cursor the service no
// longer accepts restarts the listing once from the start (what the other side holds
// already is skipped by content). It reports whether the listing completed.
func (ps *pass) listScan(ctx context.Context, src Source, scan *Scan, handle func(Page) error, what string) (bool, error) {
	for attempt := 0; ; attempt++ {
		err := src.List(ctx, scan.Since, scan.Cursor, handle)
		if err != nil && scan.Cursor != "" && attempt == 0 && (drerr.Is(err, drerr.Invalid) || drerr.Is(err, drerr.NotFound)) {
			ps.log.Warn("scan cursor refused; restarting the scan", "scan", scan.Kind, "err", err)
			scan.Cursor, scan.StartedAt, scan.Listed = "", time.Time{}, 0
			continue
		}
		if err != nil {
			var stale *errStale
			if errors.Is(err, errOutOfTime) || ctx.Err() != nil || errors.As(err, &stale) {
				return false, err
			}
			return false, fmt.Errorf("%s: %w", what, err)
		}
		return true, nil
	}
}

// page handles one listed page: everything on it reaches the standby before the
// scan's cursor moves past it.
func (ps *pass) page(ctx context.Context, pg Page) error {
	scan := ps.scan
	ps.st.Pages++
	local := ps.engine.opts.Now()
	if !pg.Date.IsZero() {
		// Date has whole seconds: rounding up keeps lag from being understated.
		ps.cp.ClockOffset = pg.Date.Add(time.Second).Sub(local)
	}
	if scan.Cursor == "" && scan.StartedAt.IsZero() {
		scan.StartedAt = pg.Date
		if scan.StartedAt.IsZero() {
			scan.StartedAt = ps.engine.serviceNow(*ps.cp, local).Add(-time.Second)
		}
	}
	items := ps.collect(pg)
	if err := ps.inBatches(ctx, items, ps.writeBatch); err != nil {
		return err
	}
	scan.Listed += int64(len(pg.Sessions))
	ps.progress = true
	if scan.Listed-ps.logged >= int64(ps.engine.opts.ProgressEvery) {
		ps.logged = scan.Listed
		ps.log.Info("scan progress", "scan", scan.Kind, "listed", scan.Listed, "writes", scan.Writes)
	}
	if pg.Next == "" {
		return nil
	}
	scan.Cursor = pg.Next
	if err := ps.saveProgress(ctx); err != nil {
		return err
	}
	// The next page is a read from the same bucket.
	return wait(ctx, ps.engine.limits.Reads, "read")
}

// collect filters a page down to what may need writing, newest state per session,
// generated control numbers first.
func (ps *pass) collect(pg Page) []item {
	since := ps.scan.Since
	futureAfter := time.Time{}
	if !pg.Date.IsZero() {
		futureAfter = pg.Date.Add(time.Second + ps.engine.opts.ClockSkew)
	}
	byName := map[string]item{}
	for _, s := range pg.Sessions {
		if !since.IsZero() && s.ChangedTime.Before(since) {
			continue // the service ignored or widened the filter
		}
		ps.st.Listed++
		if !futureAfter.IsZero() && s.ChangedTime.After(futureAfter) {
			ps.st.FutureStamped++
			ps.log.Warn("session stamped ahead of the service's clock", "session", s.Name, "changedTime", s.ChangedTime, "serviceDate", pg.Date)
		}
		d := session.Digest(s.Content)
		trusted := ps.scan.Kind != ScanReconcile || !ps.remembered[s.Name]
		if prev, ok := ps.done[s.Name]; ok && trusted && (s.ChangedTime.Before(prev.Changed) || s.ChangedTime.Equal(prev.Changed) && d == prev.Digest) {
			continue // this state, or a newer one, was handled earlier in this run
		}
		if seen, ok := ps.cp.Recent[s.Name]; ok && seen.Digest == d && ps.scan.Kind != ScanReconcile {
			// The standby holds exactly this content: no read, no write.
			ps.st.RescanSkipped++
			ps.remember(s.Name, Seen{Digest: d, Changed: s.ChangedTime})
			continue
		}
		if prev, ok := byName[s.Name]; ok && !newer(s, prev.s) {
			continue
		}
		byName[s.Name] = item{s: s, digest: d}
	}
	items := make([]item, 0, len(byName))
	for _, it := range byName {
		it.kind = session.Classify(it.s.Name, session.ParseContent(it.s.Content))
		if len(ps.pair.Kinds) > 0 && !ps.pair.Kinds[it.kind] {
			continue
		}
		items = append(items, it)
	}
	sort.Slice(items, func(i, j int) bool {
		if ri, rj := writeRank(items[i].kind), writeRank(items[j].kind); ri != rj {
			return ri < rj
		}
		return items[i].s.Name < items[j].s.Name
	})
	ps.st.Candidates += len(items)
	return items
}

// newer says whether a is a newer state of a session than b, as listed on one side:
// by changedTime, and on equal changedTimes by the content's own time.
func newer(a, b session.Session) bool {
	if !a.ChangedTime.Equal(b.ChangedTime) {
		return a.ChangedTime.After(b.ChangedTime)
	}
	return session.ParseContent(a.Content).Stamp().After(session.ParseContent(b.Content).Stamp())
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

// inBatches hands items to do a batch at a time, checking before each that the run
// still has time, still owns its stream and that the epoch has not changed.
func (ps *pass) inBatches(ctx context.Context, items []item, do func(context.Context, []item) error) error {
	for start := 0; start < len(items); start += ps.engine.opts.BatchSize {
		if err := ps.timeLeft(ctx); err != nil {
			return err
		}
		if !ps.checked {
			if err := ps.recheck(ctx); err != nil {
				return err
			}
		}
		ps.checked = false
		if err := do(ctx, items[start:min(start+ps.engine.opts.BatchSize, len(items))]); err != nil {
			return err
		}
	}
	return nil
}

// writeBatch brings a batch to the standby, one kind at a time in write order, so no
// received number is written while a generated one is pending: if the run is cut
// short, the numbers that protect partners from duplicates are already there.
func (ps *pass) writeBatch(ctx context.Context, items []item) error {
	return ps.byKind(ctx, items, "replicate", ps.replicate)
}

// byKind runs do over a batch sorted by kind, one kind at a time, each kind's items in
// parallel within the engine's workers; a panic in a worker is its error.
func (ps *pass) byKind(ctx context.Context, items []item, what string, do func(context.Context, item) error) error {
	for start := 0; start < len(items); {
		end := start
		for end < len(items) && items[end].kind == items[start].kind {
			end++
		}
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(ps.engine.opts.Workers)
		for _, it := range items[start:end] {
			g.Go(func() (err error) {
				defer func() {
					if v := recover(); v != nil {
						ps.log.Error("panic in a "+what+" worker", "session", it.s.Name, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
						err = drerr.Errorf(drerr.Internal, what+" "+it.s.Name, "panic: %v", v)
					}
				}()
				return do(gctx, it)
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// replicate brings one session to the standby if the merge rule says so.
func (ps *pass) replicate(ctx context.Context, it item) error {
	standby, read, err := ps.standbyCopy(ctx, it)
	if err != nil {
		return err
	}
	verdict := session.Decide(it.s, standby)
	if verdict == session.Write {
		if err := wait(ctx, ps.engine.limits.Writes, "write"); err != nil {
			return err
		}
		if err := ps.timeLeft(ctx); err != nil {
			return err
		}
		if err := ps.standby.Put(ctx, it.s); err != nil {
			return fmt.Errorf("write standby session %q: %w", it.s.Name, err)
		}
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if verdict == session.Write && it.kind == session.Generated && standby != nil {
		if r, ok := observedRate(*standby, it.s); ok {
			if ps.rates == nil {
				ps.rates = map[string]float64{}
			}
			ps.rates[it.s.Name] = max(ps.rates[it.s.Name], r)
		}
	}
	if read {
		ps.st.Reads++
	}
	switch verdict {
	case session.Write:
		ps.st.Writes++
		ps.scan.Writes++
		ps.st.WritesByKind[it.kind.String()]++
		if ps.scan.Kind == ScanReconcile {
			ps.st.Healed++
			ps.log.Warn("reconciliation healed a session", "session", it.s.Name)
		}
	case session.Same:
		ps.st.Same++
	case session.StandbyNewer:
		ps.st.StandbyNewer++
		ps.log.Warn("standby holds a newer state; not moving it back", "session", it.s.Name)
	}
	delete(ps.remembered, it.s.Name) // seen on the standby now
	if verdict != session.StandbyNewer {
		ps.done[it.s.Name] = Seen{Digest: it.digest, Changed: it.s.ChangedTime}
		if ps.digest != nil {
			ps.digest[nameKey(it.s.Name)] = it.digest // the standby holds this now
		}
	} else {
		// Nothing to remember as held; but a later page must not write an older state.
		ps.done[it.s.Name] = Seen{Changed: it.s.ChangedTime}
	}
	return nil
}

// observedRate is how fast a generated number moved between the standby's copy and
// the active side's state: numbers per second of the content's own time.
func observedRate(old, cur session.Session) (float64, bool) {
	o, c := session.ParseContent(old.Content), session.ParseContent(cur.Content)
	on, err1 := strconv.ParseInt(o.ControlNumber, 10, 64)
	cn, err2 := strconv.ParseInt(c.ControlNumber, 10, 64)
	dt := c.ControlNumberChangedTime.Sub(o.ControlNumberChangedTime).Seconds()
	if err1 != nil || err2 != nil || cn <= on || dt <= 0 || o.ControlNumberChangedTime.IsZero() {
		return 0, false // unreadable, a rollover, or no time between them
	}
	return float64(cn-on) / dt, true
}

// maxRates bounds the rates kept in a checkpoint.
const maxRates = 20000

// mergeRates keeps, per session, the newest observation, or half the last one where
// that is higher: a burst raises the margin at once and fades over a few runs.
func mergeRates(old, run map[string]float64) map[string]float64 {
	if len(run) == 0 {
		return old
	}
	out := make(map[string]float64, len(old)+len(run))
	for name, r := range old {
		out[name] = r
	}
	for name, r := range run {
		out[name] = max(r, out[name]/2)
	}
	for name := range out {
		if len(out) <= maxRates {
			break
		}
		if _, fresh := run[name]; !fresh {
			delete(out, name)
		}
	}
	return out
}

// standbyCopy returns the standby's copy of the session (nil: it has none) and
// whether it took a read. A reconciliation scan answers from the standby's listing
// where it can.
func (ps *pass) standbyCopy(ctx context.Context, it item) (*session.Session, bool, error) {
	// Workers record their own writes in the listing under ps.mu: read it under it too.
	ps.mu.Lock()
	listed := ps.digest != nil
	d, ok := ps.digest[nameKey(it.s.Name)]
	ps.mu.Unlock()
	if listed {
		switch {
		case !ok:
			return nil, false, nil
		case d == it.digest:
			return &it.s, false, nil
		}
	}
	if err := wait(ctx, ps.engine.limits.Reads, "read"); err != nil {
		return nil, false, err
	}
	current, err := ps.standby.Get(ctx, it.s.Name)
	switch {
	case err == nil:
		return &current, true, nil
	case drerr.Is(err, drerr.NotFound):
		return nil, true, nil
	default:
		return nil, true, fmt.Errorf("read standby session %q: %w", it.s.Name, err)
	}
}

// timeLeft says whether the run may still start a write: before its deadline on the
// engine's clock, so that no write starts once the lease another run may take over is
// over, however late a call answered.
func (ps *pass) timeLeft(ctx context.Context) error {
	if ctx.Err() != nil || !ps.engine.opts.Now().Before(ps.deadline) {
		return errOutOfTime
	}
	return nil
}

// wait takes a token from an ARM budget, or says the run is out of time.
func wait(ctx context.Context, l interface{ Wait(context.Context) error }, what string) error {
	if err := l.Wait(ctx); err != nil {
		if ctx.Err() == nil || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("%s budget: %w", what, errOutOfTime)
		}
		return fmt.Errorf("%s budget: %w", what, err)
	}
	return nil
}

// recheck proves, between batches, that the stream is still this run's and the
// direction has not changed: a run that outlived its lease, or a failover that landed
// mid-run, must not write another number.
func (ps *pass) recheck(ctx context.Context) error {
	cp, region, err := ps.engine.store.Load(ctx, ps.pair.Name)
	if err != nil {
		return fmt.Errorf("recheck stream: %w", err)
	}
	switch {
	case cp.ETag != ps.cp.ETag || cp.LeaseOwner != ps.cp.LeaseOwner:
		return drerr.E(drerr.Conflict, "recheck stream", &errStale{"another run took the stream (this run outlived its lease)"})
	case region.Epoch != ps.epoch:
		return &errStale{fmt.Sprintf("the active-region epoch changed from %d to %d mid-run (failover or fallback)", ps.epoch, region.Epoch)}
	}
	ps.checked = true
	return nil
}

// saveProgress records the scan's cursor and the overlap memory between pages, so
// that a run killed later does not redo them. Losing the ETag race here means another
// run took the stream: stop. It proves the lease, not the epoch: the next batch still
// rechecks.
func (ps *pass) saveProgress(ctx context.Context) error {
	ps.cp.Recent = ps.recent()
	// Not on the run's context: a save cut off by the run's own deadline may have
	// landed, leaving this run with an ETag that no longer matches its own write.
	saveCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	saved, err := ps.engine.store.Save(saveCtx, *ps.cp)
	if drerr.Is(err, drerr.Conflict) {
		return drerr.E(drerr.Conflict, "save progress", &errStale{"another run took the stream (this run outlived its lease)"})
	}
	if err != nil {
		return fmt.Errorf("save progress: %w", err)
	}
	*ps.cp = saved
	return nil
}

// remember records a session skipped on the overlap memory's word.
func (ps *pass) remember(name string, s Seen) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.done[name], ps.remembered[name] = s, true
}

// completeScan ends the scan that just completed. The main scan moves the watermark to
// its start on the service clock, less the skew margin: every change stamped before it
// was listed by this scan or an earlier one. A full or reconciliation scan compared
// every session: it counts as the last reconciliation.
func (ps *pass) completeScan(scan *Scan) {
	if scan.Kind != ScanReconcile {
		if wm := scan.StartedAt.Add(-ps.engine.opts.ClockSkew); wm.After(ps.cp.Watermark) {
			ps.cp.Watermark = wm
		}
	}
	if scan.Kind != ScanIncremental {
		ps.cp.LastReconciled = scan.StartedAt
	}
	if scan.Kind == ScanReconcile {
		ps.cp.LastHealed = scan.Writes
	}
	*scan = Scan{}
}

// recent is the overlap memory to keep: what this run handled first, then what the
// checkpoint held, dropping what the next listing will not reach and the oldest past
// the limit.
func (ps *pass) recent() map[string]Seen {
	// The lowest changedTime the next listing reaches: the scan under way's, or the
	// next incremental scan's.
	floor := ps.cp.Watermark.Add(-ps.pair.Overlap)
	if ps.cp.Scan.Kind != "" {
		floor = ps.cp.Scan.Since
	}
	type entry struct {
		name string
		Seen
	}
	pick := func(m map[string]Seen, skip map[string]Seen) []entry {
		var out []entry
		for name, s := range m {
			if _, dup := skip[name]; dup || s.Digest == 0 || s.Changed.Before(floor) {
				continue
			}
			out = append(out, entry{name, s})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Changed.After(out[j].Changed) })
		return out
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	out := make(map[string]Seen, min(ps.engine.opts.RecentLimit, len(ps.done)+len(ps.cp.Recent)))
	for _, e := range append(pick(ps.done, nil), pick(ps.cp.Recent, ps.done)...) {
		if len(out) >= ps.engine.opts.RecentLimit {
			break
		}
		out[e.name] = e.Seen
	}
	return out
}

// loadDigest lists the whole standby once (one read per page, not one per session)
// for a reconciliation scan.
func (ps *pass) loadDigest(ctx context.Context) error {
	ps.digest = map[uint64]uint64{}
	return ps.standby.List(ctx, time.Time{}, "", func(pg Page) error {
		if err := wait(ctx, ps.engine.limits.Reads, "read"); err != nil {
			return err
		}
		for _, s := range pg.Sessions {
			ps.digest[nameKey(s.Name)] = session.Digest(s.Content)
		}
		return nil
	})
}

// nameKey hashes a session name as ARM compares names: case-insensitively.
func nameKey(name string) uint64 {
	h := fnv.New64a()
	for _, r := range name {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		_, _ = h.Write([]byte(string(r)))
	}
	return h.Sum64()
}
