package replication

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"integration-dr/drerr"
	"integration-dr/session"
)

// runMergeBack lists the standby — the old active side, fenced by now — whole, from
// the scan's cursor, and brings into the active side what the old side held alone
// (session.MergeBack): received numbers as a union, generated numbers where the old
// side's is higher. Like any scan it resumes across runs, rechecks the lease and the
// epoch between batches and stays within the read and write budgets. It reports
// whether the listing completed.
func (ps *pass) runMergeBack(ctx context.Context, scan *Scan) (bool, error) {
	ps.scan, ps.digest = scan, nil
	return ps.listScan(ctx, ps.standby, scan, func(pg Page) error { return ps.mergePage(ctx, pg) }, "list the old side's sessions for the merge-back")
}

// mergePage handles one page of the old side: everything on it is merged into the
// active side before the cursor moves past it.
func (ps *pass) mergePage(ctx context.Context, pg Page) error {
	scan := ps.scan
	ps.st.Pages++
	if scan.Cursor == "" && scan.StartedAt.IsZero() {
		scan.StartedAt = pg.Date
	}
	byName := map[string]item{}
	for _, s := range pg.Sessions {
		if prev, ok := byName[s.Name]; ok && !newer(s, prev.s) {
			continue
		}
		byName[s.Name] = item{s: s}
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
	if err := ps.inBatches(ctx, items, ps.mergeBatch); err != nil {
		return err
	}
	scan.Listed += int64(len(pg.Sessions))
	ps.progress = true
	if pg.Next == "" {
		return nil
	}
	scan.Cursor = pg.Next
	if err := ps.saveProgress(ctx); err != nil {
		return err
	}
	return wait(ctx, ps.engine.limits.Reads, "read")
}

// mergeBatch merges a batch into the active side, generated numbers first.
func (ps *pass) mergeBatch(ctx context.Context, items []item) error {
	return ps.byKind(ctx, items, "merge back", ps.mergeOne)
}

// mergeOne brings one session of the old side into the active side if
// session.MergeBack says so.
func (ps *pass) mergeOne(ctx context.Context, it item) error {
	if err := wait(ctx, ps.engine.limits.Reads, "read"); err != nil {
		return err
	}
	var current *session.Session
	cur, err := ps.active.Get(ctx, it.s.Name)
	switch {
	case err == nil:
		current = &cur
	case drerr.Is(err, drerr.NotFound):
	default:
		return fmt.Errorf("read active session %q: %w", it.s.Name, err)
	}
	ps.mu.Lock()
	ps.st.Reads++
	ps.mu.Unlock()
	// A session the move rolled over on the active side stays in its new cycle.
	rolledFrom := ps.cp.Rollovers[strings.ToLower(it.s.Name)]
	out, write, err := session.MergeBackAfterRollover(it.s, current, ps.engine.opts.Now(), rolledFrom)
	if err != nil {
		// The two numbers cannot be compared: nothing is written, and it is said loudly,
		// for a number the old side sent may be above the active side's.
		ps.log.Error("merge-back cannot compare a session; the active side keeps its copy", "session", it.s.Name, "err", err)
		return nil
	}
	if !write {
		return nil
	}
	if current != nil {
		// The active side sends while this runs and a Put is not conditional: read
		// again right before raising, so a number it moved on meanwhile is not lowered.
		if err := wait(ctx, ps.engine.limits.Reads, "read"); err != nil {
			return err
		}
		again, err := ps.active.Get(ctx, it.s.Name)
		if err != nil {
			return fmt.Errorf("read active session %q: %w", it.s.Name, err)
		}
		if out, write, err = session.MergeBackAfterRollover(it.s, &again, ps.engine.opts.Now(), rolledFrom); err != nil || !write {
			return nil
		}
	}
	if err := wait(ctx, ps.engine.limits.Writes, "write"); err != nil {
		return err
	}
	if err := ps.timeLeft(ctx); err != nil {
		return err
	}
	if err := ps.active.Put(ctx, out); err != nil {
		return fmt.Errorf("write active session %q: %w", it.s.Name, err)
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.st.MergedBack++
	ps.scan.Writes++
	verb := "copied"
	if current != nil {
		verb = "raised"
	}
	ps.log.Warn("merge-back: the old side held what the active side lacked", "session", it.s.Name, "kind", it.kind.String(), "action", verb)
	return nil
}
