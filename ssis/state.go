package ssis

import (
	"context"
	"time"

	"integration-dr/mssql"
)

// Policy is what the standby side's integration runtime does while its SSISDB is
// secondary.
type Policy string

// The standby policies.
const (
	// StandbyRunning keeps both runtimes running: near-zero downtime on failover.
	StandbyRunning Policy = "running"
	// StandbyStopped stops the standby's runtime: it costs nothing, and a failover
	// waits for it to start (about 5 minutes; 20-30 when VNet-injected).
	StandbyStopped Policy = "stopped"
)

// Pair is an SSIS dual-standby pair as a reconcile sees it.
type Pair struct {
	Name    string
	Kind    mssql.Kind
	Standby Policy
	Sides   map[Side]Endpoint
}

// Endpoint is what one side of a pair holds.
type Endpoint struct {
	Group FailoverGroup
	// DB is SSISDB on the side's server; nil when no SQL endpoint is configured (the
	// role then comes from ARM alone, and no schedule is toggled).
	DB      Database
	Factory Factory
	IR      string
	// Triggers are the data factory triggers that may run only where SSISDB is
	// primary: by name, and every trigger carrying TriggerAnnotation.
	Triggers          []string
	TriggerAnnotation string
	// ScheduleIDs and ScheduleNames are the SQL Agent schedules (Managed Instance)
	// enabled where SSISDB is primary and disabled where it is secondary.
	ScheduleIDs   []int
	ScheduleNames []string
}

// State is what a pair's reconcile keeps between ticks: the long-running operations
// it began, the side an attach-ir moved the runtime to, and its last report.
type State struct {
	Pair string
	// Pending are operations begun and not yet seen to end, by key (pendingIR(side)).
	Pending map[string]Pending `json:",omitempty"`
	// Serving is the side whose integration runtime serves the primary SSISDB after an
	// attach-ir moved it away from the primary's side; empty when it is the primary's.
	Serving Side `json:",omitempty"`
	// Unknown is why the role was unknown in the last reading ("" when known): a new
	// reason is journaled once, not every tick.
	Unknown string `json:",omitempty"`
	Last    Report
	// ETag is the stored version this value was read at; Save is conditional on it.
	ETag string `json:"-"`
}

// Pending is one long-running operation: an integration runtime start or stop.
type Pending struct {
	Op    string // "start" or "stop"
	Token string // the poller's resume token; "" after a failure, until NextTry
	Began time.Time
	// Tries counts failed attempts; NextTry is when the next may begin (back-off).
	Tries   int       `json:",omitempty"`
	NextTry time.Time `json:",omitempty"`
	Error   string    `json:",omitempty"`
	// OpID is the operation that began it (a group failover); empty for the timer's.
	OpID string `json:",omitempty"`
}

// Store keeps each SSIS pair's State (Table Storage in production).
type Store interface {
	// Load returns the pair's state; a zero State for the pair, with no ETag, when
	// none is stored.
	Load(ctx context.Context, pair string) (State, error)
	// Save stores st if the stored version is still st.ETag ("" creates), and returns
	// it with its new ETag; drerr.Conflict when someone else saved first.
	Save(ctx context.Context, st State) (State, error)
}

func pendingIR(s Side) string { return "ir|" + string(s) }

// Report is what one reconcile saw and did, for the journal and the status page.
type Report struct {
	Pair string
	At   time.Time
	// Roles are the roles acted on (or, in a dry run, assumed).
	Roles map[Side]Role
	// Unknown says why the role could not be told; when set, nothing was changed.
	Unknown string `json:",omitempty"`
	// Reading says how the roles were read, one line per source.
	Reading []string
	Sides   map[Side]SideReport
	// Changes are what this pass changed (in a dry run: would change).
	Changes []string `json:",omitempty"`
	// Problems are what it could not read or do; the next tick tries again.
	Problems []string `json:",omitempty"`
	// Converged: everything matched and nothing is in flight.
	Converged bool
	DryRun    bool `json:",omitempty"`
}

// SideReport is one side as the pass left it.
type SideReport struct {
	Role Role
	// Serves: this side's runtime serves the primary SSISDB.
	Serves  bool
	IR      string
	IRState string `json:",omitempty"`
	IRWant  string // IRStarted or IRStopped
	// InFlight describes a start or stop under way or waiting to be tried again.
	InFlight  string            `json:",omitempty"`
	Triggers  map[string]string `json:",omitempty"` // name → runtime state
	Schedules []ScheduleState   `json:",omitempty"`
	// Agent explains why no schedule follows the role here, if none does.
	Agent string `json:",omitempty"`
}

// ScheduleState is one SQL Agent schedule as the pass left it.
type ScheduleState struct {
	ID      int
	Name    string
	Enabled bool
}
