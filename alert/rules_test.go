package alert

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"integration-dr/command"
)

const (
	sub     = "11111111-2222-3333-4444-555555555555"
	ruleWEU = "/subscriptions/" + sub + "/resourceGroups/rg-weu/providers/Microsoft.Insights/metricAlerts/ia-weu-failing"
	iaWEU   = "/subscriptions/" + sub + "/resourceGroups/rg-weu/providers/Microsoft.Logic/integrationAccounts/ia-weu"
	iaNEU   = "/subscriptions/" + sub + "/resourceGroups/rg-neu/providers/Microsoft.Logic/integrationAccounts/ia-neu"
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
			`{"rules":[{"ruleId":"` + ruleWEU + `","pair":"contoso-b2b","action":"failover"}]}`,
			[]Rule{{RuleID: ruleWEU, Pair: "contoso-b2b", Action: command.Failover, Mode: Propose}},
		},
		{
			"action and mode are read case-insensitively, with further targets",
			`{"rules":[{"ruleId":"/subscriptions/s/resourceGroups/rg/providers/microsoft.insights/scheduledQueryRules/x/","pair":"p","action":"Drill","mode":"AUTO","targets":["/subscriptions/s","/subscriptions/s/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/w"]}]}`,
			[]Rule{{RuleID: "/subscriptions/s/resourceGroups/rg/providers/microsoft.insights/scheduledQueryRules/x", Pair: "p", Action: command.Drill, Mode: Auto,
				Targets: []string{"/subscriptions/s", "/subscriptions/s/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/w"}}},
		},
		{
			"the earlier format's rule is read when it is a resource ID",
			`{"rules":[{"rule":"` + ruleWEU + `","pair":"p","action":"fallback","mode":"propose"}]}`,
			[]Rule{{RuleID: ruleWEU, Pair: "p", Action: command.Fallback, Mode: Propose}},
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
	good := `{"ruleId":"` + ruleWEU + `","pair":"p","action":"failover"}`
	tests := []struct {
		name, raw, says string
	}{
		{"a rule named by its name alone, the earlier format", `{"rules":[{"rule":"ia-weu-failing","pair":"p","action":"failover"}]}`,
			`rules[0].rule: a rule's name alone is no longer accepted, as any subscription can hold a rule of that name: give the alert rule's resource ID as ruleId, {"rules": [{"ruleId": "/subscriptions/<subscription>/resourceGroups/<group>/providers/Microsoft.Insights/`},
		{"both rule and ruleId", `{"rules":[{"rule":"` + ruleWEU + `","ruleId":"` + ruleWEU + `","pair":"p","action":"failover"}]}`, "rules[0].rule: is the earlier name of ruleId"},
		{"a ruleId that is not an alert rule's", `{"rules":[{"ruleId":"` + iaWEU + `","pair":"p","action":"failover"}]}`, "rules[0].ruleId: is not an alert rule's resource ID"},
		{"a mode that is not auto or propose", `{"rules":[` + good + `,{"ruleId":"` + ruleWEU + `2","pair":"p","action":"drill","mode":"maybe"}]}`,
			`DR_ALERT_RULES: rules[1].mode: is not one of auto, propose`},
		{"an unknown field in a rule", `{"rules":[{"ruleId":"` + ruleWEU + `","pair":"p","action":"failover","severity":"Sev0"}]}`, `unknown field "severity"`},
		{"an unknown top-level field", `{"rules":[],"default":"auto"}`, `unknown field "default"`},
		{"JSON that is not an object", `["r"]`, "DR_ALERT_RULES: is not valid JSON of the shape"},
		{"a field of the wrong type", `{"rules":[{"ruleId":"` + ruleWEU + `","pair":7}]}`, "rules.pair is a JSON number, want string"},
		{"data after the object", `{"rules":[]} {}`, "DR_ALERT_RULES: has data after"},
		{"a rule without its rule ID", `{"rules":[{"pair":"p","action":"failover"}]}`, "rules[0].ruleId: is required"},
		{"a rule listed twice in another case", `{"rules":[` + good + `,{"ruleId":"` + strings.ToUpper(ruleWEU) + `","pair":"q","action":"drill"}]}`, `rules[1].ruleId: is listed already (rules[0])`},
		{"a pair that cannot be a pair name", `{"rules":[{"ruleId":"` + ruleWEU + `","pair":"a b","action":"failover"}]}`, `rules[0].pair: is not a pair name`},
		{"a confirm action", `{"rules":[{"ruleId":"` + ruleWEU + `","pair":"p","action":"confirm"}]}`, `rules[0].action: is not one of failover, fallback, drill`},
		{"a missing action", `{"rules":[{"ruleId":"` + ruleWEU + `","pair":"p"}]}`, `rules[0].action: is not one of`},
		{"a target that is not a resource ID", `{"rules":[{"ruleId":"` + ruleWEU + `","pair":"p","action":"drill","targets":["ia-weu"]}]}`, `rules[0].targets[0]: is not a resource ID`},
		{"every problem at once", `{"rules":[{"ruleId":"","pair":"","action":"x","mode":"y"}]}`, "rules[0].ruleId: is required: the alert rule's resource ID, /subscriptions/<subscription>/resourceGroups/<group>/providers/Microsoft.Insights/<type>/<name>; rules[0].pair: is required; rules[0].action: is not one of failover, fallback, drill; rules[0].mode: is not one of auto, propose"},
	}
	for _, tt := range tests {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			_, err := ParseRules(tt.raw)
			assertInvalid(t, err, Setting, tt.says)
		})
	}
}

