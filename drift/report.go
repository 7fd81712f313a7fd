package drift

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// PairReport is one comparison of a pair's two sides, as every surface shows it: the
// readiness report's drift section, drctl drift, the status page.
type PairReport struct {
	Pair string
	At   time.Time
	// Epoch and the sides are the pair's as read when the comparison began: Active is
	// the side that serves, Standby the other.
	Epoch           int64
	Active, Standby string
	// NotCompared says why the sides could not be compared ("" when they were): a side
	// that did not answer, or answered throttled, is never "no drift".
	NotCompared string `json:",omitempty"`
	Result      Result
	// Omitted counts the differences left out of Result to keep the report small
	// (a kept report); 0 for a report made just now.
	Omitted int `json:",omitempty"`
	// Scripts are the scripts of the artifacts a mirror only reports (Agent jobs) that
	// the standby lacks or holds otherwise: what an operator runs there by hand.
	Scripts []Script `json:",omitempty"`
}

// Script is what an operator runs on the standby for an artifact a mirror does not
// copy.
type Script struct {
	Kind   Kind
	Name   string
	Script string
}

// Compared says the sides were both read and compared.
func (r PairReport) Compared() bool { return r.NotCompared == "" }

// Reasons says, one sentence each, what makes the pair not ready: every blocking
// difference, naming the artifact and what differs.
func (r PairReport) Reasons() []string {
	var out []string
	for _, d := range r.Result.Blocking() {
		out = append(out, d.Reason())
	}
	return out
}

// Reason is a difference in one sentence naming the artifact: "map OrdersToSAP: only
// on the active side".
func (d Difference) Reason() string { return fmt.Sprintf("%s %s: %s", d.Kind, d.Name, d.What) }

// ScriptOf returns the script an artifact's Body holds for a kind that is not copied
// (a JSON string), or "" when the body holds none.
func ScriptOf(a Artifact) string {
	var s string
	if len(a.Body) == 0 || json.Unmarshal(a.Body, &s) != nil {
		return ""
	}
	return s
}

// Scripts returns the scripts of the active side's artifacts behind res's reported
// differences of kinds that are not copied.
func Scripts(res Result, active []Artifact) []Script {
	byName := map[string]Artifact{}
	for _, a := range active {
		byName[string(a.Kind)+"/"+strings.ToLower(a.Name)] = a
	}
	var out []Script
	for _, d := range res.Differences {
		if d.Kind.Copied() || d.Change != Report {
			continue
		}
		if a, ok := byName[string(d.Kind)+"/"+strings.ToLower(d.Name)]; ok {
			if s := ScriptOf(a); s != "" {
				out = append(out, Script{Kind: d.Kind, Name: a.Name, Script: s})
			}
		}
	}
	return out
}

// Trim keeps at most n differences, the blocking ones first, counting the rest in
// Omitted, and leaves the scripts out: a report kept for a page, not for running.
func (r PairReport) Trim(n int) PairReport {
	r.Scripts = nil
	total := len(r.Result.Differences)
	if total <= n {
		return r
	}
	kept := r.Result.Blocking()
	for _, d := range r.Result.Differences {
		if d.Allowed {
			kept = append(kept, d)
		}
	}
	r.Result.Differences = kept[:n:n]
	r.Omitted += total - n
	return r
}
