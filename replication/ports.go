// Package replication copies integration account sessions from the active side of a
// pair to the standby side, one stream per pair, with a checkpoint that only moves past
// changes the standby is known to hold.
package replication

import (
	"context"
	"time"

	"integration-dr/session"
)

// Source lists the sessions of the active integration account.
type Source interface {
	// ListChanged calls page for each page of sessions whose changedTime is at or
	// after since (the zero time lists everything). It stops at the first error page
	// returns. Implementations may return sessions outside the window: the engine
	// filters again.
	ListChanged(ctx context.Context, since time.Time, page func([]session.Session) error) error
}

// Sink reads and writes sessions of the standby integration account.
type Sink interface {
	// Get returns the session, or an error with code drerr.NotFound.
	Get(ctx context.Context, name string) (session.Session, error)
	Put(ctx context.Context, s session.Session) error
}

// Account is one integration account: a source when active, a sink when standby.
type Account interface {
	Source
	Sink
}

// Region names a side of a pair.
type Region string

const (
	Primary   Region = "primary"
	Secondary Region = "secondary"
)

// Other returns the opposite side.
func (r Region) Other() Region {
	if r == Secondary {
		return Primary
	}
	return Secondary
}

// ActiveRegion is the record saying which side of a pair serves traffic. Epoch grows on
// every failover and fallback, so work begun under an older epoch can tell it is stale.
type ActiveRegion struct {
	Active Region
	Epoch  int64
}

// Checkpoint is the durable state of one stream.
type Checkpoint struct {
	Pair string
	// Epoch of the active-region record this checkpoint was built under. A different
	// epoch means the direction changed: the stream starts over with a full sync.
	Epoch int64
	// Watermark is the highest active-side changedTime of which every change up to it
	// is on the standby. Zero: no full sync has completed yet.
	Watermark time.Time
	// SyncedThrough is when the last successful run started listing: every change
	// made before it is on the standby. Lag is measured from it.
	SyncedThrough time.Time
	// Recent holds sessions replicated within the overlap window (name → active-side
	// changedTime), so re-reading the window costs no standby reads and no writes.
	Recent map[string]time.Time

	LeaseOwner string
	LeaseUntil time.Time

	Runs         int64
	Writes       int64
	LastRun      time.Time
	LastWrites   int64
	LastListed   int64
	LastError    string
	LastDuration time.Duration

	// ETag is the store's version of this checkpoint; empty for a new one.
	ETag string
}

// Store keeps checkpoints and active-region records.
type Store interface {
	// Load returns the stream's checkpoint (a new one, with no ETag, if none exists)
	// and the pair's active-region record (primary at epoch 0 if none exists).
	Load(ctx context.Context, pair string) (Checkpoint, ActiveRegion, error)
	// Save writes cp if its ETag still matches (or it is new) and returns it with the
	// new ETag. A lost race is an error with code drerr.Conflict.
	Save(ctx context.Context, cp Checkpoint) (Checkpoint, error)
}

// Stats are what one run did, for logs, the demo and benchmarks.
type Stats struct {
	Pair          string         `json:"pair"`
	Direction     string         `json:"direction"`
	FullSync      bool           `json:"fullSync"`
	Pages         int            `json:"listCalls"`
	Listed        int            `json:"listed"`
	RescanSkipped int            `json:"rescanSkipped"`
	Candidates    int            `json:"candidates"`
	Reads         int            `json:"standbyReads"`
	Writes        int            `json:"writes"`
	Same          int            `json:"same"`
	StandbyNewer  int            `json:"standbyNewer"`
	WritesByKind  map[string]int `json:"writesByKind"`
	Watermark     time.Time      `json:"watermark"`
	Lag           time.Duration  `json:"lag"`
	Skipped       string         `json:"skipped,omitempty"`
}
