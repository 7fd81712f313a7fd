package replication

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Service runs the engine over every configured pair.
type Service struct {
	Engine *Engine
	Pairs  []Pair
}

// ReplicateAll runs one pass per pair, all pairs at once: each has its own lease and
// deadline, and they share the engine's ARM budgets, so no pair can starve another of
// time. A failing pair does not stop the others; all failures come back joined, each
// naming its pair.
func (s *Service) ReplicateAll(ctx context.Context) ([]Stats, error) {
	out := make([]Stats, len(s.Pairs))
	errs := make([]error, len(s.Pairs))
	var wg sync.WaitGroup
	for i, p := range s.Pairs {
		wg.Go(func() {
			defer func() {
				if v := recover(); v != nil {
					errs[i] = fmt.Errorf("pair %s: panic: %v", p.Name, v)
				}
			}()
			st, err := s.Engine.Run(ctx, p)
			out[i] = st
			if err != nil {
				errs[i] = fmt.Errorf("pair %s: %w", p.Name, err)
			}
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// StreamStatus is what an operator sees of one stream.
type StreamStatus struct {
	Pair      string    `json:"pair"`
	Active    Region    `json:"activeRegion"`
	Epoch     int64     `json:"epoch"`
	Direction string    `json:"direction"`
	Watermark time.Time `json:"watermark"`
	// LagSeconds is how far the standby is behind, on the active side's service
	// clock: every change stamped before now − lag is on the standby. -1 until the
	// first full sync completes.
	LagSeconds float64 `json:"lagSeconds"`
	// Scan is the listing under way across runs, if any, and how far it got.
	Scan       ScanKind `json:"scan,omitempty"`
	ScanListed int64    `json:"scanListed"`
	// FencePending names the operation whose fence of the standby has not landed:
	// nothing is written into the standby until it does.
	FencePending string `json:"fencePending,omitempty"`
	// MergingBack says the merge-back of the old side into the active one is under
	// way; MergeBackListed how far it got.
	MergingBack     bool      `json:"mergingBack"`
	MergeBackListed int64     `json:"mergeBackListed"`
	Reconciling     bool      `json:"reconciling"`
	ReconcileListed int64     `json:"reconcileListed"`
	LastReconciled  time.Time `json:"lastReconciled"`
	LastHealed      int64     `json:"lastHealed"`
	FutureStamped   int64     `json:"futureStamped"`
	LastRun         time.Time `json:"lastRun"`
	LastWrites      int64     `json:"lastWrites"`
	LastListed      int64     `json:"lastListed"`
	LastError       string    `json:"lastError,omitempty"`
	// SinceSuccessSeconds is how long ago the last run without an error started
	// (machine clock); -1 if none has.
	SinceSuccessSeconds float64 `json:"sinceSuccessSeconds"`
	// History is the recent runs, oldest first.
	History       []RunSample `json:"history,omitempty"`
	Runs          int64       `json:"runs"`
	Writes        int64       `json:"writes"`
	RunInProgress bool        `json:"runInProgress"`
}

// Status reads every pair's checkpoint and active-region record. A pair that cannot
// be read does not hide the others: it returns the streams it could read, in the
// pairs' order, and the failures joined, each naming its pair.
func (s *Service) Status(ctx context.Context) ([]StreamStatus, error) {
	now := s.Engine.opts.Now()
	var out []StreamStatus
	var errs []error
	for _, p := range s.Pairs {
		cp, region, err := s.Engine.store.Load(ctx, p.Name)
		if err != nil {
			errs = append(errs, fmt.Errorf("pair %s: %w", p.Name, err))
			continue
		}
		st := StreamStatus{
			Pair: p.Name, Active: region.Active, Epoch: region.Epoch,
			Direction: fmt.Sprintf("%s->%s", region.Active, region.Active.Other()),
			Watermark: cp.Watermark, LagSeconds: -1,
			Scan: cp.Scan.Kind, ScanListed: cp.Scan.Listed, Reconciling: cp.Reconcile.Kind != "", ReconcileListed: cp.Reconcile.Listed, LastReconciled: cp.LastReconciled, LastHealed: cp.LastHealed,
			FencePending: cp.FencePending, MergingBack: cp.MergeBack.Kind != "", MergeBackListed: cp.MergeBack.Listed,
			FutureStamped: cp.FutureStamped,
			LastRun:       cp.LastRun, LastWrites: cp.LastWrites, LastListed: cp.LastListed, LastError: cp.LastError, History: cp.History, SinceSuccessSeconds: -1,
			Runs: cp.Runs, Writes: cp.Writes, RunInProgress: cp.LeaseOwner != "" && now.Before(cp.LeaseUntil),
		}
		if cp.Epoch == region.Epoch {
			if lag := Lag(cp, now); lag >= 0 {
				st.LagSeconds = lag.Seconds()
			}
		}
		if !cp.LastSuccess.IsZero() {
			st.SinceSuccessSeconds = now.Sub(cp.LastSuccess).Seconds()
		}
		out = append(out, st)
	}
	return out, errors.Join(errs...)
}
