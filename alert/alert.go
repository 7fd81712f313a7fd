// Package alert takes in Azure Monitor alerts (common alert schema, as an action group
// posts them) and decides, against an allow-list of alert rules, whether one may start
// an operation. Only allow-listed rules act, and a Resolved alert never acts: failing
// back is a decision for an operator, not for a metric that recovered.
package alert

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"integration-dr/drerr"
)

// MaxBody is the largest alert Parse reads: Azure Monitor caps a common-schema alert at
// 256 KB (log search alerts drop their search results to stay under it).
const MaxBody = 256 << 10

// ErrTooLarge is in the error Parse returns for a body over MaxBody, so that the
// intake can answer 413 rather than 400.
var ErrTooLarge = errors.New("too large")

// SchemaID is the schemaId of the common alert schema.
const SchemaID = "azureMonitorCommonAlertSchema"

// Condition is an alert's monitor condition.
type Condition string

const (
	Fired    Condition = "Fired"
	Resolved Condition = "Resolved"
)

// Alert is what the intake uses of data.essentials and data.customProperties. The
// alert context (data.alertContext) differs per signal type and is not read.
type Alert struct {
	ID   string // essentials.alertId: the alert instance; re-sent notifications repeat it
	Rule string // essentials.alertRule: the rule's name; null for budget alerts
	// RuleID is essentials.alertRuleID, the rule's resource ID. Microsoft documents it
	// but says it "may not appear in all alert payloads" (the sample payloads of metric
	// and log alerts lack it), so it is often empty. It is not guessed from elsewhere:
	// alertId names the alert instance (…/Microsoft.AlertsManagement/alerts/{guid}),
	// alertTargetIDs are the monitored resources, and originAlertId's format
	// ({sub}_{rg}_microsoft.insights_metricalerts_{rule}_{n} for metric alerts) is not
	// documented and ambiguous when names contain '_'.
	RuleID            string
	Severity          string // Sev0 (highest) to Sev4; null for budget alerts
	SignalType        string // Metric, Log, Activity Log
	MonitoringService string
	Condition         Condition
	TargetIDs         []string // essentials.alertTargetIDs: the resources alerted on
	OriginAlertID     string
	FiredAt           time.Time // zero when absent
	ResolvedAt        time.Time // zero when absent (Microsoft: metric alerts only)
	Description       string
	CustomProperties  map[string]string // from the rule's action properties; nil when none
}