func TestParseRulesNeverQuotesAValue(t *testing.T) {
	const secret = "AccountKey=c2VjcmV0LWtleS1kby1ub3Qtc2hvdw=="
	for _, raw := range []string{
		`{"rules":[{"rule":"` + secret + `","pair":"p","action":"failover"}]}`,
		`{"rules":[{"ruleId":"` + secret + `","pair":"` + secret + `","action":"` + secret + `","mode":"` + secret + `","targets":["` + secret + `"]}]}`,
		`{"rules":[{"ruleId":"` + secret + `"` + secret + `}]}`,
		secret,
	} {
		_, err := ParseRules(raw)
		if err == nil || strings.Contains(err.Error(), "c2VjcmV0") {
			t.Errorf("ParseRules(%.30s…) = %v: want an error that does not quote the value", raw, err)
		}
	}
}

func TestBindPairs(t *testing.T) {
	rules := []Rule{{RuleID: ruleWEU, Pair: "contoso-b2b"}, {RuleID: ruleWEU + "2", Pair: "fabrikam"}}
	resources := func(p string) ([]string, bool) {
		if p == "contoso-b2b" {
			return []string{iaWEU, iaNEU}, true
		}
		return nil, false
	}
	assertInvalid(t, BindPairs(rules, resources), Setting, `rules[1].pair: is not a pair in DR_TOPOLOGY`)
	if err := BindPairs(rules[:1], resources); err != nil {
		t.Fatalf("BindPairs of configured pairs: %v", err)
	}
	if !reflect.DeepEqual(rules[0].Resources, []string{iaWEU, iaNEU}) {
		t.Fatalf("Resources = %v", rules[0].Resources)
	}
}

// alertJSON is a common-schema alert with the essentials given, and customProperties.
func alertJSON(essentials map[string]any, props map[string]string) string {
	e := map[string]any{"alertId": "/subscriptions/" + sub + "/providers/Microsoft.AlertsManagement/alerts/a-1", "monitorCondition": "Fired"}
	for k, v := range essentials {
		e[k] = v
	}
	b, _ := json.Marshal(map[string]any{"schemaId": SchemaID, "data": map[string]any{"essentials": e, "customProperties": props}})
	return string(b)
}

