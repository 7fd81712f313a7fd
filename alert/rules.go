package alert

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"integration-dr/command"
	"integration-dr/drerr"
	"integration-dr/journal"
)

// Setting is the app setting holding the allow-list, a JSON object:
//
//	{"rules": [{"ruleId": "/subscriptions/<sub>/resourceGroups/<group>/providers/Microsoft.Insights/metricAlerts/<name>",
//	            "pair": "<pair>", "action": "failover|fallback|drill", "mode": "auto|propose",
//	            "targets": ["<further resource ID its alerts may be about>"]}]}
const Setting = "DR_ALERT_RULES"

// Format is the entry shape start-up errors show an operator.
const Format = `{"rules": [{"ruleId": "/subscriptions/<subscription>/resourceGroups/<group>/providers/Microsoft.Insights/<metricAlerts|scheduledQueryRules|activityLogAlerts>/<name>", "pair": "<pair>", "action": "failover|fallback|drill", "mode": "auto|propose", "targets": ["<resource ID>"]}]}`

// Mode says what an allow-listed alert does.
type Mode string

const (
	// Auto puts the command on the queue at once.
	Auto Mode = "auto"
	// Propose journals the command as proposed; an operator's confirm command runs it.
	// It is the default: an alert rule acts on its own only where someone said so.
	Propose Mode = "propose"
)

// Rule is one allow-list entry: alerts of the rule RuleID about the pair's resources
// may start Action on Pair.
type Rule struct {
	// RuleID is the alert rule's resource ID, subscription included. A name alone is
	// not enough: any subscription can hold a rule of that name.
	RuleID string
	Pair   string
	Action command.Action // failover, fallback or drill
	Mode   Mode
	// Targets are resource IDs beyond the pair's own that the rule's alerts may be about
	// (alertTargetIDs): the workspace a log search alert queries, the subscription of a
	// Service Health alert. A target equal to one, or inside it, is accepted.
	Targets []string
	// Resources are the pair's resource IDs on both sides (integration accounts,
	// workflows, SSIS failover groups and factories), set by BindPairs from the topology.
	Resources []string
}

// Matches reports whether a was raised by r's alert rule. An alert that carries its
// rule's resource ID (essentials.alertRuleID) must carry r's. One that does not (the
// field "may not appear in all alert payloads") must name r's rule and come from r's
// subscription: its alertId, the alert instance's resource ID, starts with it.
func (r Rule) Matches(a Alert) bool {
	if r.RuleID == "" {
		return false
	}
	if a.RuleID != "" {
		return sameID(r.RuleID, a.RuleID)
	}
	return a.Rule != "" && strings.EqualFold(lastSegment(r.RuleID), a.Rule) &&
		subscriptionOf(a.ID) != "" && strings.EqualFold(subscriptionOf(r.RuleID), subscriptionOf(a.ID))
}

