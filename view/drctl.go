package view

import (
	"time"

	"integration-dr/redact"
	"integration-dr/replication"
)

// The documents only drctl prints.

// Error is what drctl --json prints on stdout when a command fails before it printed
// its document; the process exits with ExitCode.
type Error struct {
	Error ErrorBody `json:"error"`
}

// ErrorBody says what failed, in one line, masked.
type ErrorBody struct {
	Message  string `json:"message"`
	ExitCode int    `json:"exitCode"`
}

// NewError makes the error document of a message and an exit code.
func NewError(message string, code int) Error {
	return Error{Error: ErrorBody{Message: redact.String(message), ExitCode: code}}
}

// WaitEvent is one line of drctl … --wait --json: something happened to the
// operation being followed (a step changed, the operation ended, the watch itself
// has something to say). One JSON object per line, then the operation's document.
type WaitEvent struct {
	Time        time.Time `json:"time"`
	OperationID string    `json:"operationId"`
	Pair        string    `json:"pair"`
	// State is the operation's status (running, waiting, succeeded, …), "" before
	// it is journaled.
	State string `json:"state"`
	// Step is the step the event is about; "" for the operation as a whole.
	Step    string `json:"step"`
	Message string `json:"message"`
}

// NewWaitEvent makes an event, its time in UTC and its message masked.
func NewWaitEvent(at time.Time, operationID, pair, state, step, message string) WaitEvent {
	return WaitEvent{Time: at.UTC(), OperationID: operationID, Pair: pair, State: state, Step: step, Message: redact.String(message)}
}

// Queued is drctl's document for a command posted to the queue without --wait.
type Queued struct {
	ID     string `json:"id"`
	Action string `json:"action"`
	Pair   string `json:"pair"`
	Queue  string `json:"queue"`
	Queued bool   `json:"queued"`
}

// Plan is drctl plan's document.
type Plan struct {
	Operation Operation `json:"operation"`
	// Then is what a real run would change besides the numbers, by step.
	Then []PlanChange `json:"then"`
}

// PlanChange is one change a step would make.
type PlanChange struct {
	Step   string `json:"step"`
	Change string `json:"change"`
}

// Checkpoint is drctl checkpoint show's document.
type Checkpoint struct {
	Pair string `json:"pair"`
	// Stored says a checkpoint exists; none until the first run.
	Stored       bool   `json:"stored"`
	ActiveRegion string `json:"activeRegion"`
	Epoch        int64  `json:"epoch"`
	// CheckpointEpoch differs from Epoch right after a flip, until a run restarts the
	// stream in the new direction.
	CheckpointEpoch     int64      `json:"checkpointEpoch"`
	Watermark           *time.Time `json:"watermark"`
	LagSeconds          float64    `json:"lagSeconds"`
	ClockOffsetSeconds  float64    `json:"clockOffsetSeconds"`
	Scan                Scan       `json:"scan"`
	Reconcile           Scan       `json:"reconcile"`
	LastReconciled      *time.Time `json:"lastReconciled"`
	LastHealed          int64      `json:"lastHealed"`
	LastRun             *time.Time `json:"lastRun"`
	LastDurationSeconds float64    `json:"lastDurationSeconds"`
	LastWrites          int64      `json:"lastWrites"`
	LastListed          int64      `json:"lastListed"`
	LastError           string     `json:"lastError"`
	LastSuccess         *time.Time `json:"lastSuccess"`
	LeaseOwner          string     `json:"leaseOwner"`
	LeaseUntil          *time.Time `json:"leaseUntil"`
	LeaseHeld           bool       `json:"leaseHeld"`
	Runs                int64      `json:"runs"`
	Writes              int64      `json:"writes"`
	FutureStamped       int64      `json:"futureStamped"`
	OverlapMemory       int        `json:"overlapMemory"`
	ObservedRates       int        `json:"observedRates"`
}

// Scan is a listing under way across runs.
type Scan struct {
	Kind     string     `json:"kind"` // "" between scans
	Since    *time.Time `json:"since"`
	Listed   int64      `json:"listed"`
	Writes   int64      `json:"writes"`
	Resuming bool       `json:"resuming"` // a cursor is saved: the next run goes on from it
}

