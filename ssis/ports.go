// Package ssis keeps an Azure-SSIS integration runtime dual-standby pair following its
// SQL failover group: the integration runtime, the Data Factory triggers and the SQL
// Agent schedules of the side where SSISDB is primary run, the other side's follow the
// standby policy. Reconcile is level-triggered: from any state it converges, and once
// converged it changes nothing. The Runner runs the operator's ssis-failover and
// attach-ir commands as journaled plans.
//
// The package imports no Azure SDK: azure/sqlfg, azure/datafactory and mssql
// implement the interfaces below.
package ssis

import (
	"context"

	"integration-dr/mssql"
)

// Role is a side's role in the failover group.
type Role string

// The roles. Unknown is never acted on.
const (
	Primary   Role = "Primary"
	Secondary Role = "Secondary"
	Unknown   Role = "Unknown"
)

// Side names one of a pair's two configured sides: where the pair was set up
// primary ("primary", the home region) and its partner ("secondary"). Which side
// holds the Primary role is the failover group's to say.
type Side string

// The sides.
const (
	SidePrimary   Side = "primary"
	SideSecondary Side = "secondary"
)

// Other is the pair's other side.
func (s Side) Other() Side {
	if s == SidePrimary {
		return SideSecondary
	}
	return SidePrimary
}

// Integration runtime states as Data Factory reports them
// (IntegrationRuntimeStatus.State); the ones a reconcile acts on.
const (
	IRStarted  = "Started"
	IRStarting = "Starting"
	IRStopped  = "Stopped"
	IRStopping = "Stopping"
	IRInitial  = "Initial"
)

// Trigger runtime states (Trigger.RuntimeState).
const (
	TriggerStarted  = "Started"
	TriggerStopped  = "Stopped"
	TriggerDisabled = "Disabled"
)

// FailoverGroup is the SQL failover group as one side's server (Azure SQL Database)
// or instance location (SQL Managed Instance) answers for it. Either side answers for
// both: its own role, and its partner's.
type FailoverGroup interface {
	// Roles returns this side's role and its partner's, as ARM reports them.
	Roles(ctx context.Context) (self, partner Role, err error)
	// BeginFailover makes this side (the secondary, the target) primary: planned, or
	// with data loss when force is set. It returns a resume token for PollFailover,
	// or "" when the failover finished in the first answer.
	BeginFailover(ctx context.Context, force bool) (token string, err error)
	// PollFailover looks once at a failover begun earlier, on any client (the token
	// survives a restart). done once it finished; an error if it failed.
	PollFailover(ctx context.Context, token string) (done bool, err error)
}

// Factory is one side's data factory.
type Factory interface {
	// Name is the data factory's name, as catalog.failover_integration_runtime wants it.
	Name() string
	// IRState reads an integration runtime's state (IRStarted, IRStopped, ...).
	IRState(ctx context.Context, ir string) (string, error)
	// BeginIR starts (start) or stops an integration runtime without waiting: it
	// returns a resume token for PollIR, or "" when the first answer was final.
	BeginIR(ctx context.Context, ir string, start bool) (token string, err error)
	// PollIR looks once at a start or stop begun earlier, on any client (the token
	// survives a restart). done once it finished; an error if it failed.
	PollIR(ctx context.Context, token string) (done bool, err error)
	// Triggers lists the factory's triggers with their runtime state and annotations.
	Triggers(ctx context.Context) ([]Trigger, error)
	// SetTrigger starts or stops a trigger and waits (briefly) for it to take effect.
	SetTrigger(ctx context.Context, name string, start bool) error
}

// Trigger is a Data Factory trigger as a reconcile sees it.
type Trigger struct {
	Name        string
	State       string // TriggerStarted, TriggerStopped, TriggerDisabled
	Annotations []string
}

// Database is SSISDB on one side's server, through T-SQL (mssql.DB implements it).
type Database interface {
	// Role is SSISDB's geo-replication role as this server sees it; mssql.RoleNone
	// when there is no link.
	Role(ctx context.Context) (mssql.Role, error)
	// Schedules returns the SQL Agent schedules with the given ids or names
	// (Managed Instance only), with a drerr.NotFound naming any that are missing.
	Schedules(ctx context.Context, ids []int, names []string) ([]mssql.Schedule, error)
	// SetScheduleEnabled enables or disables one schedule.
	SetScheduleEnabled(ctx context.Context, id int, enabled bool) error
	// FailoverIntegrationRuntime attaches SSISDB to data factory dataFactory's
	// integration runtime irName.
	FailoverIntegrationRuntime(ctx context.Context, dataFactory, irName string) error
}

var _ Database = (*mssql.DB)(nil)
