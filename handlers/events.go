package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"integration-dr/journal"
	"integration-dr/replication"
)

// Event names: what a structured log record is about.
const (
	EventReplication = "replication" // one pair's replication run
	EventOperation   = "operation"   // where an operation stands after an invocation
)

// Replication outcomes. An operation's outcome is its journal status.
const (
	OutcomeSucceeded = "succeeded"
	OutcomeSkipped   = "skipped"
	OutcomeThrottled = "throttled"
	OutcomeFailed    = "failed"
)

// Event is a structured log record, for queries rather than for reading: the alert
// rules in infra/bicep/modules/alerts.bicep read these fields by name. Each is written
// as one JSON line in the reply's Logs, which the host hands to Application Insights
// as a trace under the function's operation_Name, and with the same names as
// attributes of the handler's own log.
type Event struct {
	Event       string `json:"event"`
	Pair        string `json:"pair"`
	OperationID string `json:"operationId,omitempty"`
	Action      string `json:"action,omitempty"`
	Step        string `json:"step,omitempty"`
	Outcome     string `json:"outcome"`
	// LagSeconds is a replication run's lag; -1 while unknown (no full sync yet), as
	// the Status endpoint says it.
	LagSeconds *float64 `json:"lagSeconds,omitempty"`
	// AgeSeconds is how long an operation has been on its RTO clock (since the alert
	// fired or the command was queued).
	AgeSeconds *float64 `json:"ageSeconds,omitempty"`
}

// Line is the event as one line of JSON.
func (e Event) Line() string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(e) // strings and numbers only: cannot fail
	return strings.TrimSuffix(b.String(), "\n")
}

// Attrs are the event's fields as log attributes, by the same names.
func (e Event) Attrs() []any {
	attrs := []any{"event", e.Event, "pair", e.Pair, "outcome", e.Outcome}
	for _, kv := range [][2]string{{"operationId", e.OperationID}, {"action", e.Action}, {"step", e.Step}} {
		if kv[1] != "" {
			attrs = append(attrs, kv[0], kv[1])
		}
	}
	if e.LagSeconds != nil {
		attrs = append(attrs, "lagSeconds", *e.LagSeconds)
	}
	if e.AgeSeconds != nil {
		attrs = append(attrs, "ageSeconds", *e.AgeSeconds)
	}
	return attrs
}

func seconds(d time.Duration) *float64 {
	s := d.Seconds()
	return &s
}

// replicationEvent is a pair's run; err is that pair's error, if any.
func replicationEvent(s replication.Stats, err error) Event {
	lag := -1.0
	if s.Lag >= 0 {
		lag = s.Lag.Seconds()
	}
	e := Event{Event: EventReplication, Pair: s.Pair, Outcome: OutcomeSucceeded, LagSeconds: &lag}
	switch {
	case err != nil && throttledOnly(err):
		e.Outcome = OutcomeThrottled
	case err != nil:
		e.Outcome = OutcomeFailed
	case s.Skipped != "":
		e.Outcome = OutcomeSkipped
	}
	return e
}

// pairErrors attributes a run's joined error to its pairs: replication.Service wraps
// each pair's as "pair <name>: …". An error no pair claims stays under "".
func pairErrors(err error, stats []replication.Stats) map[string]error {
	out := map[string]error{}
	if err == nil {
		return out
	}
	for _, e := range splitJoined(err) {
		if e == nil {
			continue
		}
		owner := ""
		for _, s := range stats {
			if strings.HasPrefix(e.Error(), "pair "+s.Pair+": ") {
				owner = s.Pair
				break
			}
		}
		out[owner] = errors.Join(out[owner], e)
	}
	return out
}

// operationEvent is where op stands at now.
func operationEvent(op journal.Operation, now time.Time) Event {
	e := Event{Event: EventOperation, Pair: op.Pair, OperationID: op.ID, Action: string(op.Action), Step: currentStep(op), Outcome: string(op.Status)}
	if !op.RTOStart.IsZero() {
		end := now
		if !op.Done.IsZero() {
			end = op.Done
		}
		e.AgeSeconds = seconds(end.Sub(op.RTOStart))
	}
	return e
}

// currentStep is the step an operation is at: the first that has not ended well, or
// its last.
func currentStep(op journal.Operation) string {
	for _, s := range op.Steps {
		switch s.Status {
		case journal.StepDone, journal.StepSkipped:
		default:
			return s.Name
		}
	}
	if n := len(op.Steps); n > 0 {
		return op.Steps[n-1].Name
	}
	return ""
}