// FromCheckpoint makes checkpoint show's document of a stored checkpoint, its
// pair's active-region record and now.
func FromCheckpoint(cp replication.Checkpoint, region replication.ActiveRegion, now time.Time) Checkpoint {
	v := Checkpoint{
		Pair: cp.Pair, Stored: cp.ETag != "", ActiveRegion: string(region.Active), Epoch: region.Epoch, CheckpointEpoch: cp.Epoch,
		Watermark: Time(cp.Watermark), LagSeconds: -1, ClockOffsetSeconds: Seconds(cp.ClockOffset.Seconds()),
		Scan: fromScan(cp.Scan), Reconcile: fromScan(cp.Reconcile), LastReconciled: Time(cp.LastReconciled), LastHealed: cp.LastHealed,
		LastRun: Time(cp.LastRun), LastDurationSeconds: Seconds(cp.LastDuration.Seconds()), LastWrites: cp.LastWrites, LastListed: cp.LastListed,
		LastError: redact.String(cp.LastError), LastSuccess: Time(cp.LastSuccess),
		LeaseOwner: cp.LeaseOwner, LeaseUntil: Time(cp.LeaseUntil), LeaseHeld: cp.LeaseOwner != "" && now.Before(cp.LeaseUntil),
		Runs: cp.Runs, Writes: cp.Writes, FutureStamped: cp.FutureStamped, OverlapMemory: len(cp.Recent), ObservedRates: len(cp.Rates),
	}
	// As the status page measures it: only a checkpoint of the current direction has a lag.
	if lag := replication.Lag(cp, now); cp.Epoch == region.Epoch && lag >= 0 {
		v.LagSeconds = Seconds(lag.Seconds())
	}
	return v
}

func fromScan(s replication.Scan) Scan {
	return Scan{Kind: string(s.Kind), Since: Time(s.Since), Listed: s.Listed, Writes: s.Writes, Resuming: s.Cursor != ""}
}

// Reset is drctl checkpoint reset's document.
type Reset struct {
	Pair              string     `json:"pair"`
	Reset             bool       `json:"reset"`
	ActiveRegion      string     `json:"activeRegion"`
	Epoch             int64      `json:"epoch"`
	PreviousWatermark *time.Time `json:"previousWatermark"`
	Note              string     `json:"note"`
}

// DeadLetter is a dead-lettered command in drctl dlq list.
type DeadLetter struct {
	SequenceNumber int64      `json:"sequenceNumber"`
	MessageID      string     `json:"messageId"`
	ID             string     `json:"id"`
	Action         string     `json:"action"`
	Pair           string     `json:"pair"`
	Reason         string     `json:"reason"`
	Description    string     `json:"description"`
	EnqueuedTime   *time.Time `json:"enqueuedTime"`
	DeliveryCount  uint32     `json:"deliveryCount"`
}

// ReplicationRun is one pair's pass in drctl replicate --once.
type ReplicationRun struct {
	Pair          string         `json:"pair"`
	Direction     string         `json:"direction"`
	Scan          string         `json:"scan"`
	FullSync      bool           `json:"fullSync"`
	ListCalls     int            `json:"listCalls"`
	Listed        int            `json:"listed"`
	RescanSkipped int            `json:"rescanSkipped"`
	Candidates    int            `json:"candidates"`
	StandbyReads  int            `json:"standbyReads"`
	Writes        int            `json:"writes"`
	Same          int            `json:"same"`
	StandbyNewer  int            `json:"standbyNewer"`
	FutureStamped int            `json:"futureStamped"`
	Healed        int            `json:"healed"`
	WritesByKind  map[string]int `json:"writesByKind"`
	Watermark     *time.Time     `json:"watermark"`
	ScanDone      bool           `json:"scanDone"`
	ScanListed    int64          `json:"scanListed"`
	Reconcile     bool           `json:"reconcile"`
	ReconcileDone bool           `json:"reconcileDone"`
	// ReconcileListed is how far the reconciliation under way got.
	ReconcileListed int64 `json:"reconcileListed"`
	// LagSeconds is the lag after the pass; -1 when unknown (no full sync yet, or the
	// pass stood aside).
	LagSeconds float64 `json:"lagSeconds"`
	MergedBack int     `json:"mergedBack"`
	// Skipped says why the pass stood aside (another run holds the stream); "" when
	// it ran.
	Skipped string `json:"skipped"`
}

// FromStats makes a replication pass's view.
func FromStats(st replication.Stats) ReplicationRun {
	v := ReplicationRun{
		Pair: st.Pair, Direction: st.Direction, Scan: string(st.Scan), FullSync: st.FullSync, ListCalls: st.Pages, Listed: st.Listed,
		RescanSkipped: st.RescanSkipped, Candidates: st.Candidates, StandbyReads: st.Reads, Writes: st.Writes, Same: st.Same,
		StandbyNewer: st.StandbyNewer, FutureStamped: st.FutureStamped, Healed: st.Healed, WritesByKind: map[string]int{},
		Watermark: Time(st.Watermark), ScanDone: st.ScanDone, ScanListed: st.ScanListed, Reconcile: st.Reconcile,
		ReconcileDone: st.ReconcileDone, ReconcileListed: st.ReconcileListed, LagSeconds: -1, MergedBack: st.MergedBack,
		Skipped: redact.String(st.Skipped),
	}
	for k, n := range st.WritesByKind {
		v.WritesByKind[k] = n
	}
	if st.Skipped == "" && st.Lag >= 0 {
		v.LagSeconds = Seconds(st.Lag.Seconds())
	}
	return v
}
