package overview

import (
	"maps"
	"regexp"
	"slices"

	"integration-dr/failover"
	"integration-dr/journal"
	"integration-dr/ssis"
)

// secretPattern finds what looks like a credential inside free text: errors from SDKs
// sometimes quote a connection string or a signed URL. The overview carries no
// secrets by design, but it is shown from anywhere during an outage (the status page,
// its JSON, drctl status), so its free text is masked rather than every error message
// upstream trusted.
var secretPattern = regexp.MustCompile(`(?i)\b(AccountKey|SharedAccessKey|SharedAccessSignature|sig|code|client_secret|password|pwd|token)=([^;&\s"'<>]+)`)

var bearerPattern = regexp.MustCompile(`(?i)\bbearer\s+[a-z0-9\-._~+/]+=*`)

// Mask replaces what looks like a credential in s ("AccountKey=…", "sig=…", a
// bearer token) with "[redacted]", keeping its name. Masking masked text changes
// nothing.
func Mask(s string) string {
	s = secretPattern.ReplaceAllString(s, "$1=[redacted]")
	return bearerPattern.ReplaceAllString(s, "Bearer [redacted]")
}

func maskAll(lines []string) []string {
	if lines == nil {
		return nil
	}
	out := make([]string, len(lines))
	for i, s := range lines {
		out[i] = Mask(s)
	}
	return out
}

// Masked returns o with every free-text field masked: errors, outcomes, reasons,
// check explanations, notes, changes, problems. o itself, and whatever it shares
// with its sources, is left as it is.
func (o Overview) Masked() Overview {
	o.Streams = slices.Clone(o.Streams)
	for i := range o.Streams {
		o.Streams[i].LastError = Mask(o.Streams[i].LastError)
	}
	o.Readiness = slices.Clone(o.Readiness)
	for i := range o.Readiness {
		o.Readiness[i] = maskedReport(o.Readiness[i])
	}
	o.Pending = maskedOperations(o.Pending)
	o.Operations = maskedOperations(o.Operations)
	o.SSIS = slices.Clone(o.SSIS)
	for i := range o.SSIS {
		o.SSIS[i] = maskedSSIS(o.SSIS[i])
	}
	o.Problems = maskAll(o.Problems)
	return o
}

func maskedReport(r failover.Report) failover.Report {
	r.Checks = slices.Clone(r.Checks)
	for i := range r.Checks {
		r.Checks[i].Why = Mask(r.Checks[i].Why)
	}
	r.Bumps = maskAll(r.Bumps)
	r.Notes = maskAll(r.Notes)
	return r
}

func maskedOperations(ops []journal.Operation) []journal.Operation {
	ops = slices.Clone(ops)
	for i := range ops {
		op := &ops[i]
		op.Reason = Mask(op.Reason)
		op.Error = Mask(op.Error)
		op.Steps = slices.Clone(op.Steps)
		for j := range op.Steps {
			op.Steps[j].Outcome = Mask(op.Steps[j].Outcome)
			op.Steps[j].Changes = maskAll(op.Steps[j].Changes)
		}
	}
	return ops
}

func maskedSSIS(p ssis.PairStatus) ssis.PairStatus {
	p.Unknown = Mask(p.Unknown)
	p.Reading = maskAll(p.Reading)
	p.Changes = maskAll(p.Changes)
	p.Problems = maskAll(p.Problems)
	p.InFlight = maskAll(p.InFlight)
	if p.Sides != nil {
		sides := maps.Clone(p.Sides)
		for k, s := range sides {
			s.InFlight = Mask(s.InFlight)
			s.Agent = Mask(s.Agent)
			sides[k] = s
		}
		p.Sides = sides
	}
	return p
}
