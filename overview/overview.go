// Package overview gathers what an operator needs in the first seconds of an outage,
// for the status page and drctl status alike: each pair's active side and lag with its
// recent runs, its last readiness report, the operations pending and the last ones
// with their steps and RTO, and the SSIS pairs as last reconciled. It reads Table
// Storage only: it never calls Azure, so it answers while a region is down.
package overview

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"integration-dr/drerr"
	"integration-dr/drift"
	"integration-dr/failover"
	"integration-dr/journal"
	"integration-dr/replication"
	"integration-dr/ssis"
)

// Overview is the whole picture at one moment.
type Overview struct {
	Generated time.Time                  `json:"generated"`
	Streams   []replication.StreamStatus `json:"streams"`
	// Readiness is each integration-account pair's last kept readiness report.
	Readiness []failover.Report `json:"readiness,omitempty"`
	// Pending are the operations running or waiting (a pending fence, a drain).
	Pending []journal.Operation `json:"pending,omitempty"`
	// Operations are each pair's last operations, newest first.
	Operations []journal.Operation `json:"operations,omitempty"`
	SSIS       []ssis.PairStatus   `json:"ssis,omitempty"`
	// Drift is each pair's last kept drift report (see drift.go).
	Drift []drift.PairReport `json:"drift,omitempty"`
	// Problems are the parts that could not be read; the rest is still shown.
	Problems []string `json:"problems,omitempty"`
	// ReadinessEvery is how often the operations timer remakes a readiness report:
	// a kept one older than that is stale (see Judge).
	ReadinessEvery time.Duration `json:"-"`
}

// Streams reads every stream's status.
type Streams interface {
	Status(ctx context.Context) ([]replication.StreamStatus, error)
}

// Journal reads operations.
type Journal interface {
	List(ctx context.Context, pair string, limit int) ([]journal.Operation, error)
	ListPending(ctx context.Context) ([]journal.Operation, error)
}

// Readiness reads a pair's kept readiness report.
type Readiness interface {
	LastReadiness(ctx context.Context, pair string) (failover.Report, error)
}

// SSIS reads the SSIS pairs' states.
type SSIS interface {
	Status(ctx context.Context) ([]ssis.PairStatus, error)
}

// Sources are where an overview comes from. Any may be nil.
type Sources struct {
	Streams   Streams
	Journal   Journal
	Readiness Readiness
	SSIS      SSIS
	Drift     Drift
	// Pairs are the names of every pair, both kinds, in the order to show them.
	Pairs []string
	// LastOperations is how many operations per pair to show (default 5).
	LastOperations int
	// ReadinessEvery is the readiness timer's cadence (DR_READINESS_EVERY).
	ReadinessEvery time.Duration
	Now            func() time.Time
}

// Collect reads everything; a part that cannot be read is named in Problems and the
// rest is still returned. pair, when not empty, limits it to that pair. Its free text
// comes back masked (see Masked), so every reader may show it as it is.
func Collect(ctx context.Context, src Sources, pair string) Overview {
	now := time.Now
	if src.Now != nil {
		now = src.Now
	}
	o := Overview{Generated: now().UTC(), ReadinessEvery: src.ReadinessEvery}
	want := func(name string) bool { return pair == "" || pair == name }
	problem := func(what string, err error) { o.Problems = append(o.Problems, fmt.Sprintf("%s: %v", what, err)) }
	if src.Streams != nil {
		st, err := src.Streams.Status(ctx)
		// A failure per pair is a problem per pair; the streams read are kept.
		for _, e := range joined(err) {
			problem("replication status", e)
		}
		for _, s := range st {
			if want(s.Pair) {
				o.Streams = append(o.Streams, s)
			}
		}
	}
	if src.Readiness != nil {
		for _, s := range o.Streams {
			rep, err := src.Readiness.LastReadiness(ctx, s.Pair)
			switch {
			case drerr.Is(err, drerr.NotFound):
			case err != nil:
				problem("readiness of "+s.Pair, err)
			default:
				o.Readiness = append(o.Readiness, rep)
			}
		}
	}
	if src.Journal != nil {
		pending, err := src.Journal.ListPending(ctx)
		if err != nil {
			problem("pending operations", err)
		}
		for _, op := range pending {
			if want(op.Pair) {
				o.Pending = append(o.Pending, op)
			}
		}
		n := src.LastOperations
		if n <= 0 {
			n = 5
		}
		for _, name := range src.Pairs {
			if !want(name) {
				continue
			}
			ops, err := src.Journal.List(ctx, name, n)
			if err != nil {
				problem("operations of "+name, err)
				continue
			}
			o.Operations = append(o.Operations, ops...)
		}
		slices.SortStableFunc(o.Operations, func(a, b journal.Operation) int { return b.Created.Compare(a.Created) })
	}
	if src.SSIS != nil {
		pairs, err := src.SSIS.Status(ctx)
		if err != nil {
			problem("SSIS pairs", err)
		}
		for _, p := range pairs {
			if want(p.Pair) {
				o.SSIS = append(o.SSIS, p)
			}
		}
	}
	collectDrift(ctx, src.Drift, &o, want)
	return o.Masked()
}

// joined splits the errors of an errors.Join into a list, one per failure; any other
// error is a list of itself, nil an empty list. An error that wraps several but
// says more than their messages (fmt.Errorf with two %w) is kept whole.
func joined(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs := j.Unwrap()
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Error()
		}
		if len(errs) > 0 && strings.Join(msgs, "\n") == err.Error() {
			return errs
		}
	}
	return []error{err}
}
