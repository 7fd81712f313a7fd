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

// mirrorTableSuffix names the mirrors' journal table after the state table.
const mirrorTableSuffix = "mirror"

// MirrorTable is the table of the drift and mirror operations' journal: the state
// table's name with "mirror" after it. Apart from the plans' journal, so that no plan
// ever sees a mirror as an operation under way, a cooldown or a last move.
func (s State) MirrorTable() string { return s.Table + mirrorTableSuffix }
