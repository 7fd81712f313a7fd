// Package mirrortest holds in-memory doubles of a side's artifacts and of the
// active-region record, for tests of drift reports and mirrors. Not for production use.
package mirrortest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"integration-dr/drerr"
	"integration-dr/drift"
	"integration-dr/mirror"
	"integration-dr/replication"
)

// Write is one write a Side took, in order.
type Write struct {
	Op      string // "put", "delete", "stop"
	Kind    drift.Kind
	Name    string
	Created bool // a put of an artifact the side did not hold
}

// Side is one side's artifacts in memory. It records every write; hooks inject faults.
type Side struct {
	mu        sync.Mutex
	artifacts map[string]drift.Artifact
	writes    []Write
	// ListErr, when set, fails every listing.
	ListErr error
	// BeforeWrite runs before each write lands, with the number of writes so far; an
	// error fails the write, which does not land.
	BeforeWrite func(n int, w Write) error
	// AfterWrite runs after each write landed; an error is returned to the caller as
	// if the answer had been lost.
	AfterWrite func(n int, w Write) error
}

var (
	_ mirror.Source = (*Side)(nil)
	_ mirror.Writer = (*Side)(nil)
)

// NewSide returns a side holding as.
func NewSide(as ...drift.Artifact) *Side {
	s := &Side{artifacts: map[string]drift.Artifact{}}
	for _, a := range as {
		s.artifacts[key(a.Kind, a.Name)] = clone(a)
	}
	return s
}

func key(k drift.Kind, name string) string { return string(k) + "/" + strings.ToLower(name) }

func clone(a drift.Artifact) drift.Artifact {
	f := make(map[string]string, len(a.Fields))
	for k, v := range a.Fields {
		f[k] = v
	}
	a.Fields = f
	a.Body = slices.Clone(a.Body)
	return a
}

// Artifacts lists what the side holds, sorted by kind and name.
func (s *Side) Artifacts(context.Context) ([]drift.Artifact, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ListErr != nil {
		return nil, s.ListErr
	}
	out := make([]drift.Artifact, 0, len(s.artifacts))
	for _, k := range slices.Sorted(maps.Keys(s.artifacts)) {
		out = append(out, clone(s.artifacts[k]))
	}
	return out, nil
}

// Put writes a (stopped: each side's own state is kept).
func (s *Side) Put(_ context.Context, a drift.Artifact) error {
	s.mu.Lock()
	_, had := s.artifacts[key(a.Kind, a.Name)]
	s.mu.Unlock()
	return s.write(Write{Op: "put", Kind: a.Kind, Name: a.Name, Created: !had}, func() {
		a = clone(a)
		a.Running = false
		s.artifacts[key(a.Kind, a.Name)] = a
	})
}

// Delete removes an artifact; one that is not there is done.
func (s *Side) Delete(_ context.Context, k drift.Kind, name string) error {
	return s.write(Write{Op: "delete", Kind: k, Name: name}, func() { delete(s.artifacts, key(k, name)) })
}

// Stop stops a running artifact; drerr.NotFound if the side does not hold it.
func (s *Side) Stop(_ context.Context, k drift.Kind, name string) error {
	s.mu.Lock()
	_, ok := s.artifacts[key(k, name)]
	s.mu.Unlock()
	if !ok {
		return drerr.Errorf(drerr.NotFound, "stop", "%s %s is not there", k, name)
	}
	return s.write(Write{Op: "stop", Kind: k, Name: name}, func() {
		a := s.artifacts[key(k, name)]
		a.Running = false
		s.artifacts[key(k, name)] = a
	})
}

func (s *Side) write(w Write, land func()) error {
	s.mu.Lock()
	n := len(s.writes)
	s.mu.Unlock()
	if s.BeforeWrite != nil {
		if err := s.BeforeWrite(n, w); err != nil {
			return err
		}
	}
	s.mu.Lock()
	land()
	s.writes = append(s.writes, w)
	s.mu.Unlock()
	if s.AfterWrite != nil {
		return s.AfterWrite(n, w)
	}
	return nil
}

// Writes returns every write that landed, in order.
func (s *Side) Writes() []Write {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.writes)
}

// Creations counts the puts that created each artifact ("kind/name").
func (s *Side) Creations() map[string]int {
	out := map[string]int{}
	for _, w := range s.Writes() {
		if w.Created {
			out[fmt.Sprintf("%s/%s", w.Kind, w.Name)]++
		}
	}
	return out
}

// Get returns an artifact the side holds.
func (s *Side) Get(k drift.Kind, name string) (drift.Artifact, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.artifacts[key(k, name)]
	return clone(a), ok
}

// Regions is an active-region record per pair, in memory.
type Regions struct {
	mu     sync.Mutex
	active map[string]mirror.Active
	// Err, when set, fails every reading.
	Err error
	// Reads counts the readings.
	Reads int
}

var _ mirror.Regions = (*Regions)(nil)

// NewRegions returns records with every pair active on its primary at epoch 0.
func NewRegions() *Regions { return &Regions{active: map[string]mirror.Active{}} }

// Active returns the pair's record (primary at epoch 0 when never set).
func (r *Regions) Active(_ context.Context, pair string) (mirror.Active, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Reads++
	if r.Err != nil {
		return mirror.Active{}, r.Err
	}
	a, ok := r.active[pair]
	if !ok {
		return mirror.Active{Side: replication.Primary}, nil
	}
	return a, nil
}

// Move makes side active on the pair at the next epoch, as a failover's flip does.
func (r *Regions) Move(pair string, side replication.Region) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a, ok := r.active[pair]
	if !ok {
		a = mirror.Active{Side: replication.Primary}
	}
	r.active[pair] = mirror.Active{Side: side, Epoch: a.Epoch + 1}
}
