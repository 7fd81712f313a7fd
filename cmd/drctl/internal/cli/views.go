package cli

import (
	"time"

	"integration-dr/journal"
	"integration-dr/overview"
	"integration-dr/view"
)

// The --json documents are drctl's contract with scripts; they live in package view
// (with their JSON Schemas), shared with the Status endpoint so that drctl status
// --json and the endpoint answer the same document. The names below keep the
// commands' code short.
type (
	statusView     = view.Status
	operationView  = view.Operation
	stepView       = view.Step
	readinessView  = view.Readiness
	ssisView       = view.SSIS
	checkpointView = view.Checkpoint
	scanView       = view.Scan
	deadLetterView = view.DeadLetter
)

// Check verdicts and readiness states, as the contract names them.
const (
	verdictFail       = overview.VerdictFail
	verdictNotChecked = overview.VerdictNotChecked
	stateReady        = overview.StateReady
	stateNotReady     = overview.StateNotReady
	stateStale        = overview.StateStale
)

func toStatus(o overview.Overview) statusView { return view.FromOverview(o) }

func toOperation(op journal.Operation) operationView { return view.FromOperation(op) }

// timePtr is nil for the zero time: "never" is null in JSON, not year 1.
func timePtr(t time.Time) *time.Time { return view.Time(t) }
