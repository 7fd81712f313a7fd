// Package mirror keeps a pair's standby holding what its active side holds: the
// integration account's partners, agreements, schemas, maps, certificates and batch
// configurations, or an SSIS pair's pipelines and triggers. It plans the changes from
// drift.Compare and applies them one at a time through the journal, so that a
// redelivered command or a crash resumes after the last change that landed and never
// applies one twice.
//
// A mirror stands aside for every plan: it takes no pair lock, is journaled apart from
// the plans (a failover never sees it as pending, as a cooldown or as a last move),
// and before every write it reads again which side is active and whether a plan is
// under way on the pair, stopping as soon as either says the pair moves. It never
// writes into the side that is active, and never deletes unless asked to prune.
//
// The package imports no Azure SDK: adapters list and write each side's artifacts.
package mirror

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"integration-dr/drift"
	"integration-dr/replication"
)

// Source lists one adapter's share of a side's artifacts.
type Source interface {
	Artifacts(ctx context.Context) ([]drift.Artifact, error)
}

// Writer writes artifacts into a side. Put is an idempotent PUT of the artifact's
// Body (a trigger is left stopped); Delete of an artifact that is not there is done;
// Stop stops a started trigger.
type Writer interface {
	Put(ctx context.Context, a drift.Artifact) error
	Delete(ctx context.Context, k drift.Kind, name string) error
	Stop(ctx context.Context, k drift.Kind, name string) error
}

// Part is one adapter of a side and the kinds it holds. A part whose Source is not a
// Writer is read only (Agent jobs): its differences are reported, never written.
type Part struct {
	Name   string // what it is, for errors: "integration account", "data factory", "SQL Agent"
	Kinds  []drift.Kind
	Source Source
}

// Side is every adapter of one side.
type Side []Part

// Artifacts lists every part, one after the other (ARM's buckets are shared: no
// parallel listing). A part that fails fails the side, naming the part.
func (s Side) Artifacts(ctx context.Context) ([]drift.Artifact, error) {
	var out []drift.Artifact
	for _, p := range s {
		as, err := p.Source.Artifacts(ctx)
		if err != nil {
			return nil, fmt.Errorf("list the %s's artifacts: %w", p.Name, err)
		}
		for _, a := range as {
			if slices.Contains(p.Kinds, a.Kind) {
				out = append(out, a)
			}
		}
	}
	return out, nil
}

// writer returns the writer of kind k, or nil when no part writes it.
func (s Side) writer(k drift.Kind) Writer {
	for _, p := range s {
		if !slices.Contains(p.Kinds, k) {
			continue
		}
		if w, ok := p.Source.(Writer); ok {
			return w
		}
	}
	return nil
}

// Pair is a pair as a mirror sees it: both sides and the allow-list of intended
// differences.
type Pair struct {
	Name               string
	Primary, Secondary Side
	Allow              []drift.Allow
}

func (p Pair) side(r replication.Region) Side {
	if r == replication.Secondary {
		return p.Secondary
	}
	return p.Primary
}

// Active is the side of a pair that serves now, and the epoch of the record that says
// so (an SSIS pair has no epoch: 0, and its roles decide).
type Active struct {
	Side  replication.Region
	Epoch int64
}

// Regions says which side of a pair is active now: the active-region record of an
// integration-account pair, the failover group's roles of an SSIS pair. An error
// (unreadable, roles unknown) is never read as "unchanged".
type Regions interface {
	Active(ctx context.Context, pair string) (Active, error)
}

// Item is one change of a plan, or one difference a plan leaves alone.
type Item struct {
	Kind   drift.Kind   `json:"kind"`
	Name   string       `json:"name"`
	Change drift.Change `json:"change"`
	What   string       `json:"what"`
	Fields []string     `json:"fields,omitempty"`
	// Why says why a difference is left alone (Kept only).
	Why string `json:"why,omitempty"`
}

// Line is the item in one line, as the journal keeps it: "create map OrdersToSAP".
func (it Item) Line() string {
	s := fmt.Sprintf("%s %s %s", it.Change, it.Kind, it.Name)
	if len(it.Fields) > 0 {
		s += " (" + strings.Join(it.Fields, ", ") + ")"
	}
	return s
}

