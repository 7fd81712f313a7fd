// Package journal is the durable record of every command and of the plan it runs:
// one Operation per command id, its steps, the control-number floors it computed, and
// the per-pair lock that lets one operation at a time act on a pair. The command id is
// the idempotency key: a redelivered or duplicated command finds its operation and
// resumes it instead of starting another, so a plan runs once per command.
//
// The package imports no Azure SDK; azure/tables implements Store.
package journal

import (
	"context"
	"fmt"
	"time"

	"integration-dr/command"
	"integration-dr/drerr"
	"integration-dr/redact"
)

// Status is where an operation stands.
type Status string

// The operation statuses. Succeeded, Failed, Rejected and Cancelled are terminal.
const (
	Accepted  Status = "accepted"  // journaled, not started
	Proposed  Status = "proposed"  // waits for an operator's confirm
	Running   Status = "running"   // a plan step is in progress
	Waiting   Status = "waiting"   // a step waits on the world; the timer advances it
	Succeeded Status = "succeeded" // done
	Failed    Status = "failed"    // gave up; Error says why
	Rejected  Status = "rejected"  // refused before acting (bad input, safety rule)
	Cancelled Status = "cancelled" // ended by an operator's cancel; Error says who and why, the steps what ran
)

// StepStatus is where one step of a plan stands.
type StepStatus string

// The step statuses. Done, Skipped and Failed are terminal.
const (
	StepPending StepStatus = "pending"
	StepRunning StepStatus = "running"
	StepWaiting StepStatus = "waiting"
	StepDone    StepStatus = "done"
	StepSkipped StepStatus = "skipped"
	StepFailed  StepStatus = "failed"
)

// Source says who asked: an alert (its id and rule) or an operator.
type Source struct {
	AlertID     string
	AlertRule   string
	RequestedBy string
}

// Operation is the journal's record of one command and its plan.
type Operation struct {
	ID            string // the command id: the idempotency key
	Action        command.Action
	Pair          string
	Target        string // confirm and cancel only: the operation the command acts on
	Side          string // attach-ir only: the side whose runtime takes over
	Source        Source
	Reason        string
	Force         bool
	DryRun        bool
	Prune         bool   // mirror only: delete what only the standby holds
	ExpectedEpoch *int64 // nil: any epoch

	Status  Status
	Created time.Time
	Updated time.Time
	Done    time.Time // when it reached a terminal status

	// RTOStart is when the clock started (the alert fired, or the command was
	// enqueued); RTO is RTOStart to success.
	RTOStart   time.Time
	RTO        time.Duration
	LagAtStart time.Duration // replication lag when the plan started

	EpochBefore int64
	EpochAfter  int64
	Error       string
	Steps       []Step

	// AttemptUntil is when the attempt running the operation stops being presumed
	// alive: until then no other attempt (a redelivery, the timer) may run it.
	AttemptUntil time.Time
	// AttemptBy is the message id of the delivery whose attempt holds the claim; empty
	// for the timer's or drctl's.
	AttemptBy string

	// ETag is the stored version this value was read at; Update is conditional on it.
	ETag string
}

// Step is one step of a plan.
type Step struct {
	Name    string
	Status  StepStatus
	Started time.Time
	Ended   time.Time
	Outcome string   // what happened, in a sentence
	Changes []string // what it changed, one short line each
}

// UnknownPair is the journal partition of commands and alerts refused before a
// configured pair could be read from them: a forged or malformed alert, a command
// naming no pair. drctl journal lists it beside the pairs.
const UnknownPair = "unknown"

// Lock is the per-pair lock: while it is held and not expired, only OpID acts on Pair.
type Lock struct {
	Pair  string
	OpID  string
	Until time.Time
}

// HeldError is the cause of a drerr.Conflict from Lock, Renew or Unlock: who holds the
// pair's lock, so that a caller can tell a moment's hold from an operation's.
type HeldError struct{ Lock Lock }

func (e *HeldError) Error() string {
	return fmt.Sprintf("pair %s is locked by %s until %s", e.Lock.Pair, e.Lock.OpID, e.Lock.Until.UTC().Format(time.RFC3339))
}

// Held returns the conflict error for a pair that l holds.
func Held(op string, l Lock) error { return drerr.E(drerr.Conflict, op, &HeldError{Lock: l}) }

