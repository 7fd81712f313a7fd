// Package replicationtest provides in-memory doubles of the replication ports for
// tests: an integration account and a checkpoint store. Not for production use.
package replicationtest

import (
	"context"
	"encoding/json"
	"maps"
	"sort"
	"strconv"
	"sync"
	"time"

	"integration-dr/drerr"
	"integration-dr/replication"
	"integration-dr/session"
)

// Account is an in-memory integration account. Like the service, it stamps each
// write with its own changedTime.
type Account struct {
	mu       sync.Mutex
	sessions map[string]session.Session
	clock    time.Time
	// PageSize is the list page size (default 50).
	PageSize int
	// FailPutAfter, when > 0, makes every Put after that many succeed fail.
	FailPutAfter int
	// IgnoreFilter lists everything whatever since says, as a service that ignores
	// $filter would.
	IgnoreFilter bool
	// RefuseCursors makes every saved cursor expired, as a service might after a while.
	RefuseCursors bool

	Puts, Gets, Lists int
	// Order records the names written, in order.
	Order []string
}

var _ replication.Account = (*Account)(nil)

// NewAccount returns an empty account whose clock starts at start.
func NewAccount(start time.Time) *Account {
	return &Account{sessions: map[string]session.Session{}, clock: start, PageSize: 50}
}

// Set writes a session as the service would, stamping changedTime, and returns it.
func (a *Account) Set(name string, content json.RawMessage) session.Session {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.clock = a.clock.Add(time.Millisecond)
	s := session.Session{Name: name, ChangedTime: a.clock, Content: content}
	a.sessions[name] = s
	return s
}

// SetAt writes a session with a given changedTime: a change that becomes visible late.
func (a *Account) SetAt(name string, content json.RawMessage, changed time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sessions[name] = session.Session{Name: name, ChangedTime: changed, Content: content}
}

// Snapshot returns name → content.
func (a *Account) Snapshot() map[string]json.RawMessage {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]json.RawMessage{}
	for n, s := range a.sessions {
		out[n] = s.Content
	}
	return out
}

// Now is the account's service clock.
func (a *Account) Now() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.clock
}

// Advance moves the account's service clock forward, as time passing would.
func (a *Account) Advance(d time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.clock = a.clock.Add(d)
}

// List pages through sessions in name order, as the service's skiptoken paging does;
// the cursor is the last name of the previous page. Each page carries the service's
// clock as an HTTP Date header would: whole seconds.
func (a *Account) List(ctx context.Context, since time.Time, cursor string, page func(replication.Page) error) error {
	if cursor != "" && a.RefuseCursors {
		return drerr.Errorf(drerr.Invalid, "list", "cursor %q expired", cursor)
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		a.mu.Lock()
		a.Lists++
		var all []session.Session
		for _, s := range a.sessions {
			if (a.IgnoreFilter || !s.ChangedTime.Before(since)) && s.Name > cursor {
				all = append(all, s)
			}
		}
		date := a.clock.Truncate(time.Second)
		a.mu.Unlock()
		sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
		pg := replication.Page{Sessions: all[:min(a.PageSize, len(all))], Date: date}
		if len(all) > a.PageSize {
			pg.Next = all[a.PageSize-1].Name
		}
		if err := page(pg); err != nil {
			return err
		}
		if pg.Next == "" {
			return nil
		}
		cursor = pg.Next
	}
}

func (a *Account) Get(_ context.Context, name string) (session.Session, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.Gets++
	s, ok := a.sessions[name]
	if !ok {
		return session.Session{}, drerr.Errorf(drerr.NotFound, "get", "session %s not found", name)
	}
	return s, nil
}

func (a *Account) Put(_ context.Context, s session.Session) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.FailPutAfter > 0 && a.Puts >= a.FailPutAfter {
		return drerr.Errorf(drerr.Unavailable, "put", "injected failure after %d writes", a.FailPutAfter)
	}
	a.Puts++
	a.Order = append(a.Order, s.Name)
	a.clock = a.clock.Add(time.Millisecond)
	a.sessions[s.Name] = session.Session{Name: s.Name, ChangedTime: a.clock, Content: s.Content}
	return nil
}

// Store is an in-memory replication.Store with ETag semantics.
type Store struct {
	mu      sync.Mutex
	cps     map[string]replication.Checkpoint
	regions map[string]replication.ActiveRegion
	version int
	// RefuseSave, when set, makes the saves it returns true for fail, as when the
	// process dies or the store goes away at that point.
	RefuseSave func(replication.Checkpoint) bool
}

var _ replication.Store = (*Store)(nil)

func NewStore() *Store {
	return &Store{cps: map[string]replication.Checkpoint{}, regions: map[string]replication.ActiveRegion{}}
}

func (s *Store) Load(ctx context.Context, pair string) (replication.Checkpoint, replication.ActiveRegion, error) {
	if err := ctx.Err(); err != nil {
		return replication.Checkpoint{}, replication.ActiveRegion{}, drerr.E(drerr.Interrupted, "load", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cp, ok := s.cps[pair]
	if !ok {
		cp = replication.Checkpoint{Pair: pair}
	}
	cp.Recent = maps.Clone(cp.Recent)
	cp.Rollovers = maps.Clone(cp.Rollovers)
	r, ok := s.regions[pair]
	if !ok {
		r = replication.ActiveRegion{Active: replication.Primary}
	}
	return cp, r, nil
}

// SetActiveRegion is a compare-and-swap on the record's ETag, as the table store's.
func (s *Store) SetActiveRegion(_ context.Context, pair string, r replication.ActiveRegion) (replication.ActiveRegion, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.regions[pair]; (ok && cur.ETag != r.ETag) || (!ok && r.ETag != "") {
		return r, drerr.Errorf(drerr.Conflict, "set active region", "etag mismatch")
	}
	s.version++
	r.ETag = strconv.Itoa(s.version)
	s.regions[pair] = r
	return r, nil
}

// Save, like a real store, fails on a context that has ended.
func (s *Store) Save(ctx context.Context, cp replication.Checkpoint) (replication.Checkpoint, error) {
	if err := ctx.Err(); err != nil {
		return cp, drerr.E(drerr.Interrupted, "save", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.RefuseSave != nil && s.RefuseSave(cp) {
		return cp, drerr.Errorf(drerr.Unavailable, "save", "injected store failure")
	}
	if cur, ok := s.cps[cp.Pair]; (ok && cur.ETag != cp.ETag) || (!ok && cp.ETag != "") {
		return cp, drerr.Errorf(drerr.Conflict, "save", "etag mismatch")
	}
	s.version++
	cp.ETag = strconv.Itoa(s.version)
	cp.Recent = maps.Clone(cp.Recent)
	cp.Rollovers = maps.Clone(cp.Rollovers)
	s.cps[cp.Pair] = cp
	return cp, nil
}

// SetRegion sets a pair's active-region record unconditionally, as a failover landing
// from outside would.
func (s *Store) SetRegion(pair string, r replication.ActiveRegion) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version++
	r.ETag = strconv.Itoa(s.version)
	s.regions[pair] = r
}
