package replication

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Service runs the engine over every configured pair.
type Service struct {
	Engine *Engine
	Pairs  []Pair
}

// ReplicateAll runs one pass per pair, in order. A failing pair does not stop the
// others; all failures come back joined.
func (s *Service) ReplicateAll(ctx context.Context) ([]Stats, error) {
	var out []Stats
	var errs []error
	for _, p := range s.Pairs {
		st, err := s.Engine.Run(ctx, p)
		out = append(out, st)
		if err != nil {
			errs = append(errs, fmt.Errorf("pair %s: %w", p.Name, err))
		}
	}
	return out, errors.Join(errs...)
}

// StreamStatus is what an operator sees of one stream.
type StreamStatus struct {
	Pair          string    `json:"pair"`
	Active        Region    `json:"activeRegion"`
	Epoch         int64     `json:"epoch"`
	Direction     string    `json:"direction"`
	Watermark     time.Time `json:"watermark"`
	SyncedThrough time.Time `json:"syncedThrough"`
	// LagSeconds is how old the standby's view is: every change made before
	// SyncedThrough is on the standby. -1 until the first full sync completes.
	LagSeconds    float64   `json:"lagSeconds"`
	LastRun       time.Time `json:"lastRun"`
	LastWrites    int64     `json:"lastWrites"`
	LastListed    int64     `json:"lastListed"`
	LastError     string    `json:"lastError,omitempty"`
	Runs          int64     `json:"runs"`
	Writes        int64     `json:"writes"`
	RunInProgress bool      `json:"runInProgress"`
}

// Status reads every pair's checkpoint and active-region record.
func (s *Service) Status(ctx context.Context) ([]StreamStatus, error) {
	now := s.Engine.opts.Now()
	var out []StreamStatus
	for _, p := range s.Pairs {
		cp, region, err := s.Engine.store.Load(ctx, p.Name)
		if err != nil {
			return nil, fmt.Errorf("pair %s: %w", p.Name, err)
		}
		st := StreamStatus{
			Pair: p.Name, Active: region.Active, Epoch: region.Epoch,
			Direction: fmt.Sprintf("%s->%s", region.Active, region.Active.Other()),
			Watermark: cp.Watermark, SyncedThrough: cp.SyncedThrough, LagSeconds: -1,
			LastRun: cp.LastRun, LastWrites: cp.LastWrites, LastListed: cp.LastListed, LastError: cp.LastError,
			Runs: cp.Runs, Writes: cp.Writes, RunInProgress: cp.LeaseOwner != "" && now.Before(cp.LeaseUntil),
		}
		if !cp.SyncedThrough.IsZero() && cp.Epoch == region.Epoch {
			st.LagSeconds = now.Sub(cp.SyncedThrough).Seconds()
		}
		out = append(out, st)
	}
	return out, nil
}
