// Package replication copies integration account sessions from the active side of a
// pair to the standby side, one stream per pair, with a checkpoint that only moves past
// changes the standby is known to hold.
package replication

import (
	"context"
	"time"

	"integration-dr/session"
)

// Page is one page of a session listing.
type Page struct {
	Sessions []session.Session
	// Date is the service's clock when it answered (the response's Date header, whole
	// seconds); zero when the service did not say.
	Date time.Time
	// Next resumes the same listing after this page; empty after the last page.
	Next string
}

// Source lists the sessions of an integration account.
type Source interface {
	// List calls page for each page of sessions whose changedTime is at or after
	// since (the zero time lists everything), starting at cursor: empty for the first
	// page, else a Page.Next of an earlier listing with the same since. A cursor the
	// service no longer accepts is an error with code drerr.Invalid or drerr.NotFound.
	// It stops at the first error page returns. Implementations may return sessions
	// outside the window: the engine filters again.
	List(ctx context.Context, since time.Time, cursor string, page func(Page) error) error
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
	// ETag is the store's version of the record; empty when none is stored yet. The
	// record changes only by compare-and-swap on it.
	ETag string
}

// ScanKind says why a scan lists what it lists.
type ScanKind string

const (
	// ScanFull lists every session: the first sync, or after the direction changed.
	ScanFull ScanKind = "full"
	// ScanIncremental lists what changed since the watermark, less the overlap.
	ScanIncremental ScanKind = "incremental"
	// ScanReconcile lists every session and compares it with a listing of the standby,
	// to heal what slipped past the watermark (a change visible later than the overlap).
	// It runs beside the other scans, with the time a run has left.
	ScanReconcile ScanKind = "reconcile"
	// ScanMergeBack lists the standby (the old active side) once its fence has landed
	// and brings into the active side what the old side held alone: received numbers
	// as a union, generated numbers where the old side's is higher.
	ScanMergeBack ScanKind = "merge-back"
)

// Scan is a listing of the active side that may span many runs: its cursor survives
// runs and kills, so a sync of any size completes at ARM's limits.
type Scan struct {
	Kind  ScanKind
	Since time.Time
	// Cursor resumes the listing after the last page fully handled; empty: from the start.
	Cursor string
	// StartedAt is the service's clock (Date header) at the scan's first page: when
	// the scan completes, every change stamped before it is on the standby.
	StartedAt time.Time
	Listed    int64
	Writes    int64
	// NoDigest: the standby is too large to list within a run, so this reconciliation
	// reads it one session at a time.
	NoDigest bool
}

// Seen is what the overlap memory keeps of one session: the digest of the content the
// standby is known to hold, and the active side's changedTime for it.
type Seen struct {
	Digest  uint64
	Changed time.Time
}

// Checkpoint is the durable state of one stream.
type Checkpoint struct {
	Pair string
	// Epoch of the active-region record this checkpoint was built under. A different
	// epoch means the direction changed: the stream starts over.
	Epoch int64
	// Watermark is a moment of the active side's service clock before which every
	// change is on the standby. Zero: no full sync has completed yet. It comes from the
	// service's Date header less the clock-skew margin, never from a session's own
	// changedTime, so one stamp from a node with a fast clock cannot move it ahead.
	Watermark time.Time
	// Scan is the listing under way; Kind is empty between scans.
	Scan Scan
	// Reconcile is the reconciliation under way beside Scan, if any.
	Reconcile Scan
	// FencePending names the operation whose fence of the standby (the old active
	// side) has not landed yet: that side may still be sending, so nothing writes into
	// it until the operation clears this. Empty: the standby is fenced (or never was
	// active under this epoch).
	FencePending string
	// MergeBack is the listing of the standby that brings what the old side held alone
	// into the active side (ScanMergeBack); set by a flip, run once FencePending is
	// empty, before any write into the standby.
	MergeBack Scan
	// Rollovers are the generated sessions the move into this epoch rolled over on
	// the active side (a journaled rollover: no room was left above the highest
	// number known, so the side was set low in its range), keyed by lower-case name,
	// each with the number it rolled over from. The merge-back leaves them in their
	// new cycle (session.MergeBackAfterRollover); set by the flip, dropped once the
	// merge-back completes.
	Rollovers map[string]uint64
	// Recent is the overlap memory: sessions whose content the standby is known to
	// hold, so re-listing the overlap window costs no standby reads and no writes.
	Recent map[string]Seen
	// Rates is the observed rate of each generated control number, in numbers per
	// second, from the states replication copied: what a failover sizes its bump
	// margin by. Keyed by session name; bounded.
	Rates map[string]float64
	// ClockOffset is the active side's service clock minus this machine's, as last
	// measured (Date header, rounded up): lag is measured on the service's clock.
	ClockOffset time.Duration
	// LastReconciled is when (service clock) the last reconciliation scan started.
	LastReconciled time.Time
	LastHealed     int64

	LeaseOwner string
	LeaseUntil time.Time

	Runs          int64
	Writes        int64
	LastRun       time.Time
	LastWrites    int64
	LastListed    int64
	LastError     string
	LastDuration  time.Duration
	FutureStamped int64
	// LastSuccess is when the last run that ended without an error started.
	LastSuccess time.Time
	// History is the last HistoryLen runs, oldest first: what the status page charts.
	History []RunSample

	// ETag is the store's version of this checkpoint; empty for a new one.
	ETag string
}

