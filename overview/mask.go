package overview

import (
	"maps"
	"slices"

	"integration-dr/failover"
	"integration-dr/journal"
	"integration-dr/redact"
	"integration-dr/ssis"
)

// Masked returns o with every free-text field masked (see package redact): errors,
// outcomes, reasons, who asked and which alert, check explanations, notes, changes,
// problems. The overview carries no secrets by design, but it is shown from anywhere
// during an outage and its text arrives from outside (an alert, an SDK's error). o
// itself, and whatever it shares with its sources, is left as it is.
func (o Overview) Masked() Overview {
	o.Streams = slices.Clone(o.Streams)
	for i := range o.Streams {
		o.Streams[i].LastError = redact.String(o.Streams[i].LastError)
	}
	o.Readiness = slices.Clone(o.Readiness)
	for i := range o.Readiness {
		o.Readiness[i] = MaskedReport(o.Readiness[i])
	}
	o.Pending = maskedOperations(o.Pending)
	o.Operations = maskedOperations(o.Operations)
	o.SSIS = slices.Clone(o.SSIS)
	for i := range o.SSIS {
		o.SSIS[i] = maskedSSIS(o.SSIS[i])
	}
	o.Problems = redact.Strings(o.Problems)
	return o
}

// MaskedReport returns r with its free text masked.
func MaskedReport(r failover.Report) failover.Report {
	r.Checks = slices.Clone(r.Checks)
	for i := range r.Checks {
		r.Checks[i].Why = redact.String(r.Checks[i].Why)
	}
	r.Bumps = redact.Strings(r.Bumps)
	r.Notes = redact.Strings(r.Notes)
	return r
}

// MaskedOperation returns op with its free text masked.
func MaskedOperation(op journal.Operation) journal.Operation {
	op.Reason = redact.String(op.Reason)
	op.Error = redact.String(op.Error)
	op.Target = redact.String(op.Target)
	op.Source.AlertID = redact.String(op.Source.AlertID)
	op.Source.AlertRule = redact.String(op.Source.AlertRule)
	op.Source.RequestedBy = redact.String(op.Source.RequestedBy)
	op.Steps = slices.Clone(op.Steps)
	for j := range op.Steps {
		op.Steps[j].Outcome = redact.String(op.Steps[j].Outcome)
		op.Steps[j].Changes = redact.Strings(op.Steps[j].Changes)
	}
	return op
}

func maskedOperations(ops []journal.Operation) []journal.Operation {
	ops = slices.Clone(ops)
	for i := range ops {
		ops[i] = MaskedOperation(ops[i])
	}
	return ops
}

func maskedSSIS(p ssis.PairStatus) ssis.PairStatus {
	p.Unknown = redact.String(p.Unknown)
	p.Reading = redact.Strings(p.Reading)
	p.Changes = redact.Strings(p.Changes)
	p.Problems = redact.Strings(p.Problems)
	p.InFlight = redact.Strings(p.InFlight)
	if p.Sides != nil {
		sides := maps.Clone(p.Sides)
		for k, s := range sides {
			s.InFlight = redact.String(s.InFlight)
			s.Agent = redact.String(s.Agent)
			sides[k] = s
		}
		p.Sides = sides
	}
	return p
}