// ParseRules reads the allow-list from the Setting's value. An empty value is an empty
// list: every alert is refused. Unknown fields are refused; every problem is reported,
// each naming its field (DR_ALERT_RULES: rules[2].mode: is not one of auto, propose),
// in one drerr.Invalid. Values are never quoted: a key pasted into the wrong place
// would be printed wherever start-up errors go.
//
// The earlier format named a rule by "rule". An entry whose "rule" is an alert rule's
// resource ID is read as its ruleId; one whose "rule" is a name is refused with the
// format to use instead.
func ParseRules(raw string) ([]Rule, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	var doc struct {
		Rules []struct {
			RuleID  string   `json:"ruleId"`
			Rule    string   `json:"rule"`
			Pair    string   `json:"pair"`
			Action  string   `json:"action"`
			Mode    string   `json:"mode"`
			Targets []string `json:"targets"`
		} `json:"rules"`
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, drerr.Errorf(drerr.Invalid, Setting, "is not valid JSON of the shape %s: %s", Format, jsonProblem(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, drerr.Errorf(drerr.Invalid, Setting, "has data after the JSON object")
	}
	var problems []string
	fail := func(field, format string, args ...any) {
		problems = append(problems, field+": "+fmt.Sprintf(format, args...))
	}
	seen := map[string]int{}
	rules := make([]Rule, 0, len(doc.Rules))
	for i, in := range doc.Rules {
		field := fmt.Sprintf("rules[%d]", i)
		r := Rule{RuleID: strings.TrimSpace(in.RuleID), Pair: strings.TrimSpace(in.Pair), Mode: Propose}
		old := strings.TrimSpace(in.Rule)
		switch {
		case old != "" && r.RuleID != "":
			fail(field+".rule", "is the earlier name of ruleId: give ruleId alone")
		case old != "" && isAlertRuleID(old):
			r.RuleID = old
		case old != "":
			fail(field+".rule", "a rule's name alone is no longer accepted, as any subscription can hold a rule of that name: give the alert rule's resource ID as ruleId, %s", Format)
		case r.RuleID == "":
			fail(field+".ruleId", "is required: the alert rule's resource ID, /subscriptions/<subscription>/resourceGroups/<group>/providers/Microsoft.Insights/<type>/<name>")
		}
		switch {
		case r.RuleID == "":
		case !isAlertRuleID(r.RuleID):
			fail(field+".ruleId", "is not an alert rule's resource ID (/subscriptions/<subscription>/resourceGroups/<group>/providers/Microsoft.Insights/<metricAlerts|scheduledQueryRules|activityLogAlerts>/<name>)")
		default:
			r.RuleID = strings.TrimSuffix(r.RuleID, "/")
			if j, dup := seen[strings.ToLower(r.RuleID)]; dup {
				fail(field+".ruleId", "is listed already (rules[%d]): one rule, one pair and action", j)
			} else {
				seen[strings.ToLower(r.RuleID)] = i
			}
		}
		if r.Pair == "" {
			fail(field+".pair", "is required")
		} else if !command.ValidPairName(r.Pair) {
			fail(field+".pair", "is not a pair name (1-63 letters, digits, '-', '_')")
		}
		switch a, _ := command.ParseAction(strings.TrimSpace(in.Action)); a {
		case command.Failover, command.Fallback, command.Drill:
			r.Action = a
		default:
			fail(field+".action", "is not one of failover, fallback, drill")
		}
		switch m := strings.ToLower(strings.TrimSpace(in.Mode)); m {
		case "":
		case string(Auto), string(Propose):
			r.Mode = Mode(m)
		default:
			fail(field+".mode", "is not one of auto, propose")
		}
		for j, t := range in.Targets {
			t = strings.TrimSuffix(strings.TrimSpace(t), "/")
			if !isScopeID(t) {
				fail(fmt.Sprintf("%s.targets[%d]", field, j), "is not a resource ID (/subscriptions/<subscription>[/resourceGroups/<group>[/providers/...]])")
				continue
			}
			r.Targets = append(r.Targets, t)
		}
		rules = append(rules, r)
	}
	if len(problems) > 0 {
		return nil, drerr.Errorf(drerr.Invalid, Setting, "%s", strings.Join(problems, "; "))
	}
	return rules, nil
}

// jsonProblem says where the JSON went wrong without quoting it.
func jsonProblem(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("syntax error at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("%s is a JSON %s, want %s", typ.Field, typ.Value, typ.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return strings.TrimPrefix(err.Error(), "json: ") // a field name, from the shape above
	}
	return "it ends early"
}

// BindPairs gives each rule its pair's resources, both sides, from resources (false:
// no such pair), and reports rules whose pair is not configured, by their place in the
// list ParseRules read. It is separate because this package does not read the topology.
func BindPairs(rules []Rule, resources func(pair string) ([]string, bool)) error {
	var problems []string
	for i := range rules {
		ids, ok := resources(rules[i].Pair)
		if !ok {
			problems = append(problems, fmt.Sprintf("rules[%d].pair: is not a pair in DR_TOPOLOGY", i))
			continue
		}
		rules[i].Resources = ids
	}
	if len(problems) > 0 {
		return drerr.Errorf(drerr.Invalid, Setting, "%s", strings.Join(problems, "; "))
	}
	return nil
}

// Verdict is what to do with an alert.
type Verdict string

const (
	Act     Verdict = "act"     // start (or propose) the rule's action
	Journal Verdict = "journal" // record it, change nothing
	Refuse  Verdict = "refuse"  // not from where an allow-listed rule's alerts come: record the refusal
)

// Decision is Decide's answer. Rule is the matching entry (zero when no entry is
// the alert's rule).
type Decision struct {
	Verdict Verdict
	Rule    Rule
	Reason  string
}

// PairProperty is the custom property (the rule's action properties) an alert may name
// its pair by; when present it must be the entry's pair.
const PairProperty = "pair"

// Decide applies the allow-list. An alert is refused, whatever its condition, when no
// entry is its rule (by resource ID, or by name and subscription where the alert
// carries no rule ID), when it names another pair than the entry's, or when it is about
// a resource outside the entry's pair (and its listed targets) or about none. A
// Resolved alert that passes is journaled only (a Resolved alert never starts a
// fallback); a Fired one acts, as the entry says.
func Decide(a Alert, rules []Rule) Decision {
	if a.Rule == "" && a.RuleID == "" {
		return Decision{Verdict: Refuse, Reason: "the alert names no alert rule (budget alerts carry none), so no allow-list entry can match it"}
	}
	var r Rule
	found := false
	for _, c := range rules {
		if c.Matches(a) {
			r, found = c, true
			break
		}
	}
	if !found {
		return Decision{Verdict: Refuse, Reason: notListed(a, rules)}
	}
	if p := strings.TrimSpace(a.CustomProperties[PairProperty]); p != "" && !strings.EqualFold(p, r.Pair) {
		return Decision{Verdict: Refuse, Rule: r, Reason: fmt.Sprintf("alert rule %q is allow-listed for pair %s; the alert names pair %q", shown(ruleName(a)), r.Pair, shown(p))}
	}
	if len(a.TargetIDs) == 0 {
		return Decision{Verdict: Refuse, Rule: r, Reason: fmt.Sprintf("alert rule %q: the alert names no target resource (alertTargetIDs), so it cannot be shown to be about pair %s", shown(ruleName(a)), r.Pair)}
	}
	for _, t := range a.TargetIDs {
		if !r.covers(t) {
			return Decision{Verdict: Refuse, Rule: r, Reason: fmt.Sprintf("alert rule %q: target %q is not a resource of pair %s (nor among the entry's targets)", shown(ruleName(a)), shown(t), r.Pair)}
		}
	}
	if a.Condition != Fired {
		return Decision{Verdict: Journal, Rule: r, Reason: fmt.Sprintf("alert rule %q is %s: a Resolved alert never starts a fallback", shown(ruleName(a)), a.Condition)}
	}
	return Decision{Verdict: Act, Rule: r, Reason: fmt.Sprintf("alert rule %q fired: %s of %s (%s)", shown(ruleName(a)), r.Action, r.Pair, r.Mode)}
}

// notListed says why no entry matched, telling a rule of a listed name from another
// subscription (or another resource ID) from a rule not listed at all.
func notListed(a Alert, rules []Rule) string {
	name := a.Rule
	if name == "" {
		name = lastSegment(a.RuleID)
	}
	for _, r := range rules {
		if !strings.EqualFold(lastSegment(r.RuleID), name) {
			continue
		}
		if a.RuleID != "" {
			return fmt.Sprintf("alert rule %q (ID %q) is not in %s: an entry names a rule of that name with another resource ID", shown(name), shown(a.RuleID), Setting)
		}
		if sub := subscriptionOf(a.ID); sub == "" {
			return fmt.Sprintf("alert rule %q is not in %s: the alert carries neither its rule's resource ID nor a subscription in its alertId", shown(name), Setting)
		}
		return fmt.Sprintf("alert rule %q from subscription %q is not in %s: an entry names a rule of that name in another subscription", shown(name), shown(subscriptionOf(a.ID)), Setting)
	}
	return fmt.Sprintf("alert rule %q is not in %s", shown(ruleName(a)), Setting)
}

// covers reports whether target is one of the rule's pair's resources or listed
// targets, or inside one (a workflow's run, an integration runtime of a factory).
func (r Rule) covers(target string) bool {
	t := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(target), "/"))
	if !strings.HasPrefix(t, "/subscriptions/") {
		return false
	}
	for _, list := range [][]string{r.Resources, r.Targets} {
		for _, id := range list {
			id = strings.ToLower(strings.TrimSuffix(id, "/"))
			if id != "" && (t == id || strings.HasPrefix(t, id+"/")) {
				return true
			}
		}
	}
	return false
}

