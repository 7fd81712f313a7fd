package failover

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Readiness is what keeps a target from taking over, one reason per problem. The zero
// value is ready.
type Readiness struct {
	// Missing names the old side's agreements the target lacks.
	Missing []string
	// Mismatched names agreements both sides have with different protocols, or that a
	// side lists more than once.
	Mismatched []string
	// NoRoom names the generated sessions that cannot be bumped within their bounds.
	NoRoom []string
	// Reasons says why, one sentence per problem, sorted.
	Reasons []string
	// NotCompared says the old side's agreements could not be read nor were ever
	// recorded: nothing was compared.
	NotCompared bool
}

// Ready says nothing stands in the way.
func (r Readiness) Ready() bool { return len(r.Reasons) == 0 }

// Merge adds another check's findings.
func (r Readiness) Merge(o Readiness) Readiness {
	r.Missing = append(append([]string(nil), r.Missing...), o.Missing...)
	r.Mismatched = append(append([]string(nil), r.Mismatched...), o.Mismatched...)
	r.NoRoom = append(append([]string(nil), r.NoRoom...), o.NoRoom...)
	r.Reasons = append(append([]string(nil), r.Reasons...), o.Reasons...)
	sort.Strings(r.Reasons)
	return r
}

// CheckAgreements compares the old side's agreements with the target's by name
// (case-insensitively, as ARM names are) and protocol. Agreements only the target has
// are no problem.
func CheckAgreements(old, target []Agreement) Readiness {
	var r Readiness
	oldBy, tgtBy := groupByName(old), groupByName(target)
	keys := make([]string, 0, len(oldBy))
	for k := range oldBy {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		o := oldBy[k]
		name := o[0].Name
		t, ok := tgtBy[k]
		switch {
		case len(o) > 1:
			r.Mismatched = append(r.Mismatched, name)
			r.Reasons = append(r.Reasons, fmt.Sprintf("agreement %q is listed %d times on the old side", name, len(o)))
		case !ok:
			r.Missing = append(r.Missing, name)
			r.Reasons = append(r.Reasons, fmt.Sprintf("agreement %q (%v) is missing on the target", name, o[0].Protocol))
		case len(t) > 1:
			r.Mismatched = append(r.Mismatched, name)
			r.Reasons = append(r.Reasons, fmt.Sprintf("agreement %q is listed %d times on the target", name, len(t)))
		case o[0].Protocol != t[0].Protocol:
			r.Mismatched = append(r.Mismatched, name)
			r.Reasons = append(r.Reasons, fmt.Sprintf("agreement %q is %v on the old side but %v on the target", name, o[0].Protocol, t[0].Protocol))
		}
	}
	sort.Strings(r.Reasons)
	return r
}

func groupByName(as []Agreement) map[string][]Agreement {
	m := make(map[string][]Agreement, len(as))
	for _, a := range as {
		k := strings.ToLower(a.Name)
		m[k] = append(m[k], a)
	}
	return m
}

// CheckRoom says whether every generated number can be bumped within its bounds, as
// Compute would bump it now: a floor past the upper bound with rollover off (or a margin
// that laps the range) is not ready, and so is an input Compute rejects.
func CheckRoom(inputs []Input, policy Policy, target []Agreement, now time.Time) Readiness {
	var r Readiness
	plan, err := Compute(inputs, policy, target, now)
	if err != nil {
		r.Reasons = append(r.Reasons, err.Error())
		return r
	}
	for _, x := range plan.Refused {
		r.NoRoom = append(r.NoRoom, x.Session)
		r.Reasons = append(r.Reasons, x.Reason)
	}
	sort.Strings(r.Reasons)
	return r
}
