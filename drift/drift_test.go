package drift_test

import (
	"reflect"
	"testing"

	"integration-dr/drift"
)

func art(k drift.Kind, name string, fields ...string) drift.Artifact {
	a := drift.Artifact{Kind: k, Name: name, Fields: map[string]string{}}
	for i := 0; i+1 < len(fields); i += 2 {
		a.Fields[fields[i]] = fields[i+1]
	}
	return a
}

func running(a drift.Artifact) drift.Artifact { a.Running = true; return a }

// summary is what an operator reads of a difference: kind, name, change, allowed.
type summary struct {
	Kind    drift.Kind
	Name    string
	Change  drift.Change
	Fields  []string
	Allowed bool
}

func TestCompareNamesEachArtifactAndWhatAMirrorWouldDo(t *testing.T) {
	tests := []struct {
		name            string
		active, standby []drift.Artifact
		allow           []drift.Allow
		serves          bool
		want            []summary
		blocking        int
	}{{
		name:    "the same on both sides, names in any case",
		active:  []drift.Artifact{art(drift.Map, "OrdersToSAP", "content", "sha256:1")},
		standby: []drift.Artifact{art(drift.Map, "orderstosap", "content", "sha256:1")},
	}, {
		name:     "a map only on the active side is created",
		active:   []drift.Artifact{art(drift.Map, "m1", "content", "sha256:1"), art(drift.Partner, "contoso")},
		standby:  []drift.Artifact{art(drift.Partner, "contoso")},
		want:     []summary{{Kind: drift.Map, Name: "m1", Change: drift.Create}},
		blocking: 1,
	}, {
		name:     "differences name the settings, in creation order of kinds",
		active:   []drift.Artifact{art(drift.Agreement, "a1", "protocol", "X12", "hostPartner", "contoso"), art(drift.Partner, "p1", "qualifier", "ZZ")},
		standby:  []drift.Artifact{art(drift.Agreement, "a1", "protocol", "X12", "hostPartner", "fabrikam", "extra", "1"), art(drift.Partner, "p1", "qualifier", "01")},
		want:     []summary{{Kind: drift.Partner, Name: "p1", Change: drift.Update, Fields: []string{"qualifier"}}, {Kind: drift.Agreement, Name: "a1", Change: drift.Update, Fields: []string{"extra", "hostPartner"}}},
		blocking: 2,
	}, {
		name:     "only on the standby is a delete, allowed by pattern",
		standby:  []drift.Artifact{art(drift.Schema, "Local-Test"), art(drift.Schema, "old")},
		allow:    []drift.Allow{{Kind: drift.Schema, Name: "local-*"}},
		want:     []summary{{Kind: drift.Schema, Name: "Local-Test", Change: drift.Delete, Allowed: true}, {Kind: drift.Schema, Name: "old", Change: drift.Delete}},
		blocking: 1,
	}, {
		name:     "a started trigger on a standby that does not serve is stopped; its state is not compared",
		active:   []drift.Artifact{running(art(drift.Trigger, "nightly", "pipeline", "RunSSIS"))},
		standby:  []drift.Artifact{running(art(drift.Trigger, "nightly", "pipeline", "RunSSIS"))},
		want:     []summary{{Kind: drift.Trigger, Name: "nightly", Change: drift.Stop}},
		blocking: 1,
	}, {
		name:    "a standby that serves may run its triggers",
		active:  []drift.Artifact{art(drift.Trigger, "nightly")},
		standby: []drift.Artifact{running(art(drift.Trigger, "nightly"))},
		serves:  true,
	}, {
		name:     "agent jobs are reported, never copied",
		active:   []drift.Artifact{art(drift.AgentJob, "load-dw", "steps[0]", "a"), art(drift.AgentJob, "purge")},
		standby:  []drift.Artifact{art(drift.AgentJob, "load-dw", "steps[0]", "b")},
		want:     []summary{{Kind: drift.AgentJob, Name: "load-dw", Change: drift.Report, Fields: []string{"steps[0]"}}, {Kind: drift.AgentJob, Name: "purge", Change: drift.Report}},
		blocking: 2,
	}, {
		name:     "a name listed twice on a side is reported, not guessed at",
		active:   []drift.Artifact{art(drift.Partner, "P"), art(drift.Partner, "p")},
		standby:  []drift.Artifact{art(drift.Partner, "p")},
		want:     []summary{{Kind: drift.Partner, Name: "P", Change: drift.Report}},
		blocking: 1,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := drift.Compare(tt.active, tt.standby, tt.allow, tt.serves)
			var got []summary
			for _, d := range res.Differences {
				if d.What == "" {
					t.Errorf("%s %s: no sentence says what differs", d.Kind, d.Name)
				}
				got = append(got, summary{d.Kind, d.Name, d.Change, d.Fields, d.Allowed})
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("differences\n got %+v\nwant %+v", got, tt.want)
			}
			if n := len(res.Blocking()); n != tt.blocking {
				t.Errorf("%d blocking differences, want %d", n, tt.blocking)
			}
		})
	}
}

func TestAllowEntriesAreValidated(t *testing.T) {
	tests := []struct {
		allow drift.Allow
		ok    bool
	}{
		{drift.Allow{Kind: drift.Map, Name: "*"}, true},
		{drift.Allow{Kind: "maps", Name: "x"}, false},
		{drift.Allow{Kind: drift.Map, Name: " "}, false},
		{drift.Allow{Kind: drift.Map, Name: "[x"}, false},
	}
	for _, tt := range tests {
		if err := tt.allow.Validate(); (err == nil) != tt.ok {
			t.Errorf("Validate(%+v) = %v, want ok=%v", tt.allow, err, tt.ok)
		}
	}
}