// sameID compares ARM resource IDs, which are case-insensitive.
func sameID(a, b string) bool {
	return strings.EqualFold(strings.TrimSuffix(strings.TrimSpace(a), "/"), strings.TrimSuffix(strings.TrimSpace(b), "/"))
}

// subscriptionOf is the subscription of a resource ID, "" when it has none.
func subscriptionOf(id string) string {
	parts := strings.Split(strings.Trim(id, "/"), "/")
	if len(parts) < 2 || !strings.HasPrefix(strings.TrimSpace(id), "/") || !strings.EqualFold(parts[0], "subscriptions") {
		return ""
	}
	return parts[1]
}

func lastSegment(id string) string {
	id = strings.TrimSuffix(id, "/")
	return id[strings.LastIndex(id, "/")+1:]
}

// isAlertRuleID checks the shape
// /subscriptions/{s}/resourceGroups/{g}/providers/{Microsoft.Insights|Microsoft.AlertsManagement}/{type}/{name}.
func isAlertRuleID(id string) bool {
	parts := strings.Split(strings.Trim(id, "/"), "/")
	return strings.HasPrefix(id, "/") && len(parts) == 8 &&
		strings.EqualFold(parts[0], "subscriptions") && parts[1] != "" &&
		strings.EqualFold(parts[2], "resourceGroups") && parts[3] != "" &&
		strings.EqualFold(parts[4], "providers") &&
		(strings.EqualFold(parts[5], "Microsoft.Insights") || strings.EqualFold(parts[5], "Microsoft.AlertsManagement")) &&
		parts[6] != "" && parts[7] != "" && !strings.ContainsAny(id, " ?#")
}

