// Package drift compares what the two sides of a pair hold — integration-account
// partners, agreements, schemas, maps, certificates and batch configurations; for SSIS
// pairs the factories' pipelines and triggers and the Managed Instances' Agent jobs —
// by name, content digest and the settings that matter, and says what a mirror would
// change to make the standby hold what the active side holds.
//
// It is pure domain: adapters read each side into Artifacts; Compare is a pure
// function of them and of the pair's allow-list of intended differences.
package drift

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
)

// Kind is the kind of an artifact. Kinds are listed in the order a mirror creates
// them: what an artifact refers to exists before it (an agreement names partners,
// schemas and certificates; a trigger names pipelines).
type Kind string

const (
	Certificate        Kind = "certificate"
	Partner            Kind = "partner"
	Schema             Kind = "schema"
	Map                Kind = "map"
	Agreement          Kind = "agreement"
	BatchConfiguration Kind = "batchConfiguration"
	Pipeline           Kind = "pipeline"
	Trigger            Kind = "trigger"
	AgentJob           Kind = "agentJob"
)

// Kinds lists every kind in creation order; deletions go in the reverse order.
var Kinds = [...]Kind{Certificate, Partner, Schema, Map, Agreement, BatchConfiguration, Pipeline, Trigger, AgentJob}

// ParseKind reads a kind by its name, case-insensitively.
func ParseKind(s string) (Kind, bool) {
	for _, k := range Kinds {
		if strings.EqualFold(strings.TrimSpace(s), string(k)) {
			return k, true
		}
	}
	return "", false
}

// Copied says whether a mirror copies artifacts of this kind. Agent jobs are only
// reported: their owners, credentials and proxies differ per instance.
func (k Kind) Copied() bool { return k != AgentJob }

func (k Kind) order() int { return slices.Index(Kinds[:], k) }

// Artifact is one named thing on one side, as drift compares it.
type Artifact struct {
	Kind Kind
	Name string
	// Fields are the settings that matter, by a readable path ("protocol",
	// "hostPartner", "content", "notAfter", "schedules[0].frequency"): a difference is
	// named by the paths whose values differ. A large value (a schema's content) is
	// given by its digest (Digest).
	Fields map[string]string
	// Running says a trigger is started or an Agent job has an enabled schedule. It
	// is the side's own state: not compared, but a standby's must be false unless it
	// serves.
	Running bool
	// Body is what a mirror writes to create or update the artifact on the other
	// side: the resource's properties with each side's own state (control-number
	// state, a trigger's runtime state) left out. For a kind that is not copied (Agent
	// jobs) it is what a report hands the operator instead: a JSON string holding the
	// script that creates the artifact, its schedules disabled.
	Body json.RawMessage
}

// Digest is the digest of a large value, as Fields carry it.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Change is what a mirror does about a difference.
type Change string

const (
	Create Change = "create" // only the active side has it
	Update Change = "update" // both have it, with different settings
	Delete Change = "delete" // only the standby has it: deleted only when pruning
	Stop   Change = "stop"   // the standby runs it (a started trigger, an enabled schedule)
	Report Change = "report" // a kind a mirror does not copy, or a name listed twice
)

// Difference is one artifact that differs between the sides.
type Difference struct {
	Kind Kind
	Name string
	// Change is what a mirror would do; Report where it does nothing.
	Change Change
	// What says what differs, in a sentence.
	What string
	// Fields names the settings that differ (Update).
	Fields []string
	// Allowed says the pair's allow-list names it as intended: it does not make the
	// pair not ready.
	Allowed bool
}

// Allow is one entry of a pair's allow-list of intended differences: a kind and a
// name, which may be a pattern in path.Match's syntax ("*" matches any name).
type Allow struct {
	Kind Kind
	Name string
}

// Matches says the entry covers an artifact (names compare case-insensitively, as
// ARM's do).
func (a Allow) Matches(k Kind, name string) bool {
	if a.Kind != k {
		return false
	}
	ok, err := path.Match(strings.ToLower(a.Name), strings.ToLower(name))
	return err == nil && ok
}

