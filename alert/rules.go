package alert

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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
//	{"rules": [{"rule": "<rule name or resource ID>", "pair": "<pair>",
//	            "action": "failover|fallback|drill", "mode": "auto|propose"}]}
const Setting = "DR_ALERT_RULES"

// Mode says what an allow-listed alert does.
type Mode string

const (
	// Auto puts the command on the queue at once.
	Auto Mode = "auto"
	// Propose journals the command as proposed; an operator's confirm command runs it.
	// It is the default: an alert rule acts on its own only where someone said so.
	Propose Mode = "propose"
)

// Rule is one allow-list entry: alerts of rule Rule may start Action on Pair.
type Rule struct {
	// Rule is the alert rule's name or resource ID, matched case-insensitively. A
	// resource ID matches only alerts that carry essentials.alertRuleID, which many do
	// not (see Alert.RuleID): list such rules by name.
	Rule   string
	Pair   string
	Action command.Action // failover, fallback or drill
	Mode   Mode
}

// Matches reports whether a was raised by r's alert rule.
func (r Rule) Matches(a Alert) bool {
	return r.Rule != "" && (strings.EqualFold(r.Rule, a.Rule) || a.RuleID != "" && strings.EqualFold(r.Rule, a.RuleID))
}

// ParseRules reads the allow-list from the Setting's value. An empty value is an empty
// list: every alert is refused. Unknown fields are refused; every problem is reported,
// each naming its field (DR_ALERT_RULES: rules[2].mode: "maybe" is not one of auto,
// propose), in one drerr.Invalid.
func ParseRules(raw string) ([]Rule, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	var doc struct {
		Rules []struct {
			Rule   string `json:"rule"`
			Pair   string `json:"pair"`
			Action string `json:"action"`
			Mode   string `json:"mode"`
		} `json:"rules"`
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, drerr.Errorf(drerr.Invalid, Setting, "is not valid JSON of the shape {\"rules\": [{\"rule\", \"pair\", \"action\", \"mode\"}]}: %v", err)
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
		r := Rule{Rule: strings.TrimSpace(in.Rule), Pair: strings.TrimSpace(in.Pair), Mode: Propose}
		if r.Rule == "" {
			fail(field+".rule", "is required: an alert rule's name or resource ID")
		} else if j, dup := seen[strings.ToLower(r.Rule)]; dup {
			fail(field+".rule", "%q is listed already (rules[%d]): one rule, one pair and action", r.Rule, j)
		} else {
			seen[strings.ToLower(r.Rule)] = i
		}
		if r.Pair == "" {
			fail(field+".pair", "is required")
		} else if !command.ValidPairName(r.Pair) {
			fail(field+".pair", "%q is not a pair name (1-63 letters, digits, '-', '_')", in.Pair)
		}
		switch a, _ := command.ParseAction(strings.TrimSpace(in.Action)); a {
		case command.Failover, command.Fallback, command.Drill:
			r.Action = a
		default:
			fail(field+".action", "%q is not one of failover, fallback, drill", in.Action)
		}
		switch m := strings.ToLower(strings.TrimSpace(in.Mode)); m {
		case "":
		case string(Auto), string(Propose):
			r.Mode = Mode(m)
		default:
			fail(field+".mode", "%q is not one of auto, propose", in.Mode)
		}
		rules = append(rules, r)
	}
	if len(problems) > 0 {
		return nil, drerr.Errorf(drerr.Invalid, Setting, "%s", strings.Join(problems, "; "))
	}
	return rules, nil
}

// CheckPairs reports rules whose pair is not configured, by their place in the list
// ParseRules read. It is separate because this package does not read the topology.
func CheckPairs(rules []Rule, known func(string) bool) error {
	var problems []string
	for i, r := range rules {
		if !known(r.Pair) {
			problems = append(problems, fmt.Sprintf("rules[%d].pair: %q is not a pair in DR_TOPOLOGY", i, r.Pair))
		}
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
	Refuse  Verdict = "refuse"  // not from an allow-listed rule: record the refusal
)

// Decision is Decide's answer. Rule is the matching entry (zero for Refuse).
type Decision struct {
	Verdict Verdict
	Rule    Rule
	Reason  string
}

// Decide applies the allow-list: an alert from a rule not on it is refused, whatever its
// condition; a Resolved alert from a listed rule is journaled only (a Resolved alert
// never starts a fallback); a Fired one acts, as the first matching entry says.
func Decide(a Alert, rules []Rule) Decision {
	if a.Rule == "" && a.RuleID == "" {
		return Decision{Verdict: Refuse, Reason: "the alert names no alert rule (budget alerts carry none), so no allow-list entry can match it"}
	}
	for _, r := range rules {
		if !r.Matches(a) {
			continue
		}
		if a.Condition != Fired {
			return Decision{Verdict: Journal, Rule: r, Reason: fmt.Sprintf("alert rule %q is %s: a Resolved alert never starts a fallback", shown(ruleName(a)), a.Condition)}
		}
		return Decision{Verdict: Act, Rule: r, Reason: fmt.Sprintf("alert rule %q fired: %s of %s (%s)", shown(ruleName(a)), r.Action, r.Pair, r.Mode)}
	}
	return Decision{Verdict: Refuse, Reason: fmt.Sprintf("alert rule %q is not in %s", shown(ruleName(a)), Setting)}
}

func ruleName(a Alert) string {
	if a.Rule != "" {
		return a.Rule
	}
	return a.RuleID
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