// Plan is what a mirror does, computed once and journaled before its first write.
type Plan struct {
	Pair string `json:"pair"`
	// Epoch and From (the active side) are the pair's when the plan was made: the
	// mirror stops when either has changed. To is the standby, the only side written.
	Epoch int64              `json:"epoch"`
	From  replication.Region `json:"from"`
	To    replication.Region `json:"to"`
	Prune bool               `json:"prune"`
	// Changes in the order they are applied: stops of what runs on the standby, then
	// creates and updates in creation order of their kinds, then (pruning) deletes in
	// the reverse order.
	Changes []Item `json:"changes"`
	// Kept are the differences the mirror leaves alone, each saying why: on the
	// allow-list, only on the standby without prune, a kind that is only reported.
	Kept []Item `json:"kept"`
	// Scripts are what an operator runs by hand on the standby for what is reported.
	Scripts []drift.Script `json:"scripts"`
	// Active and Standby count the artifacts compared on each side.
	Active  int `json:"active"`
	Standby int `json:"standby"`
}

// NewPlan plans the changes that make the standby hold what the active side holds,
// keeping each side's own state: a trigger created or updated is left stopped, and a
// trigger (or schedule) running on the standby is stopped (or reported).
func NewPlan(pair string, from Active, to replication.Region, active, standby []drift.Artifact, allow []drift.Allow, prune bool) Plan {
	res := drift.Compare(active, standby, allow, false)
	pl := Plan{Pair: pair, Epoch: from.Epoch, From: from.Side, To: to, Prune: prune, Changes: []Item{}, Kept: []Item{}, Scripts: []drift.Script{}, Active: res.Active, Standby: res.Standby}
	var stops, writes, deletes []Item
	for _, d := range res.Differences {
		it := Item{Kind: d.Kind, Name: d.Name, Change: d.Change, What: d.What, Fields: d.Fields}
		switch {
		case d.Allowed:
			it.Why = "on the pair's allow-list: an intended difference"
		case !d.Kind.Copied():
			it.Why = "not copied: " + string(d.Kind) + "s are created and changed by hand on each side (owners and credentials differ)"
		case d.Change == drift.Stop:
			stops = append(stops, it)
			continue
		case d.Change == drift.Create || d.Change == drift.Update:
			writes = append(writes, it)
			continue
		case d.Change == drift.Delete && prune:
			deletes = append(deletes, it)
			continue
		case d.Change == drift.Delete:
			it.Why = "only on the standby: kept (prune deletes it)"
		default:
			it.Why = "reported: a mirror cannot tell which one is meant"
		}
		pl.Kept = append(pl.Kept, it)
	}
	// Deletes in reverse creation order: what refers to an artifact goes first.
	slices.SortStableFunc(deletes, func(a, b Item) int {
		return slices.Index(drift.Kinds[:], b.Kind) - slices.Index(drift.Kinds[:], a.Kind)
	})
	pl.Changes = append(append(append(pl.Changes, stops...), writes...), deletes...)
	pl.Scripts = append(pl.Scripts, drift.Scripts(res, active)...)
	return pl
}

// Counts sums the plan's changes by kind of change.
func (pl Plan) Counts() map[drift.Change]int {
	out := map[drift.Change]int{}
	for _, c := range pl.Changes {
		out[c.Change]++
	}
	return out
}

// Summary says in a sentence what the plan changes.
func (pl Plan) Summary() string {
	if len(pl.Changes) == 0 {
		s := fmt.Sprintf("the %s holds what the %s holds", pl.To, pl.From)
		if len(pl.Kept) > 0 {
			s += fmt.Sprintf(" (%d differences left alone)", len(pl.Kept))
		}
		return s
	}
	c := pl.Counts()
	var parts []string
	for _, ch := range []drift.Change{drift.Stop, drift.Create, drift.Update, drift.Delete} {
		if c[ch] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c[ch], ch))
		}
	}
	s := fmt.Sprintf("%s to the %s (%s)", count(len(pl.Changes), "change"), pl.To, strings.Join(parts, ", "))
	if len(pl.Kept) > 0 {
		s += fmt.Sprintf("; %s left alone", count(len(pl.Kept), "difference"))
	}
	return s
}

func key(k drift.Kind, name string) string { return string(k) + "/" + strings.ToLower(name) }

func byKey(as []drift.Artifact) map[string]drift.Artifact {
	m := make(map[string]drift.Artifact, len(as))
	for _, a := range as {
		m[key(a.Kind, a.Name)] = a
	}
	return m
}

// same says the standby's artifact holds the active one's settings.
func same(a, s drift.Artifact) bool {
	if len(a.Fields) != len(s.Fields) {
		return false
	}
	for k, v := range a.Fields {
		if w, ok := s.Fields[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// count is n things, in the singular for one.
func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}
