// Package journaltest is an in-memory journal.Store for tests, with the same ETag,
// lock and numbers semantics as the Table Storage one. Not for production use.
package journaltest

import (
	"bytes"
	"context"
	"slices"
	"strconv"
	"sync"
	"time"

	"integration-dr/drerr"
	"integration-dr/journal"
)

// Store is an in-memory journal.
type Store struct {
	mu      sync.Mutex
	ops     map[string]journal.Operation // by pair + "/" + id
	numbers map[string][]byte
	locks   map[string]journal.Lock
	snaps   map[string][]byte
	version int
	// Now is the clock lock expiry is judged by (default time.Now).
	Now func() time.Time
}

var _ journal.Store = (*Store)(nil)

// New returns an empty journal.
func New() *Store {
	return &Store{ops: map[string]journal.Operation{}, numbers: map[string][]byte{}, locks: map[string]journal.Lock{}, snaps: map[string][]byte{}, Now: time.Now}
}

func key(pair, id string) string { return pair + "/" + id }

func (s *Store) stamp(op journal.Operation) journal.Operation {
	s.version++
	op.ETag = strconv.Itoa(s.version)
	op.Updated = s.Now()
	if op.Created.IsZero() {
		op.Created = op.Updated
	}
	return op
}

func (s *Store) Create(_ context.Context, op journal.Operation) (journal.Operation, error) {
	if err := op.Validate(); err != nil {
		return op, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.ops[key(op.Pair, op.ID)]; ok {
		return op, drerr.Errorf(drerr.Conflict, "create operation", "operation %s exists", op.ID)
	}
	op = s.stamp(op)
	op.Steps = slices.Clone(op.Steps)
	s.ops[key(op.Pair, op.ID)] = op
	op.Steps = slices.Clone(op.Steps)
	return op, nil
}

func (s *Store) Get(_ context.Context, pair, id string) (journal.Operation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	op, ok := s.ops[key(pair, id)]
	if !ok {
		return op, drerr.Errorf(drerr.NotFound, "get operation", "no operation %s on %s", id, pair)
	}
	op.Steps = slices.Clone(op.Steps)
	return op, nil
}

func (s *Store) Update(_ context.Context, op journal.Operation) (journal.Operation, error) {
	if err := op.Validate(); err != nil {
		return op, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.ops[key(op.Pair, op.ID)]
	if !ok || cur.ETag != op.ETag {
		return op, drerr.Errorf(drerr.Conflict, "update operation", "operation %s changed", op.ID)
	}
	op = s.stamp(op)
	op.Steps = slices.Clone(op.Steps)
	s.ops[key(op.Pair, op.ID)] = op
	op.Steps = slices.Clone(op.Steps)
	return op, nil
}

func (s *Store) SaveNumbers(_ context.Context, pair, id string, numbers []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.numbers[key(pair, id)]; ok {
		if bytes.Equal(cur, numbers) {
			return nil
		}
		return drerr.Errorf(drerr.Conflict, "save numbers", "operation %s has other numbers", id)
	}
	s.numbers[key(pair, id)] = bytes.Clone(numbers)
	return nil
}

func (s *Store) LoadNumbers(_ context.Context, pair, id string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.numbers[key(pair, id)]
	if !ok {
		return nil, drerr.Errorf(drerr.NotFound, "load numbers", "operation %s has no numbers", id)
	}
	return bytes.Clone(n), nil
}

func (s *Store) List(_ context.Context, pair string, limit int) ([]journal.Operation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []journal.Operation
	for _, op := range s.ops {
		if op.Pair == pair {
			op.Steps = slices.Clone(op.Steps)
			out = append(out, op)
		}
	}
	slices.SortFunc(out, func(a, b journal.Operation) int { return b.Created.Compare(a.Created) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (s *Store) ListPending(context.Context) ([]journal.Operation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []journal.Operation
	for _, op := range s.ops {
		if op.Status.Open() {
			op.Steps = slices.Clone(op.Steps)
			out = append(out, op)
		}
	}
	slices.SortFunc(out, func(a, b journal.Operation) int { return a.Created.Compare(b.Created) })
	return out, nil
}

func (s *Store) ListProposed(context.Context) ([]journal.Operation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []journal.Operation
	for _, op := range s.ops {
		if op.Status == journal.Proposed {
			op.Steps = slices.Clone(op.Steps)
			out = append(out, op)
		}
	}
	slices.SortFunc(out, func(a, b journal.Operation) int { return a.Created.Compare(b.Created) })
	return out, nil
}

func (s *Store) Lock(_ context.Context, pair, opID string, until time.Time) (journal.Lock, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.locks[pair]; ok && cur.OpID != "" && cur.OpID != opID && s.Now().Before(cur.Until) {
		return cur, journal.Held("lock "+pair, cur)
	}
	l := journal.Lock{Pair: pair, OpID: opID, Until: until}
	s.locks[pair] = l
	return l, nil
}

func (s *Store) Renew(ctx context.Context, pair, opID string, until time.Time) (journal.Lock, error) {
	s.mu.Lock()
	cur, ok := s.locks[pair]
	s.mu.Unlock()
	if !ok || cur.OpID == "" {
		return cur, drerr.Errorf(drerr.NotFound, "renew "+pair, "nobody holds the lock")
	}
	return s.Lock(ctx, pair, opID, until)
}

func (s *Store) Unlock(_ context.Context, pair, opID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.locks[pair]
	if !ok || cur.OpID == "" {
		return nil
	}
	if cur.OpID != opID {
		return journal.Held("unlock "+pair, cur)
	}
	delete(s.locks, pair)
	return nil
}

func (s *Store) SaveSnapshot(_ context.Context, pair, name string, data []byte) error {
	if len(data) > journal.MaxSnapshot {
		return drerr.Errorf(drerr.Invalid, "save snapshot", "%d bytes; the limit is %d", len(data), journal.MaxSnapshot)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.snaps[pair+"|"+name] = bytes.Clone(data)
	return nil
}

func (s *Store) LoadSnapshot(_ context.Context, pair, name string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.snaps[pair+"|"+name]
	if !ok {
		return nil, drerr.Errorf(drerr.NotFound, "load snapshot", "no %s snapshot of %s", name, pair)
	}
	return bytes.Clone(d), nil
}
