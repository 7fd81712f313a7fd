package config

import (
	"fmt"
	"strings"

	"integration-dr/drift"
)

// Drift is how drift reports and mirrors treat a pair (either kind): `drift` on the
// pair's entry in DR_TOPOLOGY.
type Drift struct {
	// Allow lists the intended differences between the sides: a difference it covers
	// is reported as allowed, does not make the pair not ready, and is never changed
	// by a mirror.
	Allow []drift.Allow
}

type driftJSON struct {
	Allow []struct {
		Kind string `json:"kind"`
		Name string `json:"name"`
	} `json:"allow"`
}

// drift reads a pair's drift block; field names it in errors ("…pairs[0].drift").
func (p *parser) drift(field string, in *driftJSON) Drift {
	var out Drift
	if in == nil {
		return out
	}
	for i, a := range in.Allow {
		f := fmt.Sprintf("%s.allow[%d]", field, i)
		entry := drift.Allow{Kind: drift.Kind(strings.TrimSpace(a.Kind)), Name: strings.TrimSpace(a.Name)}
		if k, ok := drift.ParseKind(a.Kind); ok {
			entry.Kind = k
		}
		if err := entry.Validate(); err != nil {
			p.fail(f, err.Error())
			continue
		}
		out.Allow = append(out.Allow, entry)
	}
	return out
}
