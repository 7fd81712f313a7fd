package alert

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"integration-dr/command"
)

func TestParseRules(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want []Rule
	}{
		{"an empty setting is an empty allow-list", "  ", nil},
		{"an empty list is an empty allow-list", `{"rules":[]}`, []Rule{}},
		{
			"a rule without mode proposes",
			`{"rules":[{"rule":"ia-weu-failing","pair":"contoso-b2b","action":"failover"}]}`,
			[]Rule{{Rule: "ia-weu-failing", Pair: "contoso-b2b", Action: command.Failover, Mode: Propose}},
		},
		{
			"action and mode are read case-insensitively, and a rule may be a resource ID",
			`{"rules":[{"rule":"/subscriptions/s/resourceGroups/rg/providers/microsoft.insights/metricAlerts/x","pair":"p","action":"Drill","mode":"AUTO"},
			           {"rule":"y","pair":"p","action":"fallback","mode":"propose"}]}`,
			[]Rule{
				{Rule: "/subscriptions/s/resourceGroups/rg/providers/microsoft.insights/metricAlerts/x", Pair: "p", Action: command.Drill, Mode: Auto},
				{Rule: "y", Pair: "p", Action: command.Fallback, Mode: Propose},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRules(tt.raw)
			if err != nil {
				t.Fatalf("ParseRules: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseRules = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseRulesRefuses(t *testing.T) {
	good := `{"rule":"r0","pair":"p","action":"failover"}`
	tests := []struct {
		name, raw, says string
	}{
		{"a mode that is not auto or propose", `{"rules":[` + good + `,{"rule":"r1","pair":"p","action":"drill"},{"rule":"r2","pair":"p","action":"drill","mode":"maybe"}]}`,
			`DR_ALERT_RULES: rules[2].mode: "maybe" is not one of auto, propose`},
		{"an unknown field in a rule", `{"rules":[{"rule":"r","pair":"p","action":"failover","severity":"Sev0"}]}`, `unknown field "severity"`},
		{"an unknown top-level field", `{"rules":[],"default":"auto"}`, `unknown field "default"`},
		{"JSON that is not an object", `["r"]`, "DR_ALERT_RULES: is not valid JSON"},
		{"data after the object", `{"rules":[]} {}`, "DR_ALERT_RULES: has data after"},
		{"a rule without its rule", `{"rules":[{"pair":"p","action":"failover"}]}`, "rules[0].rule: is required"},
		{"a rule listed twice in another case", `{"rules":[` + good + `,{"rule":"R0","pair":"q","action":"drill"}]}`, `rules[1].rule: "R0" is listed already (rules[0])`},
		{"a pair that cannot be a pair name", `{"rules":[{"rule":"r","pair":"a b","action":"failover"}]}`, `rules[0].pair: "a b" is not a pair name`},
		{"a confirm action", `{"rules":[{"rule":"r","pair":"p","action":"confirm"}]}`, `rules[0].action: "confirm" is not one of failover, fallback, drill`},
		{"a missing action", `{"rules":[{"rule":"r","pair":"p"}]}`, `rules[0].action: "" is not one of`},
		{"every problem at once", `{"rules":[{"rule":"","pair":"","action":"x","mode":"y"}]}`, "rules[0].rule: is required: an alert rule's name or resource ID; rules[0].pair: is required; rules[0].action: \"x\" is not one of failover, fallback, drill; rules[0].mode: \"y\" is not one of auto, propose"},
	}
	for _, tt := range tests {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			_, err := ParseRules(tt.raw)
			assertInvalid(t, err, Setting, tt.says)
		})
	}
}

func TestCheckPairs(t *testing.T) {
	rules := []Rule{{Rule: "a", Pair: "contoso-b2b"}, {Rule: "b", Pair: "fabrikam"}}
	known := func(p string) bool { return p == "contoso-b2b" }
	assertInvalid(t, CheckPairs(rules, known), Setting, `rules[1].pair: "fabrikam" is not a pair in DR_TOPOLOGY`)
	if err := CheckPairs(rules[:1], known); err != nil {
		t.Fatalf("CheckPairs of configured pairs: %v", err)
	}
}

func TestDecide(t *testing.T) {
	byName := Rule{Rule: "IA-WEU-FAILING", Pair: "contoso-b2b", Action: command.Failover, Mode: Auto}
	byID := Rule{Rule: "/subscriptions/s/resourcegroups/rg-dr/providers/microsoft.insights/scheduledqueryrules/heartbeat-missing", Pair: "p2", Action: command.Drill, Mode: Propose}
	other := Rule{Rule: "someone-else", Pair: "p3", Action: command.Failover, Mode: Auto}
	tests := []struct {
		name  string
		alert string
		rules []Rule
		want  Verdict
		rule  Rule
		says  string
	}{
		{"a fired alert from a rule listed by name acts as the rule says", metricFired, []Rule{other, byName}, Act, byName, ""},
		{"a fired alert from a rule listed by resource ID acts", withRuleID, []Rule{byID}, Act, byID, ""},
		{"a resource ID entry does not match an alert that carries only the name", metricFired,
			[]Rule{{Rule: "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-weu/providers/microsoft.insights/metricAlerts/ia-weu-failing", Pair: "p", Action: command.Failover}}, Refuse, Rule{}, "not in DR_ALERT_RULES"},
		{"a fired alert from a rule not listed is refused", metricFired, []Rule{other}, Refuse, Rule{}, `alert rule "ia-weu-failing" is not in DR_ALERT_RULES`},
		{"an empty allow-list refuses everything", metricFired, nil, Refuse, Rule{}, "not in DR_ALERT_RULES"},
		{"a resolved alert from a listed rule is only journaled", metricResolved, []Rule{byName}, Journal, byName, "a Resolved alert never starts a fallback"},
		{"a resolved alert from a rule not listed is refused", metricResolved, []Rule{other}, Refuse, Rule{}, "not in DR_ALERT_RULES"},
		{"a budget alert, which names no rule, is refused", budgetFired, []Rule{{Rule: "", Pair: "p", Action: command.Failover}}, Refuse, Rule{}, "names no alert rule"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(mustParse(t, tt.alert), tt.rules)
			if d.Verdict != tt.want || d.Rule != tt.rule || !strings.Contains(d.Reason, tt.says) {
				t.Fatalf("Decide = %+v, want %s by %+v saying %q", d, tt.want, tt.rule, tt.says)
			}
		})
	}
}

func TestCommandID(t *testing.T) {
	a := mustParse(t, metricFired)
	if CommandID(a.ID) != CommandID(mustParse(t, metricFired).ID) {
		t.Error("the same alert re-sent by the action group gave another command id")
	}
	if CommandID(a.ID) == CommandID(mustParse(t, metricResolved).ID) {
		t.Error("different alerts gave the same command id")
	}
	// Pinned: a new derivation would give an alert re-sent across a deploy a new id.
	if got, want := CommandID("x"), "alert-2d711642b726b04401627ca9fbac32f5"; got != want {
		t.Errorf("CommandID(%q) = %q, want %q (SHA-256, first 16 bytes in hex)", "x", got, want)
	}
	if CommandID("a") == CommandID("A") {
		t.Error("alert ids differing in case gave the same command id")
	}
	for _, id := range []string{a.ID, "", strings.Repeat("/x", 5000)} {
		if got := CommandID(id); !command.ValidID(got) || !strings.HasPrefix(got, "alert-") || len(got) != len("alert-")+32 {
			t.Errorf("CommandID(%.20q) = %q, not an alert- command id of 32 hex digits", id, got)
		}
	}
}

func TestNewCommand(t *testing.T) {
	a := mustParse(t, metricFired)
	r := Rule{Rule: "ia-weu-failing", Pair: "contoso-b2b", Action: command.Failover, Mode: Auto}
	want := command.Command{
		ID:          CommandID(a.ID),
		Action:      command.Failover,
		Pair:        "contoso-b2b",
		Reason:      "alert rule ia-weu-failing (Sev1) fired at 2026-03-02T10:15:00Z",
		RequestedBy: "alert:ia-weu-failing",
	}
	if got := NewCommand(a, r); !reflect.DeepEqual(got, want) {
		t.Fatalf("NewCommand =\n%+v\nwant\n%+v", got, want)
	}

	t.Run("a rule name too long for the command is clipped, not refused later", func(t *testing.T) {
		long := Alert{ID: "x", Rule: strings.Repeat("ü", 600), Condition: Fired, FiredAt: time.Now()}
		c := NewCommand(long, Rule{Rule: long.Rule, Pair: "p", Action: command.Drill})
		if err := c.Validate(nil); err != nil {
			t.Fatalf("Validate: %v", err)
		}
	})
	t.Run("an alert without severity or time still reads as a sentence", func(t *testing.T) {
		c := NewCommand(Alert{ID: "x", Rule: "r", Condition: Fired}, Rule{Rule: "r", Pair: "p", Action: command.Drill})
		if c.Reason != "alert rule r (no severity) fired at an unknown time" {
			t.Fatalf("Reason = %q", c.Reason)
		}
	})
}