// RunSample is one run as the status page charts it.
type RunSample struct {
	At         time.Time `json:"at"`
	LagSeconds float64   `json:"lag"` // -1 before the first full sync
	Writes     int64     `json:"writes"`
	OK         bool      `json:"ok"`
}

// HistoryLen bounds Checkpoint.History: an hour of once-a-minute runs, a few KiB in
// the checkpoint's entity.
const HistoryLen = 60

// HoldPrefix starts the LeaseOwner of a plan's hold on the stream (HoldPrefix + the
// operation's id). A plan's hold does not end by time: a plan may wait hours (a
// settle, a fence, this app down), and a run that took the stream meanwhile would
// write an older number over its bumps. The plan releases it when it ends.
const HoldPrefix = "operation:"

// Store keeps checkpoints and active-region records.
type Store interface {
	// Load returns the stream's checkpoint (a new one, with no ETag, if none exists)
	// and the pair's active-region record (primary at epoch 0, no ETag, if none exists).
	Load(ctx context.Context, pair string) (Checkpoint, ActiveRegion, error)
	// Save writes cp if its ETag still matches (or it is new) and returns it with the
	// new ETag. A lost race is an error with code drerr.Conflict.
	Save(ctx context.Context, cp Checkpoint) (Checkpoint, error)
	// SetActiveRegion replaces the pair's active-region record if its stored ETag is
	// r.ETag (empty: only if none exists) and returns it with the new ETag. A lost race
	// is an error with code drerr.Conflict.
	SetActiveRegion(ctx context.Context, pair string, r ActiveRegion) (ActiveRegion, error)
}

// Stats are what one run did, for logs, the demo and benchmarks.
type Stats struct {
	Pair          string         `json:"pair"`
	Direction     string         `json:"direction"`
	Scan          ScanKind       `json:"scan"`
	FullSync      bool           `json:"fullSync"`
	Pages         int            `json:"listCalls"`
	Listed        int            `json:"listed"`
	RescanSkipped int            `json:"rescanSkipped"`
	Candidates    int            `json:"candidates"`
	Reads         int            `json:"standbyReads"`
	Writes        int            `json:"writes"`
	Same          int            `json:"same"`
	StandbyNewer  int            `json:"standbyNewer"`
	FutureStamped int            `json:"futureStamped"`
	Healed        int            `json:"healed"`
	WritesByKind  map[string]int `json:"writesByKind"`
	Watermark     time.Time      `json:"watermark"`
	// ScanDone says the scan completed in this run; false with no error means it
	// ran out of lease and the next run resumes at its cursor.
	ScanDone bool `json:"scanDone"`
	// ScanResumed says the scan this run worked on was begun by an earlier run: it
	// may have listed past a session that changed since it began.
	ScanResumed bool  `json:"scanResumed"`
	ScanListed  int64 `json:"scanListed"`
	// Reconcile says the run went on with a reconciliation; ReconcileDone that it
	// completed, having written Healed sessions in this run.
	Reconcile       bool          `json:"reconcile"`
	ReconcileDone   bool          `json:"reconcileDone"`
	ReconcileListed int64         `json:"reconcileListed"`
	Lag             time.Duration `json:"lag"`
	// MergedBack is how many sessions the merge-back wrote into the active side in
	// this run: what the old side held alone (copied) or held higher (raised).
	MergedBack int    `json:"mergedBack"`
	Skipped    string `json:"skipped,omitempty"`
}