func TestDecide(t *testing.T) {
	weu := Rule{RuleID: ruleWEU, Pair: "contoso-b2b", Action: command.Failover, Mode: Auto, Resources: []string{iaWEU, iaNEU}}
	heartbeat := Rule{RuleID: "/subscriptions/s/resourcegroups/rg-dr/providers/microsoft.insights/scheduledqueryrules/heartbeat-missing", Pair: "p2", Action: command.Drill, Mode: Propose,
		Resources: []string{"/subscriptions/s/resourceGroups/rg-dr/providers/Microsoft.Logic/workflows/x12-intake"}, Targets: []string{"/subscriptions/s"}}
	other := Rule{RuleID: "/subscriptions/" + sub + "/resourceGroups/rg-weu/providers/Microsoft.Insights/metricAlerts/someone-else", Pair: "p3", Action: command.Failover, Mode: Auto, Resources: []string{iaWEU}}
	otherSub := "/subscriptions/99999999-0000-0000-0000-000000000000"
	tests := []struct {
		name  string
		alert string
		rules []Rule
		want  Verdict
		rule  Rule
		says  string
	}{
		{"a fired alert of a listed rule about the pair's account acts as the entry says", metricFired, []Rule{other, weu}, Act, weu, "fired: failover of contoso-b2b (auto)"},
		{"an alert that carries its rule's resource ID matches it, in any case", alertJSON(map[string]any{"alertRule": "heartbeat-missing", "alertRuleId": strings.ToUpper(heartbeat.RuleID), "alertTargetIDs": []string{heartbeat.Resources[0]}}, nil), []Rule{heartbeat}, Act, heartbeat, ""},
		{"an alert about the other side's account acts too", alertJSON(map[string]any{"alertRule": "ia-weu-failing", "alertTargetIDs": []string{strings.ToUpper(iaNEU)}}, nil), []Rule{weu}, Act, weu, ""},
		{"an alert about a child of a pair's resource acts", alertJSON(map[string]any{"alertRule": "ia-weu-failing", "alertTargetIDs": []string{iaWEU + "/agreements/x"}}, nil), []Rule{weu}, Act, weu, ""},
		{"the right rule name from another subscription is refused", alertJSON(map[string]any{"alertId": otherSub + "/providers/Microsoft.AlertsManagement/alerts/f-1", "alertRule": "ia-weu-failing", "alertTargetIDs": []string{iaWEU}}, nil), []Rule{weu}, Refuse, Rule{},
			`alert rule "ia-weu-failing" from subscription "99999999-0000-0000-0000-000000000000" is not in DR_ALERT_RULES: an entry names a rule of that name in another subscription`},
		{"the right rule name with another rule ID is refused", alertJSON(map[string]any{"alertRule": "ia-weu-failing", "alertRuleID": otherSub + "/resourceGroups/rg-weu/providers/Microsoft.Insights/metricAlerts/ia-weu-failing", "alertTargetIDs": []string{iaWEU}}, nil), []Rule{weu}, Refuse, Rule{},
			"an entry names a rule of that name with another resource ID"},
		{"an alert without rule ID or a subscription in its alertId is refused", alertJSON(map[string]any{"alertId": "a-1", "alertRule": "ia-weu-failing", "alertTargetIDs": []string{iaWEU}}, nil), []Rule{weu}, Refuse, Rule{}, "carries neither its rule's resource ID nor a subscription"},
		{"a listed rule's alert about a resource outside the pair is refused", alertJSON(map[string]any{"alertRule": "ia-weu-failing", "alertTargetIDs": []string{iaWEU, "/subscriptions/" + sub + "/resourceGroups/rg-weu/providers/Microsoft.Logic/integrationAccounts/ia-weu-test"}}, nil), []Rule{weu}, Refuse, weu,
			`target "/subscriptions/` + sub + `/resourceGroups/rg-weu/providers/Microsoft.Logic/integrationAccounts/ia-weu-test" is not a resource of pair contoso-b2b`},
		{"a listed rule's alert about the pair's resource group, not a resource of it, is refused", alertJSON(map[string]any{"alertRule": "ia-weu-failing", "alertTargetIDs": []string{"/subscriptions/" + sub + "/resourceGroups/rg-weu"}}, nil), []Rule{weu}, Refuse, weu, "is not a resource of pair contoso-b2b"},
		{"a listed rule's alert about no resource is refused", alertJSON(map[string]any{"alertRule": "ia-weu-failing"}, nil), []Rule{weu}, Refuse, weu, "names no target resource"},
		{"a target listed in the entry is accepted", alertJSON(map[string]any{"alertId": "/subscriptions/s/providers/Microsoft.AlertsManagement/alerts/sh", "alertRuleID": heartbeat.RuleID, "alertTargetIDs": []string{"/subscriptions/s"}}, nil), []Rule{heartbeat}, Act, heartbeat, ""},
		{"an alert naming another pair is refused", alertJSON(map[string]any{"alertRule": "ia-weu-failing", "alertTargetIDs": []string{iaWEU}}, map[string]string{"pair": "fabrikam"}), []Rule{weu}, Refuse, weu, `is allow-listed for pair contoso-b2b; the alert names pair "fabrikam"`},
		{"an alert naming its pair in another case acts", alertJSON(map[string]any{"alertRule": "ia-weu-failing", "alertTargetIDs": []string{iaWEU}}, map[string]string{"pair": "Contoso-B2B"}), []Rule{weu}, Act, weu, ""},
		{"a fired alert from a rule not listed is refused", metricFired, []Rule{other}, Refuse, Rule{}, `alert rule "ia-weu-failing" is not in DR_ALERT_RULES`},
		{"an empty allow-list refuses everything", metricFired, nil, Refuse, Rule{}, "not in DR_ALERT_RULES"},
		{"a resolved alert of a listed rule is only journaled", alertJSON(map[string]any{"alertRule": "ia-weu-failing", "monitorCondition": "Resolved", "alertTargetIDs": []string{iaWEU}}, nil), []Rule{weu}, Journal, weu, "a Resolved alert never starts a fallback"},
		{"a resolved alert from a rule not listed is refused", metricResolved, []Rule{other}, Refuse, Rule{}, "not in DR_ALERT_RULES"},
		{"a budget alert, which names no rule, is refused", budgetFired, []Rule{weu}, Refuse, Rule{}, "names no alert rule"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(mustParse(t, tt.alert), tt.rules)
			if d.Verdict != tt.want || !reflect.DeepEqual(d.Rule, tt.rule) || !strings.Contains(d.Reason, tt.says) {
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
	r := Rule{RuleID: ruleWEU, Pair: "contoso-b2b", Action: command.Failover, Mode: Auto}
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
		c := NewCommand(long, Rule{RuleID: ruleWEU, Pair: "p", Action: command.Drill})
		if err := c.Validate(nil); err != nil {
			t.Fatalf("Validate: %v", err)
		}
	})
	t.Run("an alert without severity or time still reads as a sentence", func(t *testing.T) {
		c := NewCommand(Alert{ID: "x", Rule: "r", Condition: Fired}, Rule{RuleID: ruleWEU, Pair: "p", Action: command.Drill})
		if c.Reason != "alert rule r (no severity) fired at an unknown time" {
			t.Fatalf("Reason = %q", c.Reason)
		}
	})
}