// isScopeID checks a subscription, resource group or resource ID.
func isScopeID(id string) bool {
	parts := strings.Split(strings.Trim(id, "/"), "/")
	if !strings.HasPrefix(id, "/") || len(parts) < 2 || !strings.EqualFold(parts[0], "subscriptions") || strings.ContainsAny(id, " ?#") {
		return false
	}
	for _, p := range parts {
		if p == "" {
			return false
		}
	}
	return len(parts) == 2 || len(parts) == 4 && strings.EqualFold(parts[2], "resourceGroups") ||
		len(parts) >= 8 && strings.EqualFold(parts[2], "resourceGroups") && strings.EqualFold(parts[4], "providers") && len(parts)%2 == 0
}

func ruleName(a Alert) string {
	if a.Rule != "" {
		return a.Rule
	}
	return lastSegment(a.RuleID)
}

// CommandID derives a command id from an alert id. Action groups re-send a notification
// they could not deliver, and the same alert then yields the same id, so the queue's
// consumer runs it once. SHA-256, not the alert id itself: alert ids are resource paths,
// longer than ids may be and full of '/'.
func CommandID(alertID string) string {
	sum := sha256.Sum256([]byte(alertID))
	return "alert-" + hex.EncodeToString(sum[:16])
}

// NewCommand is the command an Act decision puts on the queue (or proposes), under the
// matching rule r. It is never forced and never a dry run: those are an operator's
// choices.
func NewCommand(a Alert, r Rule) command.Command {
	fired := "at an unknown time"
	if !a.FiredAt.IsZero() {
		fired = "at " + a.FiredAt.Format(time.RFC3339)
	}
	severity := a.Severity
	if severity == "" {
		severity = "no severity"
	}
	return command.Command{
		ID:          CommandID(a.ID),
		Action:      r.Action,
		Pair:        r.Pair,
		Reason:      journal.Cut(fmt.Sprintf("alert rule %s (%s) fired %s", ruleName(a), severity, fired), command.MaxTextLen),
		RequestedBy: journal.Cut("alert:"+ruleName(a), command.MaxTextLen),
	}
}

// maxShown bounds what a reason or an error quotes of an alert's own text (a rule's
// name, a condition): alerts are journaled with their reasons, and a payload may carry
// a name of any length.
const maxShown = 200

// shown is s as a reason or an error quotes it: cut to maxShown characters.
func shown(s string) string { return journal.Cut(s, maxShown) }