// Validate checks an entry: a known kind and a well-formed name pattern.
func (a Allow) Validate() error {
	if _, ok := ParseKind(string(a.Kind)); !ok || a.Kind == "" {
		return fmt.Errorf("kind %q is not one of %s", a.Kind, kindNames())
	}
	if strings.TrimSpace(a.Name) == "" {
		return fmt.Errorf("name is empty (use \"*\" for every %s)", a.Kind)
	}
	if _, err := path.Match(a.Name, ""); err != nil {
		return fmt.Errorf("name %q is not a valid pattern: %w", a.Name, err)
	}
	return nil
}

func kindNames() string {
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

// Result is a comparison of the two sides.
type Result struct {
	// Differences in creation order of their kinds, then by name.
	Differences []Difference
	// Compared counts the artifacts compared on each side.
	Active, Standby int
}

// Blocking returns the differences not on the allow-list: each makes the pair not
// ready.
func (r Result) Blocking() []Difference {
	var out []Difference
	for _, d := range r.Differences {
		if !d.Allowed {
			out = append(out, d)
		}
	}
	return out
}

// Compare compares the active side's artifacts with the standby's, by kind and name
// (case-insensitively). The standby serving says its triggers and schedules may run.
func Compare(active, standby []Artifact, allow []Allow, standbyServes bool) Result {
	res := Result{Active: len(active), Standby: len(standby)}
	act, stb := index(active), index(standby)
	keys := slices.Collect(maps.Keys(act))
	for k := range stb {
		if _, ok := act[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.kind.order(), b.kind.order()), cmp.Compare(a.name, b.name))
	})
	add := func(d Difference) {
		d.Allowed = slices.ContainsFunc(allow, func(a Allow) bool { return a.Matches(d.Kind, d.Name) })
		res.Differences = append(res.Differences, d)
	}
	for _, k := range keys {
		a, s := act[k], stb[k]
		switch {
		case len(a) > 1 || len(s) > 1:
			add(Difference{Kind: k.kind, Name: first(a, s).Name, Change: Report, What: fmt.Sprintf("listed %d times on the active side and %d on the standby", len(a), len(s))})
			continue
		case len(s) == 0:
			d := Difference{Kind: k.kind, Name: a[0].Name, Change: Create, What: "only on the active side"}
			if !k.kind.Copied() {
				d.Change, d.What = Report, "only on the active side (not copied: create it on the standby by hand)"
			}
			add(d)
			continue
		case len(a) == 0:
			add(Difference{Kind: k.kind, Name: s[0].Name, Change: Delete, What: "only on the standby"})
		default:
			if fields := differing(a[0].Fields, s[0].Fields); len(fields) > 0 {
				d := Difference{Kind: k.kind, Name: a[0].Name, Change: Update, Fields: fields, What: "differs in " + strings.Join(fields, ", ")}
				if !k.kind.Copied() {
					d.Change, d.What = Report, d.What+" (not copied: change it on the standby by hand)"
				}
				add(d)
			}
		}
		if len(s) == 1 && s[0].Running && !standbyServes {
			add(Difference{Kind: k.kind, Name: s[0].Name, Change: Stop, What: "runs on the standby, which does not serve"})
		}
	}
	return res
}

type key struct {
	kind Kind
	name string
}

func index(as []Artifact) map[key][]Artifact {
	m := make(map[key][]Artifact, len(as))
	for _, a := range as {
		k := key{a.Kind, strings.ToLower(a.Name)}
		m[k] = append(m[k], a)
	}
	return m
}

func first(a, s []Artifact) Artifact {
	if len(a) > 0 {
		return a[0]
	}
	return s[0]
}

// differing returns the sorted paths whose values differ, or that one side lacks.
func differing(a, s map[string]string) []string {
	var out []string
	for k, v := range a {
		if w, ok := s[k]; !ok || w != v {
			out = append(out, k)
		}
	}
	for k := range s {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}