// Store keeps operations, their numbers, and the per-pair locks.
type Store interface {
	// Create inserts op (Created and Updated set by the store when zero) and returns
	// it with its ETag. drerr.Conflict if an operation with that id exists on the
	// pair: the caller loads it and resumes. drerr.Invalid if op.Validate fails or
	// the operation is too large to store.
	Create(ctx context.Context, op Operation) (Operation, error)

	// Get reads one operation with its steps. drerr.NotFound if there is none.
	Get(ctx context.Context, pair, id string) (Operation, error)

	// Update replaces op if the stored one still has op.ETag, and returns it with the
	// new ETag. drerr.Conflict when someone else wrote it first; drerr.Invalid
	// without an ETag or when op.Validate fails.
	Update(ctx context.Context, op Operation) (Operation, error)

	// SaveNumbers stores the operation's computed floors and bumps. Saving the same
	// bytes again is a no-op; different bytes for an id that has numbers are a
	// drerr.Conflict: floors are computed once.
	SaveNumbers(ctx context.Context, pair, id string, numbers []byte) error

	// LoadNumbers returns what SaveNumbers stored. drerr.NotFound if nothing was.
	LoadNumbers(ctx context.Context, pair, id string) ([]byte, error)

	// List returns the pair's operations, newest first (by Created), at most limit
	// of them (all when limit <= 0).
	List(ctx context.Context, pair string, limit int) ([]Operation, error)

	// ListPending returns the operations, across pairs, whose status is open
	// (Status.Open: accepted, running or waiting): the work the timer advances.
	ListPending(ctx context.Context) ([]Operation, error)

	// ListProposed returns the operations, across pairs, whose status is proposed:
	// the proposals waiting for an operator's confirm, however many newer operations
	// their pairs have journaled since (see ExpireProposals).
	ListProposed(ctx context.Context) ([]Operation, error)

	// Lock takes the pair's lock for opID until the given time: when it is free,
	// expired, or already held by opID (a redelivered command re-enters). Otherwise
	// drerr.Conflict, naming the holder and its expiry.
	Lock(ctx context.Context, pair, opID string, until time.Time) (Lock, error)

	// Renew extends opID's hold on the pair's lock. drerr.Conflict if another
	// operation holds it; drerr.NotFound if nobody does.
	Renew(ctx context.Context, pair, opID string, until time.Time) (Lock, error)

	// Unlock releases the pair's lock. Only the holder may: drerr.Conflict, naming the
	// holder, for anyone else. Releasing a lock nobody holds is a no-op.
	Unlock(ctx context.Context, pair, opID string) error

	// SaveSnapshot replaces one of the pair's named snapshots (SnapshotAgreements:
	// what a plan compares with when the old side does not answer; SnapshotReadiness:
	// the last readiness report); at most MaxSnapshot bytes, else drerr.Invalid.
	// LoadSnapshot returns it, drerr.NotFound if there is none.
	SaveSnapshot(ctx context.Context, pair, name string, data []byte) error
	LoadSnapshot(ctx context.Context, pair, name string) ([]byte, error)
}

// Snapshot names.
const (
	SnapshotAgreements = "agreements"
	SnapshotReadiness  = "readiness"
)

// MaxSnapshot bounds a snapshot: one table property.
const MaxSnapshot = 60 << 10

// New journals a command as a new, accepted operation. rtoStart is when the clock
// started: the alert's fired time or the message's enqueued time.
//
// Free text is cut to what the journal keeps (MaxSourceField), and a target that is
// not an id is left out, so that any command, a refused one included, can be
// journaled: a rejection must never fail for the length of what it rejects.
func New(c command.Command, src Source, rtoStart, now time.Time) Operation {
	if src.RequestedBy == "" {
		src.RequestedBy = c.RequestedBy
	}
	// What came from outside (an alert's fields, a reason typed anywhere) is kept
	// masked: the journal is read by everyone who operates the pair. Masked before it
	// is cut, so that a cut never leaves half a secret showing.
	src = Source{AlertID: Cut(redact.String(src.AlertID), MaxSourceField), AlertRule: Cut(redact.String(src.AlertRule), MaxSourceField), RequestedBy: Cut(redact.String(src.RequestedBy), MaxSourceField)}
	if !command.ValidID(c.Target) {
		c.Target = ""
	}
	c.Action = command.Action(Cut(string(c.Action), MaxSourceField))
	c.Reason, c.Side = Cut(redact.String(c.Reason), MaxSourceField), Cut(c.Side, MaxSourceField)
	var epoch *int64
	if c.ExpectedEpoch != nil {
		e := *c.ExpectedEpoch
		epoch = &e
	}
	return Operation{
		ID: c.ID, Action: c.Action, Pair: c.Pair, Target: c.Target, Side: c.Side, Source: src,
		Reason: c.Reason, Force: c.Force, DryRun: c.DryRun, Prune: c.Prune, ExpectedEpoch: epoch,
		Status: Accepted, Created: now, Updated: now, RTOStart: rtoStart,
	}
}