// Parse reads an alert posted by an action group. It refuses (drerr.Invalid, naming the
// field) a body over MaxBody, non-JSON, a schema other than the common alert schema, and
// an alert without alertId or with a monitorCondition other than Fired or Resolved.
// Otherwise it is lenient, as Microsoft's own payloads vary: nulls are read as empty,
// and numbers or booleans where text is expected (Service Health) are read as text.
func Parse(body []byte) (Alert, error) {
	if len(body) > MaxBody {
		return Alert{}, drerr.E(drerr.Invalid, "alert", fmt.Errorf("body is %d bytes; the common alert schema's limit is %d: %w", len(body), MaxBody, ErrTooLarge))
	}
	body = bytes.TrimSpace(body)
	if !json.Valid(body) {
		return Alert{}, invalid("", "body is not JSON")
	}
	if body[0] != '{' {
		return Alert{}, invalid("", "body is not a JSON object")
	}
	// The schema first, on its own, so that any other payload gets the one error that
	// tells the operator what to change.
	var schema struct {
		ID text `json:"schemaId"`
	}
	_ = json.Unmarshal(body, &schema) // cannot fail: an object, and text takes any value
	const enable = "the action group's receiver must have useCommonAlertSchema: true (it defaults to false)"
	switch {
	case schema.ID == "":
		return Alert{}, invalid("schemaId", "is missing: %s", enable)
	case !strings.EqualFold(string(schema.ID), SchemaID):
		return Alert{}, invalid("schemaId", "%q is not %s: %s", shown(string(schema.ID)), SchemaID, enable)
	}
	var env struct {
		Data *struct {
			Essentials       json.RawMessage `json:"essentials"`
			CustomProperties json.RawMessage `json:"customProperties"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return Alert{}, invalid("data", "is not an object")
	}
	if env.Data == nil || len(env.Data.Essentials) == 0 || string(env.Data.Essentials) == "null" {
		return Alert{}, invalid("data.essentials", "is required")
	}

	var e struct {
		AlertID           text     `json:"alertId"`
		AlertRule         text     `json:"alertRule"`
		AlertRuleID       text     `json:"alertRuleID"` // the sample payload spells it alertRuleId; both match
		Severity          text     `json:"severity"`
		SignalType        text     `json:"signalType"`
		MonitorCondition  text     `json:"monitorCondition"`
		MonitoringService text     `json:"monitoringService"`
		AlertTargetIDs    textList `json:"alertTargetIDs"`
		OriginAlertID     text     `json:"originAlertId"`
		FiredDateTime     text     `json:"firedDateTime"`
		ResolvedDateTime  text     `json:"resolvedDateTime"`
		Description       text     `json:"description"`
	}
	if err := json.Unmarshal(env.Data.Essentials, &e); err != nil {
		return Alert{}, invalid("data.essentials", "is not an object")
	}
	a := Alert{
		ID:                strings.TrimSpace(string(e.AlertID)),
		Rule:              strings.TrimSpace(string(e.AlertRule)),
		RuleID:            strings.TrimSpace(string(e.AlertRuleID)),
		Severity:          string(e.Severity),
		SignalType:        string(e.SignalType),
		MonitoringService: string(e.MonitoringService),
		TargetIDs:         e.AlertTargetIDs,
		OriginAlertID:     string(e.OriginAlertID),
		Description:       string(e.Description),
	}
	if a.ID == "" {
		return Alert{}, invalid("data.essentials.alertId", "is required")
	}
	switch c := strings.TrimSpace(string(e.MonitorCondition)); {
	case c == "":
		return Alert{}, invalid("data.essentials.monitorCondition", "is required: Fired or Resolved")
	case strings.EqualFold(c, string(Fired)):
		a.Condition = Fired
	case strings.EqualFold(c, string(Resolved)):
		a.Condition = Resolved
	default:
		return Alert{}, invalid("data.essentials.monitorCondition", "%q is not Fired or Resolved", shown(c))
	}
	var err error
	if a.FiredAt, err = timestamp("firedDateTime", e.FiredDateTime); err != nil {
		return Alert{}, err
	}
	if a.ResolvedAt, err = timestamp("resolvedDateTime", e.ResolvedDateTime); err != nil {
		return Alert{}, err
	}
	if raw := env.Data.CustomProperties; len(raw) > 0 && string(raw) != "null" {
		var props map[string]text
		if err := json.Unmarshal(raw, &props); err != nil {
			return Alert{}, invalid("data.customProperties", "is not an object")
		}
		a.CustomProperties = make(map[string]string, len(props))
		for k, v := range props {
			a.CustomProperties[k] = string(v)
		}
	}
	return a, nil
}

// timestamp reads an ISO 8601 time. Microsoft documents these as UTC and sends them
// with a zone and up to seven fractional digits; one without a zone is taken as UTC.
func timestamp(field string, t text) (time.Time, error) {
	s := strings.TrimSpace(string(t))
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if v, err := time.Parse(layout, s); err == nil {
			return v.UTC(), nil
		}
	}
	return time.Time{}, invalid("data.essentials."+field, "%q is not an ISO 8601 time", shown(s))
}

func invalid(field, format string, args ...any) error {
	op := "alert"
	if field != "" {
		op += "." + field
	}
	return drerr.Errorf(drerr.Invalid, op, format, args...)
}

// text is a JSON value read as text: a string as itself, null as "", and anything else
// (a number, a boolean, even an object) as its JSON. Alerts come from many services and
// not all of them send strings where the schema shows strings.
type text string

func (t *text) UnmarshalJSON(b []byte) error {
	switch b[0] {
	case 'n':
		*t = ""
	case '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = text(s)
	default:
		*t = text(b)
	}
	return nil
}

// textList is a list of text that also takes null (budget alerts) and a lone value.
type textList []string

func (l *textList) UnmarshalJSON(b []byte) error {
	switch b[0] {
	case 'n':
		*l = nil
		return nil
	case '[':
		var items []text
		if err := json.Unmarshal(b, &items); err != nil {
			return err
		}
		*l = make(textList, 0, len(items))
		for _, it := range items {
			if it != "" {
				*l = append(*l, string(it))
			}
		}
		return nil
	default:
		var it text
		if err := it.UnmarshalJSON(b); err != nil {
			return err
		}
		*l = textList{string(it)}
		return nil
	}
}
