package overview

import (
	"slices"
	"sort"
	"strings"
	"time"

	"integration-dr/command"
	"integration-dr/failover"
	"integration-dr/journal"
	"integration-dr/replication"
)

// Where traffic goes, as the page, the JSON and drctl say it.
const (
	RoutedUnknown = "unknown"
	RoutedNeither = "neither"
	RoutedBoth    = "both"
)

// RouteKnown is one route as last known: read by a readiness report, or changed by
// an operation's step since.
type RouteKnown struct {
	Side replication.Region
	Name string
	// Enabled is nil when the route's state is not known (it could not be read, or
	// an operation that touched it was refused and its undo says no more).
	Enabled *bool
	Health  string
	// At is when it was known so; Source says how ("readiness" or "operation <id>
	// <step>").
	At     time.Time
	Source string
}

// RouteWords says a route's state as the operator's surfaces print it: "enabled",
// "disabled" or "unknown", with the router's health after a comma when it reports one.
func RouteWords(enabled *bool, health string) string {
	state := "unknown"
	if enabled != nil && *enabled {
		state = "enabled"
	} else if enabled != nil {
		state = "disabled"
	}
	if health != "" {
		state += ", " + health
	}
	return state
}

// Traffic is where partners are sent for one pair, as last known: never fresher
// than its oldest piece.
type Traffic struct {
	Pair string
	// Routed is the side whose routes are enabled ("primary", "secondary"), both,
	// neither, or unknown.
	Routed string
	// KnownAt is the oldest time among the routes' own.
	KnownAt time.Time
	Routes  []RouteKnown
}

// routeChange is a route change a step journals ("disabled route X").
var routeChange = map[string]bool{"disabled route ": false, "enabled route ": true}

// Traffic says, per pair that has routes, where traffic goes: the last readiness
// report's readings, then every route change the pair's operations journaled after
// them, in order. It reads only what o holds.
func (o Overview) Traffic() []Traffic {
	known := map[string]map[string]*RouteKnown{} // pair → route → state
	order := map[string][]string{}
	put := func(pair string, rk RouteKnown) {
		if known[pair] == nil {
			known[pair] = map[string]*RouteKnown{}
		}
		cur, ok := known[pair][rk.Name]
		if !ok {
			order[pair] = append(order[pair], rk.Name)
			known[pair][rk.Name] = &rk
			return
		}
		if !rk.At.Before(cur.At) {
			if rk.Health == "" && rk.Enabled != nil && cur.Enabled != nil && *rk.Enabled == *cur.Enabled {
				rk.Health = cur.Health // a change that did not move it keeps what was read
			}
			*cur = rk
		}
	}
	for _, r := range o.Readiness {
		for _, rd := range r.Routes {
			rk := RouteKnown{Side: rd.Side, Name: rd.Name, Health: rd.Health, At: rd.At, Source: "readiness"}
			if rd.Error == "" {
				on := rd.Enabled
				rk.Enabled = &on
			}
			put(r.Pair, rk)
		}
	}
	ops := append([]journal.Operation(nil), o.Operations...)
	for _, p := range o.Pending {
		if !slices.ContainsFunc(ops, func(x journal.Operation) bool { return x.Pair == p.Pair && x.ID == p.ID }) {
			ops = append(ops, p)
		}
	}
	sort.SliceStable(ops, func(i, j int) bool { return ops[i].Created.Before(ops[j].Created) })
	for _, op := range ops {
		if op.DryRun || op.Action == command.Drill {
			continue
		}
		from, to := replication.Primary, replication.Secondary
		if op.Action == command.Fallback {
			from, to = to, from
		}
		refused := op.Status == journal.Rejected || op.Status == journal.Failed
		for _, st := range op.Steps {
			at := st.Ended
			if at.IsZero() {
				at = op.Updated // a step still waiting noted what landed by its last update
			}
			side := from
			if st.Name == failover.StepEnable {
				side = to
			}
			for _, c := range st.Changes {
				for prefix, on := range routeChange {
					name, ok := strings.CutPrefix(c, prefix)
					if !ok {
						continue
					}
					rk := RouteKnown{Side: side, Name: name, At: at, Source: "operation " + op.ID + " " + st.Name}
					if refused {
						// Its undo may have put the route back: the error says, the
						// state is not known.
						rk.At, rk.Source = op.Updated, "operation "+op.ID+" (refused: see its error)"
					} else {
						rk.Enabled = &on
					}
					put(op.Pair, rk)
				}
			}
		}
	}
	pairs := make([]string, 0, len(known))
	for p := range known {
		pairs = append(pairs, p)
	}
	sort.Strings(pairs)
	var out []Traffic
	for _, p := range pairs {
		t := Traffic{Pair: p}
		sides := map[replication.Region]bool{}
		unknown := false
		for _, name := range order[p] {
			rk := *known[p][name]
			t.Routes = append(t.Routes, rk)
			if t.KnownAt.IsZero() || rk.At.Before(t.KnownAt) {
				t.KnownAt = rk.At
			}
			switch {
			case rk.Enabled == nil:
				unknown = true
			case *rk.Enabled:
				sides[rk.Side] = true
			}
		}
		switch {
		case unknown:
			t.Routed = RoutedUnknown
		case len(sides) == 2:
			t.Routed = RoutedBoth
		case sides[replication.Primary]:
			t.Routed = string(replication.Primary)
		case sides[replication.Secondary]:
			t.Routed = string(replication.Secondary)
		default:
			t.Routed = RoutedNeither
		}
		out = append(out, t)
	}
	return out
}
